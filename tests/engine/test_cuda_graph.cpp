// CudaGraph where no capture can happen: a CPU device is refused, and a build or machine without a GPU says so
// when one is constructed for a cuda device; nothing reports a capture. (Captures themselves: tests/cuda.)
#include <doctest/doctest.h>
#include "engine/cuda_graph.h"
#include "base/cuda_runtime.h"
#include "base/error.h"

using namespace asyndgan;

TEST_CASE("CudaGraph: refused for the CPU, and for cuda without a GPU, no capture reported") {
  CHECK_THROWS_AS(CudaGraph(Device::cpu()), DeviceError);
  CHECK_FALSE(CudaGraph::capturing(Device::cpu()));
  CHECK(CudaGraph::current(Device::cpu()) == nullptr);
  if (cuda_rt::device_count() == 0) {
    CHECK_THROWS_AS(CudaGraph(Device::cuda(0)), DeviceError);
    CHECK_FALSE(CudaGraph::capturing(Device::cuda(0)));
    CHECK(CudaGraph::current(Device::cuda(0)) == nullptr);
  }
}
