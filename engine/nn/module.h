// nn::Module: the base of every layer, holding named parameters, buffers and child modules so that a
// network's state_dict keys ("model.1.weight") match the same network written in PyTorch.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "engine/tensor.h"

namespace asyndgan::nn {

// Ordered (name, tensor) pairs: registration order, as PyTorch's state_dict.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying would silently share parameters between two modules; build a fresh module and load state instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  // Class name used in error messages ("Conv2d").
  virtual std::string type_name() const { return "Module"; }
  // Whether, in its current mode, this module's output for one sample depends on the other samples of the batch
  // (BatchNorm2d in training). Its children are asked separately: see batch_coupled().
  virtual bool couples_batch() const { return false; }

  // Recursive views; names are dotted paths from this module.
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  // Every module below this one (self first, then children depth-first), with its dotted name ("" for self).
  std::vector<std::pair<std::string, Module*>> named_modules();

  // Parameters then buffers of each module, depth-first in registration order (PyTorch's order). The
  // tensors share storage with the module: clone them to snapshot.
  NamedTensors state_dict() const;
  // Copies every value in place (dtype converted), so tensors held elsewhere (an optimizer) stay valid.
  // A shape mismatch is a ShapeError; with strict, a missing or unexpected key is a ValueError. Nothing is
  // changed unless every entry checks out.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
  void load_state_dict(const NamedTensors& state, bool strict = true);

  // Moves every parameter and buffer to `device` in place: the tensors keep their identity (and names), so
  // build optimizers after the move or they would hold the old storage's statistics. Gradients are dropped.
  void to(Device device);

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's gradient

 protected:
  // Marks `t` as requiring grad and records it under `name` (no dots; unique within this module).
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Whether any module of the tree couples the samples of a batch in its current mode. When none does, two batches
// can go through one forward pass (concatenated) and give the outputs of two separate passes (dropout in training
// aside, which then draws other masks from its generator).
bool batch_coupled(Module& root);

// Number of scalar parameters (elements of every parameter tensor).
int64_t count_parameters(const Module& m);

}  // namespace asyndgan::nn
