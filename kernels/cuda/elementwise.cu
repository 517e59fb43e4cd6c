// CUDA elementwise kernels (axpby, affine, mul, axpy_) over contiguous buffers, and the deterministic sum.
// Arithmetic runs in acc_t<T> (f32 for bf16) with the per-element math of kernels/common/elementwise_math.h.
#include <type_traits>
#include "kernels/common/elementwise_math.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/reduce.cuh"

namespace asyndgan::kern::cuda {
namespace {

template <class T> struct Axpby {
  acc_t<T> alpha, beta;
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(int64_t i) const { store(out, i, axpby_value(alpha, load(a, i), beta, load(b, i))); }
};

template <class T> struct Affine {
  acc_t<T> scale, shift;
  const T* a;
  T* out;
  __device__ void operator()(int64_t i) const { store(out, i, affine_value(load(a, i), scale, shift)); }
};

template <class T> struct Mul {
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(int64_t i) const { store(out, i, load(a, i) * load(b, i)); }
};

template <class T> struct Axpy {
  T* a;
  acc_t<T> alpha;
  const T* b;
  __device__ void operator()(int64_t i) const { store(a, i, axpy_value(load(a, i), alpha, load(b, i))); }
};

// bf16 and f32 terms widen exactly to double, so the sum sees the stored values themselves.
template <class T> struct SumTerm {
  const T* x;
  __device__ void operator()(int64_t i, double (&acc)[1]) const { acc[0] += static_cast<double>(load(x, i)); }
};

}  // namespace

void axpby(DType dt, int64_t n, double alpha, const void* a, double beta, const void* b, void* out, int device) {
  dispatch_cuda_floating("axpby", dt, [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    for_each_index(device, n,
                   Axpby<T>{static_cast<A>(alpha), static_cast<A>(beta), cptr<T>(a), cptr<T>(b), ptr<T>(out)}, "axpby");
  });
}

void affine(DType dt, int64_t n, const void* a, double scale, double shift, void* out, int device) {
  dispatch_cuda_floating("affine", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, n,
                   Affine<T>{static_cast<acc_t<T>>(scale), static_cast<acc_t<T>>(shift), cptr<T>(a), ptr<T>(out)},
                   "affine");
  });
}

void mul(DType dt, int64_t n, const void* a, const void* b, void* out, int device) {
  dispatch_cuda_floating("mul", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, n, Mul<T>{cptr<T>(a), cptr<T>(b), ptr<T>(out)}, "mul");
  });
}

void axpy_(DType dt, int64_t n, void* a, double alpha, const void* b, int device) {
  dispatch_cuda_floating("axpy_", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, n, Axpy<T>{ptr<T>(a), static_cast<acc_t<T>>(alpha), cptr<T>(b)}, "axpy_");
  });
}

void sum(DType dt, int64_t n, const void* x, double scale, DType out_dt, void* out, int device) {
  dispatch_cuda_floating("sum", dt, [&](auto tag) {
    using T = decltype(tag);
    with_scalar_out("sum", out_dt, out, [&](auto* o) {
      using Out = std::remove_pointer_t<decltype(o)>;
      deterministic_sum<1>(device, n, SumTerm<T>{cptr<T>(x)}, WriteScaled<Out>{o, scale, 1.0, false}, "sum");
    });
  });
}

}  // namespace asyndgan::kern::cuda
