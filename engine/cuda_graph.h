// CUDA graphs: capture a static-shape training step's device work once, replay it every iteration (one launch
// instead of hundreds, no per-op host cost). Builds without CUDA too, where constructing one throws.
#pragma once
#include <cstdint>
#include <vector>
#include "engine/device.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace asyndgan {

// Captures the device work that host code queues on a device's stream between capture_begin and capture_end,
// once, and replays it: for static-shape training steps. Tensors allocated during the capture come from the
// graph's private memory pool, so replays find them at the same addresses and nothing outside can reuse them.
//
// What a replay does and does not do: it reruns the captured kernels on the captured addresses and nothing on
// the host. So (1) inputs go into tensors allocated before the capture and kept alive (copy_ new data into them
// before each replay), and outputs are read from tensors created during the capture (a replay refreshes them in
// place); a tensor allocated before the capture, read by captured kernels and then freed, leaves the graph
// reading memory that someone else may own. (2) Host state the captured code changes is changed once, at
// capture; the engine keeps its own stateful pieces right on replay: Adam (device-side step counters and
// learning rate), BatchNorm2d's num_batches_tracked (device increment) and dropout (see replay()). (3) The capture
// itself runs nothing: the captured step first happens at the first replay. (4) Host copies and
// synchronizations are refused inside a capture; so are first uses that must initialize state (cuDNN's algorithm
// search, Adam's first step): run the step once eagerly before capturing. One host thread drives a device while
// it captures (its allocations go to the graph's pool).
class CudaGraph {
 public:
  explicit CudaGraph(Device device);
  ~CudaGraph();  // destroys the graph; the pool's blocks go back to the general cache once no tensor holds them
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  void capture_begin();  // cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed) + private pool on
  void capture_end();    // end capture, instantiate; pool off (blocks stay reserved to this graph)
  // Writes each captured generator's seed and current offset into its device state, launches the graph, then
  // advances the generator by what the captured step drew: masks differ every replay and match, offset for
  // offset, what the same sequence of eager steps would have drawn. Generators must outlive the graph.
  void replay();
  bool captured() const { return exec_ != nullptr; }
  static bool capturing(Device device);  // a capture is under way on this device's stream
  // (internal use by ops) the graph being captured on `device`, or nullptr
  static CudaGraph* current(Device device);

  // (internal use by dropout while capturing) Reserves `blocks` Philox blocks of gen as an eager draw would, and
  // returns the device state ([seed, base], i64) the captured kernel reads, with the draw's first block relative
  // to base in `relative_first`. The first use of gen in this capture registers it with base = its offset then.
  const Tensor& reserve_philox(Generator& gen, uint64_t blocks, uint64_t& relative_first);

 private:
  struct GeneratorUse {
    Generator* gen;
    uint64_t base;      // gen's offset at its first use in the capture
    uint64_t consumed;  // blocks the captured step draws (known at capture_end)
    Tensor state;       // [seed, base] on the device, written before each replay
  };
  void finish_capture();  // pool off, unregister, generators back to their offsets before the capture

  Device device_;
  uint64_t pool_ = 0;
  void* exec_ = nullptr;  // cudaGraphExec_t
  bool capturing_ = false;
  std::vector<GeneratorUse> generators_;
};

}  // namespace asyndgan
