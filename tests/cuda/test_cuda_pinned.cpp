// Pinned host memory on cuda:0: blocks are page-locked and reused without new cudaHostAlloc calls, a freed block
// is not handed out again while a queued copy still reads it, and messages cross through it: a device tensor
// encodes to the bytes its host copy gives, and a floating field decoded for cuda:0 lands there in f32.
#include <cuda_runtime.h>
#include <doctest/doctest.h>
#include <algorithm>
#include <vector>
#include "base/cuda_runtime.h"
#include "cuda/cuda_case.h"
#include "dist/messages.h"

using namespace asyndgan;
using namespace asyndgan::test;

TEST_CASE("pinned host tensors are page-locked, and their blocks are reused once freed") {
  Tensor a = Tensor::empty_pinned({1 << 18});
  CHECK(a.is_pinned());
  CHECK_FALSE(Tensor::empty({16}).is_pinned());
  cudaPointerAttributes attr{};
  REQUIRE(cudaPointerGetAttributes(&attr, a.raw_data()) == cudaSuccess);
  CHECK(attr.type == cudaMemoryTypeHost);
  a = Tensor();
  cuda_rt::synchronize(0);
  const int64_t before = cuda_rt::host_pinned_stats().host_allocs;
  for (int i = 0; i < 20; ++i) {
    Tensor b = Tensor::empty_pinned({1 << 18});
    b.fill_(i);
    const Tensor d = b.to(kGpu);
    b = Tensor();
    cuda_rt::synchronize(0);
  }
  CHECK(cuda_rt::host_pinned_stats().host_allocs == before);
}

TEST_CASE("a pinned block freed while its copy is queued is not overwritten before the copy reads it") {
  // Each copy waits behind milliseconds of convolutions on the stream; the host frees its source and fills a new
  // block at once. Reusing a block early would give a device tensor a later iteration's value.
  Generator gen(3);
  const Tensor w = Tensor::randn({256, 256, 3, 3}, gen).to(kGpu);
  const Tensor x = Tensor::randn({1, 256, 128, 128}, gen).to(kGpu);
  std::vector<Tensor> landed;
  for (int i = 0; i < 16; ++i) {
    Tensor busy = x;
    for (int k = 0; k < 4; ++k) busy = conv2d(busy, w, Tensor(), Conv2dOptions::make(1, 1));
    Tensor src = Tensor::empty_pinned({1 << 16});
    src.fill_(i);
    landed.push_back(src.to(kGpu));  // queued behind the matmuls
  }
  CHECK(cuda_rt::host_pinned_stats().reserved > 0);
  for (int i = 0; i < 16; ++i) {
    const std::vector<float> v = landed[static_cast<size_t>(i)].to_vector<float>();
    CHECK_MESSAGE(std::all_of(v.begin(), v.end(), [&](float e) { return e == static_cast<float>(i); }), "copy ", i);
  }
  CHECK(cuda_rt::host_pinned_stats().in_flight == 0);  // everything has run: the next allocation retires them
}

TEST_CASE("a device tensor encodes to the bytes of its host copy, and gradients decode onto the device in f32") {
  Generator gen(11);
  const Tensor host = Tensor::randn({2, 4, 8, 8}, gen);
  for (dist::WireDtype wire : {dist::WireDtype::f32, dist::WireDtype::bf16, dist::WireDtype::f16}) {
    CAPTURE(dist::wire_dtype_name(wire));
    dist::Gradient g;
    g.step = 5;
    g.samples = 2;
    g.grad = host;
    const std::vector<uint8_t> from_host = dist::encode(dist::ToCentral{g}, wire);
    g.grad = host.to(kGpu);
    CHECK(dist::encode(dist::ToCentral{g}, wire) == from_host);

    const auto on_host = std::get<dist::Gradient>(dist::decode_to_central(from_host, wire));
    const auto on_gpu = std::get<dist::Gradient>(dist::decode_to_central(from_host, wire, kGpu));
    CHECK(on_gpu.grad.device() == kGpu);
    CHECK(on_gpu.grad.dtype() == DType::f32);
    CHECK(on_gpu.grad.to_vector<float>() == on_host.grad.to_vector<float>());
  }
}
