// The CUDA runtime and the stateful ops: a missing device is a DeviceError naming it, dropout draws the CPU's
// masks from the same generator state, Adam's step equals the CPU's, and the caching allocator reuses its
// blocks and leaks nothing over 1,000 training steps.
#include <doctest/doctest.h>
#include <map>
#include <string>
#include "cuda/cuda_case.h"
#include "base/cuda_runtime.h"
#include "engine/nn/nn.h"
#include "engine/optim/adam.h"

using namespace asyndgan;
using namespace asyndgan::test;

TEST_CASE("asking for cuda:99 is a DeviceError naming it") {
  for (auto make : {+[] { return Tensor::zeros({2, 3}, DType::f32, Device::cuda(99)); },
                    +[] { return Tensor::ones({4}).to(Device::cuda(99)); },
                    +[] { return Tensor::ones({1}, DType::f32, resolve_device("cuda:99")); }}) {
    try {
      make();
      FAIL("no error for cuda:99");
    } catch (const DeviceError& e) {
      CHECK_MESSAGE(std::string(e.what()).find("cuda:99") != std::string::npos, e.what());
    }
  }
}

TEST_CASE("dropout on cuda draws the CPU's mask from the same generator state") {
  for (const Shape& s : std::vector<Shape>{{1, 1, 1, 3}, {2, 3, 5, 7}, {4, 512, 2, 2}, {1, 64, 33, 17}})
    for (double p : {0.5, 0.1, 0.9})
      for (DType dt : {DType::f32, DType::bf16}) {
        CAPTURE(shape_str(s));
        CAPTURE(p);
        CAPTURE(dtype_name(dt));
        Generator in_gen(7);
        const Tensor x = rounded(Tensor::rand(s, in_gen, DType::f32, 0.5, 1.5), dt);  // never 0: zeros are the mask's
        Tensor xc = x.clone(), xg = x.to(kGpu).to(dt).detach();
        xc.set_requires_grad(true);
        xg.set_requires_grad(true);
        Generator gc(1234), gg(1234);
        gc.reserve(5);
        gg.reserve(5);  // a generator already in use: the offset must carry over
        const Tensor yc = dropout(xc, p, true, gc), yg = dropout(xg, p, true, gg);
        CHECK(gc.offset() == gg.offset());
        const std::vector<double> a = yc.to_doubles(), b = yg.to_doubles();
        int64_t differing_zeros = 0;
        for (size_t i = 0; i < a.size(); ++i) differing_zeros += (a[i] == 0) != (b[i] == 0);
        CHECK(differing_zeros == 0);
        check_close(yg, yc, dt, "dropout output");
        const Tensor up = rounded(Tensor::randn(s, in_gen), dt);
        yc.backward(up);
        yg.backward(up.to(kGpu).to(dt));
        check_close(xg.grad(), xc.grad(), dt, "dropout grad");
      }
}

TEST_CASE("Adam: steps on cuda equal the CPU's (1e-6)") {
  const std::vector<Shape> shapes = {{64, 6, 4, 4}, {64}, {1}, {3, 5, 7}, {128, 64, 4, 4}, {513}};
  for (double wd : {0.0, 5e-4}) {
    CAPTURE(wd);
    Generator gen(99);
    std::vector<Tensor> pc, pg;
    for (const Shape& s : shapes) {
      const Tensor v = Tensor::randn(s, gen) * 0.02;
      pc.push_back(v.clone().detach().set_requires_grad(true));
      pg.push_back(v.to(kGpu).detach().set_requires_grad(true));
    }
    optim::AdamOptions o;
    o.weight_decay = wd;
    optim::Adam ac(pc, o), ag(pg, o);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (step == 1 && i == 2) continue;  // a parameter without a gradient keeps its own step count
        const Tensor g = Tensor::randn(shapes[i], gen) * (i % 2 ? 1e-6 : 1.0);
        pc[i].set_grad(g.clone());
        pg[i].set_grad(g.to(kGpu));
      }
      if (step == 1) {
        pc[2].zero_grad();
        pg[2].zero_grad();
      }
      ac.step();
      ag.step();
      for (size_t i = 0; i < shapes.size(); ++i) {
        CAPTURE(i);
        CAPTURE(step);
        CHECK(relative_error(pg[i], pc[i]) <= 1e-6);
      }
    }
    std::map<std::string, Tensor> sc, sg;
    ac.save_state(sc, "");
    ag.save_state(sg, "");
    REQUIRE(sc.size() == sg.size());
    for (const auto& [k, v] : sc) {
      CAPTURE(k);
      REQUIRE(sg.count(k));
      CHECK(relative_error(sg.at(k), v) <= 1e-6);
    }
  }
}

TEST_CASE("caching allocator: 1,000 conv + norm + loss + backward + Adam steps reuse blocks and leak nothing") {
  Generator gen(3);
  auto conv = std::make_shared<nn::Conv2d>(4, 8, 4, 2, 1);
  auto norm = std::make_shared<nn::InstanceNorm2d>(8, true);
  conv->to(kGpu);
  norm->to(kGpu);
  std::vector<Tensor> params = conv->parameters();
  for (const Tensor& p : norm->parameters()) params.push_back(p);
  optim::Adam adam(params);
  const Tensor x = Tensor::randn({2, 4, 16, 16}, gen).to(kGpu), y = Tensor::randn({2, 8, 8, 8}, gen).to(kGpu);
  auto step = [&] {
    adam.zero_grad();
    const Tensor loss = l1_loss(leaky_relu((*norm)(conv->forward(x)), 0.2), y);
    loss.backward();
    adam.step();
  };
  for (int i = 0; i < 10; ++i) step();  // warm-up: the cache fills, Adam's state is allocated
  cuda_rt::synchronize(0);
  const cuda_rt::MemoryStats warm = cuda_rt::memory_stats(0);
  CHECK(warm.allocated > 0);  // parameters, gradients, moments and the inputs
  int64_t grew = 0, off_baseline = 0;
  for (int i = 0; i < 1000; ++i) {
    step();
    const cuda_rt::MemoryStats now = cuda_rt::memory_stats(0);
    grew += now.device_mallocs != warm.device_mallocs;
    off_baseline += now.allocated != warm.allocated;
  }
  cuda_rt::synchronize(0);
  const cuda_rt::MemoryStats end = cuda_rt::memory_stats(0);
  CHECK_MESSAGE(grew == 0, "cudaMalloc calls went from " << warm.device_mallocs << " to " << end.device_mallocs);
  CHECK_MESSAGE(off_baseline == 0, "allocated bytes left the " << warm.allocated << " baseline after " << off_baseline
                                                                 << " steps (now " << end.allocated << ")");
  CHECK(end.reserved >= end.allocated);
  CHECK(end.peak_allocated >= end.allocated);
}
