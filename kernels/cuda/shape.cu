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

void reflection_pad2d(DType dt, const Pad2d& p, const void* x, void* out, int device) {
  const int64_t oh = p.h + p.top + p.bottom, ow = p.w + p.left + p.right;
  dispatch_cuda_floating("reflection_pad2d", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, p.planes * oh * ow, PadForward<T>{p.h, p.w, oh, ow, p.left, p.top, cptr<T>(x), ptr<T>(out)},
                   "reflection_pad2d");
  });
}

void reflection_pad2d_backward(DType dt, const Pad2d& p, const void* grad, void* gin, int device) {
  dispatch_cuda_floating("reflection_pad2d backward", dt, [&](auto tag) {
    using T = decltype(tag);
    for_each_index(device, p.planes * p.h * p.w,
                   PadBackward<T>{p.h, p.w, p.h + p.top + p.bottom, p.w + p.left + p.right, p.left, p.right, p.top,
                                  p.bottom, cptr<T>(grad), ptr<T>(gin)},
                   "reflection_pad2d backward");
  });
}

}  // namespace asyndgan::kern::cuda
