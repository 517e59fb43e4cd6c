// Handle pools for kernels/cuda/handles.cuh. A handle must not be used by two threads at once, so each thread
// leases its own per device; a finished thread returns them to a pool for the next thread instead of
// destroying them (creation costs milliseconds and device memory), and nothing is destroyed at exit, when
// the CUDA driver may already be gone (PyTorch's DeviceThreadHandlePool does the same).
#include "kernels/cuda/handles.cuh"
#include <mutex>
#include <string>
#include <vector>
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

constexpr int kMaxDevices = 64;

std::string function_name(const char* call) {
  std::string s(call);
  const size_t paren = s.find('(');
  return paren == std::string::npos ? s : s.substr(0, paren);
}

template <class Handle>
struct Pool {
  std::mutex mutex;
  std::vector<Handle> idle[kMaxDevices];
};

template <class Handle>
Pool<Handle>& pool() {
  static auto* p = new Pool<Handle>;  // leaked on purpose: thread-exit leases return handles to it
  return *p;
}

// This thread's handles, and the stream each was last bound to (rebinding only on change keeps cuBLAS from
// resetting its workspace on every call).
template <class Handle>
struct Lease {
  Handle handle[kMaxDevices] = {};
  cudaStream_t bound[kMaxDevices] = {};
  ~Lease() {
    Pool<Handle>& p = pool<Handle>();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (int d = 0; d < kMaxDevices; ++d)
      if (handle[d]) p.idle[d].push_back(handle[d]);
  }
};

// Returns this thread's handle for `device` (from the pool or `create`d), bound to the current stream by `bind`.
template <class Handle, class Create, class Bind>
Handle lease(int device, Create create, Bind bind) {
  if (device < 0 || device >= kMaxDevices)
    throw DeviceError("cuda:" + std::to_string(device) + ": device index out of range for the handle pool");
  check(cudaSetDevice(device), "cudaSetDevice");
  thread_local Lease<Handle> mine;
  Handle& h = mine.handle[device];
  if (!h) {
    {
      Pool<Handle>& p = pool<Handle>();
      std::lock_guard<std::mutex> lock(p.mutex);
      if (!p.idle[device].empty()) {
        h = p.idle[device].back();
        p.idle[device].pop_back();
      }
    }
    if (!h) h = create();
    mine.bound[device] = reinterpret_cast<cudaStream_t>(-1);  // a pooled handle's stream is unknown
  }
  const cudaStream_t s = stream(device);
  if (mine.bound[device] != s) {
    bind(h, s);
    mine.bound[device] = s;
  }
  return h;
}

}  // namespace

void cublas_check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw DeviceError("cuBLAS " + function_name(call) + " failed: " + cublasGetStatusString(status));
}

cublasHandle_t cublas_handle(int device) {
  return lease<cublasHandle_t>(
      device,
      [] {
        cublasHandle_t h = nullptr;
        CUBLAS_CHECK(cublasCreate(&h));
        return h;
      },
      [](cublasHandle_t h, cudaStream_t s) { CUBLAS_CHECK(cublasSetStream(h, s)); });
}

#if ASYNDGAN_HAS_CUDNN
void cudnn_check(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) {
    char detail[512] = {};
    cudnnGetLastErrorString(detail, sizeof detail);  // cuDNN 9 says which parameter it rejected
    std::string what = "cuDNN " + function_name(call) + " failed: " + cudnnGetErrorString(status);
    if (detail[0]) what += std::string(" (") + detail + ")";
    throw DeviceError(what);
  }
}

cudnnHandle_t cudnn_handle(int device) {
  return lease<cudnnHandle_t>(
      device,
      [] {
        cudnnHandle_t h = nullptr;
        CUDNN_CHECK(cudnnCreate(&h));
        return h;
      },
      [](cudnnHandle_t h, cudaStream_t s) { CUDNN_CHECK(cudnnSetStream(h, s)); });
}
#endif

}  // namespace asyndgan::kern::cuda
