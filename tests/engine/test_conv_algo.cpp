// kernels/cuda/conv_algo.h: which cuDNN algorithm the CUDA convolutions run, given what cuDNN reported. Pure
// host logic, so it runs on machines without a GPU.
#include <doctest/doctest.h>
#include "kernels/cuda/conv_algo.h"

using namespace asyndgan::kern::cuda;

namespace {
constexpr int kDefaultMath = 0, kTensorOpMath = 1, kFmaMath = 3;  // cudnnMathType_t values
constexpr size_t MiB = size_t{1} << 20;

ConvAlgoCandidate cand(int algo, size_t workspace, bool deterministic = true, int math = kFmaMath, bool ok = true) {
  return {algo, ok, workspace, deterministic, math};
}
}  // namespace

TEST_CASE("conv algo: the first candidate in cuDNN's order that fits the workspace limit") {
  const std::vector<ConvAlgoCandidate> c = {cand(6, 512 * MiB), cand(7, 256 * MiB), cand(1, 0)};
  CHECK(pick_conv_algo(c, {256 * MiB, false, -1}) == 1);  // a workspace exactly at the limit fits
  CHECK(pick_conv_algo(c, {256 * MiB - 1, false, -1}) == 2);
  CHECK(pick_conv_algo(c, {1024 * MiB, false, -1}) == 0);
}

TEST_CASE("conv algo: failed candidates are never picked, and none left gives -1") {
  const std::vector<ConvAlgoCandidate> c = {cand(0, 0, true, kFmaMath, false), cand(2, 64 * MiB)};
  CHECK(pick_conv_algo(c, {256 * MiB, false, -1}) == 1);
  CHECK(pick_conv_algo(c, {MiB, false, -1}) == -1);
  CHECK(pick_conv_algo({}, {256 * MiB, false, -1}) == -1);
}

TEST_CASE("conv algo: deterministic mode skips nondeterministic algorithms however fast") {
  const std::vector<ConvAlgoCandidate> c = {cand(0, 0, false), cand(3, MiB, false), cand(1, 8 * MiB, true)};
  CHECK(pick_conv_algo(c, {256 * MiB, false, -1}) == 0);
  CHECK(pick_conv_algo(c, {256 * MiB, true, -1}) == 2);
  CHECK(pick_conv_algo(c, {4 * MiB, true, -1}) == -1);  // the only deterministic one needs too much
}

TEST_CASE("conv algo: f32 without TF32 takes only FMA kernels, other dtypes any math type") {
  const std::vector<ConvAlgoCandidate> c = {cand(1, 0, true, kTensorOpMath), cand(1, 0, true, kDefaultMath),
                                            cand(0, 0, true, kFmaMath)};
  CHECK(pick_conv_algo(c, {256 * MiB, false, kFmaMath}) == 2);
  CHECK(pick_conv_algo(c, {256 * MiB, false, -1}) == 0);
}
