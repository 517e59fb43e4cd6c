// CUDA runtime services for the engine core: device count, allocation and copies, with errors that name the call.
#include <cuda_runtime.h>
#include <string>
#include "engine/cuda_runtime.h"
#include "engine/error.h"

namespace asyndgan::cuda_rt {

static void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw DeviceError(std::string("CUDA ") + what + " failed: " + cudaGetErrorString(err));
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error so later calls start clean
    return 0;
  }
  return n;
}

void* device_malloc(size_t nbytes, int device) {
  int n = device_count();
  if (device >= n)
    throw DeviceError("cuda:" + std::to_string(device) + " does not exist: this machine has " +
                      std::to_string(n) + " CUDA device(s)");
  check(cudaSetDevice(device), "cudaSetDevice");
  void* p = nullptr;
  check(cudaMalloc(&p, nbytes ? nbytes : 1), "cudaMalloc");
  return p;
}

void device_free(void* ptr, int device) {
  cudaSetDevice(device);
  cudaFree(ptr);
}

void memcpy(void* dst, const void* src, size_t nbytes, int kind, int device) {
  cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice : kind == 1 ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  check(cudaMemcpy(dst, src, nbytes, k), "cudaMemcpy");
}

// PLACEHOLDER until the allocator and streams land.
void* current_stream(int) { return nullptr; }
void synchronize(int device) { cudaSetDevice(device); cudaDeviceSynchronize(); }
MemoryStats memory_stats(int) { return {}; }
void reset_peak_memory(int) {}
void empty_cache(int) {}
const char* device_name(int) { return ""; }

}  // namespace asyndgan::cuda_rt
