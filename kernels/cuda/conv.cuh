// cuDNN 2-D convolution over raw NCHW or NHWC device buffers: forward, backward-data and backward-weight, each with its
// algorithm chosen once per shape and cached (kernels/cuda/conv.cu). Host-only declarations.
#pragma once
#include <cstddef>
#include <cstdint>
#include "base/dtype.h"

namespace asyndgan::kern::cuda {

// How the buffers are laid out: nchw (x [n, c_in, h, w], weight [c_out, c_in, kh, kw], y [n, c_out, oh, ow]:
// the engine's tensors) or nhwc, channels last (x [n, h, w, c_in], weight [c_out, kh, kw, c_in],
// y [n, oh, ow, c_out]: what cuDNN's bf16 tensor-core kernels read without transposing). The extents are the
// same either way.
enum class ConvLayout { nchw, nhwc };

// The conv2d all three directions refer to: image x (n, c_in, h, w), weight (c_out, c_in, kh, kw), output
// y (n, c_out, oh, ow) in `layout`; dilation 1, groups 1. conv_transpose2d passes the conv2d whose
// backward-data it is.
struct ConvShape {
  int64_t n = 0, c_in = 0, h = 0, w = 0, c_out = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  ConvLayout layout = ConvLayout::nchw;
};

// The numerics a convolution runs under, passed by the caller (the engine fills it from its settings):
// allow_tf32: TF32 tensor cores for f32 (otherwise FMA-only kernels; bf16 always uses tensor cores, f64 never
// rounds); deterministic: only algorithms cuDNN marks deterministic, chosen by its heuristics rather than by
// timing; workspace_limit: the most scratch memory one convolution may use (algorithms that need more are skipped).
struct ConvMath {
  bool allow_tf32 = false;
  bool deterministic = false;
  size_t workspace_limit = size_t{256} << 20;
};

// dtype f32, f64 or bf16 (bf16 accumulates in f32). All assign their output, on the device's current stream.
// The first call for a shape and ConvMath searches for the algorithm and synchronizes the device; later calls do
// not.
void conv2d_forward(DType dt, const ConvShape& s, const ConvMath& m, const void* x, const void* w, void* y,
                    int device);
void conv2d_backward_data(DType dt, const ConvShape& s, const ConvMath& m, const void* dy, const void* w, void* dx,
                          int device);
void conv2d_backward_weight(DType dt, const ConvShape& s, const ConvMath& m, const void* x, const void* dy, void* dw,
                            int device);

// Algorithms chosen so far, for tests and logs (changing a setting needs no reset: ConvMath is in the key).
size_t conv_algorithm_cache_size();

}  // namespace asyndgan::kern::cuda
