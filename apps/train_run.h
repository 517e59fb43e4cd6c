// What `asyndgan train`'s roles share: the command line, the start of a run (its output directory, --resume),
// and the run loop of the node that holds the generator (a simulation or a deployment's central node).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include "apps/run_checkpoint.h"
#include "apps/run_dir.h"
#include "apps/train_config.h"
#include "data/shard.h"
#include "dist/central.h"
#include "dist/simulation.h"
#include "engine/optim/schedule.h"

namespace asyndgan::app {

// What the command line gives.
struct TrainArgs {
  std::string config;
  std::vector<std::string> set;  // key=value overrides, in order
  bool resume = false, check = false, insecure = false;
  bool overwrite = false;  // delete the run in output.dir and start over
  std::optional<int64_t> stop_at;
  std::string role = "simulation";  // simulation, central or site
  std::string site;                 // --role site: which site
};

// output.dir taken for this process: checked, locked, and on --resume the checkpoint to continue from.
struct RunDir {
  RunLock lock;
  std::optional<ResumePoint> resume;
};
// Checks that output.dir can be created and written, takes its lock (refused while another run holds it),
// refuses a folder that holds a run unless --resume or --overwrite, and on --resume finds the newest checkpoint
// that verifies. Writes nothing but the folder and its lock.
RunDir open_run_dir(const TrainArgs& args, const TrainConfig& cfg);
// Once every check has passed: removes our writers' leftover temporary files and, with --overwrite, the earlier
// run's files, saying what it removed.
void clear_run_dir(const TrainArgs& args, const TrainConfig& cfg);

// The iteration a run continues from and, on --resume, the checkpoint it continues from.
struct RunStart {
  int64_t start = 0;
  Checkpoint checkpoint;
};
// Checks the run being resumed against the config (training settings, the schedule, --stop-at), warns about
// a train.batch_per_site above a site's training samples, then clear_run_dir and writes config.toml.
RunStart start_run(const TrainArgs& args, const TrainConfig& cfg, RunDir& dir, const std::string& config_toml,
                   const std::vector<dist::Hello>& sites);

struct Schedule {
  optim::LinearDecaySchedule policy;
  int64_t per_epoch;  // iterations per schedule unit
  int64_t total;
  double factor(int64_t step) const { return policy.factor(static_cast<int>(step / per_epoch)); }
};
Schedule schedule(const TrainConfig& cfg, const std::vector<dist::Hello>& sites);

// What differs between a simulation and a central node in the run loop.
struct Driver {
  std::function<dist::StepReport()> step;
  std::function<void(Checkpoint&)> save;        // the state a checkpoint file holds (and asks the sites to save theirs)
  std::function<void(int64_t iteration)> grids;  // sample grids
  // Optional: what only the process holding a site knows of its privacy (the site-wide bound), for the report.
  std::function<std::string(const std::string& site)> site_wide;
};
// Iterations start+1 .. the schedule's end (or --stop-at): learning rates, steps, metrics, grids, checkpoints.
int train_loop(const TrainArgs& args, const TrainConfig& cfg, RunMeta meta, int64_t start, dist::Central& central,
               const Driver& drive);

// What `train --role site` builds its dist::Site from (and `attack probe` its site): the config's options, its
// discriminators and the modalities data.modalities.<site> names (empty: what every training sample has), once
// model.d_layers is checked against the shard's samples.
struct SiteParts {
  dist::TrainOptions options;
  dist::DiscriminatorFactory discriminator;
  std::vector<std::string> modalities;
};
SiteParts site_parts(const TrainConfig& cfg, const data::ShardHeader& shard);

// The deployment's roles (apps/train_roles.cpp).
int run_central(const TrainArgs& args, TrainConfig& cfg);
int run_site(const TrainArgs& args, TrainConfig& cfg);

}  // namespace asyndgan::app
