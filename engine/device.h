// Where a tensor's memory lives: the host ("cpu") or a CUDA device ("cuda:N").
#pragma once
#include <string>

namespace asyndgan {

struct Device {
  enum class Kind : unsigned char { cpu, cuda };
  Kind kind = Kind::cpu;
  int index = 0;

  static Device cpu() { return {Kind::cpu, 0}; }
  static Device cuda(int index = 0) { return {Kind::cuda, index}; }
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"; throws DeviceError

  bool is_cpu() const { return kind == Kind::cpu; }
  bool is_cuda() const { return kind == Kind::cuda; }
  std::string str() const;
  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && (a.kind == Kind::cpu || a.index == b.index);
  }
};

// Number of CUDA devices this process can use: 0 in a CPU-only build or on a machine without a GPU.
int cuda_device_count();

// The device a user's setting names: "cpu"; "cuda:N", which must exist (else a DeviceError naming N and the
// count); "cuda" or "auto": cuda:0, or, where this build or machine has no GPU, the CPU with a one-time line on
// stderr saying why.
Device resolve_device(const std::string& spec);

}  // namespace asyndgan
