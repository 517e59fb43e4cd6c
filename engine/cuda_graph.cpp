// CudaGraph: which graph captures which device, the private pool around a capture, and the Philox generators a
// captured step draws from, kept in step on every replay.
#include "engine/cuda_graph.h"
#include <map>
#include <mutex>
#include "engine/backend.h"
#include "base/cuda_runtime.h"
#include "base/error.h"

namespace asyndgan {
namespace {

// The graph capturing each device's stream. Ops ask on every call (dropout), so this is host state, not a
// cudaStreamIsCapturing query.
std::mutex g_mu;
std::map<int, CudaGraph*>& capturing_graphs() {
  static std::map<int, CudaGraph*> m;
  return m;
}

}  // namespace

CudaGraph::CudaGraph(Device device) : device_(device) {
  if (!device.is_cuda()) throw DeviceError(msg("CudaGraph: needs a cuda device, got ", device.str()));
  pool_ = cuda_rt::graph_pool_create(device.index);  // throws where there is no CUDA or no such device
}

CudaGraph::~CudaGraph() {
  try {
    if (capturing_) {  // an exception left the capture open: end it so the stream works eagerly again
      cuda_rt::capture_abort(device_.index);
      finish_capture();
    }
    cuda_rt::graph_destroy(exec_);
    generators_.clear();  // their state tensors go back to the pool, then with it to the general cache
    cuda_rt::graph_pool_release(pool_, device_.index);
  } catch (...) {
    // A destructor must not throw; the pool then stays reserved (memory held, never corrupted).
  }
}

void CudaGraph::capture_begin() {
  if (exec_ || capturing_) throw ValueError("CudaGraph::capture_begin: this graph has already been captured");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto& m = capturing_graphs();
    if (m.count(device_.index))
      throw ValueError(msg("CudaGraph::capture_begin: another graph is capturing ", device_.str()));
    m[device_.index] = this;
  }
  capturing_ = true;
  // A failed earlier capture of this graph may have registered generators: their bases are from that capture,
  // and finish_capture would rewind the generators to them, so start the list afresh.
  generators_.clear();
  try {
    cuda_rt::graph_pool_activate(pool_, device_.index);
    cuda_rt::capture_begin(device_.index);
  } catch (...) {
    finish_capture();
    throw;
  }
}

void CudaGraph::capture_end() {
  if (!capturing_) throw ValueError("CudaGraph::capture_end: no capture under way (call capture_begin first)");
  void* exec = nullptr;
  try {
    exec = cuda_rt::capture_end(device_.index);
  } catch (...) {
    cuda_rt::capture_abort(device_.index);
    finish_capture();
    throw;
  }
  finish_capture();
  exec_ = exec;
}

void CudaGraph::finish_capture() {
  try {
    cuda_rt::graph_pool_activate(0, device_.index);
  } catch (...) {
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    capturing_graphs().erase(device_.index);
  }
  capturing_ = false;
  // The capture ran nothing: what the step drew is drawn by each replay, starting where the capture started.
  for (GeneratorUse& g : generators_) {
    g.consumed = g.gen->offset() - g.base;
    g.gen->set_state(g.gen->seed(), g.base);
  }
}

void CudaGraph::replay() {
  if (!exec_) throw ValueError("CudaGraph::replay: nothing captured yet (capture_begin, the step, capture_end)");
  if (capturing(device_)) throw ValueError(msg("CudaGraph::replay: a capture is under way on ", device_.str()));
  // Stream-ordered kernel writes (values in the kernel parameters): the previous replay has read the old state
  // by the time they run, and the host neither waits nor keeps a buffer alive. A memcpy node inside the graph
  // would instead read pinned host memory at run time, which the host could not rewrite for the next replay
  // until this one had run.
  if (!generators_.empty()) {
    const backend::CudaKernels& k = backend::cuda("CudaGraph::replay");
    for (GeneratorUse& g : generators_) k.set_philox_state(g.state, g.gen->seed(), g.gen->offset());
  }
  cuda_rt::graph_launch(exec_, device_.index);
  for (GeneratorUse& g : generators_) g.gen->reserve(g.consumed);
}

bool CudaGraph::capturing(Device device) { return current(device) != nullptr; }

CudaGraph* CudaGraph::current(Device device) {
  if (!device.is_cuda()) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  auto& m = capturing_graphs();
  auto it = m.find(device.index);
  return it == m.end() ? nullptr : it->second;
}

const Tensor& CudaGraph::reserve_philox(Generator& gen, uint64_t blocks, uint64_t& relative_first) {
  if (!capturing_) throw ValueError("CudaGraph::reserve_philox: no capture under way");
  GeneratorUse* use = nullptr;
  for (GeneratorUse& g : generators_)
    if (g.gen == &gen) use = &g;
  if (!use) {
    // Allocated from the graph's pool (the capture is on), written by replay() only.
    generators_.push_back({&gen, gen.offset(), 0, Tensor::empty({2}, DType::i64, device_)});
    use = &generators_.back();
  }
  relative_first = gen.reserve(blocks) - use->base;
  return use->state;
}

}  // namespace asyndgan
