// Shape ops: reflection padding of the last two dims and concatenation along any dim (a view, no copy, of inputs
// already side by side in one storage).
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/shape.h"

namespace asyndgan {
namespace {

// True when the tensors lie one after another along d in one storage with equal strides, as views written into
// adjacent channel ranges of one buffer do; their concatenation is then a view starting at the first.
bool side_by_side(const std::vector<Tensor>& tensors, int64_t d) {
  const Tensor& first = tensors[0];
  int64_t next = first.offset();
  for (const Tensor& t : tensors) {
    if (t.impl().storage != first.impl().storage || t.strides() != first.strides() || t.offset() != next) return false;
    next += t.size(d) * t.strides()[d];
  }
  return true;
}

// cat's backward: each input's range of the gradient along d, as a view (the input reads it in place) or copied.
BackwardFn split_gradient(int64_t d, std::vector<int64_t> sizes, bool views) {
  return [d, sizes = std::move(sizes), views](const Tensor& g, const std::vector<bool>& needs) {
    std::vector<Tensor> grads(sizes.size());
    int64_t start = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (needs[k]) grads[k] = views ? g.narrow(d, start, sizes[k]) : g.narrow(d, start, sizes[k]).contiguous();
      start += sizes[k];
    }
    return grads;
  };
}

}  // namespace

Tensor reflection_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  const char* op = "reflection_pad2d";
  check_defined(op, x, "x");
  if (x.dim() != 3 && x.dim() != 4)
    throw ShapeError(msg(op, ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ", shape_str(x.shape())));
  if (left < 0 || right < 0 || top < 0 || bottom < 0)
    throw ValueError(msg(op, ": pads must be non-negative, got {", left, ", ", right, ", ", top, ", ", bottom, "}"));
  const int64_t h = x.size(-2), w = x.size(-1);
  if (left >= w || right >= w || top >= h || bottom >= h)
    throw ShapeError(msg(op, ": pads {left ", left, ", right ", right, ", top ", top, ", bottom ", bottom,
                         "} must each be smaller than the padded dim of input ", shape_str(x.shape())));
  const int64_t planes = x.numel() / (h * w);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 2] = h + top + bottom;
  out_shape[out_shape.size() - 1] = w + left + right;
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (backend::on_cuda({x})) {
    backend::cuda(op).reflection_pad2d(xc, left, right, top, bottom, out);
  } else {
    dispatch_floating(op, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kern::cpu::reflection_pad2d<T>(xc.data<T>(), planes, h, w, left, right, top, bottom, out.data<T>());
    });
  }
  Shape in_shape = x.shape();
  record(out, op, {x}, [in_shape, planes, h, w, left, right, top, bottom](const Tensor& g, const std::vector<bool>&) {
    Tensor gc = g.contiguous();
    Tensor gin = Tensor::empty(in_shape, g.dtype(), g.device());
    if (g.device().is_cuda()) {
      backend::cuda("reflection_pad2d").reflection_pad2d_backward(gc, left, right, top, bottom, gin);
    } else {
      dispatch_floating("reflection_pad2d", g.dtype(), [&](auto tag) {
        using T = decltype(tag);
        kern::cpu::reflection_pad2d_backward<T>(gc.data<T>(), planes, h, w, left, right, top, bottom, gin.data<T>());
      });
    }
    return std::vector<Tensor>{gin};
  });
  return out;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  const char* op = "cat";
  if (tensors.empty()) throw ValueError("cat: expected a non-empty list of tensors");
  for (const Tensor& t : tensors) check_defined(op, t, "tensors[i]");
  const Tensor& first = tensors[0];
  const int64_t nd = first.dim();
  if (nd == 0) throw ShapeError("cat: 0-D tensors cannot be concatenated");
  const int64_t d = dim < 0 ? dim + nd : dim;
  if (d < 0 || d >= nd) throw ShapeError(msg(op, ": dim ", dim, " out of range for shape ", shape_str(first.shape())));
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k];
    check_same_dtype_device(op, first, t);
    bool ok = t.dim() == nd;
    for (int64_t i = 0; ok && i < nd; ++i) ok = i == d || t.shape()[i] == first.shape()[i];
    if (!ok)
      throw ShapeError(msg(op, ": tensor ", k, " has shape ", shape_str(t.shape()), ", incompatible with ",
                           shape_str(first.shape()), " outside dim ", d));
    out_shape[d] += t.shape()[d];
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  if (tensors.size() > 1 && side_by_side(tensors, d)) {
    Tensor out = make_view(first, out_shape, first.strides(), first.offset());
    record(out, op, tensors, split_gradient(d, sizes, /*views=*/true));
    return out;
  }
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  if (backend::on_cuda({first})) {
    // Each input is copied (by the backend's strided copy, which converts nothing here) into its slice along d.
    int64_t start = 0;
    for (size_t k = 0; k < tensors.size(); ++k) {
      if (sizes[k] > 0) out.narrow(d, start, sizes[k]).copy_(tensors[k]);
      start += sizes[k];
    }
  } else {
    // Row-major: each input contributes size[d] * inner contiguous elements per index of the outer dims.
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < d; ++i) outer *= out_shape[i];
    for (int64_t i = d + 1; i < nd; ++i) inner *= out_shape[i];
    const int64_t elem = static_cast<int64_t>(dtype_size(first.dtype()));
    std::vector<Tensor> contiguous;
    std::vector<const void*> srcs;
    std::vector<int64_t> row_bytes;
    for (const Tensor& t : tensors) {
      contiguous.push_back(t.contiguous());
      srcs.push_back(contiguous.back().raw_data());
      row_bytes.push_back(t.shape()[d] * inner * elem);
    }
    kern::cpu::concat_rows(srcs.data(), row_bytes.data(), static_cast<int64_t>(srcs.size()), outer, out.raw_data());
  }

  record(out, op, tensors, split_gradient(d, sizes, /*views=*/false));
  return out;
}

}  // namespace asyndgan
