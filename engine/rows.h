// Rows: how an op writes into a destination it did not allocate (the U-Net's concatenated buffer, so the skip
// concat needs no copy): a tensor dense past dim 0, with any stride along dim 0, e.g. buf.narrow(1, c0, c) of a
// contiguous NCHW buffer. Kernels over contiguous buffers then run once per row (per sample).
#pragma once
#include <optional>
#include "engine/tensor.h"

namespace asyndgan {

// n rows of `inner` contiguous elements; row i starts `i * stride` elements after the tensor's first element.
struct Rows {
  int64_t n = 1, inner = 0, stride = 0;
  bool dense() const { return n <= 1 || stride == inner; }  // the whole tensor is one contiguous block
};

// The rows of t when dims 1.. are contiguous (always for a contiguous tensor), else nullopt.
inline std::optional<Rows> rows_of(const Tensor& t) {
  if (t.dim() == 0 || t.size(0) <= 1 || t.numel() == 0)
    return t.is_contiguous() ? std::optional<Rows>(Rows{1, t.numel(), t.numel()}) : std::nullopt;
  int64_t expect = 1;
  for (int64_t d = t.dim() - 1; d >= 1; --d) {
    if (t.size(d) != 1 && t.strides()[d] != expect) return std::nullopt;
    expect *= t.size(d);
  }
  return Rows{t.size(0), expect, t.strides()[0]};
}

// f(row offset in a contiguous tensor, row offset in the rows tensor, elements): once for a dense tensor, else
// once per row.
template <class F> void for_rows(const Rows& r, F&& f) {
  if (r.dense()) {
    f(int64_t{0}, int64_t{0}, r.n * r.inner);
    return;
  }
  for (int64_t i = 0; i < r.n; ++i) f(i * r.inner, i * r.stride, r.inner);
}

// Checks that `out` can take op's result shaped like `like` (same shape, dtype and device, dense past dim 0,
// no autograd history of its own), throwing a typed error naming op; returns its rows.
Rows check_destination(const char* op, const Tensor& out, const Tensor& like);
// The op's result over out's elements: a fresh view of out's storage, so the op's autograd history goes on the
// result and the caller's handle stays a plain buffer.
Tensor result_view(const Tensor& out);

}  // namespace asyndgan
