// The few CUDA runtime services the engine core needs; a CPU-only build defines them to report no GPU.
#pragma once
#include <cstddef>

namespace asyndgan::cuda_rt {

int device_count();                         // 0 without a GPU or without CUDA compiled in
void* device_malloc(size_t nbytes, int device);
void device_free(void* ptr, int device);
// kind: 0 host->device, 1 device->host, 2 device->device
void memcpy(void* dst, const void* src, size_t nbytes, int kind);

}  // namespace asyndgan::cuda_rt
