// `asyndgan train`: AsynDGAN in simulation mode (the central node and every site in this process) from a
// TOML config: the run loop, the learning-rate schedule, checkpoints and --resume. The central node's outputs go
// to output.dir; each site's own grid to output.dir/sites/<site>, where a deployed site would keep it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/run_checkpoint.h"
#include "apps/synth_inputs.h"
#include "apps/train_config.h"
#include "apps/train_outputs.h"
#include "dist/simulation.h"
#include "base/cuda_runtime.h"
#include "base/error.h"
#include "engine/io/checkpoint_state.h"
#include "engine/io/file_io.h"
#include "engine/numerics.h"
#include "engine/optim/schedule.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

// What the command line gives.
struct TrainArgs {
  std::string config;
  std::vector<std::string> set;  // key=value overrides, in order
  bool resume = false, check = false;
  std::optional<int64_t> stop_at;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Plan {
  dist::SimulationSpec spec;
  RunMeta meta;
};

// Opens each shard's header to name the sites, places data.modalities.<site>, and fixes model.image_size.
Plan plan(TrainConfig& cfg) {
  Plan p;
  try {
    p.spec.shards = shard_files(cfg.shards);
  } catch (const IOError& e) {
    throw ValueError(msg("config: ", cfg.shards_origin, ": 'data.shards': ", e.what()));
  }
  std::vector<std::string> sites;
  for (const auto& path : p.spec.shards) sites.push_back(data::Shard::open(path, /*verify_checksum=*/false)->header().site);
  for (const auto& [site, mods] : cfg.modalities) {
    auto it = std::find(sites.begin(), sites.end(), site);
    if (it == sites.end()) {
      std::string known;
      for (const auto& s : sites) known += (known.empty() ? "" : ", ") + s;
      throw ValueError(msg("config: ", cfg.resolved.find("data.modalities." + site)->origin, ": 'data.modalities.", site,
                           "': no shard of site '", site, "' (sites: ", known, ")"));
    }
  }
  for (const auto& s : sites) p.spec.modalities.push_back(cfg.modalities.count(s) ? cfg.modalities.at(s) : std::vector<std::string>{});
  const auto first = data::Shard::open(p.spec.shards[0], false);
  const data::ShardHeader& h = first->header();
  if (cfg.generator.image_size == 0) {
    cfg.generator.image_size = cfg.options.crop ? cfg.options.crop : h.height;
    cfg.resolved.set("model.image_size", Json(cfg.generator.image_size), "from the shards' size / train.crop");
  }
  if (cfg.options.crop > std::min(h.height, h.width))
    throw ValueError(msg("config: ", cfg.resolved.find("train.crop")->origin, ": 'train.crop' = ", cfg.options.crop,
                         " is larger than the samples (", h.height, "x", h.width, ")"));
  p.spec.options = cfg.options;
  p.spec.make_generator = generator_factory(cfg);
  p.spec.make_discriminator = discriminator_factory(cfg);
  p.meta.condition_channels = h.condition_channels;
  p.meta.image_channels = h.image_channels;
  p.meta.height = h.height;
  p.meta.width = h.width;
  const fs::path prep = fs::path(p.spec.shards[0]).parent_path() / "prepare.json";
  std::error_code ec;
  if (fs::is_regular_file(prep, ec)) p.meta.prepare_json = read_text(prep.string());
  p.meta.config_toml = cfg.resolved.to_toml();
  return p;
}

void write_text_atomically(const std::string& path, const std::string& text) {
  AtomicFileWriter w(path);
  w.write(text.data(), text.size());
  w.commit();
}

struct Schedule {
  optim::LinearDecaySchedule policy;
  int64_t per_epoch;  // iterations per schedule unit
  int64_t total;
  double factor(int64_t step) const { return policy.factor(static_cast<int>(step / per_epoch)); }
};

// An epoch is the iterations that draw as many samples as all sites hold for training.
Schedule schedule(const TrainConfig& cfg, dist::Simulation& sim) {
  int64_t per_epoch = 1;
  if (cfg.schedule_epochs) {
    int64_t n = 0;
    for (const dist::Hello& h : sim.central().sites()) n += h.samples;
    const int64_t per_step = cfg.options.batch_per_site * sim.num_sites();
    per_epoch = std::max<int64_t>(1, (n + per_step - 1) / per_step);
  }
  return {optim::LinearDecaySchedule(static_cast<int>(cfg.constant), static_cast<int>(cfg.decay)), per_epoch,
          (cfg.constant + cfg.decay) * per_epoch};
}

}  // namespace

int run_train(const TrainArgs& args) {
  TrainConfig cfg = load_train_config(args.config, args.set);
  Plan p = plan(cfg);
  if (args.check) {
    std::printf("%s", cfg.resolved.to_toml().c_str());
    std::printf("# train: config and %zu shard(s) check out\n", p.spec.shards.size());
    return 0;
  }
  const std::string& out = cfg.out_dir;
  const std::string latest = latest_checkpoint_path(out);
  const bool resume = args.resume;
  std::error_code ec;
  Checkpoint resume_ckpt;
  int64_t start = 0;
  if (resume) {
    if (!fs::is_regular_file(latest, ec))
      throw ValueError(msg("train: --resume: no checkpoint at ", latest, " (train without --resume to start the run)"));
    resume_ckpt = load_checkpoint(latest);
    const RunMeta saved = get_run_meta(resume_ckpt, latest);
    const std::string diff = first_training_difference(parse_toml(saved.config_toml, latest), cfg.resolved);
    if (!diff.empty())
      throw ValueError(msg("train: --resume: '", diff, "' differs from the run being resumed (", latest,
                           "); only output.* and schedule.* may change on resume"));
    start = saved.iteration;
  } else if (fs::exists(latest, ec)) {
    throw ValueError(msg("train: ", out, " already holds a run (", latest, "); pass --resume to continue it or set output.dir"));
  }
  fs::create_directories(out);
  write_text_atomically((fs::path(out) / "config.toml").string(), p.meta.config_toml);

  set_numerics(cfg.options.numerics);
  dist::Simulation sim(p.spec);
  if (resume) sim.load(resume_ckpt);
  const Schedule sched = schedule(cfg, sim);
  const int64_t stop = args.stop_at ? std::min<int64_t>(sched.total, *args.stop_at) : sched.total;
  MetricsLog log(out, start);
  auto write_grids = [&](int64_t iteration) {
    write_central_grid(out, sim.central(), cfg.sample_count, cfg.options.crop, iteration);
    for (int64_t j = 0; j < sim.num_sites(); ++j)
      write_site_grid((fs::path(out) / "sites" / sim.site(j).name()).string(), sim.site(j), iteration);
  };

  std::printf("train: %lld site(s), %s generator (%s norm, ngf %lld) at %lldx%lld, iterations %lld..%lld of %lld; "
              "writing %s\n",
              static_cast<long long>(sim.num_sites()), cfg.generator.kind.c_str(), cfg.generator.norm.c_str(),
              static_cast<long long>(cfg.generator.ngf), static_cast<long long>(cfg.generator.image_size),
              static_cast<long long>(cfg.generator.image_size), static_cast<long long>(start + 1),
              static_cast<long long>(stop), static_cast<long long>(sched.total), out.c_str());
  std::fflush(stdout);

  Progress progress(start, sched.total, cfg.log_every);
  auto checkpoint = [&](int64_t iteration) {
    Checkpoint ckpt;
    sim.save(ckpt);
    p.meta.iteration = iteration;
    put_run_meta(ckpt, p.meta);
    return write_run_checkpoint(out, ckpt, iteration);
  };
  for (int64_t it = start + 1; it <= stop; ++it) {
    const double f = sched.factor(it - 1);
    IterationInfo info;
    info.iteration = it;
    info.total = sched.total;
    info.lr_g = cfg.options.adam_g.lr * f;
    info.lr_d = cfg.options.adam_d.lr * f;
    sim.set_lr(info.lr_g, info.lr_d);
    const auto t0 = std::chrono::steady_clock::now();
    const dist::StepReport rep = sim.step();
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t samples = 0;
    for (const auto& s : rep.sites) samples += s.samples;
    info.images_per_s = info.seconds > 0 ? static_cast<double>(samples) / info.seconds : 0.0;
    if (cfg.options.device.is_cuda()) {
      const cuda_rt::MemoryStats mem = cuda_rt::memory_stats(cfg.options.device.index);
      info.device_mib = static_cast<double>(mem.allocated) / (1 << 20);
      info.device_peak_mib = static_cast<double>(mem.peak_allocated) / (1 << 20);
    }
    const Json record = metrics_record(info, rep);
    log.write(record);
    progress.update(info, record);
    if (cfg.sample_every > 0 && (it % cfg.sample_every == 0 || it == sched.total))
      write_grids(it);
    if ((cfg.checkpoint_every > 0 && it % cfg.checkpoint_every == 0) || it == stop)
      progress.note("train: checkpoint " + checkpoint(it));
  }
  if (stop <= start) {  // nothing to run (e.g. --stop-at 0): still leave a checkpoint of this state, such as
                        // the untrained generator to compare a trained one against
    if (cfg.sample_every > 0) write_grids(start);
    progress.note("train: checkpoint " + checkpoint(start));
  }
  progress.finish();
  std::printf("train: %s after %lld of %lld iterations; metrics %s, TensorBoard %s/tb, samples %s/samples, "
              "checkpoint %s\n",
              stop < sched.total ? "stopped" : "done", static_cast<long long>(std::max(stop, start)),
              static_cast<long long>(sched.total), log.jsonl_path().c_str(), out.c_str(), out.c_str(), latest.c_str());
  return 0;
}

Verb add_train(CLI::App& cli) {
  auto o = std::make_shared<TrainArgs>();
  CLI::App* cmd = cli.add_subcommand("train", "train AsynDGAN from a TOML config, all sites in this process");
  cmd->footer("configs/example.toml lists every config key with its default.");
  cmd->add_option("--config", o->config, "the run's TOML config, e.g. configs/example.toml")->required();
  cmd->add_option("--set", o->set, "override one config key, e.g. --set train.batch_per_site=4 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->default_str("");
  cmd->add_flag("--resume", o->resume, "continue from <output.dir>/checkpoints/latest.ckpt, bit-identically");
  cmd->add_option("--stop-at", o->stop_at, "stop (with a checkpoint) after iteration N, e.g. to split a run into jobs")
      ->type_name("N")
      ->check(at_least(0));
  cmd->add_flag("--check", o->check, "validate the config and the shards, print the resolved config, train nothing");
  return {cmd, [o] { return run_train(*o); }};
}

}  // namespace asyndgan::app
