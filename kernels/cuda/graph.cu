// The CUDA graph services of base/cuda_runtime.h: capture of a device's stream, instantiation, launch and
// destruction, and the caching allocator's private pools that keep a graph's memory to itself.
#include "base/cuda_runtime.h"
#include "kernels/cuda/allocator.cuh"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::cuda_rt {

using kern::cuda::check;
using kern::cuda::stream;

uint64_t graph_pool_create(int device) {
  current_stream(device);  // checks that the device exists
  return kern::cuda::cached_pool_create(device);
}

void graph_pool_activate(uint64_t pool, int device) { kern::cuda::cached_pool_activate(pool, device); }

void graph_pool_release(uint64_t pool, int device) { kern::cuda::cached_pool_release(pool, device); }

void capture_begin(int device) {
  // Relaxed: calls such as cudaMalloc (a pool growing during the capture) stay legal while the stream captures.
  check(cudaStreamBeginCapture(stream(device), cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
}

void* capture_end(int device) {
  const cudaStream_t s = stream(device);
  cudaGraph_t graph = nullptr;
  check(cudaStreamEndCapture(s, &graph), "cudaStreamEndCapture (was the capture invalidated by a synchronization?)");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);  // the executable graph keeps what it needs
  check(err, "cudaGraphInstantiate");
  // Uploads the graph now, so the first replay does not pay for it.
  if (const cudaError_t up = cudaGraphUpload(exec, s); up != cudaSuccess) {
    cudaGraphExecDestroy(exec);  // nobody else holds it yet
    check(up, "cudaGraphUpload");
  }
  return exec;
}

void capture_abort(int device) {
  if (device < 0 || device >= device_count()) return;
  const cudaStream_t s = stream(device);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &status) == cudaSuccess && status != cudaStreamCaptureStatusNone) {
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(s, &graph);  // fails for an invalidated capture, which still ends it
    if (graph) cudaGraphDestroy(graph);
  }
  cudaGetLastError();
}

void graph_launch(void* exec, int device) {
  check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), stream(device)), "cudaGraphLaunch");
}

void graph_destroy(void* exec) {
  // An executable graph destroyed while a launch is in flight is freed once that launch completes.
  if (exec) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
  cudaGetLastError();
}

}  // namespace asyndgan::cuda_rt
