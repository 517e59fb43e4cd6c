// Reverse-mode autograd: graph nodes, the grad-mode switch, and the backward engine.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "engine/tensor.h"

namespace asyndgan {

// A node of the backward graph: one per differentiable op result. Ops have one output.
class Node {
 public:
  explicit Node(std::string name) : name_(std::move(name)) {}
  virtual ~Node() = default;
  // Given dL/d(output), returns dL/d(input i) for every input (undefined where needs[i] is false).
  virtual std::vector<Tensor> apply(const Tensor& grad_output, const std::vector<bool>& needs) = 0;
  // Frees what the forward pass saved; called after use unless the graph is retained.
  virtual void release() {}
  const std::string& name() const { return name_; }
  // The producer of each input's gradient: its grad_fn, its leaf accumulator, or null (no grad needed).
  std::vector<std::shared_ptr<Node>> next;

 private:
  std::string name_;
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const std::vector<bool>& needs)>;

// Is gradient recording on for this thread? Off inside a NoGradGuard and during backward.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when recording is on and any of the tensors requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);

// Attaches a backward function to an op's output when any input needs grad; the function must capture
// only what it needs. `inputs` lists the op's differentiable inputs (undefined entries are allowed).
void record(Tensor& output, const char* op, std::vector<Tensor> inputs, BackwardFn backward);

// Runs backward from several roots at once, each with its dL/droot; gradients accumulate into leaves.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

}  // namespace asyndgan
