// The CUDA-vs-CPU harness (in the style of ggml's test-backend-ops): an op case is a function of its inputs,
// run on the CPU in f32 and on cuda:0 in f32 or bf16 with the same input values, then backward from the same
// random upstream gradient; every output, in-place-updated input and input gradient is compared.
#pragma once
#include <doctest/doctest.h>
#include <functional>
#include <string>
#include <vector>
#include "engine/engine.h"
#include "engine/op_test_util.h"

namespace asyndgan::test {

inline const Device kGpu = Device::cuda(0);

// fp32 with TF32 off (the default); bf16 relative to the largest magnitude of the f32 CPU result.
inline double cuda_tolerance(DType dt) { return dt == DType::bf16 ? 1e-2 : 1e-4; }

struct In {
  enum Kind { normal, positive, mask, unit };  // N(0,1); U(0.5, 1.5); 0/1 with p 0.5; U(0, 1)
  Shape shape;
  Kind kind = normal;
  bool grad = true;          // requires grad: its gradient is compared
  bool keep_f32 = false;     // normalization parameters and statistics stay f32 under bf16 (mixed precision)
  bool updated = false;      // written in place by the op (running statistics): compared after the forward
};

struct OpCase {
  std::string name;
  std::vector<In> in;
  std::function<Tensor(std::vector<Tensor>&)> f;  // may return an output that does not require grad
  bool bf16 = true;
};

inline uint64_t name_seed(const std::string& s) {  // FNV-1a: a stable seed per case
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

inline Tensor make_input(const In& in, Generator& gen) {
  switch (in.kind) {
    case In::positive: return Tensor::rand(in.shape, gen, DType::f32, 0.5, 1.5);
    case In::unit: return Tensor::rand(in.shape, gen, DType::f32, 0.0, 1.0);
    case In::mask: {
      std::vector<float> v = Tensor::rand(in.shape, gen, DType::f32, 0.0, 1.0).to_vector<float>();
      for (float& e : v) e = e < 0.5f ? 0.f : 1.f;
      return Tensor::from_vector(v, in.shape);
    }
    default: return Tensor::randn(in.shape, gen, DType::f32);
  }
}

// The CPU sees the values the GPU gets (rounded through bf16 when that is the GPU's dtype), so only the
// arithmetic differs; the reference arithmetic is f32.
inline Tensor rounded(const Tensor& t, DType dt) { return dt == DType::f32 ? t : t.to(dt).to(DType::f32); }

inline void check_close(const Tensor& gpu, const Tensor& cpu, DType dt, const std::string& what) {
  CAPTURE(what);
  REQUIRE(gpu.defined());
  CHECK(gpu.device() == kGpu);
  const double e = relative_error(gpu, cpu);
  CHECK_MESSAGE(e <= cuda_tolerance(dt), what << ": relative error " << e << " (" << gpu.describe() << ")");
}

inline void run_case(const OpCase& c, DType dt) {
  const std::string label = c.name + " [" + dtype_name(dt) + "]";
  CAPTURE(label);
  Generator gen(name_seed(c.name));
  std::vector<Tensor> cpu, gpu;
  for (const In& in : c.in) {
    const DType idt = in.keep_f32 ? DType::f32 : dt;
    const Tensor v = rounded(make_input(in, gen), idt);
    Tensor g = v.to(kGpu).to(idt).detach();
    Tensor h = v.clone().detach();
    if (in.grad) {
      g.set_requires_grad(true);
      h.set_requires_grad(true);
    }
    gpu.push_back(g);
    cpu.push_back(h);
  }
  const Tensor out_cpu = c.f(cpu);
  const Tensor out_gpu = c.f(gpu);
  check_close(out_gpu, out_cpu, dt, label + " output");
  for (size_t i = 0; i < c.in.size(); ++i)
    if (c.in[i].updated) check_close(gpu[i], cpu[i], dt, label + " input " + std::to_string(i) + " after forward");
  if (!out_cpu.requires_grad()) return;
  REQUIRE(out_gpu.requires_grad());
  const Tensor up = rounded(Tensor::randn(out_cpu.shape(), gen, DType::f32), out_gpu.dtype());
  out_cpu.backward(up);
  out_gpu.backward(up.to(kGpu).to(out_gpu.dtype()));
  for (size_t i = 0; i < c.in.size(); ++i) {
    if (!c.in[i].grad) continue;
    REQUIRE_MESSAGE(gpu[i].grad().defined(), label << ": input " << i << " got no gradient on cuda");
    check_close(gpu[i].grad(), cpu[i].grad(), dt, label + " grad of input " + std::to_string(i));
  }
}

inline void run_cases(const std::vector<OpCase>& cases) {
  for (const OpCase& c : cases) {
    run_case(c, DType::f32);
    if (c.bf16) run_case(c, DType::bf16);
  }
}

}  // namespace asyndgan::test
