// Every op of engine/ops.h and the Tensor methods on cuda:0 against the CPU, forward and backward, over
// several shapes each (odd sizes, batch 1, the convolutions' stride/padding/output-padding combinations,
// l1 masks, both norms with every fused activation, batch norm in training and eval with running statistics).
#include <doctest/doctest.h>
#include "cuda/cuda_case.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {

using Fn = std::function<Tensor(std::vector<Tensor>&)>;
const std::vector<Shape> kShapes = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 64, 17, 9}, {3, 1, 33, 65}, {2, 64, 32, 32}};

std::string str(const Shape& s) { return shape_str(s); }

// Every activation a normalization can fuse (engine/ops.h NormActivation).
struct NamedAct {
  const char* name;
  NormActivation act;
};
const NamedAct kActs[] = {
    {"none", {NormActivation::Kind::none}},
    {"relu", {NormActivation::Kind::relu}},
    {"leaky_relu 0.2", {NormActivation::Kind::leaky_relu, 0.2}},
    {"tanh", {NormActivation::Kind::tanh}},
    {"sigmoid", {NormActivation::Kind::sigmoid}},
};

}  // namespace

TEST_CASE("cuda vs cpu: conv2d") {
  struct C { int64_t n, cin, h, w, cout, k, sh, sw, ph, pw; bool bias; };
  const C cs[] = {{1, 3, 7, 9, 5, 3, 1, 1, 1, 1, true},    {2, 4, 8, 8, 6, 4, 2, 2, 1, 1, true},
                  {3, 5, 11, 6, 2, 3, 2, 2, 0, 0, false},  {1, 6, 16, 16, 8, 4, 2, 2, 1, 1, true},
                  {2, 3, 5, 5, 4, 1, 1, 1, 0, 0, true},    {1, 2, 9, 10, 3, 3, 1, 2, 0, 1, false},
                  {2, 64, 16, 16, 128, 4, 2, 2, 1, 1, true}, {1, 6, 35, 35, 8, 4, 1, 1, 1, 1, true}};
  std::vector<OpCase> cases;
  for (const C& c : cs) {
    std::vector<In> in = {{{c.n, c.cin, c.h, c.w}}, {{c.cout, c.cin, c.k, c.k}}};
    if (c.bias) in.push_back({{c.cout}});
    const Conv2dOptions o{c.sh, c.sw, c.ph, c.pw};
    cases.push_back({"conv2d x" + str(in[0].shape) + " w" + str(in[1].shape) + " stride " + std::to_string(c.sh) + "," +
                         std::to_string(c.sw) + " pad " + std::to_string(c.ph) + "," + std::to_string(c.pw),
                     in, [o, bias = c.bias](std::vector<Tensor>& v) { return conv2d(v[0], v[1], bias ? v[2] : Tensor(), o); }});
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: conv_transpose2d") {
  struct C { int64_t n, cin, h, w, cout, k, stride, pad, out_pad; bool bias; };
  const C cs[] = {{2, 4, 4, 4, 3, 4, 2, 1, 0, true},  {1, 3, 5, 3, 2, 3, 2, 1, 1, true},
                  {2, 5, 3, 3, 4, 3, 3, 0, 2, false}, {1, 8, 1, 1, 4, 4, 2, 1, 0, true},
                  {3, 2, 7, 6, 5, 1, 1, 0, 0, true},  {2, 128, 8, 8, 32, 4, 2, 1, 0, true},
                  {1, 16, 9, 9, 3, 4, 2, 1, 1, false}};
  std::vector<OpCase> cases;
  for (const C& c : cs) {
    std::vector<In> in = {{{c.n, c.cin, c.h, c.w}}, {{c.cin, c.cout, c.k, c.k}}};
    if (c.bias) in.push_back({{c.cout}});
    const auto o = ConvTranspose2dOptions::make(c.stride, c.pad, c.out_pad);
    cases.push_back({"conv_transpose2d x" + str(in[0].shape) + " w" + str(in[1].shape) + " stride " +
                         std::to_string(c.stride) + " pad " + std::to_string(c.pad) + " output_pad " + std::to_string(c.out_pad),
                     in, [o, bias = c.bias](std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], bias ? v[2] : Tensor(), o); }});
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: batch and instance norm with every fused activation") {
  const std::vector<Shape> shapes = {{1, 3, 5, 7}, {4, 8, 9, 9}, {2, 64, 16, 16}, {16, 5, 3, 2}, {1, 4, 1, 33}};
  std::vector<OpCase> cases;
  for (const Shape& s : shapes) {
    const In w{{s[1]}, In::positive, true, true}, b{{s[1]}, In::normal, true, true};
    const In rm{{s[1]}, In::normal, false, true, true}, rv{{s[1]}, In::positive, false, true, true};
    for (const NamedAct& a : kActs) {
      const std::string tail = std::string(" x") + str(s) + " fused " + a.name;
      const NormActivation act = a.act;
      cases.push_back({"batch_norm train affine, running stats" + tail, {{s}, w, b, rm, rv},
                       [act](std::vector<Tensor>& v) { return batch_norm(v[0], v[1], v[2], v[3], v[4], true, 0.1, 1e-5, act); }});
      cases.push_back({"batch_norm train, no affine, no running stats" + tail, {{s}}, [act](std::vector<Tensor>& v) {
                         return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, act);
                       }});
      cases.push_back({"batch_norm eval affine" + tail, {{s}, w, b, rm, rv},
                       [act](std::vector<Tensor>& v) { return batch_norm(v[0], v[1], v[2], v[3], v[4], false, 0.1, 1e-5, act); }});
      cases.push_back({"instance_norm" + tail, {{s}},
                       [act](std::vector<Tensor>& v) { return instance_norm(v[0], Tensor(), Tensor(), 1e-5, act); }});
      cases.push_back({"instance_norm affine" + tail, {{s}, w, b},
                       [act](std::vector<Tensor>& v) { return instance_norm(v[0], v[1], v[2], 1e-5, act); }});
    }
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: activations") {
  std::vector<OpCase> cases;
  for (const Shape& s : kShapes) {
    cases.push_back({"relu " + str(s), {{s}}, [](std::vector<Tensor>& v) { return relu(v[0]); }});
    cases.push_back({"leaky_relu 0.2 " + str(s), {{s}}, [](std::vector<Tensor>& v) { return leaky_relu(v[0], 0.2); }});
    cases.push_back({"leaky_relu default " + str(s), {{s}}, [](std::vector<Tensor>& v) { return leaky_relu(v[0]); }});
    cases.push_back({"tanh " + str(s), {{s}}, [](std::vector<Tensor>& v) { return asyndgan::tanh(v[0]); }});
    cases.push_back({"sigmoid " + str(s), {{s}}, [](std::vector<Tensor>& v) { return sigmoid(v[0]); }});
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: reflection_pad2d and cat") {
  struct P { Shape s; int64_t l, r, t, b; };
  const P ps[] = {{{1, 3, 7, 9}, 3, 3, 3, 3}, {{2, 4, 5, 6}, 1, 2, 0, 3}, {{1, 1, 2, 2}, 1, 1, 1, 1}, {{2, 64, 32, 32}, 3, 3, 3, 3}};
  std::vector<OpCase> cases;
  for (const P& p : ps)
    cases.push_back({"reflection_pad2d " + str(p.s) + " " + std::to_string(p.l) + "," + std::to_string(p.r) + "," +
                         std::to_string(p.t) + "," + std::to_string(p.b),
                     {{p.s}}, [p](std::vector<Tensor>& v) { return reflection_pad2d(v[0], p.l, p.r, p.t, p.b); }});
  cases.push_back({"cat dim 1 (the U-Net skip)", {{{2, 3, 5, 7}}, {{2, 1, 5, 7}}, {{2, 4, 5, 7}}},
                   [](std::vector<Tensor>& v) { return cat({v[0], v[1], v[2]}, 1); }});
  cases.push_back({"cat dim 0", {{{1, 3, 4, 5}}, {{3, 3, 4, 5}}}, [](std::vector<Tensor>& v) { return cat({v[0], v[1]}, 0); }});
  cases.push_back({"cat dim 3", {{{2, 2, 3, 1}}, {{2, 2, 3, 6}}}, [](std::vector<Tensor>& v) { return cat({v[0], v[1]}, 3); }});
  cases.push_back({"cat dim 1 of narrow views", {{{2, 6, 5, 5}}, {{2, 3, 5, 5}}},
                   [](std::vector<Tensor>& v) { return cat({v[0].narrow(3, 1, 3), v[1].narrow(3, 0, 3).narrow(1, 1, 2)}, 1); }});
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: elementwise, scalar and reductions") {
  std::vector<OpCase> cases;
  for (const Shape& s : kShapes) {
    const std::string t = " " + str(s);
    cases.push_back({"add" + t, {{s}, {s}}, [](std::vector<Tensor>& v) { return v[0] + v[1]; }});
    cases.push_back({"sub" + t, {{s}, {s}}, [](std::vector<Tensor>& v) { return v[0] - v[1]; }});
    cases.push_back({"mul" + t, {{s}, {s}}, [](std::vector<Tensor>& v) { return v[0] * v[1]; }});
    cases.push_back({"add_scalar" + t, {{s}}, [](std::vector<Tensor>& v) { return v[0] + 0.75; }});
    cases.push_back({"mul_scalar" + t, {{s}}, [](std::vector<Tensor>& v) { return v[0] * -1.5; }});
    cases.push_back({"neg" + t, {{s}}, [](std::vector<Tensor>& v) { return -v[0]; }});
    cases.push_back({"sum" + t, {{s}}, [](std::vector<Tensor>& v) { return sum(v[0]); }});
    cases.push_back({"mean" + t, {{s}}, [](std::vector<Tensor>& v) { return mean(v[0]); }});
    // add_ is not recorded: its result is compared, and the gradient flows through the ops around it.
    cases.push_back({"add_ alpha 0.5" + t, {{s}, {s, In::normal, false}}, [](std::vector<Tensor>& v) {
                       Tensor a = v[0] * 1.0;
                       add_(a, v[1], 0.5);
                       return a;
                     }});
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: losses") {
  std::vector<OpCase> cases;
  for (const Shape& s : kShapes) {
    const std::string t = " " + str(s);
    cases.push_back({"l1_loss" + t, {{s}, {s}}, [](std::vector<Tensor>& v) { return l1_loss(v[0], v[1]); }});
    cases.push_back({"l1_loss with 0/1 mask" + t, {{s}, {s}, {s, In::mask, false}},
                     [](std::vector<Tensor>& v) { return l1_loss(v[0], v[1], v[2]); }});
    cases.push_back({"l1_loss with weights mask" + t, {{s}, {s, In::normal, false}, {s, In::unit, false}},
                     [](std::vector<Tensor>& v) { return l1_loss(v[0], v[1], v[2]); }});
    cases.push_back({"l1_loss with all-zero mask" + t, {{s}, {s}, {s, In::unit, false}},
                     [](std::vector<Tensor>& v) { return l1_loss(v[0], v[1], v[2] * 0.0); }});
    cases.push_back({"mse_loss" + t, {{s}, {s}}, [](std::vector<Tensor>& v) { return mse_loss(v[0], v[1]); }});
    cases.push_back({"bce_with_logits" + t, {{s}, {s, In::unit}},
                     [](std::vector<Tensor>& v) { return bce_with_logits(v[0], v[1]); }});
    cases.push_back({"bce_with_logits, 0/1 targets" + t, {{s}, {s, In::mask, false}},
                     [](std::vector<Tensor>& v) { return bce_with_logits(v[0] * 4.0, v[1]); }});
  }
  run_cases(cases);
}

TEST_CASE("cuda vs cpu: Tensor methods") {
  std::vector<OpCase> cases;
  cases.push_back({"contiguous of a narrowed (strided) view", {{{3, 7, 5, 9}}},
                   [](std::vector<Tensor>& v) { return v[0].narrow(1, 2, 4).narrow(3, 1, 7).contiguous() * 2.0; }});
  cases.push_back({"narrow backward (two overlapping narrows summed)", {{{2, 6, 4, 5}}},
                   [](std::vector<Tensor>& v) { return v[0].narrow(1, 0, 4).contiguous() + v[0].narrow(1, 2, 4).contiguous(); }});
  cases.push_back({"reshape of a strided view", {{{2, 6, 4, 5}}},
                   [](std::vector<Tensor>& v) { return v[0].narrow(2, 1, 2).reshape({2, -1}) * 3.0; }});
  // Conversions: exact both ways (round to nearest even into bf16), so any difference is a kernel bug.
  cases.push_back({"to bf16 and back to f32", {{{2, 3, 17, 5}}},
                   [](std::vector<Tensor>& v) { return v[0].to(DType::f32).to(DType::bf16).to(DType::f32) * 1.0; }, false});
  cases.push_back({"to f64 and back to f32", {{{2, 3, 17, 5}}},
                   [](std::vector<Tensor>& v) { return (v[0].to(DType::f64) * 3.0).to(DType::f32); }, false});
  cases.push_back({"to f64 to bf16 to f32", {{{1, 5, 9, 9}}},
                   [](std::vector<Tensor>& v) { return v[0].to(DType::f64).to(DType::bf16).to(DType::f32); }, false});
  cases.push_back({"to f32 of a strided view", {{{3, 4, 6, 6}}},
                   [](std::vector<Tensor>& v) { return v[0].narrow(3, 1, 4).to(DType::f64).to(v[0].dtype()); }});
  cases.push_back({"copy_ into a narrowed view", {{{2, 3, 5, 7}, In::normal, false}}, [](std::vector<Tensor>& v) {
                     Tensor d = Tensor::zeros({2, 6, 5, 9}, v[0].dtype(), v[0].device());
                     Tensor view = d.narrow(1, 2, 3).narrow(3, 1, 7);
                     view.copy_(v[0]);
                     return d;
                   }});
  cases.push_back({"copy_ converting f32 into a bf16 view", {{{2, 3, 5, 7}, In::normal, false}}, [](std::vector<Tensor>& v) {
                     Tensor d = Tensor::zeros({2, 4, 5, 7}, DType::bf16, v[0].device());
                     Tensor view = d.narrow(1, 1, 3);
                     view.copy_(v[0].to(DType::f32));
                     return d.to(DType::f32);
                   }, false});
  cases.push_back({"fill_ of a narrowed view", {{{2, 3, 5, 7}, In::normal, false}}, [](std::vector<Tensor>& v) {
                     Tensor d = v[0].clone();
                     Tensor view = d.narrow(2, 1, 3);
                     view.fill_(-0.375);
                     return d;
                   }});
  cases.push_back({"fill_ of a whole tensor", {{{3, 65, 9}, In::normal, false}}, [](std::vector<Tensor>& v) {
                     Tensor d = v[0].clone();
                     d.fill_(2.5);
                     return d;
                   }});
  run_cases(cases);
}
