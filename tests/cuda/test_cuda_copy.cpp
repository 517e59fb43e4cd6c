// The CUDA runtime and copy family against the CPU: transfers, strided gathers and scatters, every dtype pair,
// fills, overlapping copies, cross-device copy_, and the caching allocator's statistics.
#include <doctest/doctest.h>
#include <cstring>
#include <string>
#include <vector>
#include "cuda/cuda_case.h"
#include "base/cuda_runtime.h"

using namespace asyndgan;
using asyndgan::test::kGpu;

namespace {

// Bytes of a tensor's contiguous host copy: the comparison is bit for bit.
std::vector<unsigned char> host_bytes(const Tensor& t) {
  Tensor h = t.detach().to(Device::cpu()).contiguous();
  std::vector<unsigned char> b(h.nbytes());
  if (!b.empty()) std::memcpy(b.data(), h.raw_data(), b.size());
  return b;
}

// Values every dtype can hold (u8 included), with fractions that exercise rounding.
Tensor sample(const Shape& shape) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % 200) + 0.25 * static_cast<double>(i % 4);
  return Tensor::from_vector(v, shape);
}

// The view of `t` with dims 0 and last swapped (no copy).
Tensor swap_first_last(const Tensor& t) {
  Shape s = t.shape(), st = t.strides();
  std::swap(s.front(), s.back());
  std::swap(st.front(), st.back());
  return make_view(t, s, st, t.offset());
}

const DType kAll[] = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::u8, DType::i32, DType::i64};

}  // namespace

TEST_CASE("cuda: device name, transfers and factories") {
  CHECK(std::string(cuda_rt::device_name(0)).find("(sm_") != std::string::npos);
  Tensor h = sample({2, 3, 4, 5});
  Tensor d = h.to(kGpu);
  CHECK(d.describe() == "f64[2, 3, 4, 5] cuda:0");
  CHECK(host_bytes(d) == host_bytes(h));
  CHECK(Tensor::full({3, 7}, 2.5, DType::bf16, kGpu).to_doubles() == std::vector<double>(21, 2.5));
  CHECK(Tensor::zeros({5}, DType::i64, kGpu).to_vector<int64_t>() == std::vector<int64_t>(5, 0));
  CHECK(Tensor::ones({1000}, DType::u8, kGpu).to_vector<uint8_t>() == std::vector<uint8_t>(1000, 1));
  CHECK(Tensor::full({}, -3.0, DType::f32, kGpu).item() == -3.0);
  CHECK(Tensor::zeros({0, 3}, DType::f32, kGpu).to_doubles().empty());
}

TEST_CASE("cuda: strided gathers, every dtype pair and fills match the CPU bit for bit") {
  Tensor h = sample({3, 4, 6, 5});
  Tensor d = h.to(kGpu);
  for (DType from : kAll) {
    Tensor hf = h.to(from), df = d.to(from);
    CHECK(host_bytes(df) == host_bytes(hf));
    Tensor hv = swap_first_last(hf.narrow(2, 1, 4)), dv = swap_first_last(df.narrow(2, 1, 4));
    for (DType to : kAll) {
      INFO(dtype_name(from), " -> ", dtype_name(to));
      CHECK(host_bytes(dv.to(to)) == host_bytes(hv.to(to)));  // strided source, converting
      CHECK(host_bytes(dv.contiguous().to(to)) == host_bytes(hv.contiguous().to(to)));
    }
    Tensor hf2 = hf.clone(), df2 = df.clone();
    swap_first_last(hf2).narrow(1, 1, 2).fill_(-0.0);
    swap_first_last(df2).narrow(1, 1, 2).fill_(-0.0);
    hf2.narrow(0, 2, 1).fill_(7.75);
    df2.narrow(0, 2, 1).fill_(7.75);
    CHECK(host_bytes(df2) == host_bytes(hf2));
  }
}

TEST_CASE("cuda: copy_ into strided views, overlapping views and across devices") {
  Tensor h = sample({4, 5, 6}).to(DType::f32);
  Tensor d = h.to(kGpu);
  // Scatter into a transposed view, converting from f64.
  Tensor hs = Tensor::zeros({6, 5, 4}), ds = Tensor::zeros({6, 5, 4}, DType::f32, kGpu);
  swap_first_last(hs).copy_(h.to(DType::f64));
  swap_first_last(ds).copy_(d.to(DType::f64));
  CHECK(host_bytes(ds) == host_bytes(hs));
  // Shift by one inside one storage: a naive in-place kernel would smear the first element.
  Tensor hline = sample({100}).to(DType::f32), dline = hline.to(kGpu);
  hline.narrow(0, 1, 99).copy_(hline.narrow(0, 0, 99));
  dline.narrow(0, 1, 99).copy_(dline.narrow(0, 0, 99));
  CHECK(host_bytes(dline) == host_bytes(hline));
  // Overlap through a transpose of a square matrix in place.
  Tensor hm = sample({8, 8}).to(DType::f32), dm = hm.to(kGpu);
  hm.copy_(swap_first_last(hm));
  dm.copy_(swap_first_last(dm));
  CHECK(host_bytes(dm) == host_bytes(hm));
  // Host strided source into a device strided destination, and back, converting on the way.
  Tensor dd = Tensor::zeros({6, 5, 4}, DType::bf16, kGpu);
  swap_first_last(dd).copy_(h);
  Tensor back = Tensor::zeros({4, 5, 6}, DType::f64);
  back.copy_(swap_first_last(dd));
  CHECK(host_bytes(back) == host_bytes(h.to(DType::bf16).to(DType::f64)));
}

TEST_CASE("cuda: the caching allocator reuses blocks and keeps cudaMalloc calls flat") {
  cuda_rt::synchronize(0);
  cuda_rt::empty_cache(0);
  const auto before = cuda_rt::memory_stats(0);
  int64_t warm = 0;
  for (int it = 0; it < 100; ++it) {
    Tensor a = Tensor::empty({1 << 20}, DType::f32, kGpu);  // 4 MiB
    Tensor b = Tensor::empty({1000}, DType::f32, kGpu);
    a.fill_(1);
    b.copy_(a.narrow(0, 5, 1000));
    if (it == 0) {
      const auto s = cuda_rt::memory_stats(0);
      CHECK(s.allocated >= before.allocated + (4 << 20) + 4000);
      CHECK(s.reserved >= s.allocated);
      warm = s.device_mallocs;
    }
  }
  const auto after = cuda_rt::memory_stats(0);
  CHECK(after.device_mallocs == warm);
  CHECK(after.allocated == before.allocated);
  CHECK(after.peak_allocated >= before.allocated + (4 << 20));
  cuda_rt::empty_cache(0);
  CHECK(cuda_rt::memory_stats(0).reserved == cuda_rt::memory_stats(0).allocated);
  cuda_rt::reset_peak_memory(0);
  CHECK(cuda_rt::memory_stats(0).peak_allocated == cuda_rt::memory_stats(0).allocated);
  // A request the card cannot hold is a DeviceError naming the fix, not a crash.
  try {
    Tensor::empty({int64_t{1} << 40}, DType::f32, kGpu);
    FAIL("a 4 TiB allocation did not throw");
  } catch (const DeviceError& e) {
    CHECK(std::string(e.what()).find("smaller batch") != std::string::npos);
  }
}
