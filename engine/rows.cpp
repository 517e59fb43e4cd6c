// Destination checks for ops that write into a given tensor (engine/rows.h).
#include "engine/rows.h"

namespace asyndgan {

Rows check_destination(const char* op, const Tensor& out, const Tensor& like) {
  check_defined(op, out, "out");
  check_same_dtype_device(op, like, out);
  check_same_shape(op, like, out);
  if (out.requires_grad() || out.grad_fn())
    throw ValueError(msg(op, ": 'out' must be a plain buffer without autograd history, got ", out.describe()));
  const std::optional<Rows> r = rows_of(out);
  if (!r || (!r->dense() && r->stride < r->inner))  // rows must not overlap (a broadcast dim 0 would)
    throw ShapeError(msg(op, ": 'out' must be contiguous past dim 0 (e.g. a channel range of an NCHW buffer), got ",
                         out.describe(), " with strides ", shape_str(out.strides())));
  return *r;
}

Tensor result_view(const Tensor& out) { return make_view(out, out.shape(), out.strides(), out.offset()); }

}  // namespace asyndgan
