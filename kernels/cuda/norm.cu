// Batch and instance normalization fused with the following activation, forward and backward, in two shapes:
//  - resident: one block holds a whole group in registers (instance-norm planes; batch norm with many small
//    channels), so x is read once and out written once; statistics by two passes over the registers.
//  - split: a group too large for one block, or too few groups to fill the GPU. Blocks reduce slices of a group
//    to partial sums, then an apply kernel combines the group's partials in a fixed order and writes its slice.
//    It takes two kernels because the combine needs every slice finished: a grid-wide barrier would need every
//    block resident at once, which pix2pix's 32 MB [16, 64, 128, 128] bf16 batch-norm input cannot be; its
//    second read mostly hits the 50 MB L2.
// Sums are in double, in an order fixed by the shape alone (no atomics), so results repeat bit for bit.
// The output (forward) and the incoming gradient (backward) may have rows (samples `stride` elements apart, a
// channel range of the U-Net's concatenated buffer): their element e of the dense layout moves by `extra` per sample.
#include "kernels/cuda/norm.cuh"
#include <algorithm>
#include "kernels/common/activation_math.h"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::kern::cuda {
namespace {

constexpr int kSplitBlock = 256;
constexpr int kUnroll = 4;          // vectors each thread has in flight in the split kernels
constexpr int64_t kMaxSplits = 32;  // one warp combines a group's partials
constexpr int kMaxThreads = 1024;

template <class T, int V> struct alignas(sizeof(T) * V) Pack { T v[V]; };
template <class T> constexpr int kVec = 16 / static_cast<int>(sizeof(T));

template <class T, int V> __device__ __forceinline__ Pack<T, V> load_pack(const T* p) {
  return *reinterpret_cast<const Pack<T, V>*>(p);
}
template <class T, int V> __device__ __forceinline__ void store_pack(T* p, const Pack<T, V>& v) {
  *reinterpret_cast<Pack<T, V>*>(p) = v;
}

// A group's vectors: vector v of group g lies in plane j * c + g (batch norm) or g (instance norm), with
// j = v / plane_vecs, at element (v % plane_vecs) * V of that plane.
struct Geo {
  int64_t size, c, sample;  // sample: c * size, the dense layout's elements per sample
  uint32_t plane_vecs, group_vecs;
  bool per_channel;
  double count;  // elements per group
};

// Element e of the dense layout in a tensor whose samples lie sample + extra elements apart.
__device__ __forceinline__ int64_t remap(const Geo& q, int64_t extra, int64_t e) {
  return extra == 0 ? e : e + e / q.sample * extra;
}

template <int V> __device__ __forceinline__ int64_t vec_elem(const Geo& q, int64_t g, uint32_t v) {
  const uint32_t j = v / q.plane_vecs;
  const uint32_t o = v - j * q.plane_vecs;
  const int64_t plane = q.per_channel ? static_cast<int64_t>(j) * q.c + g : g;
  return plane * q.size + static_cast<int64_t>(o) * V;
}

// The fused activation, a run-time case of the shared per-element math (uniform per launch, so no divergence).
template <class A> __device__ __forceinline__ A act_fwd(Act act, A v, A slope) {
  switch (act) {
    case Act::relu: return relu_fwd(v);
    case Act::leaky_relu: return leaky_relu_fwd(v, slope);
    case Act::tanh: return tanh_fwd(v);
    case Act::sigmoid: return sigmoid_fwd(v);
    default: return v;
  }
}
// dL/dpre from dL/dy and the recomputed pre-activation.
template <class A> __device__ __forceinline__ A act_grad(Act act, A g, A pre, A slope) {
  switch (act) {
    case Act::relu: return relu_bwd(g, relu_fwd(pre));
    case Act::leaky_relu: return leaky_relu_bwd(g, pre, slope);
    case Act::tanh: return tanh_bwd(g, tanh_fwd(pre));
    case Act::sigmoid: return sigmoid_bwd(g, sigmoid_fwd(pre));
    default: return g;
  }
}

__device__ __forceinline__ double warp_sum(double v) {
  // A butterfly: every lane adds the same pairs (commuted), so all lanes end with the same bits.
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sums K per-thread values over the block (blockDim.x a multiple of 32) in a fixed order; every thread gets it.
template <int K> __device__ void block_sum(double (&v)[K]) {
  __shared__ double warp_total[K][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int k = 0; k < K; ++k) v[k] = warp_sum(v[k]);
  __syncthreads();  // a previous call's readers are done with warp_total
  if (lane == 0)
#pragma unroll
    for (int k = 0; k < K; ++k) warp_total[k][warp] = v[k];
  __syncthreads();
#pragma unroll
  for (int k = 0; k < K; ++k) v[k] = warp_sum(lane < warps ? warp_total[k][lane] : 0.0);
}

// Pointers and scalars of one forward launch; A is the arithmetic and parameter type.
template <class T> struct Fwd {
  using A = acc_t<T>;
  const T* x;
  const A *w, *b;
  A *rmean, *rvar;
  T* out;
  A *smean, *sinv;
  Act act;
  A slope;
  double eps, momentum;
  bool training, update_running;
  int64_t out_extra;
};

// Saved statistics, and PyTorch's running update (unbiased variance) for batch norm in training.
template <class A> __device__ void write_stats(int64_t g, double mean, double var, double invstd, double count,
                                               A* smean, A* sinv, A* rmean, A* rvar, double momentum, bool update) {
  smean[g] = static_cast<A>(mean);
  sinv[g] = static_cast<A>(invstd);
  if (update) {
    const double unbias = count / (count - 1.0);
    rmean[g] = static_cast<A>((1.0 - momentum) * static_cast<double>(rmean[g]) + momentum * mean);
    rvar[g] = static_cast<A>((1.0 - momentum) * static_cast<double>(rvar[g]) + momentum * var * unbias);
  }
}

// Forward and backward recompute the pre-activation with the same rounded values: (x - mean) * (invstd * w) + b.
template <class A> struct Affine {
  A mean, invstd, scale, bias;
};
template <class A> __device__ __forceinline__ Affine<A> affine(A mean, A invstd, const A* w, const A* b, int64_t ch) {
  const A wv = w ? w[ch] : A(1);
  return {mean, invstd, invstd * wv, b ? b[ch] : A(0)};
}

// ---------------------------------------------------------------- forward

template <class T, int V, int ITEMS>
__global__ void __launch_bounds__(kMaxThreads) fwd_resident(Geo q, Fwd<T> f) {
  using A = acc_t<T>;
  const int64_t g = blockIdx.x;
  A val[ITEMS][V];
  double acc[1] = {0.0};
#pragma unroll
  for (int it = 0; it < ITEMS; ++it) {
    const uint32_t v = threadIdx.x + it * blockDim.x;
    if (v < q.group_vecs) {
      const Pack<T, V> p = load_pack<T, V>(f.x + vec_elem<V>(q, g, v));
#pragma unroll
      for (int k = 0; k < V; ++k) {
        val[it][k] = load(p.v, k);
        acc[0] += static_cast<double>(val[it][k]);
      }
    }
  }
  block_sum<1>(acc);
  const double mean = acc[0] / q.count;
  acc[0] = 0.0;
#pragma unroll
  for (int it = 0; it < ITEMS; ++it)
    if (threadIdx.x + it * blockDim.x < q.group_vecs)
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const double d = static_cast<double>(val[it][k]) - mean;
        acc[0] += d * d;
      }
  block_sum<1>(acc);
  const double var = acc[0] / q.count;
  const double invstd = 1.0 / sqrt(var + f.eps);
  if (threadIdx.x == 0)
    write_stats(g, mean, var, invstd, q.count, f.smean, f.sinv, f.rmean, f.rvar, f.momentum, f.update_running);
  const Affine<A> a = affine(static_cast<A>(mean), static_cast<A>(invstd), f.w, f.b, g % q.c);
#pragma unroll
  for (int it = 0; it < ITEMS; ++it) {
    const uint32_t v = threadIdx.x + it * blockDim.x;
    if (v < q.group_vecs) {
      Pack<T, V> p;
#pragma unroll
      for (int k = 0; k < V; ++k) store(p.v, k, act_fwd(f.act, (val[it][k] - a.mean) * a.scale + a.bias, f.slope));
      store_pack<T, V>(f.out + remap(q, f.out_extra, vec_elem<V>(q, g, v)), p);
    }
  }
}

// Block (group, slice) of the split kernels and its vector range [begin, end).
struct Slice {
  int64_t g;
  uint32_t s, begin, end;
};
__device__ __forceinline__ Slice slice_of(const Geo& q, uint32_t splits, uint32_t chunk) {
  Slice r;
  r.g = blockIdx.x / splits;
  r.s = blockIdx.x % splits;
  r.begin = min(q.group_vecs, r.s * chunk);
  r.end = min(q.group_vecs, r.begin + chunk);
  return r;
}

// Calls f(element index, pack) for every vector of the slice, kUnroll loads in flight per thread.
template <class T, int V, class F> __device__ __forceinline__ void for_slice(const Geo& q, const Slice& r, const T* x, F&& f) {
  for (uint32_t v0 = r.begin + threadIdx.x; v0 < r.end; v0 += kUnroll * blockDim.x) {
    Pack<T, V> p[kUnroll];
    int64_t e[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const uint32_t v = v0 + u * blockDim.x;
      if (v < r.end) {
        e[u] = vec_elem<V>(q, r.g, v);
        p[u] = load_pack<T, V>(x + e[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (v0 + u * blockDim.x < r.end) f(e[u], p[u]);
  }
}

// Partial sums of (x - shift) and its square over a slice; shift is the group's first element, which keeps the
// one-pass variance accurate when the mean is large against the spread.
template <class T, int V>
__global__ void __launch_bounds__(kSplitBlock) fwd_partial(Geo q, const T* x, uint32_t splits, uint32_t chunk, double* part) {
  const Slice r = slice_of(q, splits, chunk);
  const double shift = static_cast<double>(load(x, r.g * q.size));
  double acc[2] = {0.0, 0.0};
  for_slice<T, V>(q, r, x, [&](int64_t, const Pack<T, V>& p) {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const double d = static_cast<double>(load(p.v, k)) - shift;
      acc[0] += d;
      acc[1] += d * d;
    }
  });
  block_sum<2>(acc);
  if (threadIdx.x == 0) {
    part[(r.g * splits + r.s) * 2] = acc[0];
    part[(r.g * splits + r.s) * 2 + 1] = acc[1];
  }
}

// One warp sums a group's partials in a fixed order; every block of the group gets the same bits.
__device__ __forceinline__ void combine(const double* part, int64_t g, uint32_t splits, double& a, double& b) {
  a = 0.0;
  b = 0.0;
  for (uint32_t i = threadIdx.x; i < splits; i += 32) {
    a += part[(g * splits + i) * 2];
    b += part[(g * splits + i) * 2 + 1];
  }
  a = warp_sum(a);
  b = warp_sum(b);
}

// Normalizes and activates a slice; training takes the statistics from the partials, eval from the running ones.
template <class T, int V>
__global__ void __launch_bounds__(kSplitBlock) fwd_apply(Geo q, Fwd<T> f, uint32_t splits, uint32_t chunk,
                                                         const double* part) {
  using A = acc_t<T>;
  __shared__ Affine<A> sh;
  const Slice r = slice_of(q, splits, chunk);
  if (threadIdx.x < 32) {
    double mean, var;
    if (f.training) {
      double s1, s2;
      combine(part, r.g, splits, s1, s2);
      const double m1 = s1 / q.count;
      mean = static_cast<double>(load(f.x, r.g * q.size)) + m1;
      var = fmax(s2 / q.count - m1 * m1, 0.0);
    } else {
      mean = static_cast<double>(f.rmean[r.g]);
      var = static_cast<double>(f.rvar[r.g]);
    }
    const double invstd = 1.0 / sqrt(var + f.eps);
    if (threadIdx.x == 0) {
      if (r.s == 0)
        write_stats(r.g, mean, var, invstd, q.count, f.smean, f.sinv, f.rmean, f.rvar, f.momentum,
                    f.training && f.update_running);
      sh = affine(static_cast<A>(mean), static_cast<A>(invstd), f.w, f.b, r.g % q.c);
    }
  }
  __syncthreads();
  const Affine<A> a = sh;
  for_slice<T, V>(q, r, f.x, [&](int64_t e, const Pack<T, V>& p) {
    Pack<T, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k) store(o.v, k, act_fwd(f.act, (load(p.v, k) - a.mean) * a.scale + a.bias, f.slope));
    store_pack<T, V>(f.out + remap(q, f.out_extra, e), o);
  });
}

// ---------------------------------------------------------------- backward

template <class T> struct Bwd {
  using A = acc_t<T>;
  const T *gy, *x;
  const A *w, *b, *smean, *sinv;
  T* gx;
  A *gw, *gb;
  double* group_sums;  // instance norm: [groups][2] sums of dL/dpre and dL/dpre * xhat, reduced per channel later
  Act act;
  A slope;
  bool training;
  int64_t gy_extra;
};

// dL/dpre and xhat of one element.
template <class A> __device__ __forceinline__ void grad_pre(const Affine<A>& a, Act act, A slope, A g, A x, A& gp, A& xhat) {
  const A d = x - a.mean;
  xhat = d * a.invstd;
  gp = act_grad(act, g, d * a.scale + a.bias, slope);
}

template <class T> __device__ void write_param_grads(const Geo& q, const Bwd<T>& f, int64_t g, double sum_g, double sum_gx) {
  using A = acc_t<T>;
  if (q.per_channel) {
    if (f.gw) f.gw[g] = static_cast<A>(sum_gx);
    if (f.gb) f.gb[g] = static_cast<A>(sum_g);
  } else if (f.group_sums) {
    f.group_sums[g * 2] = sum_g;
    f.group_sums[g * 2 + 1] = sum_gx;
  }
}

// gx = w * invstd * (gp - mean(gp) - xhat * mean(gp * xhat)) with batch statistics, w * invstd * gp without.
template <class A> struct GradCoef {
  A k, mg, mgx;
};
template <class A> __device__ __forceinline__ GradCoef<A> grad_coef(const Affine<A>& a, double sum_g, double sum_gx,
                                                                     double count, bool training) {
  return {a.scale, training ? static_cast<A>(sum_g / count) : A(0), training ? static_cast<A>(sum_gx / count) : A(0)};
}
template <class A> __device__ __forceinline__ A grad_x(const GradCoef<A>& c, A gp, A xhat) {
  return c.k * (gp - c.mg - xhat * c.mgx);
}

template <class T, int V, int ITEMS>
__global__ void __launch_bounds__(kMaxThreads) bwd_resident(Geo q, Bwd<T> f) {
  using A = acc_t<T>;
  const int64_t g = blockIdx.x;
  const Affine<A> a = affine(f.smean[g], f.sinv[g], f.w, f.b, g % q.c);
  A gp[ITEMS][V], xh[ITEMS][V];
  double acc[2] = {0.0, 0.0};
#pragma unroll
  for (int it = 0; it < ITEMS; ++it) {
    const uint32_t v = threadIdx.x + it * blockDim.x;
    if (v < q.group_vecs) {
      const int64_t e = vec_elem<V>(q, g, v);
      const Pack<T, V> pg = load_pack<T, V>(f.gy + remap(q, f.gy_extra, e)), px = load_pack<T, V>(f.x + e);
#pragma unroll
      for (int k = 0; k < V; ++k) {
        grad_pre(a, f.act, f.slope, load(pg.v, k), load(px.v, k), gp[it][k], xh[it][k]);
        acc[0] += static_cast<double>(gp[it][k]);
        acc[1] += static_cast<double>(gp[it][k]) * static_cast<double>(xh[it][k]);
      }
    }
  }
  block_sum<2>(acc);
  if (threadIdx.x == 0) write_param_grads(q, f, g, acc[0], acc[1]);
  const GradCoef<A> c = grad_coef(a, acc[0], acc[1], q.count, f.training);
#pragma unroll
  for (int it = 0; it < ITEMS; ++it) {
    const uint32_t v = threadIdx.x + it * blockDim.x;
    if (v < q.group_vecs) {
      Pack<T, V> o;
#pragma unroll
      for (int k = 0; k < V; ++k) store(o.v, k, grad_x(c, gp[it][k], xh[it][k]));
      store_pack<T, V>(f.gx + vec_elem<V>(q, g, v), o);
    }
  }
}

template <class T, int V>
__global__ void __launch_bounds__(kSplitBlock) bwd_partial(Geo q, Bwd<T> f, uint32_t splits, uint32_t chunk, double* part) {
  using A = acc_t<T>;
  const Slice r = slice_of(q, splits, chunk);
  const Affine<A> a = affine(f.smean[r.g], f.sinv[r.g], f.w, f.b, r.g % q.c);
  double acc[2] = {0.0, 0.0};
  for_slice<T, V>(q, r, f.x, [&](int64_t e, const Pack<T, V>& px) {
    const Pack<T, V> pg = load_pack<T, V>(f.gy + remap(q, f.gy_extra, e));
#pragma unroll
    for (int k = 0; k < V; ++k) {
      A gp, xhat;
      grad_pre(a, f.act, f.slope, load(pg.v, k), load(px.v, k), gp, xhat);
      acc[0] += static_cast<double>(gp);
      acc[1] += static_cast<double>(gp) * static_cast<double>(xhat);
    }
  });
  block_sum<2>(acc);
  if (threadIdx.x == 0) {
    part[(r.g * splits + r.s) * 2] = acc[0];
    part[(r.g * splits + r.s) * 2 + 1] = acc[1];
  }
}

template <class T, int V>
__global__ void __launch_bounds__(kSplitBlock) bwd_apply(Geo q, Bwd<T> f, uint32_t splits, uint32_t chunk,
                                                         const double* part) {
  using A = acc_t<T>;
  __shared__ GradCoef<A> sh;
  const Slice r = slice_of(q, splits, chunk);
  const Affine<A> a = affine(f.smean[r.g], f.sinv[r.g], f.w, f.b, r.g % q.c);
  if (threadIdx.x < 32) {
    double s1, s2;
    combine(part, r.g, splits, s1, s2);
    if (threadIdx.x == 0) {
      if (r.s == 0) write_param_grads(q, f, r.g, s1, s2);
      sh = grad_coef(a, s1, s2, q.count, f.training);
    }
  }
  __syncthreads();
  const GradCoef<A> c = sh;
  for_slice<T, V>(q, r, f.x, [&](int64_t e, const Pack<T, V>& px) {
    const Pack<T, V> pg = load_pack<T, V>(f.gy + remap(q, f.gy_extra, e));
    Pack<T, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      A gp, xhat;
      grad_pre(a, f.act, f.slope, load(pg.v, k), load(px.v, k), gp, xhat);
      store(o.v, k, grad_x(c, gp, xhat));
    }
    store_pack<T, V>(f.gx + e, o);
  });
}

// Instance norm's weight and bias gradients: each channel sums its planes' totals over the batch, in order.
template <class A>
__global__ void channel_param_grads(const double* group_sums, int64_t n, int64_t c, A* gw, A* gb) {
  const int64_t ch = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  double sg = 0.0, sgx = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sg += group_sums[(i * c + ch) * 2];
    sgx += group_sums[(i * c + ch) * 2 + 1];
  }
  if (gw) gw[ch] = static_cast<A>(sgx);
  if (gb) gb[ch] = static_cast<A>(sg);
}

// ---------------------------------------------------------------- launch planning

int sm_count(int device) {
  int n = 0;
  check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  return n > 0 ? n : 1;
}

// Slices per group for the split kernels: about four blocks per SM in all, none smaller than ~4096 elements.
int64_t split_count(const NormGeometry& g, int sms) {
  if (g.groups() == 0) return 1;
  const int64_t target = 4LL * sms;
  int64_t s = (target + g.groups() - 1) / g.groups();
  s = std::min(s, std::max<int64_t>(1, g.group_elements() / 4096));
  return std::clamp<int64_t>(s, 1, kMaxSplits);
}

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <int V> Geo make_geo(const NormGeometry& g) {
  Geo q;
  q.size = g.size;
  q.c = g.c;
  q.sample = g.c * g.size;
  q.plane_vecs = static_cast<uint32_t>(g.size / V);
  q.group_vecs = static_cast<uint32_t>(g.group_elements() / V);
  q.per_channel = g.per_channel;
  q.count = static_cast<double>(g.group_elements());
  return q;
}

// Vectors per thread of a resident block: at most 32 registers of data per thread (so 1024 threads fit the 64
// registers __launch_bounds__ allows without spilling), 1, 2 or 4.
template <class T> constexpr int resident_max_items(int arrays) {
  const int words = static_cast<int>(sizeof(acc_t<T>) / 4) * kVec<T> * arrays;
  return 32 / words >= 4 ? 4 : (32 / words >= 2 ? 2 : 1);
}

// The resident plan, or items == 0 when a group does not fit one block or the grid would not fill the GPU.
struct Resident {
  int items = 0, threads = 0;
};
Resident plan_resident(uint32_t group_vecs, int64_t groups, int sms, int max_items) {
  Resident r;
  // Empty groups (eval batch norm of an empty batch) would plan 0-thread blocks, an invalid launch; split handles them.
  if (groups < sms || group_vecs == 0) return r;
  for (int pass = 0; pass < 2 && r.items == 0; ++pass) {
    const int64_t cap = pass == 0 ? 512 : kMaxThreads;
    for (int items = 1; items <= max_items; items *= 2) {
      const int64_t threads = (group_vecs + items - 1) / items;
      if (threads <= cap) {
        r.items = items;
        r.threads = static_cast<int>((threads + 31) / 32 * 32);
        break;
      }
    }
  }
  return r;
}

// Instantiates only the item counts the plan can pick (MAX), so no variant that would spill is compiled.
template <template <class, int, int> class K, class T, int V, int MAX, class Args>
void launch_resident(const Resident& r, int64_t groups, cudaStream_t s, const Geo& q, const Args& a) {
  const dim3 grid(static_cast<unsigned>(groups)), block(static_cast<unsigned>(r.threads));
  if constexpr (MAX >= 4) {
    if (r.items == 4) return K<T, V, 4>::launch(grid, block, s, q, a);
  }
  if constexpr (MAX >= 2) {
    if (r.items == 2) return K<T, V, 2>::launch(grid, block, s, q, a);
  }
  K<T, V, 1>::launch(grid, block, s, q, a);
}
template <class T, int V, int I> struct FwdResident {
  static void launch(dim3 g, dim3 b, cudaStream_t s, const Geo& q, const Fwd<T>& f) { fwd_resident<T, V, I><<<g, b, 0, s>>>(q, f); }
};
template <class T, int V, int I> struct BwdResident {
  static void launch(dim3 g, dim3 b, cudaStream_t s, const Geo& q, const Bwd<T>& f) { bwd_resident<T, V, I><<<g, b, 0, s>>>(q, f); }
};

void check_geometry(const NormGeometry& g) {
  if (g.group_elements() >= (int64_t{1} << 31) || g.groups() * kMaxSplits >= (int64_t{1} << 31))
    throw ValueError(msg("normalization on CUDA: groups of ", g.group_elements(), " elements (", g.groups(),
                         " groups) exceed the kernels' 32-bit indexing"));
}

template <class T> void forward_typed(const NormGeometry& g, const NormConfig& cfg, const NormForwardBuffers& b,
                                      double* ws, int device) {
  using A = acc_t<T>;
  constexpr int V = kVec<T>;
  Fwd<T> f{static_cast<const T*>(b.x), static_cast<const A*>(b.weight), static_cast<const A*>(b.bias),
           static_cast<A*>(b.running_mean), static_cast<A*>(b.running_var), static_cast<T*>(b.out),
           static_cast<A*>(b.save_mean), static_cast<A*>(b.save_invstd), cfg.act, static_cast<A>(cfg.slope),
           cfg.eps, cfg.momentum, cfg.training, cfg.training && b.running_mean != nullptr, b.out_stride - g.c * g.size};
  const cudaStream_t s = stream(device);
  const int sms = sm_count(device);
  const bool vec = g.size % V == 0 && f.out_extra % V == 0 && aligned16(b.x) && aligned16(b.out);
  if (vec && cfg.training) {
    constexpr int kMax = resident_max_items<T>(1);
    const Resident r = plan_resident(static_cast<uint32_t>(g.group_elements() / V), g.groups(), sms, kMax);
    if (r.items) {
      launch_resident<FwdResident, T, V, kMax>(r, g.groups(), s, make_geo<V>(g), f);
      check_launch("norm forward (resident)");
      return;
    }
  }
  const uint32_t splits = static_cast<uint32_t>(split_count(g, sms));
  const unsigned grid = static_cast<unsigned>(g.groups() * splits);
  auto run = [&](auto vtag) {
    constexpr int W = decltype(vtag)::value;
    const Geo q = make_geo<W>(g);
    const uint32_t chunk = (q.group_vecs + splits - 1) / splits;
    if (cfg.training) {
      fwd_partial<T, W><<<grid, kSplitBlock, 0, s>>>(q, f.x, splits, chunk, ws);
      check_launch("norm forward (partial statistics)");
    }
    fwd_apply<T, W><<<grid, kSplitBlock, 0, s>>>(q, f, splits, chunk, ws);
    check_launch("norm forward (apply)");
  };
  if (vec) run(std::integral_constant<int, V>{});
  else run(std::integral_constant<int, 1>{});
}

template <class T> void backward_typed(const NormGeometry& g, const NormConfig& cfg, const NormBackwardBuffers& b,
                                       double* ws, int device) {
  using A = acc_t<T>;
  constexpr int V = kVec<T>;
  const int sms = sm_count(device);
  const uint32_t splits = static_cast<uint32_t>(split_count(g, sms));
  // The layout of the workspace: the split partials, then instance norm's per-plane totals.
  double* part = ws;
  double* group_sums = ws + g.groups() * splits * 2;
  const bool param_grads = b.gweight != nullptr || b.gbias != nullptr;
  Bwd<T> f{static_cast<const T*>(b.grad), static_cast<const T*>(b.x), static_cast<const A*>(b.weight),
           static_cast<const A*>(b.bias), static_cast<const A*>(b.save_mean), static_cast<const A*>(b.save_invstd),
           static_cast<T*>(b.gx), static_cast<A*>(b.gweight), static_cast<A*>(b.gbias),
           !g.per_channel && param_grads ? group_sums : nullptr, cfg.act, static_cast<A>(cfg.slope), cfg.training,
           b.grad_stride - g.c * g.size};
  const cudaStream_t s = stream(device);
  const bool vec = g.size % V == 0 && f.gy_extra % V == 0 && aligned16(b.grad) && aligned16(b.x) && aligned16(b.gx);
  bool done = g.groups() == 0;  // an empty batch: only instance norm's (zero) parameter gradients to write
  if (vec && !done) {
    constexpr int kMax = resident_max_items<T>(2);
    const Resident r = plan_resident(static_cast<uint32_t>(g.group_elements() / V), g.groups(), sms, kMax);
    if (r.items) {
      launch_resident<BwdResident, T, V, kMax>(r, g.groups(), s, make_geo<V>(g), f);
      check_launch("norm backward (resident)");
      done = true;
    }
  }
  if (!done) {
    const unsigned grid = static_cast<unsigned>(g.groups() * splits);
    auto run = [&](auto vtag) {
      constexpr int W = decltype(vtag)::value;
      const Geo q = make_geo<W>(g);
      const uint32_t chunk = (q.group_vecs + splits - 1) / splits;
      bwd_partial<T, W><<<grid, kSplitBlock, 0, s>>>(q, f, splits, chunk, part);
      check_launch("norm backward (partial sums)");
      bwd_apply<T, W><<<grid, kSplitBlock, 0, s>>>(q, f, splits, chunk, part);
      check_launch("norm backward (apply)");
    };
    if (vec) run(std::integral_constant<int, V>{});
    else run(std::integral_constant<int, 1>{});
  }
  if (f.group_sums) {
    channel_param_grads<A><<<static_cast<unsigned>((g.c + 255) / 256), 256, 0, s>>>(group_sums, g.n, g.c, f.gw, f.gb);
    check_launch("norm backward (channel sums)");
  }
}

}  // namespace

size_t norm_workspace_doubles(const NormGeometry& g, int device) {
  return static_cast<size_t>(g.groups() * (2 * split_count(g, sm_count(device)) + 2));
}

void norm_forward(const NormGeometry& g, DType dt, const NormConfig& cfg, const NormForwardBuffers& b,
                  double* workspace, int device) {
  check_geometry(g);
  if (g.groups() == 0) return;
  dispatch_cuda_floating("norm forward", dt, [&](auto tag) { forward_typed<decltype(tag)>(g, cfg, b, workspace, device); });
}

void norm_backward(const NormGeometry& g, DType dt, const NormConfig& cfg, const NormBackwardBuffers& b,
                   double* workspace, int device) {
  check_geometry(g);
  if (g.c == 0) return;
  dispatch_cuda_floating("norm backward", dt, [&](auto tag) { backward_typed<decltype(tag)>(g, cfg, b, workspace, device); });
}

}  // namespace asyndgan::kern::cuda
