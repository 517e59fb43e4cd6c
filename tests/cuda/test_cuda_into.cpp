// The U-Net's in-place skip concat on cuda:0 against the CPU: activations, both norms (with and without a fused
// activation) and dropout written into channel ranges of one buffer (rows: engine/rows.h), the cat that is then a
// view, and backward through it, where each producer reads its range of the gradient in place.
#include <doctest/doctest.h>
#include "cuda/cuda_case.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {

const NormActivation kLrelu{NormActivation::Kind::leaky_relu, 0.2};

// [N, cs + cu, H, W] on x's device and dtype; the skip range first.
Tensor buffer(const Tensor& x, int64_t cu) {
  return Tensor::empty({x.size(0), x.size(1) + cu, x.size(2), x.size(3)}, x.dtype(), x.device());
}

}  // namespace

TEST_CASE("cuda vs cpu: U-Net skip concat written in place") {
  // (N, skip channels, up channels, H, W): vector-friendly planes, odd planes, batch 1, pix2pix-like widths.
  struct C { int64_t n, cs, cu, h, w; };
  const C cs[] = {{2, 3, 5, 8, 8}, {2, 3, 2, 5, 7}, {1, 4, 4, 4, 4}, {3, 16, 16, 16, 16}, {2, 64, 64, 2, 2}};
  std::vector<OpCase> cases;
  for (const C& c : cs) {
    const Shape xs{c.n, c.cs, c.h, c.w}, us{c.n, c.cu, c.h, c.w};
    const std::string t = " skip " + shape_str(xs) + " up " + shape_str(us);
    cases.push_back({"leaky_relu skip + batch_norm up (training, running stats)" + t,
                     {{xs}, {us}, {{c.cu}, In::positive, true, true}, {{c.cu}, In::normal, true, true},
                      {{c.cu}, In::normal, false, true, true}, {{c.cu}, In::positive, false, true, true}},
                     [cu = c.cu](std::vector<Tensor>& v) {
                       Tensor out = buffer(v[0], cu);
                       Tensor skip = activation_into(v[0], kLrelu, out.narrow(1, 0, v[0].size(1)));
                       Tensor up = batch_norm(v[1], v[2], v[3], v[4], v[5], true, 0.1, 1e-5, {}, out.narrow(1, v[0].size(1), cu));
                       return cat({skip, up}, 1);
                     }});
    cases.push_back({"instance_norm + leaky_relu skip (the fused down norm) + instance_norm up" + t, {{xs}, {us}},
                     [cu = c.cu](std::vector<Tensor>& v) {
                       Tensor out = buffer(v[0], cu);
                       Tensor skip = instance_norm(v[0], Tensor(), Tensor(), 1e-5, kLrelu, out.narrow(1, 0, v[0].size(1)));
                       Tensor up = instance_norm(v[1], Tensor(), Tensor(), 1e-5, {}, out.narrow(1, v[0].size(1), cu));
                       // The skip also feeds the next layer, as the down convolution: its gradient sums two paths.
                       return cat({skip, up}, 1) * 2.0 + cat({skip * 0.5, up * 0.0}, 1);
                     }});
    cases.push_back({"leaky_relu skip + dropout up" + t, {{xs}, {us}}, [cu = c.cu](std::vector<Tensor>& v) {
                       Generator gen(17);  // the same stream on both devices: the same mask
                       Tensor out = buffer(v[0], cu);
                       Tensor skip = activation_into(v[0], kLrelu, out.narrow(1, 0, v[0].size(1)));
                       Tensor up = dropout(v[1], 0.5, true, gen, out.narrow(1, v[0].size(1), cu));
                       return cat({skip, up}, 1);
                     }});
  }
  run_cases(cases);
}
