// CUDA reflection padding of [planes, H, W]: the forward gathers each output from its reflected source; the
// backward gathers too (each input element sums the padded positions that read it), so no atomics and a fixed
// summation order, the same as the CPU's scatter.
#include "kernels/common/shape_math.h"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/shape.cuh"

namespace asyndgan::kern::cuda {
namespace {

template <class T> struct PadForward {
  int64_t h, w, oh, ow, left, top;
  const T* x;
  T* out;
  __device__ void operator()(int64_t i) const {
    const int64_t c = i % ow, r = (i / ow) % oh, p = i / (ow * oh);
    out[i] = x[(p * h + reflect_index(r - top, h)) * w + reflect_index(c - left, w)];
  }
};

template <class T> struct PadBackward {
  int64_t h, w, oh, ow, left, right, top, bottom;
  const T* g;
  T* gin;
  __device__ void operator()(int64_t i) const {
    const int64_t c = i % w, r = (i / w) % h, p = i / (w * h);
    int64_t rows[3], cols[3];
    const int nr = reflect_sources(r, h, top, bottom, rows);
    const int nc = reflect_sources(c, w, left, right, cols);
    const T* plane = g + p * oh * ow;
    acc_t<T> s = 0;
    for (int a = 0; a < nr; ++a)
      for (int b = 0; b < nc; ++b) s += load(plane, rows[a] * ow + cols[b]);
    store(gin, i, s);
  }
};

}  // namespace

void reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, Tensor& out) {
  const int64_t h = x.size(-2), w = x.size(-1);
  dispatch_cuda_floating("reflection_pad2d", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_index(out.device(), out.numel(),
                   PadForward<T>{h, w, h + top + bottom, w + left + right, left, top, cptr<T>(x), ptr<T>(out)},
                   "reflection_pad2d");
  });
}

void reflection_pad2d_backward(const Tensor& grad, int64_t left, int64_t right, int64_t top, int64_t bottom,
                               Tensor& gin) {
  const int64_t h = gin.size(-2), w = gin.size(-1);
  dispatch_cuda_floating("reflection_pad2d backward", grad.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_index(gin.device(), gin.numel(),
                   PadBackward<T>{h, w, h + top + bottom, w + left + right, left, right, top, bottom, cptr<T>(grad),
                                  ptr<T>(gin)},
                   "reflection_pad2d backward");
  });
}

}  // namespace asyndgan::kern::cuda
