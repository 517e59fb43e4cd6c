// The backward engine: dependency counting over the graph, then nodes in topological order, with
// gradients summed per node and accumulated into leaves.
#include "engine/autograd.h"
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include "engine/ops.h"

namespace asyndgan {
namespace {

thread_local bool g_grad_enabled = true;

class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, BackwardFn fn) : Node(name), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const Tensor& grad_output, const std::vector<bool>& needs) override {
    if (!fn_)
      throw ValueError(msg("backward through '", name(), "' a second time: its saved tensors were freed; "
                           "pass retain_graph=true to the first backward"));
    return fn_(grad_output, needs);
  }
  void release() override { fn_ = nullptr; }

 private:
  BackwardFn fn_;
};

// Adds a gradient into a leaf's .grad (the leaf is held weakly: the graph must not keep parameters alive).
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : Node("accumulate_grad"), leaf_(leaf) {}
  std::vector<Tensor> apply(const Tensor& g, const std::vector<bool>&) override {
    auto leaf = leaf_.lock();
    if (!leaf) return {};
    if (leaf->grad) {
      Tensor acc(leaf->grad);
      add_(acc, g);
    } else if (g.impl_ptr().use_count() == 1 && g.impl().storage.use_count() == 1 && g.is_contiguous() &&
               g.offset() == 0) {
      leaf->grad = g.impl_ptr();  // nobody else holds this gradient: adopt it instead of copying
    } else {
      leaf->grad = g.detach().clone().impl_ptr();
    }
    return {};
  }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  auto& impl = t.impl();
  if (impl.grad_fn) return impl.grad_fn;
  if (!impl.grad_accumulator) impl.grad_accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
  return impl.grad_accumulator;
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& output, const char* op, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_enabled) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  auto node = std::make_shared<FunctionNode>(op, std::move(backward));
  node->next.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next.push_back(gradient_edge(t));
  output.impl().grad_fn = std::move(node);
  output.impl().requires_grad = true;
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  if (roots.size() != grads.size())
    throw ValueError(msg("backward: ", roots.size(), " roots but ", grads.size(), " gradients"));
  NoGradGuard no_grad;

  std::unordered_map<Node*, Tensor> pending;
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    check_defined("backward", r, "root");
    if (!r.requires_grad())
      throw ValueError(msg("backward: root ", i, " (", r.describe(), ") does not require grad: nothing to differentiate"));
    Tensor g = grads[i];
    if (!g.defined()) {
      if (r.numel() != 1)
        throw ShapeError(msg("backward: root ", i, " has shape ", shape_str(r.shape()),
                             "; a non-scalar root needs a gradient of that shape"));
      g = Tensor::ones(r.shape(), r.dtype(), r.device());
    }
    check_same_shape("backward (root gradient)", r, g);
    auto node = gradient_edge(r);
    auto it = pending.find(node.get());
    if (it == pending.end()) {
      pending.emplace(node.get(), g.contiguous());
      root_nodes.push_back(node);
    } else {
      it->second = add(it->second, g);
    }
  }

  // Count, for every reachable node, how many edges point at it.
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& n : root_nodes)
    if (seen.insert(n.get()).second) stack.push_back(n.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& nx : n->next) {
      if (!nx) continue;
      ++deps[nx.get()];
      if (seen.insert(nx.get()).second) stack.push_back(nx.get());
    }
  }

  std::deque<std::shared_ptr<Node>> ready;
  for (auto& n : root_nodes)
    if (deps[n.get()] == 0) ready.push_back(n);

  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.front();
    ready.pop_front();
    Tensor g = std::move(pending[node.get()]);
    pending.erase(node.get());
    std::vector<Tensor> in_grads;
    if (g.defined()) {  // a node that received no gradient only passes the "done" signal on
      std::vector<bool> needs(node->next.size());
      for (size_t i = 0; i < needs.size(); ++i) needs[i] = node->next[i] != nullptr;
      in_grads = node->apply(g, needs);
    }
    if (!retain_graph) node->release();
    for (size_t i = 0; i < node->next.size(); ++i) {
      const auto& nx = node->next[i];
      if (!nx) continue;
      if (i < in_grads.size() && in_grads[i].defined()) {
        Tensor& slot = pending[nx.get()];
        slot = slot.defined() ? add(slot, in_grads[i]) : in_grads[i];
      }
      if (--deps[nx.get()] == 0) ready.push_back(nx);
    }
  }
}

}  // namespace asyndgan
