// The deterministic full reduction every CUDA sum and loss uses: K running sums of per-element terms, in double,
// over a reduction tree fixed by n alone, ending in a functor that writes the 0-D result on the device.
#pragma once
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/scratch.h"

namespace asyndgan::kern::cuda {

constexpr int kReduceBlock = 256;
// The grid depends on n only (never on the device's SM count), so a sum is bit-identical on every card and run.
constexpr int kMaxPartials = 1024;
constexpr int64_t kReducePerThread = 8;

inline int reduce_parts(int64_t n) {
  const int64_t per_block = kReduceBlock * kReducePerThread;
  const int64_t parts = (n + per_block - 1) / per_block;
  return static_cast<int>(parts < 1 ? 1 : (parts > kMaxPartials ? kMaxPartials : parts));
}

// Tree over the block's K x kReduceBlock shared values: the pairing is the same on every launch.
template <int K> __device__ void block_reduce(double (*sh)[kReduceBlock], double (&acc)[K]) {
  const int t = threadIdx.x;
  for (int k = 0; k < K; ++k) sh[k][t] = acc[k];
  __syncthreads();
  for (int s = kReduceBlock / 2; s > 0; s >>= 1) {
    if (t < s)
      for (int k = 0; k < K; ++k) sh[k][t] += sh[k][t + s];
    __syncthreads();
  }
  for (int k = 0; k < K; ++k) acc[k] = sh[k][0];
}

// Each block sums its grid-stride share; with one block the result is final, else it is partial[k * parts + b].
// term(i, acc) adds element i's K terms to acc; finish(total) runs once, on thread 0 of the last stage.
template <int K, class Term, class Finish>
__global__ void __launch_bounds__(kReduceBlock) reduce_partials(Term term, int64_t n, double* partial, Finish finish) {
  __shared__ double sh[K][kReduceBlock];
  double acc[K];
  for (int k = 0; k < K; ++k) acc[k] = 0.0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kReduceBlock;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kReduceBlock + threadIdx.x; i < n; i += stride) term(i, acc);
  block_reduce<K>(sh, acc);
  if (threadIdx.x != 0) return;
  if (gridDim.x == 1) {
    finish(acc);
  } else {
    for (int k = 0; k < K; ++k) partial[k * gridDim.x + blockIdx.x] = acc[k];
  }
}

template <int K, class Finish>
__global__ void __launch_bounds__(kReduceBlock) reduce_finish(const double* partial, int parts, Finish finish) {
  __shared__ double sh[K][kReduceBlock];
  double acc[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = 0.0;
    for (int p = threadIdx.x; p < parts; p += kReduceBlock) acc[k] += partial[k * parts + p];
  }
  block_reduce<K>(sh, acc);
  if (threadIdx.x == 0) finish(acc);
}

// Launches the reduction of n elements on `device`'s stream: one kernel when n fits one block's share, else
// per-block partials (in scratch from the stream-ordered allocator) and one final block. No host sync.
template <int K, class Term, class Finish>
void deterministic_sum(int device, int64_t n, Term term, Finish finish, const char* what) {
  const int parts = reduce_parts(n);
  cudaStream_t s = stream(device);
  if (parts == 1) {
    reduce_partials<K><<<1, kReduceBlock, 0, s>>>(term, n, nullptr, finish);
    check_launch(what);
    return;
  }
  const Scratch scratch(static_cast<size_t>(K) * parts * sizeof(double), device);
  double* partial = static_cast<double*>(scratch.ptr);
  reduce_partials<K><<<parts, kReduceBlock, 0, s>>>(term, n, partial, finish);
  check_launch(what);
  reduce_finish<K><<<1, kReduceBlock, 0, s>>>(partial, parts, finish);
  check_launch(what);
}

// Writes scale * total[0] / divisor to a 0-D f32 or f64 output; with divide_by_second, the divisor is
// max(total[1], 1) (the masked L1's denominator) instead.
template <class Out> struct WriteScaled {
  Out* out;
  double scale, divisor;
  bool divide_by_second;
  template <int K> __device__ void operator()(const double (&total)[K]) const {
    double d = divisor;
    if constexpr (K > 1) {
      if (divide_by_second) d = total[1] > 1.0 ? total[1] : 1.0;
    }
    out[0] = static_cast<Out>(scale * total[0] / d);
  }
};

// Calls f(Out*) with the 0-D result's element pointer, f32 or f64 (out_dt).
template <class F> void with_scalar_out(const char* op, DType out_dt, void* out, F&& f) {
  if (out_dt == DType::f32) return f(static_cast<float*>(out));
  if (out_dt == DType::f64) return f(static_cast<double*>(out));
  throw DTypeError(std::string(op) + ": the 0-D result must be f32 or f64, got " + dtype_name(out_dt));
}

}  // namespace asyndgan::kern::cuda
