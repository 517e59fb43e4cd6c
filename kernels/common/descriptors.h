// The plain descriptors the kernel launchers take from the engine (engine/backend.h uses them as they are):
// the activation to apply or fuse, a normalization's settings and groups, a convolution's window and a buffer's rows.
#pragma once
#include <cstdint>
#include "base/hostdevice.h"

namespace asyndgan::kern {

// The activation fused after a normalization, and the standalone activation kernels.
enum class Act : unsigned char { none, relu, leaky_relu, tanh, sigmoid };

// The window of a conv2d (for conv_transpose2d: of the conv2d whose backward-data it is). Dilation 1, groups 1.
struct ConvWindow {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

struct NormConfig {
  bool per_channel = true;  // batch norm: one group per channel over N, H, W; instance norm: one per (n, c)
  bool training = true;     // false: normalize with the running statistics (batch norm in eval mode)
  double momentum = 0.1, eps = 1e-5;
  Act act = Act::none;  // applied to weight * xhat + bias
  double slope = 0.2;   // of leaky_relu
};

// The groups a normalization of x [N, C, spatial...] computes statistics over: batch norm pools each channel's
// planes (sample x channel) across the batch into one group, instance norm keeps every plane as its own.
struct NormGeometry {
  int64_t n = 0, c = 0, size = 0;  // size: spatial elements per plane
  bool per_channel = true;
  ASYNDGAN_HD int64_t planes() const { return n * c; }
  ASYNDGAN_HD int64_t groups() const { return per_channel ? c : n * c; }
  ASYNDGAN_HD int64_t group_of(int64_t plane) const { return per_channel ? plane % c : plane; }
  ASYNDGAN_HD int64_t group_elements() const { return per_channel ? n * size : size; }
};

// Where element i of a buffer with rows lies: rows of `inner` contiguous elements `stride` apart (a channel
// range of the U-Net's concatenated buffer, engine/rows.h). {1, 1}, or any stride == inner, is dense and skips
// the division.
struct RowIndex {
  int64_t inner = 1, stride = 1;
  ASYNDGAN_HD int64_t operator()(int64_t i) const { return stride == inner ? i : i / inner * stride + i % inner; }
};

}  // namespace asyndgan::kern
