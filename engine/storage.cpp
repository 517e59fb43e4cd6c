// Storage allocation (aligned host memory or CUDA memory) and cross-device byte copies.
#include "engine/storage.h"
#include <cstdlib>
#include <cstring>
#include <new>
#include "base/cuda_runtime.h"
#include "base/error.h"

namespace asyndgan {

int cuda_device_count() { return cuda_rt::device_count(); }

Storage::Storage(size_t nbytes, Device device, Host host) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu() && host == Host::pinned && cuda_rt::device_count() > 0) {
    data_ = cuda_rt::host_pinned_malloc(nbytes ? nbytes : 1);
    pinned_ = true;
  } else if (device.is_cpu()) {
    size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    data_ = std::aligned_alloc(kHostAlignment, rounded ? rounded : kHostAlignment);
    if (!data_) throw std::bad_alloc();
  } else {
    data_ = cuda_rt::device_malloc(nbytes, device.index);
  }
}

Storage::~Storage() {
  if (pinned_)
    cuda_rt::host_pinned_free(data_);
  else if (device_.is_cpu())
    std::free(data_);
  else
    cuda_rt::device_free(data_, device_.index);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu())
    std::memcpy(dst, src, nbytes);
  else if (src_device.is_cpu())
    cuda_rt::memcpy(dst, src, nbytes, 0, dst_device.index);
  else if (dst_device.is_cpu())
    cuda_rt::memcpy(dst, src, nbytes, 1, src_device.index);
  else
    cuda_rt::memcpy(dst, src, nbytes, 2, dst_device.index);
}

}  // namespace asyndgan
