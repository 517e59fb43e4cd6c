// StepGraph: eager warm-up, one capture, replays.
#include "dist/step_graph.h"
#include "base/error.h"

namespace asyndgan::dist {

void StepGraph::run(const std::function<void()>& body) {
  if (!enabled_ || runs_++ == 0) {
    body();
    return;
  }
  if (!graph_) {
    auto g = std::make_unique<CudaGraph>(device_);
    try {
      g->capture_begin();
      body();
      g->capture_end();
    } catch (const std::exception& e) {
      throw DeviceError(msg("capturing a training step in a CUDA graph on ", device_.str(), " failed: ", e.what(),
                            ". Set train.cuda_graphs = false to train without graphs"));
    }
    graph_ = std::move(g);
  }
  graph_->replay();
}

void StepGraph::reset() {
  graph_.reset();
  runs_ = 0;
}

}  // namespace asyndgan::dist
