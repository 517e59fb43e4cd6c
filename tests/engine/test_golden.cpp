// PyTorch parity: every op's forward and backward, and two tiny networks with one Adam step, against
// tests/golden/golden_v1.safetensors (written by tests/golden/make_golden.py; PyTorch is not needed here).
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/rng.h"

using namespace asyndgan;

namespace {

// Error measure, per tensor: max_i |actual_i - expected_i| / max(max_i |expected_i|, 1e-6), i.e. relative
// to the tensor's largest magnitude (elementwise relative error would punish values that merely cancel
// to near zero); the 1e-6 floor only matters for an all-zero expected tensor. The golden values are
// PyTorch's float64 results rounded to f32, and PyTorch's own f32 run meets this bound (the script asserts it).
constexpr double kTolerance = 1e-5;

struct GoldenFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
};

// Loaded once; tests never mutate these tensors (they take copies for leaves and in-place buffers).
const GoldenFile& golden() {
  static const GoldenFile file = [] {
    GoldenFile f;
    f.tensors = load_safetensors(ASYNDGAN_GOLDEN_DIR "/golden_v1.safetensors", &f.meta);
    return f;
  }();
  return file;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) parts.push_back(item);
  return parts;
}

// Case names whose metadata "<case>/op" equals op, in file order of the "cases" list.
std::vector<std::string> cases_with_op(const std::string& op) {
  const auto& meta = golden().meta;
  std::vector<std::string> out;
  for (const std::string& c : split(meta.at("cases"), ',')) {
    auto it = meta.find(c + "/op");
    if (it != meta.end() && it->second == op) out.push_back(c);
  }
  return out;
}

// One golden case: hands out its stored tensors and hyperparameters, compares results, and at the end
// reports the worst error and checks that every stored tensor of the case was either used or compared.
class Case {
 public:
  explicit Case(std::string name) : name_(std::move(name)) {}

  bool has(const std::string& role) const { return golden().tensors.count(key(role)) != 0; }
  // The stored tensor itself, for inputs that are only read.
  Tensor get(const std::string& role) {
    auto it = golden().tensors.find(key(role));
    if (it == golden().tensors.end()) FAIL("golden file lacks " << key(role));
    used_.insert(role);
    return it->second;
  }
  Tensor copy(const std::string& role) { return get(role).detach().clone(); }  // for in-place buffers
  Tensor leaf(const std::string& role) {
    Tensor t = copy(role);
    t.set_requires_grad(true);
    return t;
  }
  std::vector<double> hp(const std::string& k) const {
    auto it = golden().meta.find(key(k));
    if (it == golden().meta.end()) FAIL("golden metadata lacks " << key(k));
    std::vector<double> v;
    std::istringstream in(it->second);
    for (double d; in >> d;) v.push_back(d);
    return v;
  }
  double hp1(const std::string& k) const { return hp(k).at(0); }
  int64_t hpi(const std::string& k, size_t i = 0) const { return static_cast<int64_t>(hp(k).at(i)); }
  std::string meta(const std::string& k) const { return golden().meta.at(key(k)); }

  // The one comparison helper: shape, dtype and the error measure above.
  void check(const std::string& role, const Tensor& actual) {
    CAPTURE(name_);
    CAPTURE(role);
    Tensor expected = get(role);
    checked_.insert(role);
    REQUIRE_MESSAGE(actual.defined(), key(role) << ": the engine produced no tensor (missing gradient?)");
    CHECK(actual.dtype() == DType::f32);
    // Sizes must agree exactly; a 0-D scalar and a one-element [1] tensor are the same for this purpose.
    bool same_shape = actual.shape() == expected.shape() || (actual.numel() == 1 && expected.numel() == 1);
    CHECK_MESSAGE(same_shape, key(role) << ": shape " << actual.describe() << " vs golden " << expected.describe());
    if (!same_shape) return;
    std::vector<double> a = actual.to_doubles(), e = expected.to_doubles();
    double max_abs = 0, max_diff = 0;
    size_t at = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      max_abs = std::max(max_abs, std::fabs(e[i]));
      double d = std::fabs(a[i] - e[i]);
      if (!(d <= max_diff)) { max_diff = d; at = i; }  // also catches NaN
    }
    double err = max_diff / std::max(max_abs, 1e-6);
    if (!(err <= worst_)) { worst_ = err; worst_role_ = role; }
    CHECK_MESSAGE(err <= kTolerance, key(role) << ": error " << err << " at flat index " << at << " (engine "
                                                << a[at] << ", PyTorch " << e[at] << ", max |golden| " << max_abs << ")");
  }

  void report() {
    for (const auto& [name, t] : golden().tensors) {
      if (name.rfind(name_ + "/", 0) != 0) continue;
      std::string role = name.substr(name_.size() + 1);
      CHECK_MESSAGE((used_.count(role) || checked_.count(role)), name << " is stored but the test never used it");
    }
    MESSAGE(name_ << ": worst error " << std::max(worst_, 0.0) << " (" << worst_role_ << ")");
  }

 private:
  std::string key(const std::string& role) const { return name_ + "/" + role; }
  std::string name_;
  std::set<std::string> used_, checked_;
  double worst_ = -1;  // below any error, so the first compared role is named even when all are exact
  std::string worst_role_ = "nothing compared";
};

// Runs one op case: fresh leaves for the roles in `inputs` (undefined where the case lacks that role, e.g.
// no bias), forward, out.backward(grad_out), and compares out and grad_<role> for every defined leaf.
void op_case(const std::string& name, const std::vector<std::string>& inputs,
             const std::function<Tensor(Case&, const std::vector<Tensor>&)>& forward) {
  Case c(name);
  std::vector<Tensor> leaves;
  for (const std::string& r : inputs) leaves.push_back(c.has(r) ? c.leaf(r) : Tensor());
  Tensor out = forward(c, leaves);
  c.check("out", out);
  out.backward(c.get("grad_out").reshape(out.shape()));
  for (size_t i = 0; i < inputs.size(); ++i)
    if (leaves[i].defined()) c.check("grad_" + inputs[i], leaves[i].grad());
  c.report();
}

// Runs every case of one op with the same forward.
void op_cases(const std::string& op, const std::vector<std::string>& inputs,
              const std::function<Tensor(Case&, const std::vector<Tensor>&)>& forward) {
  std::vector<std::string> names = cases_with_op(op);
  REQUIRE_MESSAGE(!names.empty(), "no golden case for op " << op);
  for (const std::string& n : names) op_case(n, inputs, forward);
}

// One training step of a stored network: leaves from param/<name>, forward (given the params by name;
// returns {out, loss}), backward, one Adam step, and comparisons of out, loss, grad/*, after/* and the
// in-place buffers buffer_after/* (the forward registers those it updates in `buffers`).
using NetForward = std::function<std::pair<Tensor, Tensor>(Case&, std::map<std::string, Tensor>&,
                                                           std::map<std::string, Tensor>& buffers)>;
void network_case(const std::string& name, const NetForward& forward) {
  Case c(name);
  std::vector<std::string> names = split(c.meta("params"), ',');
  std::map<std::string, Tensor> p, buffers;
  std::vector<Tensor> params;
  for (const std::string& n : names) params.push_back(p[n] = c.leaf("param/" + n));
  auto [out, loss] = forward(c, p, buffers);
  c.check("out", out);
  c.check("loss", loss);
  loss.backward();
  for (const std::string& n : names) c.check("grad/" + n, p[n].grad());
  optim::Adam adam(params, optim::AdamOptions{c.hp1("lr"), c.hp1("beta1"), c.hp1("beta2"), c.hp1("eps"),
                                              c.hp1("weight_decay")});
  adam.step();
  for (const std::string& n : names) c.check("after/" + n, p[n]);
  for (auto& [b, t] : buffers) c.check("buffer_after/" + b, t);
  c.report();
}

Conv2dOptions conv_options(const Case& c) {
  return {c.hpi("stride", 0), c.hpi("stride", 1), c.hpi("padding", 0), c.hpi("padding", 1)};
}

}  // namespace

TEST_CASE("golden: the file is the expected format and every case in it has a test") {
  const auto& meta = golden().meta;
  CHECK(meta.at("format") == "asyndgan-golden");
  CHECK(meta.at("version") == "1");
  MESSAGE("golden data from PyTorch " << meta.at("torch") << ", " << golden().tensors.size() << " tensors");
  // The ops the tests below handle; a case added to the script with a new op fails here until tested.
  const std::set<std::string> known = {
      "conv2d", "conv_transpose2d", "batch_norm", "instance_norm", "relu", "leaky_relu", "tanh", "sigmoid",
      "reflection_pad2d", "cat", "add", "sub", "mul", "add_scalar", "mul_scalar", "sum", "mean", "l1_loss",
      "l1_loss_masked", "mse_loss", "bce_with_logits", "dropout", "unet", "patchgan"};
  std::set<std::string> listed;
  for (const std::string& c : split(meta.at("cases"), ',')) {
    listed.insert(c);
    auto it = meta.find(c + "/op");
    REQUIRE_MESSAGE(it != meta.end(), c << " has no op metadata");
    CHECK_MESSAGE(known.count(it->second), c << ": op " << it->second << " has no golden test");
  }
  for (const auto& [name, t] : golden().tensors) {
    CHECK_MESSAGE(listed.count(name.substr(0, name.find('/'))), name << " belongs to no listed case");
    CHECK(t.dtype() == DType::f32);
  }
}

TEST_CASE("golden: conv2d (strides, paddings, square and non-square kernels, with and without bias)") {
  op_cases("conv2d", {"x", "weight", "bias"}, [](Case& c, const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], in[2], conv_options(c));
  });
}

TEST_CASE("golden: conv_transpose2d (stride 1 and 2, output padding, with and without bias)") {
  op_cases("conv_transpose2d", {"x", "weight", "bias"}, [](Case& c, const std::vector<Tensor>& in) {
    ConvTranspose2dOptions o{c.hpi("stride", 0),  c.hpi("stride", 1),         c.hpi("padding", 0),
                             c.hpi("padding", 1), c.hpi("output_padding", 0), c.hpi("output_padding", 1)};
    return conv_transpose2d(in[0], in[1], in[2], o);
  });
}

TEST_CASE("golden: batch_norm (training and eval, with and without affine, running statistics)") {
  op_cases("batch_norm", {"x", "weight", "bias"}, [](Case& c, const std::vector<Tensor>& in) {
    Tensor rm = c.copy("running_mean"), rv = c.copy("running_var");
    Tensor out = batch_norm(in[0], in[1], in[2], rm, rv, c.hp1("training") != 0, c.hp1("momentum"), c.hp1("eps"));
    // Training updates the buffers in place (unbiased variance); eval must leave them unchanged.
    c.check("running_mean_after", rm);
    c.check("running_var_after", rv);
    return out;
  });
}

TEST_CASE("golden: instance_norm (with and without affine)") {
  op_cases("instance_norm", {"x", "weight", "bias"}, [](Case& c, const std::vector<Tensor>& in) {
    return instance_norm(in[0], in[1], in[2], c.hp1("eps"));
  });
}

TEST_CASE("golden: activations relu, leaky_relu, tanh, sigmoid") {
  op_cases("relu", {"x"}, [](Case&, const std::vector<Tensor>& in) { return relu(in[0]); });
  op_cases("leaky_relu", {"x"}, [](Case& c, const std::vector<Tensor>& in) {
    return leaky_relu(in[0], c.hp1("negative_slope"));
  });
  op_cases("tanh", {"x"}, [](Case&, const std::vector<Tensor>& in) { return tanh(in[0]); });
  op_cases("sigmoid", {"x"}, [](Case&, const std::vector<Tensor>& in) { return sigmoid(in[0]); });
}

TEST_CASE("golden: reflection_pad2d (symmetric and asymmetric pads)") {
  op_cases("reflection_pad2d", {"x"}, [](Case& c, const std::vector<Tensor>& in) {
    return reflection_pad2d(in[0], c.hpi("pad", 0), c.hpi("pad", 1), c.hpi("pad", 2), c.hpi("pad", 3));
  });
}

TEST_CASE("golden: cat along dims 0 and 1") {
  for (const std::string& name : cases_with_op("cat")) {
    Case probe(name);
    std::vector<std::string> roles;
    for (int64_t i = 0; i < probe.hpi("n"); ++i) roles.push_back("x" + std::to_string(i));
    op_case(name, roles, [](Case& c, const std::vector<Tensor>& in) { return cat(in, c.hpi("dim")); });
  }
}

TEST_CASE("golden: elementwise add, sub, mul, add_scalar, mul_scalar and reductions sum, mean") {
  op_cases("add", {"a", "b"}, [](Case&, const std::vector<Tensor>& in) { return add(in[0], in[1]); });
  op_cases("sub", {"a", "b"}, [](Case&, const std::vector<Tensor>& in) { return sub(in[0], in[1]); });
  op_cases("mul", {"a", "b"}, [](Case&, const std::vector<Tensor>& in) { return mul(in[0], in[1]); });
  op_cases("add_scalar", {"a"}, [](Case& c, const std::vector<Tensor>& in) { return add_scalar(in[0], c.hp1("scalar")); });
  op_cases("mul_scalar", {"a"}, [](Case& c, const std::vector<Tensor>& in) { return mul_scalar(in[0], c.hp1("scalar")); });
  op_cases("sum", {"x"}, [](Case&, const std::vector<Tensor>& in) { return sum(in[0]); });
  op_cases("mean", {"x"}, [](Case&, const std::vector<Tensor>& in) { return mean(in[0]); });
}

TEST_CASE("golden: losses l1 (plain and masked), mse, bce_with_logits (targets 1, 0, random)") {
  op_cases("l1_loss", {"x", "y"}, [](Case&, const std::vector<Tensor>& in) { return l1_loss(in[0], in[1]); });
  op_cases("l1_loss_masked", {"x", "y"}, [](Case& c, const std::vector<Tensor>& in) {
    return l1_loss(in[0], in[1], c.get("mask"));
  });
  op_cases("mse_loss", {"x", "y"}, [](Case&, const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); });
  op_cases("bce_with_logits", {"x"}, [](Case& c, const std::vector<Tensor>& in) {
    return bce_with_logits(in[0], c.get("target"));
  });
}

TEST_CASE("golden: dropout p=0.5 draws the script's Philox4x32-10 mask") {
  op_cases("dropout", {"x"}, [](Case& c, const std::vector<Tensor>& in) {
    Generator gen(static_cast<uint64_t>(c.hp1("seed")));
    gen.set_state(gen.seed(), static_cast<uint64_t>(c.hp1("first")));
    Tensor out = dropout(in[0], c.hp1("p"), /*training=*/true, gen);
    // The kept-element pattern, read back from the output (x has no zeros), so a wrong mask is reported
    // as such rather than only as a wrong output value.
    std::vector<double> o = out.to_doubles();
    std::vector<float> kept(o.size());
    for (size_t i = 0; i < o.size(); ++i) kept[i] = o[i] != 0.0 ? 1.0f : 0.0f;
    c.check("mask", Tensor::from_vector(kept, out.shape()));
    return out;
  });
}

TEST_CASE("golden: U-Net-like generator, one forward/backward and one Adam step") {
  network_case("unet", [](Case& c, std::map<std::string, Tensor>& p, std::map<std::string, Tensor>& buf) {
    for (const char* b : {"bn2.running_mean", "bn2.running_var", "bn3.running_mean", "bn3.running_var"})
      buf[b] = c.copy(std::string("buffer/") + b);
    const auto down = Conv2dOptions::make(2, 1);
    const auto up = ConvTranspose2dOptions::make(2, 1);
    Tensor d1 = conv2d(c.get("x"), p["conv1.weight"], p["conv1.bias"], down);
    Tensor h = leaky_relu(d1, 0.2);
    h = conv2d(h, p["conv2.weight"], Tensor(), down);
    h = relu(batch_norm(h, p["bn2.weight"], p["bn2.bias"], buf["bn2.running_mean"], buf["bn2.running_var"], true));
    h = conv_transpose2d(h, p["convt3.weight"], Tensor(), up);
    h = batch_norm(h, p["bn3.weight"], p["bn3.bias"], buf["bn3.running_mean"], buf["bn3.running_var"], true);
    h = relu(cat({d1, h}, 1));  // skip connection first, as in the script (pix2pix order)
    Tensor out = tanh(conv_transpose2d(h, p["convt4.weight"], p["convt4.bias"], up));
    return std::pair{out, l1_loss(out, c.get("target"))};
  });
}

TEST_CASE("golden: PatchGAN-like discriminator, one forward/backward and one Adam step with weight decay") {
  network_case("patchgan", [](Case& c, std::map<std::string, Tensor>& p, std::map<std::string, Tensor>&) {
    const auto down = Conv2dOptions::make(2, 1);
    Tensor h = cat({c.get("cond"), c.get("image")}, 1);
    h = leaky_relu(conv2d(h, p["conv1.weight"], p["conv1.bias"], down), 0.2);
    h = leaky_relu(instance_norm(conv2d(h, p["conv2.weight"], Tensor(), down), Tensor(), Tensor()), 0.2);
    Tensor out = conv2d(h, p["conv3.weight"], p["conv3.bias"], Conv2dOptions::make(1, 1));
    return std::pair{out, bce_with_logits(out, c.get("target"))};
  });
}
