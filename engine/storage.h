// Reference-counted memory block behind one or more tensors: 64-byte aligned on the host (page-locked when asked
// for on a machine with a GPU), or device memory.
#pragma once
#include <cstddef>
#include <memory>
#include "engine/device.h"

namespace asyndgan {

class Storage {
 public:
  static constexpr size_t kHostAlignment = 64;

  // Where there is no GPU, `pinned` host memory is ordinary host memory (pinned() says which it got): page-locking
  // only speeds up copies to and from a device.
  enum class Host : unsigned char { pageable, pinned };
  Storage(size_t nbytes, Device device, Host host = Host::pageable);  // uninitialized memory
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

using StoragePtr = std::shared_ptr<Storage>;

// Copies bytes between any two devices (host<->host, host<->cuda, cuda<->cuda).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

}  // namespace asyndgan
