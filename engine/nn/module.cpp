// Module bookkeeping: registration, recursive traversal with dotted names, state_dict load/save, modes.
#include "engine/nn/module.h"
#include <set>

namespace asyndgan::nn {

Tensor Module::forward(const Tensor&) {
  throw ValueError(msg(type_name(), ": this module has no forward(); call its children directly"));
}

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError(msg(type_name(), ": member name '", name, "' must be non-empty and contain no '.'"));
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  if (taken(params_) || taken(buffers_) || taken(children_))
    throw ValueError(msg(type_name(), ": member name '", name, "' is already registered"));
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  check_defined("register_parameter", t, name.c_str());
  t.set_requires_grad(true);
  t.set_name(name);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  check_defined("register_buffer", t, name.c_str());
  t.set_name(name);
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  if (!m) throw ValueError(msg(type_name(), ": child module '", name, "' is null"));
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  if (buffers)
    for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& entry : named_parameters()) out.push_back(entry.second);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  NamedTensors own = state_dict();
  std::vector<std::string> missing;
  std::set<std::string> own_names;
  for (const auto& [name, t] : own) {
    own_names.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    if (!it->second.defined()) throw ValueError(msg("load_state_dict: entry '", name, "' is an undefined tensor"));
    if (it->second.shape() != t.shape())
      throw ShapeError(msg("load_state_dict: '", name, "' has shape ", shape_str(it->second.shape()), " in the state but ",
                           shape_str(t.shape()), " in the ", type_name()));
  }
  if (strict) {
    if (!missing.empty())
      throw ValueError(msg("load_state_dict: missing key '", missing.front(), "' (", missing.size(),
                           " missing in all); pass strict=false to load a subset"));
    for (const auto& [name, t] : state)
      if (!own_names.count(name))
        throw ValueError(msg("load_state_dict: unexpected key '", name, "' in the state; the ", type_name(),
                             " has no such parameter or buffer (pass strict=false to ignore it)"));
  }
  for (auto& [name, t] : own) {
    auto it = state.find(name);
    if (it != state.end()) t.copy_(it->second);
  }
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> as_map;
  for (const auto& [name, t] : state)
    if (!as_map.emplace(name, t).second) throw ValueError(msg("load_state_dict: key '", name, "' appears twice"));
  load_state_dict(as_map, strict);
}

void Module::to(Device device) {
  for (auto& [name, t] : state_dict()) {
    if (t.device() == device) continue;
    const Tensor moved = t.detach().contiguous().to(device);
    TensorImpl& impl = t.impl();
    impl.storage = moved.impl().storage;
    impl.offset = moved.offset();
    impl.strides = moved.strides();
    impl.device = device;
    impl.grad.reset();
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& entry : children_) entry.second->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

int64_t count_parameters(const Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

bool batch_coupled(Module& root) {
  for (const auto& [name, m] : root.named_modules())
    if (m->couples_batch()) return true;
  return false;
}

}  // namespace asyndgan::nn
