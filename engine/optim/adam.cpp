// Adam: validation, the per-step scalars (in double, as PyTorch computes them in Python; on the GPU the fused
// kernel computes them from device-resident step counts and learning rate), the kernel call, and state
// export/import.
#include "engine/optim/adam.h"
#include <cmath>
#include <set>
#include "engine/cuda_graph.h"
#include "engine/dispatch.h"
#include "kernels/cpu/adam.h"

namespace asyndgan::optim {
namespace {

void check_options(const AdamOptions& o) {
  if (!(o.lr >= 0)) throw ValueError(msg("Adam: invalid learning rate ", o.lr));
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw ValueError(msg("Adam: beta1 must be in [0, 1), got ", o.beta1));
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw ValueError(msg("Adam: beta2 must be in [0, 1), got ", o.beta2));
  if (!(o.eps >= 0)) throw ValueError(msg("Adam: invalid eps ", o.eps));
  if (!(o.weight_decay >= 0)) throw ValueError(msg("Adam: invalid weight_decay ", o.weight_decay));
}

const Tensor& find_key(const std::map<std::string, Tensor>& in, const std::string& key) {
  auto it = in.find(key);
  if (it == in.end() || !it->second.defined())
    throw ValueError(msg("Adam::load_state: missing entry '", key, "'"));
  return it->second;
}

int64_t scalar_i64(const Tensor& t, const std::string& key) {
  if (t.numel() != 1 || t.dtype() != DType::i64)
    throw ValueError(msg("Adam::load_state: '", key, "' must be a one-element i64 tensor, got ", t.describe()));
  int64_t v = t.to_vector<int64_t>()[0];
  if (v < 0) throw ValueError(msg("Adam::load_state: '", key, "' is negative (", v, ")"));
  return v;
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
  check_options(opt_);
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) throw ValueError(msg("Adam: parameter ", i, " is an undefined tensor"));
    if (!p.requires_grad() || !p.is_leaf())
      throw ValueError(msg("Adam: parameter ", i, " ('", p.name(), "') must be a leaf that requires grad"));
    if (p.dtype() != DType::f32 && p.dtype() != DType::f64)
      throw DTypeError(msg("Adam: parameter ", i, " is ", p.describe(), "; kernels exist for f32 and f64"));
    if (!p.is_contiguous()) throw ValueError(msg("Adam: parameter ", i, " must be contiguous"));
    if (!seen.insert(&p.impl()).second) throw ValueError(msg("Adam: parameter ", i, " appears twice in the list"));
  }
  state_.resize(params_.size());
}

void Adam::set_lr(double lr) {
  if (!(lr >= 0)) throw ValueError(msg("Adam: invalid learning rate ", lr));
  if (cuda_lr_.defined() && lr != opt_.lr) {
    // A fill recorded into a graph would write this value on every replay, undoing later set_lr calls.
    if (CudaGraph::capturing(cuda_lr_.device()))
      throw ValueError(msg("Adam::set_lr(", lr, ") while a CUDA graph captures ", cuda_lr_.device().str(),
                           ": set the learning rate before capture_begin or between replays"));
    cuda_lr_.fill_(lr);
  }
  opt_.lr = lr;
}

int64_t Adam::step_count() const { return counts().back(); }

std::vector<int64_t> Adam::counts() const {
  return cuda_counts_.defined() ? cuda_counts_.to_vector<int64_t>() : host_counts();
}

std::vector<int64_t> Adam::host_counts() const {
  std::vector<int64_t> c;
  c.reserve(state_.size() + 1);
  for (const ParamState& st : state_) c.push_back(st.step);
  c.push_back(steps_);
  return c;
}

void Adam::step() {
  if (!params_.empty() && params_.front().device().is_cuda()) {
    step_cuda();
    return;
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check_cpu("Adam::step", {p, g});
    if (g.dtype() != p.dtype()) throw DTypeError(msg("Adam::step: gradient ", g.describe(), " for parameter ", p.describe()));
    g = g.contiguous();
    ParamState& st = state_[i];
    if (!st.exp_avg.defined()) {
      st.exp_avg = Tensor::zeros_like(p);
      st.exp_avg_sq = Tensor::zeros_like(p);
    }
    st.step += 1;
    const double step = static_cast<double>(st.step);
    const double bias_correction1 = 1.0 - std::pow(opt_.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(opt_.beta2, step);
    dispatch_floating("Adam::step", p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kern::AdamScalars<T> s{static_cast<T>(opt_.weight_decay),
                             static_cast<T>(1.0 - opt_.beta1),
                             static_cast<T>(opt_.beta2),
                             static_cast<T>(1.0 - opt_.beta2),
                             static_cast<T>(std::sqrt(bias_correction2)),
                             static_cast<T>(opt_.eps),
                             static_cast<T>(-(opt_.lr / bias_correction1))};
      kern::cpu::adam_step<T>(p.data<T>(), g.data<T>(), st.exp_avg.data<T>(), st.exp_avg_sq.data<T>(), p.numel(), s);
    });
  }
  ++steps_;
}

void Adam::init_cuda_state(Device device) {
  if (CudaGraph::capturing(device))
    throw ValueError(msg("Adam::step: the first step on ", device.str(), " must run eagerly, before a CUDA graph "
                         "captures one: it allocates and initializes the optimizer's device state"));
  cuda_counts_ = Tensor::from_vector(host_counts(), {static_cast<int64_t>(params_.size()) + 1}).to(device);
  cuda_lr_ = Tensor::full({}, opt_.lr, DType::f64, device);
}

void Adam::step_cuda() {
  const backend::CudaKernels& kernels = backend::cuda("Adam::step");  // before any state changes
  const Device device = params_.front().device();
  const bool capturing = CudaGraph::capturing(device);
  std::vector<size_t> active;
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!(p.device() == device) || !(g.device() == device))
      throw DeviceError(msg("Adam::step: parameter ", i, " is ", p.describe(), " with gradient ", g.describe(),
                            "; every parameter and gradient must be on ", device.str()));
    if (g.dtype() != p.dtype()) throw DTypeError(msg("Adam::step: gradient ", g.describe(), " for parameter ", p.describe()));
    // Zeroed moments recorded into a graph would be zeroed again on every replay.
    if (capturing && !state_[i].exp_avg.defined())
      throw ValueError(msg("Adam::step: parameter ", i, " ('", p.name(), "') gets its first gradient while a CUDA "
                           "graph captures ", device.str(), "; run a step with every parameter eagerly first"));
    if (!g.is_contiguous()) g = g.contiguous();
    active.push_back(i);
    grads.push_back(g);
  }
  if (!cuda_counts_.defined()) init_cuda_state(device);
  for (size_t i : active) {
    ParamState& st = state_[i];
    if (!st.exp_avg.defined()) {
      st.exp_avg = Tensor::zeros_like(params_[i]);
      st.exp_avg_sq = Tensor::zeros_like(params_[i]);
    }
  }
  bool same = cuda_slot_params_ == active;
  for (size_t k = 0; same && k < active.size(); ++k) {
    const backend::AdamSlot& s = cuda_slots_[k];
    const ParamState& st = state_[active[k]];
    same = s.grad.same(grads[k]) && s.grad.raw_data() == grads[k].raw_data() && s.exp_avg.same(st.exp_avg) &&
           s.exp_avg_sq.same(st.exp_avg_sq);
  }
  if (!same) {
    cuda_slot_params_ = active;
    cuda_slots_.assign(active.size(), backend::AdamSlot{});
    for (size_t k = 0; k < active.size(); ++k) {
      const size_t i = active[k];
      cuda_slots_[k] = {params_[i], grads[k], state_[i].exp_avg, state_[i].exp_avg_sq,
                        cuda_counts_.narrow(0, static_cast<int64_t>(i), 1)};
    }
  }
  // The launch adds 1 to each active parameter's counter and to the call count, then computes the CPU step's
  // scalars from them on the device; the host copies of the counts are refreshed only when read (counts()).
  Tensor calls = cuda_counts_.narrow(0, static_cast<int64_t>(params_.size()), 1);
  if (cuda_slots_.empty()) {
    kernels.increment(calls);
    return;
  }
  kernels.adam({opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, cuda_lr_, calls}, cuda_slots_);
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
  // Dropped gradients must not stay alive in the slot list; the next step rebuilds it.
  cuda_slot_params_.clear();
  cuda_slots_.clear();
}

void Adam::save_state(std::map<std::string, Tensor>& out, const std::string& prefix) const {
  const std::vector<int64_t> c = counts();
  out[prefix + "step"] = Tensor::from_vector(std::vector<int64_t>{c.back()}, {});
  out[prefix + "lr"] = Tensor::scalar(opt_.lr, DType::f64);
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamState& st = state_[i];
    if (!st.exp_avg.defined()) continue;
    const std::string key = prefix + std::to_string(i) + ".";
    out[key + "exp_avg"] = st.exp_avg.clone();
    out[key + "exp_avg_sq"] = st.exp_avg_sq.clone();
    out[key + "step"] = Tensor::from_vector(std::vector<int64_t>{c[i]}, {});
  }
}

void Adam::load_state(const std::map<std::string, Tensor>& in, const std::string& prefix) {
  // Entries naming a parameter index this optimizer does not have mean the state belongs to another model.
  for (auto it = in.lower_bound(prefix); it != in.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits >= rest.size() || rest[digits] != '.') continue;
    if (digits > 9 || std::stoull(rest.substr(0, digits)) >= params_.size())
      throw ValueError(msg("Adam::load_state: entry '", it->first, "' names a parameter beyond the ", params_.size(),
                           " this optimizer holds; was the state saved for a different model?"));
  }
  const int64_t steps = scalar_i64(find_key(in, prefix + "step"), prefix + "step");
  const Tensor& lr_t = find_key(in, prefix + "lr");
  if (lr_t.numel() != 1) throw ValueError(msg("Adam::load_state: '", prefix, "lr' must have one element, got ", lr_t.describe()));
  const double lr = lr_t.item();

  std::vector<ParamState> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = prefix + std::to_string(i) + ".";
    if (!in.count(key + "step")) {
      if (in.count(key + "exp_avg") || in.count(key + "exp_avg_sq"))
        throw ValueError(msg("Adam::load_state: '", key, "exp_avg' is present but '", key, "step' is missing"));
      continue;
    }
    loaded[i].step = scalar_i64(in.at(key + "step"), key + "step");
    auto load_moment = [&](const std::string& field) {
      const Tensor& t = find_key(in, key + field);
      if (t.shape() != params_[i].shape())
        throw ShapeError(msg("Adam::load_state: '", key, field, "' has shape ", shape_str(t.shape()), " but parameter ", i,
                             " has shape ", shape_str(params_[i].shape())));
      if (t.dtype() != params_[i].dtype())
        throw DTypeError(msg("Adam::load_state: '", key, field, "' is ", t.describe(), " but parameter ", i, " is ",
                             params_[i].describe()));
      return t.detach().to(params_[i].device()).clone();
    };
    loaded[i].exp_avg = load_moment("exp_avg");
    loaded[i].exp_avg_sq = load_moment("exp_avg_sq");
  }
  set_lr(lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    ParamState& st = state_[i];
    if (st.exp_avg.defined() && loaded[i].exp_avg.defined()) {
      // In place: a captured CUDA graph's kernels hold these tensors' addresses.
      st.exp_avg.copy_(loaded[i].exp_avg);
      st.exp_avg_sq.copy_(loaded[i].exp_avg_sq);
    } else {
      st.exp_avg = loaded[i].exp_avg;
      st.exp_avg_sq = loaded[i].exp_avg_sq;
    }
    st.step = loaded[i].step;
  }
  steps_ = steps;
  if (cuda_counts_.defined()) cuda_counts_.copy_(Tensor::from_vector(host_counts(), cuda_counts_.shape()));
  cuda_slot_params_.clear();
  cuda_slots_.clear();
}

}  // namespace asyndgan::optim
