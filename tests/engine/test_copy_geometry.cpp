// The index mapping of the CUDA copy and fill kernels (kernels/cuda/copy_geometry.h), checked on the CPU against
// plain strided indexing over random shapes, strides and views.
#include <doctest/doctest.h>
#include <algorithm>
#include <random>
#include <vector>
#include "kernels/cuda/copy_geometry.h"

using namespace asyndgan::kern::cuda;

namespace {

// Row-major offsets of element i of shape through strides, the slow obvious way.
int64_t naive_offset(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t i) {
  int64_t off = 0;
  for (size_t d = shape.size(); d-- > 0;) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

std::vector<int64_t> contiguous(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) st[d] = acc, acc *= shape[d];
  return st;
}

template <class Index>
void check_mapping(const std::vector<int64_t>& shape, const std::vector<int64_t>& ss, const std::vector<int64_t>& ds) {
  CopyGeometry g;
  REQUIRE(make_copy_geometry(shape.data(), ss.data(), ds.data(), static_cast<int>(shape.size()), g));
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  REQUIRE(g.numel == n);
  for (int64_t i = 0; i < n; ++i) {
    Index so, d;
    copy_offsets<Index>(g, static_cast<Index>(i), so, d);
    REQUIRE(so == naive_offset(shape, ss, i));
    REQUIRE(d == naive_offset(shape, ds, i));
  }
}

}  // namespace

TEST_CASE("copy geometry: contiguous views collapse to one run, size-1 and scalar shapes need no index math") {
  CopyGeometry g;
  std::vector<int64_t> shape = {2, 3, 4, 5}, st = contiguous(shape);
  REQUIRE(make_copy_geometry(shape.data(), st.data(), st.data(), 4, g));
  CHECK(g.ndim == 1);
  CHECK(g.shape[0] == 120);
  CHECK(g.src_stride[0] == 1);
  CHECK(g.fits_int32);
  REQUIRE(make_copy_geometry(nullptr, nullptr, nullptr, 0, g));
  CHECK(g.ndim == 0);
  CHECK(g.numel == 1);
  int64_t o1 = -1, o2 = -1;
  copy_offsets<int64_t>(g, 0, o1, o2);
  CHECK(o1 == 0);
  CHECK(o2 == 0);
  // A narrowed channel range of NCHW into a contiguous tensor: H and W merge, N and C stay.
  std::vector<int64_t> nchw = {2, 3, 4, 5}, src = {8 * 20, 20, 5, 1}, dst = contiguous(nchw);
  REQUIRE(make_copy_geometry(nchw.data(), src.data(), dst.data(), 4, g));
  CHECK(g.ndim == 2);  // C narrowed from 8 to 3: (N) and (C*H*W) runs
  check_mapping<int64_t>(nchw, src, dst);
  check_mapping<int32_t>(nchw, src, dst);
}

TEST_CASE("copy geometry: random permuted and narrowed views map like plain strided indexing") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int nd = static_cast<int>(rng() % 7);
    std::vector<int64_t> base(nd);
    for (auto& s : base) s = 1 + rng() % 5;
    // Source: a permutation of a larger contiguous tensor's dims, narrowed; destination: contiguous or transposed.
    std::vector<int64_t> big = base;
    for (auto& s : big) s += rng() % 3;
    std::vector<int64_t> bst = contiguous(big), perm(nd);
    for (int d = 0; d < nd; ++d) perm[d] = d;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> shape(nd), ss(nd);
    for (int d = 0; d < nd; ++d) shape[d] = base[perm[d]], ss[d] = bst[perm[d]];
    std::vector<int64_t> ds = contiguous(shape);
    if (rng() % 2 && nd >= 2) {
      std::vector<int64_t> tshape = shape;
      std::swap(tshape[0], tshape[nd - 1]);
      std::vector<int64_t> tst = contiguous(tshape);
      std::swap(tst[0], tst[nd - 1]);
      ds = tst;
    }
    check_mapping<int64_t>(shape, ss, ds);
    check_mapping<int32_t>(shape, ss, ds);
  }
}

TEST_CASE("copy geometry: too many unmergeable dimensions are refused, huge views use 64-bit indices") {
  std::vector<int64_t> shape(9, 2), ss(9), ds(9);
  for (int d = 0; d < 9; ++d) ss[d] = int64_t{3} << (2 * (8 - d)), ds[d] = int64_t{1} << (8 - d);  // every pair breaks
  CopyGeometry g;
  CHECK_FALSE(make_copy_geometry(shape.data(), ss.data(), ds.data(), 9, g));
  std::vector<int64_t> big = {int64_t{3} << 30}, one = {1};
  REQUIRE(make_copy_geometry(big.data(), one.data(), one.data(), 1, g));
  CHECK_FALSE(g.fits_int32);
  std::vector<int64_t> wide = {4, 4}, far = {int64_t{1} << 31, 1}, c = contiguous(wide);
  REQUIRE(make_copy_geometry(wide.data(), far.data(), c.data(), 2, g));
  CHECK_FALSE(g.fits_int32);
}
