// The multi-tensor Adam kernel: every parameter's pointers, size and step counter travel in the kernel's
// parameter space (no upload, nothing to keep alive), and each block updates one tile of one tensor with
// kern::adam_update, the same per-element function as the CPU step. The per-step scalars are computed on the
// device from the counters and the learning rate (PyTorch's capturable Adam): a captured launch stays right
// on every replay.
#include "kernels/cuda/adam.cuh"
#include "kernels/common/adam_math.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

constexpr int kAdamBlock = 256;
constexpr int64_t kAdamTile = kAdamBlock * 8;  // elements per block
constexpr int kAdamSlots = 256;                // tensors per launch

template <class T> struct Entry {
  T* p;
  const T* g;
  T* m;
  T* v;
  int64_t n;
  const int64_t* step;
  uint32_t first_tile;  // tiles before this tensor's in the launch
  bool vec;             // all four buffers 16-byte aligned: full tiles use 16-byte loads
};
template <class T> struct Batch {
  int count;
  double beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay;
  const double* lr;
  Entry<T> e[kAdamSlots];
};
// CUDA 12.1+ takes up to 32764 bytes of kernel parameters on Volta and newer.
static_assert(sizeof(Batch<double>) <= 32764, "Adam batch exceeds the kernel parameter space");

// The counters a launch increments before its update kernel reads them: one thread each.
struct Counters {
  int count;
  int64_t* c[kAdamSlots + 1];  // every tensor's step, and the optimizer's call count
};

__global__ void adam_count_kernel(const __grid_constant__ Counters c) {
  if (static_cast<int>(threadIdx.x) < c.count) *c.c[threadIdx.x] += 1;
}

// The CPU step's scalars (engine/optim/adam.cpp): bias corrections in double from the step, rounded to T.
template <class T> __device__ AdamScalars<T> step_scalars(const Batch<T>& b, int64_t step_count) {
  const double step = static_cast<double>(step_count);
  const double bias_correction1 = 1.0 - pow(b.beta1, step);
  const double bias_correction2 = 1.0 - pow(b.beta2, step);
  return AdamScalars<T>{static_cast<T>(b.weight_decay),          static_cast<T>(b.one_minus_beta1),
                        static_cast<T>(b.beta2),                 static_cast<T>(b.one_minus_beta2),
                        static_cast<T>(sqrt(bias_correction2)),  static_cast<T>(b.eps),
                        static_cast<T>(-(*b.lr / bias_correction1))};
}

template <class T, int V> struct alignas(sizeof(T) * V) Pack { T v[V]; };

template <class T> __global__ void __launch_bounds__(kAdamBlock) adam_kernel(const __grid_constant__ Batch<T> b) {
  const uint32_t tile = blockIdx.x;
  int lo = 0, hi = b.count - 1;  // the last tensor whose first tile is <= this one
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.e[mid].first_tile <= tile) lo = mid;
    else hi = mid - 1;
  }
  const Entry<T>& e = b.e[lo];
  __shared__ AdamScalars<T> shared_scalars;
  if (threadIdx.x == 0) shared_scalars = step_scalars(b, *e.step);
  __syncthreads();
  const AdamScalars<T> sc = shared_scalars;
  const int64_t begin = static_cast<int64_t>(tile - e.first_tile) * kAdamTile;
  const int64_t end = min(e.n, begin + kAdamTile);
  constexpr int V = 16 / static_cast<int>(sizeof(T));
  using P = Pack<T, V>;
  if (e.vec && end - begin == kAdamTile) {
    for (int64_t i = begin + threadIdx.x * V; i < end; i += kAdamBlock * V) {
      P p = *reinterpret_cast<const P*>(e.p + i), m = *reinterpret_cast<const P*>(e.m + i),
        v = *reinterpret_cast<const P*>(e.v + i);
      const P g = *reinterpret_cast<const P*>(e.g + i);
#pragma unroll
      for (int k = 0; k < V; ++k) adam_update<T>(p.v[k], g.v[k], m.v[k], v.v[k], sc);
      *reinterpret_cast<P*>(e.p + i) = p;
      *reinterpret_cast<P*>(e.m + i) = m;
      *reinterpret_cast<P*>(e.v + i) = v;
    }
  } else {
    for (int64_t i = begin + threadIdx.x; i < end; i += kAdamBlock) adam_update<T>(e.p[i], e.g[i], e.m[i], e.v[i], sc);
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class T> void launch_all(const AdamShared& sh, const std::vector<AdamTensor>& tensors, cudaStream_t s) {
  Batch<T> b;
  b.beta1 = sh.beta1;
  b.beta2 = sh.beta2;
  b.one_minus_beta1 = sh.one_minus_beta1;
  b.one_minus_beta2 = sh.one_minus_beta2;
  b.eps = sh.eps;
  b.weight_decay = sh.weight_decay;
  b.lr = sh.lr;
  Counters counters;
  counters.count = 0;
  if (sh.calls) counters.c[counters.count++] = sh.calls;
  uint32_t tiles = 0;
  b.count = 0;
  auto flush = [&] {
    if (b.count == 0) return;
    adam_count_kernel<<<1, kAdamSlots + 1, 0, s>>>(counters);
    check_launch("adam counters");
    adam_kernel<T><<<tiles, kAdamBlock, 0, s>>>(b);
    check_launch("adam");
    b.count = 0;
    counters.count = 0;
    tiles = 0;
  };
  // An empty parameter has nothing to update, but its step still counts, as on the CPU (Adam::step adds 1 to
  // every parameter with a gradient): one counter launch per kAdamSlots + 1 of them.
  Counters empties;
  empties.count = 0;
  for (const AdamTensor& t : tensors) {
    if (t.n > 0) continue;
    empties.c[empties.count++] = t.step;
    if (empties.count == kAdamSlots + 1) {
      adam_count_kernel<<<1, kAdamSlots + 1, 0, s>>>(empties);
      check_launch("adam counters (empty parameters)");
      empties.count = 0;
    }
  }
  if (empties.count > 0) {
    adam_count_kernel<<<1, kAdamSlots + 1, 0, s>>>(empties);
    check_launch("adam counters (empty parameters)");
  }
  for (const AdamTensor& t : tensors) {
    if (t.n <= 0) continue;
    const int64_t need = (t.n + kAdamTile - 1) / kAdamTile;
    if (need >= (int64_t{1} << 31)) throw ValueError(msg("adam: a tensor of ", t.n, " elements is too large"));
    if (b.count == kAdamSlots || tiles + need >= (int64_t{1} << 31)) flush();
    Entry<T>& e = b.e[b.count++];
    e.p = static_cast<T*>(t.param);
    e.g = static_cast<const T*>(t.grad);
    e.m = static_cast<T*>(t.exp_avg);
    e.v = static_cast<T*>(t.exp_avg_sq);
    e.n = t.n;
    e.step = t.step;
    e.first_tile = tiles;
    e.vec = aligned16(t.param) && aligned16(t.grad) && aligned16(t.exp_avg) && aligned16(t.exp_avg_sq);
    counters.c[counters.count++] = t.step;
    tiles += static_cast<uint32_t>(need);
  }
  if (b.count == 0 && counters.count > 0) {  // only the call count: no update to follow
    adam_count_kernel<<<1, kAdamSlots + 1, 0, s>>>(counters);
    check_launch("adam counters");
  }
  flush();
}

}  // namespace

void adam_multi(DType dt, const AdamShared& shared, const std::vector<AdamTensor>& tensors, int device) {
  const cudaStream_t s = stream(device);
  switch (dt) {
    case DType::f32: return launch_all<float>(shared, tensors, s);
    case DType::f64: return launch_all<double>(shared, tensors, s);
    default: throw DTypeError(msg("adam: CUDA kernels exist for f32 and f64 parameters, got ", dtype_name(dt)));
  }
}

}  // namespace asyndgan::kern::cuda
