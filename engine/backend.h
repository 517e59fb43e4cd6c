// The GPU kernels the ops call for cuda tensors: one table of plain functions, filled at start-up by engine/cuda/
// in a CUDA build (each op family's Tensor adapters over kernels/cuda/ register its entries from their own file,
// as PyTorch's DispatchStub does) and left empty in a CPU-only build, where an op on a cuda tensor throws a
// DeviceError naming the op. Call sites need no #ifdef: `backend::cuda("relu").unary(...)`.
//
// Contract for every entry: the op has already checked shapes, dtypes and devices, allocated every output on
// the inputs' device, and made every input contiguous unless the entry says "strided" or "rows" (dense past dim 0
// with any stride along dim 0, engine/rows.h: a channel range of the U-Net's concatenated buffer, which the ops
// write into and whose gradient they read in place). Entries launch on the
// device's current stream (base/cuda_runtime.h) and never synchronize with the host, so a step built from them
// can be captured in a CUDA graph; 0-D results (sums, losses) stay on the device. "Assigns" means the output is
// overwritten; "accumulates" means added to. Supported dtypes: f32, bf16 and f64 for activations and outputs;
// normalization weights, biases, running and saved statistics are f32 when x is bf16 (mixed precision), else x's.
#pragma once
#include <cstdint>
#include <vector>
#include "engine/tensor.h"
#include "kernels/common/descriptors.h"
#include "kernels/common/philox.h"

namespace asyndgan::backend {

// The descriptors the CUDA kernels take (kernels/common/descriptors.h), under the names the ops use.
using Act = kern::Act;
using ConvWindow = kern::ConvWindow;
using NormConfig = kern::NormConfig;
using NormGeometry = kern::NormGeometry;

// The groups of a normalization of x [N, C, spatial...], for the CPU op and the CUDA adapter alike.
NormGeometry norm_geometry(const Tensor& x, bool per_channel);

// One parameter of a fused Adam launch. Its step counter lives on the device (PyTorch's capturable Adam), so a
// replayed CUDA graph computes each step's bias corrections anew instead of reusing the captured ones.
struct AdamSlot {
  Tensor param, grad, exp_avg, exp_avg_sq;  // same shape and dtype (f32 master weights, or f64), contiguous
  Tensor step;  // i64, one element: the parameter's steps so far; the launch adds 1 before using it
};
// What every slot of a launch shares. lr lives on the device too (set_lr writes it between steps).
struct AdamHyper {
  double beta1, beta2, eps, weight_decay;
  Tensor lr;     // f64, one element
  Tensor calls;  // i64, one element, or undefined: a counter the launch adds 1 to (the optimizer's step count)
};

struct CudaKernels {
  // ---- tensor basics (engine/tensor.cpp) ----
  void (*fill)(Tensor& dst, double value) = nullptr;             // dst strided; assigns
  void (*copy)(const Tensor& src, Tensor& dst) = nullptr;        // both strided, same shape, any dtypes (converts)
  // dst (contiguous, any dtype) = scalar (one element, floating) * factor, in double then converted as fill does:
  // Tensor::full(shape, scalar.item() * factor) without the host round trip.
  void (*fill_from_scalar)(const Tensor& scalar, double factor, Tensor& dst) = nullptr;
  void (*increment)(Tensor& counter) = nullptr;  // counter (i64, one element) += 1

  // ---- elementwise (engine/ops/elementwise.cpp); same shapes, assigns unless noted ----
  void (*axpby)(double alpha, const Tensor& a, double beta, const Tensor& b, Tensor& out) = nullptr;
  void (*affine)(const Tensor& a, double scale, double shift, Tensor& out) = nullptr;  // scale * a + shift
  void (*mul)(const Tensor& a, const Tensor& b, Tensor& out) = nullptr;
  void (*axpy_)(Tensor& a, double alpha, const Tensor& b) = nullptr;  // a += alpha * b (accumulates)

  // ---- reductions and losses (engine/ops/reduce.cpp, loss.cpp): out is 0-D on the device, f32 or f64 ----
  void (*sum)(const Tensor& x, double scale, Tensor& out) = nullptr;  // out = scale * sum(x)
  // mean |x - y|, or with mask: sum(mask * |x - y|) / max(sum(mask), 1); mask may be undefined.
  void (*l1_forward)(const Tensor& x, const Tensor& y, const Tensor& mask, Tensor& out) = nullptr;
  // gx = dL/dloss (0-D on the device) * d loss / dx.
  void (*l1_backward)(const Tensor& grad_loss, const Tensor& x, const Tensor& y, const Tensor& mask,
                      Tensor& gx) = nullptr;
  void (*mse_forward)(const Tensor& x, const Tensor& y, Tensor& out) = nullptr;
  void (*mse_backward)(const Tensor& grad_loss, const Tensor& x, const Tensor& y, Tensor& gx) = nullptr;
  void (*bce_forward)(const Tensor& logits, const Tensor& target, Tensor& out) = nullptr;
  // gx may be undefined (not needed); gt likewise (its gradient is -dL/dloss * x / n).
  void (*bce_backward)(const Tensor& grad_loss, const Tensor& logits, const Tensor& target, Tensor& gx,
                       Tensor& gt) = nullptr;

  // ---- activations and dropout (engine/ops/activation.cpp) ----
  void (*unary)(Act act, double slope, const Tensor& x, Tensor& out) = nullptr;  // out: rows
  // saved: the forward output y for relu, tanh and sigmoid; the input x for leaky_relu (as on the CPU). grad and
  // saved: rows; gin contiguous.
  void (*unary_backward)(Act act, double slope, const Tensor& grad, const Tensor& saved, Tensor& gin) = nullptr;
  // mask[i] = 1/(1-p) where word i of the Philox draw starting at block `first` keeps element i, else 0 (the
  // CPU's kern::cpu::dropout_mask, bit for bit); out = x * mask. out: rows (x and mask contiguous).
  void (*dropout)(kern::PhiloxKey key, uint64_t first, double p, const Tensor& x, Tensor& mask, Tensor& out) = nullptr;
  // The same inside a CUDA graph capture: the seed and base block are read on the device from philox_state (i64
  // [seed, base]), and the draw starts at block base + relative_first, so each replay draws fresh masks.
  void (*dropout_captured)(const Tensor& philox_state, uint64_t relative_first, double p, const Tensor& x,
                           Tensor& mask, Tensor& out) = nullptr;
  // philox_state = [seed, base] from kernel parameters (stream-ordered, no host memory read later).
  void (*set_philox_state)(Tensor& philox_state, uint64_t seed, uint64_t base) = nullptr;

  // ---- shape (engine/ops/shape.cpp); cat is copy() into narrowed views of its output ----
  void (*reflection_pad2d)(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom,
                           Tensor& out) = nullptr;
  void (*reflection_pad2d_backward)(const Tensor& grad, int64_t left, int64_t right, int64_t top, int64_t bottom,
                                    Tensor& gin) = nullptr;  // assigns

  // ---- normalization fused with the activation that follows (engine/ops/norm.cpp) ----
  // out = act(weight * (x - mean) * invstd + bias); weight/bias may be undefined (1 and 0). Training: batch
  // statistics, saved to save_mean/save_invstd ([groups], f32), and running_mean/var (when defined) updated in
  // place with the unbiased variance. Eval: the running statistics (save_* still written). out: rows.
  void (*norm_forward)(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                       Tensor& running_var, const NormConfig& cfg, Tensor& out, Tensor& save_mean,
                       Tensor& save_invstd) = nullptr;
  // From dL/dout and the forward's x and saved statistics (the activation's derivative is recomputed from x):
  // gx (assigns), gweight and gbias (assign; each may be undefined when not needed). grad: rows.
  void (*norm_backward)(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& save_mean, const Tensor& save_invstd, const NormConfig& cfg, Tensor& gx,
                        Tensor& gweight, Tensor& gbias) = nullptr;

  // ---- convolution (engine/ops/conv.cpp): cuDNN, algorithm cached per shape, workspace capped ----
  // x [N, Cin, H, W], w [Cout, Cin, kh, kw], y [N, Cout, oh, ow]; bias [Cout] or undefined. All assign.
  void (*conv2d_forward)(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvWindow& win,
                         Tensor& y) = nullptr;
  void (*conv2d_backward_data)(const Tensor& dy, const Tensor& w, const ConvWindow& win, Tensor& dx) = nullptr;
  void (*conv2d_backward_weight)(const Tensor& x, const Tensor& dy, const ConvWindow& win, Tensor& dw) = nullptr;
  void (*bias_grad)(const Tensor& dy, Tensor& db) = nullptr;  // db[c] = sum over n, h, w of dy
  void (*add_channel_bias)(Tensor& y, const Tensor& bias) = nullptr;  // y[n, c, ...] += bias[c] (accumulates)

  // ---- optimizer (engine/optim/adam.cpp): every slot updated in one launch ----
  // One small kernel adds 1 to each slot's step (and to h.calls), then the update kernel reads the steps and
  // h.lr and computes the bias corrections on the device (in double, then rounded to the parameter's type, as
  // the CPU step does), so the pair can be captured once and replayed for every later step.
  void (*adam)(const AdamHyper& h, const std::vector<AdamSlot>& slots) = nullptr;
};

// The table for cuda tensors; throws a DeviceError naming `op` when CUDA is not compiled in or an entry is
// missing. Installs the table on first use.
const CudaKernels& cuda(const char* op);
// The table itself (entries may be null), for the registration test and the registrars.
CudaKernels& cuda_table();
// True when the inputs (the defined ones) live on a CUDA device; the op then calls cuda(op).
bool on_cuda(std::initializer_list<Tensor> tensors);

// Filled by engine/cuda/registry.cpp in a CUDA build; a CPU-only build's version leaves the table empty.
void install_cuda_kernels(CudaKernels& table);

}  // namespace asyndgan::backend
