// Batch and instance normalization over NCHW (or any trailing spatial dims), forward and backward: one
// computation over planes (sample x channel) that differs only in which planes share statistics. A fused
// activation is the activation op applied after it on the CPU, and part of the kernels on the GPU. The result can go
// into a destination with rows (engine/rows.h), and a gradient with rows is read in place.
#include <cmath>
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/rows.h"
#include "kernels/cpu/norm.h"

namespace asyndgan {
namespace {

// The normalization's groups (backend::NormGeometry) with the host-side sums between planes and groups.
struct Layout : backend::NormGeometry {
  double group_count() const { return static_cast<double>(group_elements()); }

  // Sums per-plane values into their groups in plane order, so the result is deterministic.
  std::vector<double> reduce(const std::vector<double>& per_plane) const {
    std::vector<double> out(static_cast<size_t>(groups()), 0.0);
    for (int64_t p = 0; p < planes(); ++p) out[group_of(p)] += per_plane[p];
    return out;
  }
  std::vector<double> expand(const std::vector<double>& per_group) const {
    std::vector<double> out(static_cast<size_t>(planes()));
    for (int64_t p = 0; p < planes(); ++p) out[p] = per_group[group_of(p)];
    return out;
  }
  // Sums per-plane values over the batch into channels.
  std::vector<double> per_channel_sum(const std::vector<double>& per_plane) const {
    std::vector<double> out(static_cast<size_t>(c), 0.0);
    for (int64_t p = 0; p < planes(); ++p) out[p % c] += per_plane[p];
    return out;
  }
};

Layout make_layout(const Tensor& x, bool per_channel) { return Layout{backend::norm_geometry(x, per_channel)}; }

// A per-channel tensor argument (weight, bias, running statistic): [C] on x's device, of x's dtype, or f32 for
// a bf16 x (mixed precision: the statistics and affine parameters stay in f32, as PyTorch's autocast keeps them).
void check_channel_param(const char* op, const Tensor& x, const Tensor& t, const char* arg) {
  if (!t.defined()) return;
  if (x.dtype() == DType::bf16) {
    if (t.dtype() != DType::f32)
      throw DTypeError(msg(op, ": '", arg, "' must be f32 for a bf16 input (mixed precision), got ", t.describe()));
    if (!(t.device() == x.device()))
      throw DeviceError(msg(op, ": '", arg, "' is ", t.describe(), " but x is ", x.describe()));
  } else {
    check_same_dtype_device(op, x, t);
  }
  if (t.dim() != 1 || t.size(0) != x.size(1))
    throw ShapeError(msg(op, ": '", arg, "' must have shape [", x.size(1), "] for input ", shape_str(x.shape()),
                         ", got ", shape_str(t.shape())));
}

std::vector<double> values_or(const Tensor& t, int64_t c, double fill) {
  return t.defined() ? t.to_doubles() : std::vector<double>(static_cast<size_t>(c), fill);
}

// Biased mean and variance of each group, accumulated in double (two passes, for accuracy).
void group_stats(const char* op, const Tensor& xc, const Layout& l, std::vector<double>& mean,
                 std::vector<double>& var) {
  std::vector<double> plane(static_cast<size_t>(l.planes()));
  dispatch_floating(op, xc.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kern::cpu::plane_sums<T>(xc.data<T>(), l.planes(), l.size, plane.data());
    mean = l.reduce(plane);
    for (double& m : mean) m /= l.group_count();
    std::vector<double> center = l.expand(mean);
    kern::cpu::plane_sq_dev<T>(xc.data<T>(), l.planes(), l.size, center.data(), plane.data());
    var = l.reduce(plane);
    for (double& v : var) v /= l.group_count();
  });
}

// What the backward of a normalization needs; mean/invstd are per group, weight per channel (ones if none).
struct Saved {
  Layout layout;
  Tensor x;
  std::vector<double> mean, invstd, weight;
  bool batch_stats = false;  // the statistics were computed from x, so gradient flows through them
};

// Writes the normalized xc into y (rows: each row holds one sample's c planes).
void normalize(const char* op, const Tensor& xc, const Layout& l, const std::vector<double>& mean,
               const std::vector<double>& invstd, const std::vector<double>& weight, const std::vector<double>& bias,
               Tensor& y, const Rows& rows) {
  std::vector<double> center = l.expand(mean), scale(static_cast<size_t>(l.planes())), shift(scale.size());
  for (int64_t p = 0; p < l.planes(); ++p) {
    scale[p] = invstd[l.group_of(p)] * weight[p % l.c];
    shift[p] = bias[p % l.c];
  }
  dispatch_floating(op, xc.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = xc.data<T>();
    T* o = y.data<T>();
    for_rows(rows, [&](int64_t i, int64_t j, int64_t n) {
      const int64_t p0 = i / l.size, planes = n / l.size;  // a row is whole planes
      kern::cpu::plane_normalize<T>(in + i, planes, l.size, center.data() + p0, scale.data() + p0, shift.data() + p0,
                                    o + j);
    });
  });
}

// With xhat = (x - mean) * invstd and y = w * xhat + b: dL/db = sum g, dL/dw = sum g * xhat, and
// dL/dx = w * invstd * (g - mean_group(g) - xhat * mean_group(g * xhat)) when the statistics came from x,
// else w * invstd * g.
std::vector<Tensor> norm_backward(const Saved& s, const Tensor& g, const std::vector<bool>& needs) {
  const Layout& l = s.layout;
  const int64_t planes = l.planes();
  const std::optional<Rows> grows = rows_of(g);
  const Tensor gc = grows ? g : g.contiguous();
  const Rows gr = grows ? *grows : Rows{1, g.numel(), g.numel()};
  std::vector<double> center = l.expand(s.mean), sum_g(static_cast<size_t>(planes)), sum_gxhat(sum_g.size());
  std::vector<Tensor> grads(3);
  dispatch_floating("normalization backward", s.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *gp = gc.data<T>(), *xp = s.x.data<T>();
    // i: the row's offset in x (whole planes), j: in g.
    auto each_row = [&](auto&& f) {
      for_rows(gr, [&](int64_t i, int64_t j, int64_t n) { f(i / l.size, n / l.size, xp + i, gp + j); });
    };
    each_row([&](int64_t p0, int64_t np, const T* x, const T* gv) {
      kern::cpu::plane_grad_sums<T>(gv, x, np, l.size, center.data() + p0, sum_g.data() + p0, sum_gxhat.data() + p0);
    });
    for (int64_t p = 0; p < planes; ++p) sum_gxhat[p] *= s.invstd[l.group_of(p)];
    if (needs[0]) {
      std::vector<double> g_scale(sum_g.size()), x_scale(sum_g.size(), 0.0), shift(sum_g.size(), 0.0);
      std::vector<double> group_g, group_gxhat;
      if (s.batch_stats) {
        group_g = l.reduce(sum_g);
        group_gxhat = l.reduce(sum_gxhat);
      }
      for (int64_t p = 0; p < planes; ++p) {
        const int64_t grp = l.group_of(p);
        const double k = s.weight[p % l.c] * s.invstd[grp];
        g_scale[p] = k;
        if (s.batch_stats) {
          x_scale[p] = -k * s.invstd[grp] * group_gxhat[grp] / l.group_count();
          shift[p] = -k * group_g[grp] / l.group_count();
        }
      }
      grads[0] = Tensor::empty_like(s.x);
      T* gx = grads[0].template data<T>();
      each_row([&](int64_t p0, int64_t np, const T* x, const T* gv) {
        kern::cpu::plane_norm_backward<T>(gv, x, np, l.size, center.data() + p0, g_scale.data() + p0,
                                          x_scale.data() + p0, shift.data() + p0, gx + (x - xp));
      });
    }
  });
  if (needs[1]) grads[1] = Tensor::from_doubles(l.per_channel_sum(sum_gxhat), {l.c}, s.x.dtype());
  if (needs[2]) grads[2] = Tensor::from_doubles(l.per_channel_sum(sum_g), {l.c}, s.x.dtype());
  return grads;
}

std::vector<double> inverse_std(const std::vector<double>& var, double eps) {
  std::vector<double> out(var.size());
  for (size_t i = 0; i < var.size(); ++i) out[i] = 1.0 / std::sqrt(var[i] + eps);
  return out;
}

// The CPU's fused activation: the activation op itself, so results and gradients are those of the two ops.
Tensor activate(const Tensor& y, const NormActivation& act) {
  switch (act.kind) {
    case NormActivation::Kind::relu: return relu(y);
    case NormActivation::Kind::leaky_relu: return leaky_relu(y, act.negative_slope);
    case NormActivation::Kind::tanh: return asyndgan::tanh(y);
    case NormActivation::Kind::sigmoid: return sigmoid(y);
    case NormActivation::Kind::none: break;
  }
  return y;
}

// The CPU's last steps: normalize (into `out` when there is no activation, which then writes there), record the
// backward, activate. rows: out's, when it is defined.
Tensor normalize_and_activate(const char* op, Saved s, const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const NormActivation& act, const Tensor& out, const Rows& rows) {
  const bool into = out.defined() && act.kind == NormActivation::Kind::none;
  Tensor y = into ? result_view(out) : Tensor::empty_like(s.x);
  normalize(op, s.x, s.layout, s.mean, s.invstd, s.weight, values_or(bias, s.layout.c, 0.0), y,
            into ? rows : Rows{1, y.numel(), y.numel()});
  record(y, op, {x, weight, bias}, [s = std::move(s)](const Tensor& g, const std::vector<bool>& needs) {
    return norm_backward(s, g, needs);
  });
  if (act.kind == NormActivation::Kind::none) return y;
  return out.defined() ? activation_into(y, act, out) : activate(y, act);
}

backend::Act backend_act(NormActivation::Kind k) {
  switch (k) {
    case NormActivation::Kind::relu: return backend::Act::relu;
    case NormActivation::Kind::leaky_relu: return backend::Act::leaky_relu;
    case NormActivation::Kind::tanh: return backend::Act::tanh;
    case NormActivation::Kind::sigmoid: return backend::Act::sigmoid;
    case NormActivation::Kind::none: break;
  }
  return backend::Act::none;
}

Tensor contiguous_or_none(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

// The GPU path: one fused forward entry, and a backward that recomputes the pre-activation from x and the saved
// statistics (so nothing but x and two numbers per group is kept). Checks are the caller's.
Tensor norm_cuda(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                 Tensor running_var, const backend::NormConfig& cfg, const Tensor& dst) {
  const backend::CudaKernels& k = backend::cuda(op);
  for (const Tensor* t : {&running_mean, &running_var})
    if (t->defined() && !t->is_contiguous())
      throw ValueError(msg(op, ": running statistics are updated in place and must be contiguous"));
  const Layout l = make_layout(x, cfg.per_channel);
  const DType stat_dtype = x.dtype() == DType::bf16 ? DType::f32 : x.dtype();
  Tensor xc = x.detach().contiguous(), w = contiguous_or_none(weight), b = contiguous_or_none(bias);
  Tensor out = dst.defined() ? result_view(dst) : Tensor::empty_like(xc);
  Tensor save_mean = Tensor::empty({l.groups()}, stat_dtype, x.device());
  Tensor save_invstd = Tensor::empty({l.groups()}, stat_dtype, x.device());
  k.norm_forward(xc, w, b, running_mean, running_var, cfg, out, save_mean, save_invstd);
  record(out, op, {x, weight, bias}, [op, xc, w, b, save_mean, save_invstd, cfg](const Tensor& g, const std::vector<bool>& needs) {
    std::vector<Tensor> grads(3);
    grads[0] = Tensor::empty_like(xc);
    if (needs[1]) grads[1] = Tensor::empty_like(w);
    if (needs[2]) grads[2] = Tensor::empty_like(b);
    backend::cuda(op).norm_backward(rows_of(g) ? g : g.contiguous(), xc, w, b, save_mean, save_invstd, cfg, grads[0], grads[1], grads[2]);
    return grads;
  });
  return out;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean, Tensor running_var,
                  bool training, double momentum, double eps, const NormActivation& act, const Tensor& out) {
  const char* op = "batch_norm";
  check_defined(op, x, "x");
  if (x.dim() < 2) throw ShapeError(msg(op, ": expected input [N, C, ...] with at least 2 dims, got ", shape_str(x.shape())));
  check_channel_param(op, x, weight, "weight");
  check_channel_param(op, x, bias, "bias");
  check_channel_param(op, x, running_mean, "running_mean");
  check_channel_param(op, x, running_var, "running_var");
  if (running_mean.defined() != running_var.defined())
    throw ValueError(msg(op, ": running_mean and running_var must be both defined or both undefined"));
  if (!training && !running_mean.defined())
    throw ValueError(msg(op, ": eval mode normalizes with the running statistics, but none were given"));
  Layout l = make_layout(x, /*per_channel=*/true);
  if (training && l.group_count() <= 1)
    throw ValueError(msg(op, ": expected more than 1 value per channel when training, got input ", shape_str(x.shape())));
  const Rows rows = out.defined() ? check_destination(op, out, x) : Rows{};
  if (backend::on_cuda({x, weight, bias, running_mean, running_var}))
    return norm_cuda(op, x, weight, bias, running_mean, running_var,
                     {/*per_channel=*/true, training, momentum, eps, backend_act(act.kind), act.negative_slope}, out);
  check_cpu(op, {x, weight, bias, running_mean, running_var});

  Saved s;
  s.layout = l;
  s.x = x.contiguous().detach();
  s.batch_stats = training;
  std::vector<double> var;
  if (training) {
    group_stats(op, s.x, l, s.mean, var);
    if (running_mean.defined()) {
      // PyTorch's update: the running variance tracks the unbiased estimate.
      std::vector<double> rm = running_mean.to_doubles(), rv = running_var.to_doubles();
      const double unbias = l.group_count() / (l.group_count() - 1.0);
      for (int64_t ch = 0; ch < l.c; ++ch) {
        rm[ch] = (1.0 - momentum) * rm[ch] + momentum * s.mean[ch];
        rv[ch] = (1.0 - momentum) * rv[ch] + momentum * var[ch] * unbias;
      }
      running_mean.copy_(Tensor::from_doubles(rm, {l.c}, running_mean.dtype()));
      running_var.copy_(Tensor::from_doubles(rv, {l.c}, running_var.dtype()));
    }
  } else {
    s.mean = running_mean.to_doubles();
    var = running_var.to_doubles();
  }
  s.invstd = inverse_std(var, eps);
  s.weight = values_or(weight, l.c, 1.0);
  return normalize_and_activate(op, std::move(s), x, weight, bias, act, out, rows);
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const NormActivation& act,
                     const Tensor& out) {
  const char* op = "instance_norm";
  check_defined(op, x, "x");
  if (x.dim() < 3)
    throw ShapeError(msg(op, ": expected input [N, C, H, W] (at least 3 dims), got ", shape_str(x.shape())));
  check_channel_param(op, x, weight, "weight");
  check_channel_param(op, x, bias, "bias");
  Layout l = make_layout(x, /*per_channel=*/false);
  if (l.size <= 1)
    throw ValueError(msg(op, ": expected more than 1 spatial element per plane, got input ", shape_str(x.shape())));
  const Rows rows = out.defined() ? check_destination(op, out, x) : Rows{};
  if (backend::on_cuda({x, weight, bias}))
    return norm_cuda(op, x, weight, bias, Tensor(), Tensor(),
                     {/*per_channel=*/false, /*training=*/true, 0.0, eps, backend_act(act.kind), act.negative_slope}, out);
  check_cpu(op, {x, weight, bias});

  Saved s;
  s.layout = l;
  s.x = x.contiguous().detach();
  s.batch_stats = true;
  std::vector<double> var;
  group_stats(op, s.x, l, s.mean, var);
  s.invstd = inverse_std(var, eps);
  s.weight = values_or(weight, l.c, 1.0);
  return normalize_and_activate(op, std::move(s), x, weight, bias, act, out, rows);
}

}  // namespace asyndgan
