// Tensor basics: factories, views without copies, conversions, typed errors.
#include <doctest/doctest.h>
#include "engine/engine.h"

using namespace asyndgan;

TEST_CASE("tensor: contiguous factories, 64-byte alignment and metadata") {
  Tensor t = Tensor::zeros({2, 3, 4});
  CHECK(t.numel() == 24);
  CHECK(t.is_contiguous());
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
  CHECK(t.describe() == "f32[2, 3, 4] cpu");
  for (float v : t.to_vector<float>()) CHECK(v == 0.0f);
  CHECK(Tensor::full({2}, 3.5, DType::f64).to_doubles() == std::vector<double>{3.5, 3.5});
}

TEST_CASE("tensor: narrow along batch and channel shares storage") {
  std::vector<float> v(2 * 3 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor t = Tensor::from_vector(v, {2, 3, 2});
  Tensor b = t.narrow(0, 1, 1);
  CHECK(b.impl().storage == t.impl().storage);
  CHECK(b.is_contiguous());
  CHECK(b.to_vector<float>() == std::vector<float>{6, 7, 8, 9, 10, 11});
  Tensor c = t.narrow(1, 1, 2);
  CHECK(c.impl().storage == t.impl().storage);
  CHECK_FALSE(c.is_contiguous());
  CHECK(c.to_vector<float>() == std::vector<float>{2, 3, 4, 5, 8, 9, 10, 11});
  c.fill_(-1);
  CHECK(t.to_vector<float>()[2] == -1.0f);
  CHECK(t.to_vector<float>()[0] == 0.0f);
}

TEST_CASE("tensor: pinned host tensors are host tensors, page-locked only where there is a GPU") {
  Tensor p = Tensor::empty_pinned({3, 5}, DType::bf16);
  CHECK(p.device() == Device::cpu());
  CHECK(p.shape() == Shape{3, 5});
  CHECK(p.dtype() == DType::bf16);
  CHECK(p.is_contiguous());
  CHECK(reinterpret_cast<uintptr_t>(p.raw_data()) % 64 == 0);
  CHECK(p.is_pinned() == (cuda_device_count() > 0));
  CHECK_FALSE(Tensor::zeros({2}).is_pinned());
  p.fill_(2.5);
  CHECK(p.to_vector<float>() == std::vector<float>(15, 2.5f));
  CHECK(Tensor::empty_pinned({0}).numel() == 0);

  // A strided view comes out contiguous with its own values.
  std::vector<float> v(12);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const Tensor c = Tensor::from_vector(v, {3, 4}).narrow(1, 1, 2).to_pinned_host();
  CHECK(c.is_contiguous());
  CHECK(c.is_pinned() == (cuda_device_count() > 0));
  CHECK(c.to_vector<float>() == std::vector<float>{1, 2, 5, 6, 9, 10});
}

TEST_CASE("tensor: dtype conversions round-trip, including bf16 and f16") {
  Tensor t = Tensor::from_vector(std::vector<float>{1.0f, -2.5f, 0.15625f, 65504.0f, 1e-6f}, {5});
  for (DType dt : {DType::f64, DType::bf16, DType::f16}) {
    std::vector<float> back = t.to(dt).to(DType::f32).to_vector<float>();
    CHECK(back[0] == 1.0f);
    CHECK(back[1] == -2.5f);
    CHECK(back[2] == 0.15625f);
  }
  CHECK(t.to(DType::f16).to(DType::f32).to_vector<float>()[3] == 65504.0f);
  CHECK(t.to(DType::f16).to(DType::f32).to_vector<float>()[4] == doctest::Approx(1e-6).epsilon(0.05));
  CHECK(t.to(DType::bf16).to(DType::f32).to_vector<float>()[3] == 65536.0f);  // 8-bit mantissa rounds up
  CHECK(Tensor::from_vector(std::vector<int64_t>{3, -4}, {2}).to(DType::f32).to_vector<float>() == std::vector<float>{3, -4});
  CHECK(dtype_from_name("bf16") == DType::bf16);
  CHECK_THROWS_AS(dtype_from_name("f8"), DTypeError);
}

TEST_CASE("tensor: mismatches throw typed errors naming the op and shapes") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  try {
    add(a, b);
    FAIL("add of mismatched shapes did not throw");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("add") != std::string::npos);
    CHECK(m.find("[2, 3]") != std::string::npos);
    CHECK(m.find("[3, 2]") != std::string::npos);
  }
  CHECK_THROWS_AS(add(a, Tensor::zeros({2, 3}, DType::f64)), DTypeError);
  CHECK_THROWS_AS(a.view({5}), ShapeError);
  CHECK_THROWS_AS(a.narrow(1, 2, 2), ShapeError);
  CHECK_THROWS_AS(Tensor::zeros({2}, DType::i32).set_requires_grad(true), DTypeError);
}

TEST_CASE("device: parsing, and a missing GPU is a clear error") {
  CHECK(Device::parse("cpu").is_cpu());
  CHECK(Device::parse("cuda:1").index == 1);
  CHECK_THROWS_AS(Device::parse("gpu0"), DeviceError);
  int n = cuda_device_count();
  try {
    Tensor::zeros({2}).to(Device::cuda(n));
    FAIL("moving to a CUDA device that does not exist did not throw");
  } catch (const DeviceError& e) {
    CHECK(std::string(e.what()).find("cuda:" + std::to_string(n)) != std::string::npos);
  }
}
