// ReflectionPad2d: argument check and forward through reflection_pad2d.
#include "engine/nn/padding.h"
#include "engine/ops.h"

namespace asyndgan::nn {

ReflectionPad2d::ReflectionPad2d(int64_t l, int64_t r, int64_t t, int64_t b) : left(l), right(r), top(t), bottom(b) {
  if (l < 0 || r < 0 || t < 0 || b < 0)
    throw ValueError(msg("ReflectionPad2d: padding must be non-negative, got {", l, ", ", r, ", ", t, ", ", b, "}"));
}

Tensor ReflectionPad2d::forward(const Tensor& x) { return reflection_pad2d(x, left, right, top, bottom); }

}  // namespace asyndgan::nn
