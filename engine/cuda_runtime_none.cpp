// CUDA runtime services for a build without CUDA: no devices, and a clear error on any device request.
#include "engine/cuda_runtime.h"
#include "engine/error.h"

#if !ASYNDGAN_HAS_CUDA
namespace asyndgan::cuda_rt {

static DeviceError no_cuda() {
  return DeviceError(
      "CUDA is not compiled into this build of asyndgan: reconfigure with -DASYNDGAN_CUDA=ON on a "
      "machine with the CUDA toolkit, or use device 'cpu'");
}
int device_count() { return 0; }
void* device_malloc(size_t, int) { throw no_cuda(); }
void device_free(void*, int) {}
void memcpy(void*, const void*, size_t, int) { throw no_cuda(); }

}  // namespace asyndgan::cuda_rt
#endif
