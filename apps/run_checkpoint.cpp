// Run checkpoints: the meta entries beside the simulation state, and the generator rebuilt from them.
#include "apps/run_checkpoint.h"
#include <cmath>
#include <cstdio>
#include <filesystem>
#include "base/error.h"
#include "engine/io/checkpoint_state.h"
#include "engine/io/text.h"
#include "apps/io/toml.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

namespace {

// Channel names joined by newlines: a name may hold a comma, never a line break.
std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "\n") + x;
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const size_t end = s.find('\n', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

const std::string& meta(const Checkpoint& ckpt, const std::string& key, const std::string& path) {
  auto it = ckpt.meta.find(key);
  if (it == ckpt.meta.end())
    throw FormatError(msg(path, ": no '", key, "' entry: not a checkpoint written by 'asyndgan train'"));
  return it->second;
}

}  // namespace

void put_run_meta(Checkpoint& ckpt, const RunMeta& m) {
  put_int(ckpt, "train.iteration", m.iteration);
  ckpt.meta["train.config"] = m.config_toml;
  ckpt.meta["train.condition_channels"] = lines(m.condition_channels);
  ckpt.meta["train.image_channels"] = lines(m.image_channels);
  put_int(ckpt, "train.height", m.height);
  put_int(ckpt, "train.width", m.width);
  ckpt.meta["train.prepare_json"] = m.prepare_json;
}

RunMeta get_run_meta(const Checkpoint& ckpt, const std::string& path) {
  RunMeta m;
  m.config_toml = meta(ckpt, "train.config", path);
  m.iteration = get_int(ckpt, "train.iteration");
  m.condition_channels = split_lines(meta(ckpt, "train.condition_channels", path));
  m.image_channels = split_lines(meta(ckpt, "train.image_channels", path));
  m.height = get_int(ckpt, "train.height");
  m.width = get_int(ckpt, "train.width");
  m.prepare_json = meta(ckpt, "train.prepare_json", path);
  return m;
}

void check_finite(const Checkpoint& ckpt, const std::string& path) {
  for (const auto& [name, t] : ckpt.tensors) {
    if (!is_floating(t.dtype())) continue;
    int64_t bad = -1;
    double value = 0;
    auto scan = [&](const auto* p) {
      for (int64_t i = 0; i < t.numel() && bad < 0; ++i)
        if (!std::isfinite(static_cast<double>(p[i]))) bad = i, value = static_cast<double>(p[i]);
    };
    if (t.dtype() == DType::f32) scan(static_cast<const float*>(t.raw_data()));
    else if (t.dtype() == DType::f64) scan(static_cast<const double*>(t.raw_data()));
    else scan(t.to_doubles().data());
    if (bad >= 0)
      throw ValueError(msg(path, ": tensor '", name, "' holds ", std::isnan(value) ? "NaN" : "an infinity",
                           " (element ", bad, " of ", t.numel(), "): the run diverged before this checkpoint was "
                           "written; use an earlier one (checkpoints/iter_N.ckpt)"));
  }
}

Checkpoint load_run_checkpoint(const std::string& path) {
  Checkpoint ckpt = load_checkpoint(path);
  check_finite(ckpt, path);
  return ckpt;
}

std::string write_run_checkpoint(const std::string& out_dir, const Checkpoint& ckpt, int64_t iteration) {
  const fs::path dir = fs::path(out_dir) / "checkpoints";
  fs::create_directories(dir);
  char name[64];
  std::snprintf(name, sizeof name, "iter_%06lld.ckpt", static_cast<long long>(iteration));
  const std::string path = (dir / name).string();
  save_checkpoint(path, ckpt);
  save_checkpoint(latest_checkpoint_path(out_dir), ckpt);
  return path;
}

std::string latest_checkpoint_path(const std::string& out_dir) {
  return (fs::path(out_dir) / "checkpoints" / "latest.ckpt").string();
}

LoadedGenerator load_generator(const std::string& checkpoint_path, const std::string& config_path, Device device) {
  const Checkpoint ckpt = load_run_checkpoint(checkpoint_path);
  LoadedGenerator out;
  out.meta = get_run_meta(ckpt, checkpoint_path);
  if (!config_path.empty()) {
    out.config = load_train_config(config_path);
    out.config_source = config_path;
  } else {
    const fs::path dir = fs::absolute(checkpoint_path).parent_path();
    for (const fs::path& candidate : {dir / "config.toml", dir.parent_path() / "config.toml"}) {
      std::error_code ec;
      if (!fs::is_regular_file(candidate, ec)) continue;
      out.config = load_train_config(candidate.string());
      out.config_source = candidate.string();
      break;
    }
    if (out.config_source.empty()) {
      out.config = resolve_train_config(parse_toml(out.meta.config_toml, checkpoint_path + " (embedded config)"));
      out.config_source = checkpoint_path + " (embedded config)";
    }
  }
  if (out.config.generator.image_size <= 0)
    throw ValueError(msg(out.config_source, ": model.image_size is 0; give the run's resolved config.toml (train "
                         "writes the size it trained at there)"));
  out.net = generator_factory(out.config)(static_cast<int64_t>(out.meta.condition_channels.size()),
                                          static_cast<int64_t>(out.meta.image_channels.size()));
  try {
    get_module(ckpt, "central.g.", *out.net);
  } catch (const Error& e) {
    throw ValueError(msg(checkpoint_path, ": the generator does not fit the architecture of ", out.config_source,
                         " (", e.what(), "); pass the run's config.toml with --config"));
  }
  out.net->eval();
  out.net->to(device);
  return out;
}

}  // namespace asyndgan::app
