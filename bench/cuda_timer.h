// Device timing for the GPU benchmarks: CUDA events recorded on the engine's stream around each call, after
// warm-up calls; the median of the repetitions, so one preempted or clock-ramping call does not move it.
#pragma once
#include <cuda_runtime.h>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>
#include "base/cuda_runtime.h"

namespace asyndgan::bench {

inline void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Median milliseconds of f() over `reps` calls on device 0's current stream, after `warmup` calls.
template <class F>
double median_ms(int warmup, int reps, F&& f) {
  const auto stream = static_cast<cudaStream_t>(cuda_rt::current_stream(0));
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t start, stop;
  cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
  cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    cuda_ok(cudaEventRecord(start, stream), "cudaEventRecord");
    f();
    cuda_ok(cudaEventRecord(stop, stream), "cudaEventRecord");
    cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t = 0;
    cuda_ok(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace asyndgan::bench
