// The CUDA activations and dropout (engine/backend.h's unary, unary_backward, dropout, dropout_captured and
// set_philox_state entries) over raw device buffers. Plain C++ declarations: engine/cuda/activation_ops.cpp adapts
// tensors to them.
#pragma once
#include <cstdint>
#include "base/dtype.h"
#include "kernels/common/descriptors.h"
#include "kernels/common/philox.h"

namespace asyndgan::kern::cuda {

// n elements of dt (f32, f64 or bf16) each. x, saved, mask and gin are contiguous; out, grad and saved are laid
// out by their RowIndex (rows of a larger buffer, or {1, 1} for dense). All assign, on `device`'s current stream.
void unary(Act act, double slope, DType dt, int64_t n, const void* x, void* out, RowIndex out_rows, int device);
void unary_backward(Act act, double slope, DType dt, int64_t n, const void* grad, RowIndex grad_rows,
                    const void* saved, RowIndex saved_rows, void* gin, int device);
// mask[i] = 1/(1-p) where word i of the Philox draw starting at block `first` keeps element i, else 0; out = x * mask.
void dropout(PhiloxKey key, uint64_t first, double p, DType dt, int64_t n, const void* x, void* mask, void* out,
             RowIndex out_rows, int device);
// The same with the key and base block read on the device from philox_state ([seed, base], two u64 words), the
// draw starting at block base + relative_first: what a captured CUDA graph replays.
void dropout_captured(const uint64_t* philox_state, uint64_t relative_first, double p, DType dt, int64_t n,
                      const void* x, void* mask, void* out, RowIndex out_rows, int device);
// philox_state = [seed, base] from kernel parameters (stream-ordered, no host memory read later).
void set_philox_state(uint64_t* philox_state, uint64_t seed, uint64_t base, int device);

}  // namespace asyndgan::kern::cuda
