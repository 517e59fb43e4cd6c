// What `asyndgan train`'s roles share: the command line, the start of a run (its output directory, --resume),
// and the run loop of the node that holds the generator (a simulation or a deployment's central node).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include "apps/run_checkpoint.h"
#include "apps/train_config.h"
#include "dist/central.h"
#include "dist/simulation.h"
#include "engine/optim/schedule.h"

namespace asyndgan::app {

// What the command line gives.
struct TrainArgs {
  std::string config;
  std::vector<std::string> set;  // key=value overrides, in order
  bool resume = false, check = false, insecure = false;
  std::optional<int64_t> stop_at;
  std::string role = "simulation";  // simulation, central or site
  std::string site;                 // --role site: which site
};

// The iteration a run continues from and, on --resume, the checkpoint it continues from.
struct RunStart {
  int64_t start = 0;
  Checkpoint checkpoint;
};
// Checks output.dir (a run there needs --resume; --resume needs a checkpoint whose training settings match)
// and writes config.toml into it.
RunStart start_run(const TrainArgs& args, const TrainConfig& cfg, const std::string& config_toml);

struct Schedule {
  optim::LinearDecaySchedule policy;
  int64_t per_epoch;  // iterations per schedule unit
  int64_t total;
  double factor(int64_t step) const { return policy.factor(static_cast<int>(step / per_epoch)); }
};
Schedule schedule(const TrainConfig& cfg, const dist::Central& central);

// What differs between a simulation and a central node in the run loop.
struct Driver {
  std::function<dist::StepReport()> step;
  std::function<void(Checkpoint&)> save;        // the state a checkpoint file holds (and asks the sites to save theirs)
  std::function<void(int64_t iteration)> grids;  // sample grids
};
// Iterations start+1 .. the schedule's end (or --stop-at): learning rates, steps, metrics, grids, checkpoints.
int train_loop(const TrainArgs& args, const TrainConfig& cfg, RunMeta meta, int64_t start, dist::Central& central,
               const Driver& drive);

// The deployment's roles (apps/train_roles.cpp).
int run_central(const TrainArgs& args, TrainConfig& cfg);
int run_site(const TrainArgs& args, TrainConfig& cfg);

}  // namespace asyndgan::app
