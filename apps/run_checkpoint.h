// A training run's checkpoint files: Simulation::save plus what synth and complete need to rebuild the
// generator and its inputs from the file alone (iteration, resolved config, channel names, prepare.json).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "apps/train_config.h"
#include "engine/io/checkpoint.h"
#include "engine/nn/module.h"

namespace asyndgan::app {

struct RunMeta {
  int64_t iteration = 0;     // iterations done when it was written
  std::string config_toml;   // the resolved config
  std::vector<std::string> condition_channels, image_channels;
  int64_t height = 0, width = 0;  // the shards' sample size
  std::string prepare_json;  // the shards' prepare.json ("" when they came without one)
};

void put_run_meta(Checkpoint& ckpt, const RunMeta& meta);
RunMeta get_run_meta(const Checkpoint& ckpt, const std::string& path);  // FormatError naming path

// load_checkpoint (magic, lengths, checksum), then every floating tensor checked for NaN and infinity: a
// ValueError naming the file and the tensor, so that no run resumes from, and no synth runs, broken weights.
Checkpoint load_run_checkpoint(const std::string& path);
void check_finite(const Checkpoint& ckpt, const std::string& path);

// <out>/checkpoints/iter_<N>.ckpt and latest.ckpt, each written atomically; returns the iter_ path.
std::string write_run_checkpoint(const std::string& out_dir, const Checkpoint& ckpt, int64_t iteration);
std::string latest_checkpoint_path(const std::string& out_dir);

// The generator of a run checkpoint in eval mode, built from config_path when given, else from the
// config.toml next to the checkpoint (its folder or the folder above, as train lays them out), else from
// the copy inside the checkpoint.
struct LoadedGenerator {
  std::shared_ptr<nn::Module> net;
  RunMeta meta;
  TrainConfig config;
  std::string config_source;  // which config it was built from
};
// The generator of a run checkpoint, in eval mode, on `device`.
LoadedGenerator load_generator(const std::string& checkpoint_path, const std::string& config_path = "",
                               Device device = Device::cpu());

}  // namespace asyndgan::app
