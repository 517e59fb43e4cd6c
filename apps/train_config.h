// The `asyndgan train` configuration: one schema of every key with its default, checked against a TOML file
// and --set overrides, so an unknown key or a bad value is an error naming the key and where it was set.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include "dist/options.h"
#include "apps/io/toml.h"
#include "models/factory.h"

namespace asyndgan::app {

// The deployment's settings ([dist]): where the central node listens and the sites connect, which sites the run
// has, and where each role's certificates lie (as `asyndgan certs` writes them).
struct DistConfig {
  std::string listen;              // dist.listen: the central node's host:port (port 0: any free one)
  std::string central;             // dist.central: where a site connects
  std::vector<std::string> sites;  // dist.sites: the run's sites, in run order (the central node's config)
  int64_t min_sites = 0;           // dist.min_sites: start with this many when the others do not come (0: all)
  double reconnect_s = 60;         // dist.reconnect_s: how long a site keeps trying to reach the central node
  bool zstd = false;               // dist.compress = "zstd"
  std::string certs;               // dist.certs: ca.pem, central.pem/.key, <site>.pem/.key
};

struct TrainConfig {
  std::vector<std::string> shards;  // data.shards as given: shard files, or one directory of them (empty at a central node)
  std::string shards_origin;        // where data.shards was set, for errors about the files
  std::map<std::string, std::vector<std::string>> modalities;  // data.modalities.<site>: what that site trains
  models::GeneratorConfig generator;          // in/out channels come from the shards
  models::DiscriminatorConfig discriminator;  // in_channels likewise
  bool init_normal = true;                    // model.init = "normal": pix2pix's N(0, 0.02)
  dist::TrainOptions options;  // train.precision / tf32 / deterministic / winograd: options.numerics
  DistConfig dist;
  bool schedule_epochs = false;               // schedule.unit: constant/decay count epochs, not iterations
  int64_t constant = 0, decay = 0;            // pix2pix's n_epochs / n_epochs_decay in that unit
  std::string out_dir;
  int64_t log_every = 10, sample_every = 100, sample_count = 2, checkpoint_every = 500;
  TomlConfig resolved;  // every schema key in schema order, defaults filled in: what config.toml records
};

// Checks every key and value of `toml` against the schema and fills in the defaults. Errors are ValueErrors
// "config: <origin>: '<key>' ..." (origin "run.toml:12" or "--set key=value"), an unknown key listing the
// known keys of its section.
TrainConfig resolve_train_config(const TomlConfig& toml);
// read_toml_file + each --set override + resolve_train_config.
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The keys whose values must match between a run and its --resume (all but output.*, schedule.*, train.device
// and the deployment's addresses, timeouts and certificates):
// the first key that differs, or "" when none does.
std::string first_training_difference(const TomlConfig& a, const TomlConfig& b);

// model.d_layers against the samples the discriminators see (train.crop, else height x width): a ValueError
// naming the key and the deepest that fits when the PatchGAN would have no output left.
void check_discriminator_depth(const TrainConfig& config, int64_t height, int64_t width);

// The networks the config names, for Simulation's factories and for synth (generator in -> out channels).
// model.image_size must be resolved (> 0) for a U-Net: its depth is log2(image_size).
dist::GeneratorFactory generator_factory(const TrainConfig& config);
dist::DiscriminatorFactory discriminator_factory(const TrainConfig& config);

}  // namespace asyndgan::app
