// torch.optim.Adam (L2 weight decay, bias corrections, no amsgrad) over a fixed list of parameters, with
// its state exportable for checkpoints.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include "engine/backend.h"
#include "engine/tensor.h"

namespace asyndgan::optim {

// Defaults are pix2pix's (lr 2e-4, beta1 0.5), not PyTorch's.
struct AdamOptions {
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
};

class Adam {
 public:
  // params: f32 or f64 leaf tensors that require grad, each listed once.
  explicit Adam(std::vector<Tensor> params, AdamOptions opt = {});

  // Updates every parameter that has a gradient; one without is skipped and its state left as is, so (as
  // in PyTorch) each parameter counts its own steps for the bias corrections. Parameters on a GPU (all on one)
  // update in one fused launch whose step counters and learning rate live on the device (PyTorch's capturable
  // Adam), so a step captured in a CUDA graph (engine/cuda_graph.h) is right on every replay. The first step on
  // the GPU must run eagerly (it allocates and initializes that state); a capture then records the launch.
  void step();
  void zero_grad();  // drops the gradients (PyTorch's set_to_none=True)
  double lr() const { return opt_.lr; }
  // On the GPU also writes the device copy (a stream-ordered fill): call it outside a capture, between replays.
  void set_lr(double lr);
  const AdamOptions& options() const { return opt_; }
  // Steps taken (calls to step(), or their graph replays); on the GPU read from the device, so it waits for it.
  int64_t step_count() const;
  const std::vector<Tensor>& params() const { return params_; }

  // State for checkpoints, keyed by parameter index as PyTorch's optimizer state_dict is:
  // prefix+"step" and prefix+"lr" (0-D), and for each parameter i that has state prefix+"i.exp_avg",
  // prefix+"i.exp_avg_sq" (its shape and dtype) and prefix+"i.step" (0-D i64). Tensors are copies.
  void save_state(std::map<std::string, Tensor>& out, const std::string& prefix) const;
  // Replaces all state from `in` (a parameter without entries starts fresh); a missing counter, a shape or
  // dtype that does not match its parameter, or an index beyond the parameter list is an error naming the key.
  // Moments that exist already and the GPU counters are overwritten in place, so a captured CUDA graph stays
  // valid across a load into parameters that all had state (a resume); otherwise capture anew.
  void load_state(const std::map<std::string, Tensor>& in, const std::string& prefix);

 private:
  struct ParamState {
    Tensor exp_avg, exp_avg_sq;  // undefined until the parameter's first update
    int64_t step = 0;
  };
  void step_cuda();
  void init_cuda_state(Device device);
  // Parameter i's steps at i, then the calls to step(): from the device once it has them, and the host copies.
  std::vector<int64_t> counts() const;
  std::vector<int64_t> host_counts() const;
  std::vector<Tensor> params_;
  std::vector<ParamState> state_;  // on the GPU, `step` is only the host copy until the device counters exist
  // The GPU step's slots (parameter index, tensors, counter), kept while every step brings the same tensors, so
  // the launch sees fixed pointers; rebuilt when a gradient or moment tensor changes.
  std::vector<size_t> cuda_slot_params_;
  std::vector<backend::AdamSlot> cuda_slots_;
  // On the GPU from the first step on: i64 [P + 1] (parameter i's steps at i, calls to step() at P), and lr (f64).
  Tensor cuda_counts_, cuda_lr_;
  AdamOptions opt_;
  int64_t steps_ = 0;  // host copy, as `step` above
};

}  // namespace asyndgan::optim
