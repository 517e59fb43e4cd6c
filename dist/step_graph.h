// Runs one recurring piece of a training step on the GPU as a CUDA graph: eagerly the first time (cuDNN times its
// algorithms, handles and caches warm up), captured and replayed the second time, replayed after that. The body
// writes its results into tensors the caller keeps, which a replay refreshes in place.
#pragma once
#include <functional>
#include <memory>
#include "engine/cuda_graph.h"
#include "engine/device.h"

namespace asyndgan::dist {

class StepGraph {
 public:
  // enabled: graphs wanted and possible (a CUDA device, static shapes); otherwise run() is just body().
  StepGraph(Device device, bool enabled) : device_(device), enabled_(enabled && device.is_cuda()) {}

  // body queues the work (it is not called at all on a replay). A failure during capture is a DeviceError that
  // says what to turn off: the host state the body changed while capturing cannot be unwound.
  void run(const std::function<void()>& body);
  // After a state load or a change of shape: the next run is eager again, then captured anew.
  void reset();
  bool replaying() const { return graph_ && graph_->captured(); }

 private:
  Device device_;
  bool enabled_;
  int64_t runs_ = 0;
  std::unique_ptr<CudaGraph> graph_;
};

}  // namespace asyndgan::dist
