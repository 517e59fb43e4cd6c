// CUDA runtime services and kernel table for a build without CUDA: no devices, a clear error on any device
// request, and an empty kernel table.
#include "engine/backend.h"
#include "base/cuda_runtime.h"
#include "base/error.h"

#if !ASYNDGAN_HAS_CUDA
namespace asyndgan::cuda_rt {

static DeviceError no_cuda() {
  return DeviceError(
      "CUDA is not compiled into this build of asyndgan: reconfigure with -DASYNDGAN_CUDA=ON on a "
      "machine with the CUDA toolkit, or use device 'cpu'");
}
int device_count() { return 0; }
const char* no_device_reason() { return "not compiled in"; }
void* device_malloc(size_t, int) { throw no_cuda(); }
void device_free(void*, int) {}
void memcpy(void*, const void*, size_t, int, int) { throw no_cuda(); }
void* current_stream(int) { throw no_cuda(); }
void synchronize(int) {}
void* host_pinned_malloc(size_t) { throw no_cuda(); }
void host_pinned_free(void*) {}
HostPinnedStats host_pinned_stats() { return {}; }
MemoryStats memory_stats(int) { return {}; }
void reset_peak_memory(int) {}
void empty_cache(int) {}
uint64_t graph_pool_create(int) { throw no_cuda(); }
void graph_pool_activate(uint64_t, int) { throw no_cuda(); }
void graph_pool_release(uint64_t, int) {}
void capture_begin(int) { throw no_cuda(); }
void* capture_end(int) { throw no_cuda(); }
void capture_abort(int) {}
void graph_launch(void*, int) { throw no_cuda(); }
void graph_destroy(void*) {}
const char* device_name(int) { return ""; }

}  // namespace asyndgan::cuda_rt

namespace asyndgan::backend {
void install_cuda_kernels(CudaKernels&) {}
}  // namespace asyndgan::backend
#endif
