// Checkpoint adapters for modules, optimizers, generators and counters.
#include "engine/io/checkpoint_state.h"
#include <charconv>

namespace asyndgan {
namespace {

const std::string& meta_at(const Checkpoint& ckpt, const std::string& key) {
  auto it = ckpt.meta.find(key);
  if (it == ckpt.meta.end()) throw FormatError(msg("checkpoint has no metadata entry '", key, "'"));
  return it->second;
}

template <class T>
T parse_integer(const Checkpoint& ckpt, const std::string& key) {
  const std::string& text = meta_at(ckpt, key);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw FormatError(msg("checkpoint metadata '", key, "' = '", text, "' is not a valid integer"));
  return value;
}

// A host copy that shares nothing with the live tensor (checkpoint files are written from host memory).
Tensor host_snapshot(const Tensor& t) {
  return t.device().is_cpu() ? t.detach().clone() : t.detach().to(Device::cpu());
}

}  // namespace

void put_module(Checkpoint& ckpt, const std::string& prefix, const nn::Module& m) {
  for (const auto& [name, t] : m.state_dict()) ckpt.tensors[prefix + name] = host_snapshot(t);
}

void get_module(const Checkpoint& ckpt, const std::string& prefix, nn::Module& m, bool strict) {
  std::map<std::string, Tensor> sub;
  for (auto it = ckpt.tensors.lower_bound(prefix);
       it != ckpt.tensors.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    sub.emplace(it->first.substr(prefix.size()), it->second);
  m.load_state_dict(sub, strict);
}

void put_optimizer(Checkpoint& ckpt, const std::string& prefix, const optim::Adam& opt) {
  std::map<std::string, Tensor> state;
  opt.save_state(state, prefix);
  for (auto& [key, t] : state) ckpt.tensors[key] = t.device().is_cpu() ? t : host_snapshot(t);
}

void get_optimizer(const Checkpoint& ckpt, const std::string& prefix, optim::Adam& opt) {
  opt.load_state(ckpt.tensors, prefix);
}

void put_generator(Checkpoint& ckpt, const std::string& name, const Generator& gen) {
  ckpt.meta[name + ".seed"] = std::to_string(gen.seed());
  ckpt.meta[name + ".offset"] = std::to_string(gen.offset());
}

void get_generator(const Checkpoint& ckpt, const std::string& name, Generator& gen) {
  const uint64_t seed = parse_integer<uint64_t>(ckpt, name + ".seed");
  const uint64_t offset = parse_integer<uint64_t>(ckpt, name + ".offset");
  gen.set_state(seed, offset);
}

void put_int(Checkpoint& ckpt, const std::string& key, int64_t value) { ckpt.meta[key] = std::to_string(value); }

int64_t get_int(const Checkpoint& ckpt, const std::string& key) { return parse_integer<int64_t>(ckpt, key); }

}  // namespace asyndgan
