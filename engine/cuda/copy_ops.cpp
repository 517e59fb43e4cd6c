// The copy family's table entries (fill, copy, fill_from_scalar, increment) over kernels/cuda/copy.cu: geometry
// from the tensors, and copies between overlapping views of one storage routed through a temporary.
#include <algorithm>
#include "engine/cuda/registry.h"
#include "kernels/cuda/copy.cuh"

namespace asyndgan::backend {
namespace {

using kern::cuda::CopyGeometry;

CopyGeometry geometry(const char* op, const Tensor& src, const Tensor& dst) {
  CopyGeometry g;
  if (!kern::cuda::make_copy_geometry(dst.shape().data(), src.strides().data(), dst.strides().data(),
                                      static_cast<int>(dst.dim()), g))
    throw ShapeError(msg(op, ": the CUDA kernels take views with at most ", kern::cuda::kMaxCopyDims,
                         " dimensions that cannot be merged; got ", src.describe(), " with strides ",
                         shape_str(src.strides()), " into strides ", shape_str(dst.strides()),
                         "; make it contiguous or reshape it to fewer dimensions first"));
  return g;
}

void check_on_device(const char* op, const Tensor& t, const Tensor& on) {
  if (!(t.device() == on.device()))
    throw DeviceError(msg(op, ": ", t.describe(), " and ", on.describe(),
                          " must be on the same CUDA device; move one with .to(device)"));
}

// Byte range [first, last) that a view can touch within its storage (strides are non-negative).
std::pair<size_t, size_t> byte_span(const Tensor& t) {
  int64_t last = t.offset();
  for (int64_t d = 0; d < t.dim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
  const size_t es = dtype_size(t.dtype());
  return {static_cast<size_t>(t.offset()) * es, static_cast<size_t>(last + 1) * es};
}

bool overlaps(const Tensor& a, const Tensor& b) {
  if (a.impl().storage != b.impl().storage) return false;
  auto [a0, a1] = byte_span(a);
  auto [b0, b1] = byte_span(b);
  return a0 < b1 && b0 < a1;
}

void cuda_fill(Tensor& dst, double value) {
  if (!dst.device().is_cuda()) throw DeviceError(msg("fill_ (CUDA): ", dst.describe(), " is not a cuda tensor"));
  if (dst.numel() == 0) return;
  kern::cuda::fill_strided(dst.raw_data(), dst.dtype(), value, geometry("fill_", dst, dst), dst.device().index);
}

void cuda_copy(const Tensor& src, Tensor& dst) {
  if (src.shape() != dst.shape())
    throw ShapeError(msg("copy_ (CUDA): source ", src.describe(), " does not match destination ", dst.describe()));
  if (!dst.device().is_cuda()) throw DeviceError(msg("copy_ (CUDA): ", dst.describe(), " is not a cuda tensor"));
  check_on_device("copy_ (CUDA)", src, dst);
  if (dst.numel() == 0) return;
  if (overlaps(src, dst)) {
    if (src.dtype() == dst.dtype() && src.offset() == dst.offset() && src.strides() == dst.strides()) return;
    // Elements written early could be read later: take a snapshot first. Freeing it at scope end is safe
    // while the kernels are still queued (stream-ordered reuse, kernels/cuda/allocator.cu).
    Tensor snapshot = Tensor::empty(src.shape(), src.dtype(), src.device());
    cuda_copy(src, snapshot);
    cuda_copy(snapshot, dst);
    return;
  }
  kern::cuda::copy_strided(src.raw_data(), src.dtype(), dst.raw_data(), dst.dtype(), geometry("copy_", src, dst),
                           dst.device().index);
}

void cuda_fill_from_scalar(const Tensor& scalar, double factor, Tensor& dst) {
  if (scalar.numel() != 1 || !is_floating(scalar.dtype()) || !dst.is_contiguous())
    throw ValueError(msg("fill_from_scalar (CUDA): needs a one-element floating scalar and a contiguous "
                         "destination, got ", scalar.describe(), " and ", dst.describe()));
  check_on_device("fill_from_scalar (CUDA)", scalar, dst);
  kern::cuda::fill_from_scalar(scalar.raw_data(), scalar.dtype(), factor, dst.raw_data(), dst.dtype(), dst.numel(),
                               dst.device().index);
}

void cuda_increment(Tensor& counter) {
  if (counter.numel() != 1 || counter.dtype() != DType::i64 || !counter.device().is_cuda())
    throw ValueError(msg("increment (CUDA): needs a one-element i64 cuda tensor, got ", counter.describe()));
  kern::cuda::increment_i64(static_cast<int64_t*>(counter.raw_data()), counter.device().index);
}

}  // namespace

void register_copy(CudaKernels& t) {
  t.fill = cuda_fill;
  t.copy = cuda_copy;
  t.fill_from_scalar = cuda_fill_from_scalar;
  t.increment = cuda_increment;
}

}  // namespace asyndgan::backend
