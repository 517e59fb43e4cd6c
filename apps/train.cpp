// `asyndgan train`: AsynDGAN from a TOML config, as a simulation (the central node and every site in this
// process; each site's own grid under output.dir/sites/<site>, where a deployed site would keep it) or as the
// central node of a deployment (apps/train_roles.cpp starts the roles): the run loop, the learning-rate
// schedule, metrics, grids, checkpoints and --resume.
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/run_checkpoint.h"
#include "apps/stop_signal.h"
#include "apps/synth_inputs.h"
#include "apps/train_config.h"
#include "apps/train_outputs.h"
#include "apps/train_run.h"
#include "data/prepared_dir.h"
#include "dist/simulation.h"
#include "base/cuda_runtime.h"
#include "base/error.h"
#include "engine/io/checkpoint_state.h"
#include "engine/io/file_io.h"
#include "engine/io/names.h"
#include "engine/numerics.h"
#include "engine/optim/schedule.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

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
  if (cfg.shards.empty())
    throw ValueError("config: 'data.shards' is required (e.g. data.shards = [\"prepared/SiteA.shard\", \"prepared/SiteB.shard\"] "
                     "or \"prepared\")");
  try {
    p.spec.shards = shard_files(cfg.shards);
  } catch (const IOError& e) {
    throw ValueError(msg("config: ", cfg.shards_origin, ": 'data.shards': ", e.what()));
  }
  std::vector<std::string> sites;
  for (const auto& path : p.spec.shards) sites.push_back(data::Shard::open(path, /*verify_checksum=*/false)->header().site);
  data::check_distinct_sites(p.spec.shards, sites);
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
  check_discriminator_depth(cfg, h.height, h.width);
  p.spec.options = cfg.options;
  p.spec.make_generator = generator_factory(cfg);
  p.spec.make_discriminator = discriminator_factory(cfg);
  // On a GPU the roles hand each other device tensors (rounded through the wire dtype there); on the CPU the
  // messages go through the deployment's encoder, which costs little next to the step and checks the wire.
  if (cfg.options.device.is_cuda()) p.spec.carry = dist::InProcessChannel::Carry::tensors;
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

}  // namespace

namespace {

// "config: run.toml:20: 'output.dir' = "runs/a"": how messages about the run folder name it.
std::string out_key(const TrainConfig& cfg) {
  const TomlEntry* e = cfg.resolved.find("output.dir");
  return msg("config: ", e ? e->origin : std::string("default"), ": 'output.dir' = \"", cfg.out_dir, "\"");
}

}  // namespace

RunDir open_run_dir(const TrainArgs& args, const TrainConfig& cfg) {
  const std::string& out = cfg.out_dir;
  const std::string what = out_key(cfg);
  if (out.empty()) throw ValueError(msg(what, ": empty; name the folder the run writes into, e.g. output.dir = \"runs/a\""));
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out))
    throw ValueError(msg(what, " cannot be created (", ec ? ec.message() : "a file of that name is in the way",
                         "); set output.dir to a folder this user can create and write"));
  if (::access(out.c_str(), W_OK | X_OK) != 0)
    throw ValueError(msg(what, " cannot be written (", std::strerror(errno),
                         "); set output.dir to a folder this user can write"));
  RunDir dir;
  dir.lock = RunLock::take(out, what);
  if (!args.resume && !args.overwrite && holds_run(out))
    throw ValueError(msg("train: ", out, " already holds a run (checkpoints or metrics.jsonl); pass --resume to "
                         "continue it, --overwrite to delete it (checkpoints, metrics, TensorBoard events, samples) "
                         "and start over, or set another output.dir"));
  if (args.resume) dir.resume = find_resume_checkpoint(out);
  return dir;
}

void clear_run_dir(const TrainArgs& args, const TrainConfig& cfg) {
  const std::string& out = cfg.out_dir;
  if (const int n = remove_leftover_temporaries(out))
    std::printf("train: removed %d temporary file(s) an interrupted run left in %s\n", n, out.c_str());
  if (args.overwrite) {
    std::string what;
    for (const std::string& name : remove_run_files(out)) what += (what.empty() ? "" : ", ") + name;
    if (!what.empty()) std::printf("train: --overwrite: removed %s from %s\n", what.c_str(), out.c_str());
  }
  std::fflush(stdout);
}

RunStart start_run(const TrainArgs& args, const TrainConfig& cfg, RunDir& dir, const std::string& config_toml,
                   const std::vector<dist::Hello>& sites) {
  const std::string& out = cfg.out_dir;
  RunStart r;
  const Schedule sched = schedule(cfg, sites);
  if (dir.resume) {
    const std::string& path = dir.resume->path;
    const RunMeta saved = get_run_meta(dir.resume->checkpoint, path);
    const std::string diff = first_training_difference(parse_toml(saved.config_toml, path), cfg.resolved);
    if (!diff.empty())
      throw ValueError(msg("train: --resume: '", diff, "' differs from the run being resumed (", path,
                           "); only output.*, schedule.*, train.device and the deployment's addresses may change on resume"));
    r.start = saved.iteration;
    if (r.start > sched.total)
      throw ValueError(msg("config: ", cfg.resolved.find("schedule.constant")->origin, ": 'schedule.constant' + "
                           "'schedule.decay' = ", sched.total, " iteration(s), fewer than the ", r.start,
                           " the run has done (", path, "); lengthen the schedule to at least that"));
    if (args.stop_at && *args.stop_at < r.start)
      throw ValueError(msg("train: --stop-at ", *args.stop_at, " is before the ", r.start,
                           " iteration(s) the run has done (", path, "); give a later iteration"));
    r.checkpoint = std::move(dir.resume->checkpoint);
  }
  for (const dist::Hello& h : sites)
    if (h.samples < cfg.options.batch_per_site)
      std::printf("train: WARNING: 'train.batch_per_site' = %lld is more than site '%s''s %lld training sample(s): "
                  "each of its batches holds some samples more than once\n",
                  static_cast<long long>(cfg.options.batch_per_site), h.site.c_str(), static_cast<long long>(h.samples));
  clear_run_dir(args, cfg);
  write_text_file((fs::path(out) / "config.toml").string(), config_toml);
  return r;
}

Schedule schedule(const TrainConfig& cfg, const std::vector<dist::Hello>& sites) {
  int64_t per_epoch = 1;
  if (cfg.schedule_epochs) {  // an epoch: the iterations that draw as many samples as all sites hold for training
    int64_t n = 0;
    for (const dist::Hello& h : sites) n += h.samples;
    const int64_t per_step = cfg.options.batch_per_site * static_cast<int64_t>(sites.size());
    per_epoch = std::max<int64_t>(1, (n + per_step - 1) / per_step);
  }
  return {optim::LinearDecaySchedule(static_cast<int>(cfg.constant), static_cast<int>(cfg.decay)), per_epoch,
          (cfg.constant + cfg.decay) * per_epoch};
}

int train_loop(const TrainArgs& args, const TrainConfig& cfg, RunMeta meta, int64_t start, dist::Central& central,
               const Driver& drive) {
  const std::string& out = cfg.out_dir;
  const Schedule sched = schedule(cfg, central.sites());
  const int64_t stop = args.stop_at ? std::min<int64_t>(sched.total, *args.stop_at) : sched.total;
  MetricsLog log(out, start);
  std::printf("train: %zu site(s), %s generator (%s norm, ngf %lld) at %lldx%lld, iterations %lld..%lld of %lld; "
              "writing %s\n",
              central.sites().size(), cfg.generator.kind.c_str(), cfg.generator.norm.c_str(),
              static_cast<long long>(cfg.generator.ngf), static_cast<long long>(cfg.generator.image_size),
              static_cast<long long>(cfg.generator.image_size), static_cast<long long>(start + 1),
              static_cast<long long>(stop), static_cast<long long>(sched.total), out.c_str());
  std::fflush(stdout);

  Progress progress(start, sched.total, cfg.log_every);
  PrivacyTally privacy;
  auto checkpoint = [&](int64_t iteration) {
    Checkpoint ckpt;
    drive.save(ckpt);
    meta.iteration = iteration;
    put_run_meta(ckpt, meta);
    return write_run_checkpoint(out, ckpt, iteration);
  };
  catch_stop_signals();
  for (int64_t it = start + 1; it <= stop; ++it) {
    const double f = sched.factor(it - 1);
    IterationInfo info;
    info.iteration = it;
    info.total = sched.total;
    info.lr_g = cfg.options.adam_g.lr * f;
    info.lr_d = cfg.options.adam_d.lr * f;
    central.set_lr(info.lr_g, info.lr_d);
    const auto t0 = std::chrono::steady_clock::now();
    const dist::StepReport rep = drive.step();
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t samples = 0;
    for (const auto& s : rep.sites) samples += s.samples;
    info.images_per_s = info.seconds > 0 ? static_cast<double>(samples) / info.seconds : 0.0;
    if (cfg.options.device.is_cuda()) {
      const cuda_rt::MemoryStats mem = cuda_rt::memory_stats(cfg.options.device.index);
      info.device_mib = static_cast<double>(mem.allocated) / (1 << 20);
      info.device_peak_mib = static_cast<double>(mem.peak_allocated) / (1 << 20);
    }
    privacy.add(rep);
    const Json record = metrics_record(info, rep);
    log.write(record);
    progress.update(info, record);
    if (cfg.sample_every > 0 && (it % cfg.sample_every == 0 || it == sched.total)) drive.grids(it);
    const bool saved = (cfg.checkpoint_every > 0 && it % cfg.checkpoint_every == 0) || it == stop;
    if (saved) progress.note("train: checkpoint " + checkpoint(it));
    if (const int sig = stop_requested()) {
      if (!saved) progress.note("train: checkpoint " + checkpoint(it));
      progress.finish();
      std::printf("train: stopped by %s after iteration %lld of %lld; continue with --resume (checkpoint %s)\n",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT", static_cast<long long>(it), static_cast<long long>(sched.total),
                  latest_checkpoint_path(out).c_str());
      std::fflush(stdout);
      return 128 + sig;
    }
  }
  if (stop <= start) {  // nothing to run (e.g. --stop-at 0): still leave a checkpoint of this state, such as
                        // the untrained generator to compare a trained one against
    if (cfg.sample_every > 0) drive.grids(start);
    progress.note("train: checkpoint " + checkpoint(start));
  }
  progress.finish();
  for (const std::string& line : privacy.lines(central.sites(), drive.site_wide)) std::printf("%s\n", line.c_str());
  std::printf("train: %s after %lld of %lld iterations; metrics %s, TensorBoard %s/tb, samples %s/samples, "
              "checkpoint %s\n",
              stop < sched.total ? "stopped" : "done", static_cast<long long>(std::max(stop, start)),
              static_cast<long long>(sched.total), log.jsonl_path().c_str(), out.c_str(), out.c_str(),
              latest_checkpoint_path(out).c_str());
  return 0;
}

namespace {

int run_simulation(const TrainArgs& args, TrainConfig& cfg) {
  Plan p = plan(cfg);
  if (args.check) {
    std::printf("%s", cfg.resolved.to_toml().c_str());
    std::printf("# train: config and %zu shard(s) check out\n", p.spec.shards.size());
    return 0;
  }
  RunDir dir = open_run_dir(args, cfg);
  set_numerics(cfg.options.numerics);
  dist::Simulation sim(p.spec);
  const RunStart r = start_run(args, cfg, dir, p.meta.config_toml, sim.central().sites());
  if (args.resume) sim.load(r.checkpoint);
  Driver drive;
  drive.step = [&] { return sim.step(); };
  drive.save = [&](Checkpoint& ckpt) { sim.save(ckpt); };
  drive.grids = [&](int64_t iteration) {
    write_central_grid(cfg.out_dir, sim.central(), cfg.sample_count, cfg.options.crop, iteration);
    for (int64_t j = 0; j < sim.num_sites(); ++j)
      write_site_grid(path_inside(cfg.out_dir, (fs::path("sites") / sim.site(j).name()).string()), sim.site(j), iteration);
  };
  drive.site_wide = [&](const std::string& site) -> std::string {
    for (int64_t j = 0; j < sim.num_sites(); ++j)
      if (sim.site(j).name() == site && sim.site(j).site_wide_epsilon() > 0)
        return msg(", site-wide bound epsilon ", sim.site(j).site_wide_epsilon(), " (every answer charged to every sample)");
    return "";
  };
  return train_loop(args, cfg, p.meta, r.start, sim.central(), drive);
}

}  // namespace

int run_train(const TrainArgs& args) {
  TrainConfig cfg = load_train_config(args.config, args.set);
  if (args.role == "central") return run_central(args, cfg);
  if (args.role == "site") return run_site(args, cfg);
  if (!args.site.empty()) throw ValueError("train: --site names the site of --role site; a simulation runs every site");
  return run_simulation(args, cfg);
}

Verb add_train(CLI::App& cli) {
  auto o = std::make_shared<TrainArgs>();
  CLI::App* cmd = cli.add_subcommand("train", "train AsynDGAN from a TOML config: all sites in this process, or one role of a deployment");
  cmd->footer("configs/example.toml lists every config key with its default.");
  cmd->add_option("--config", o->config, "the run's TOML config, e.g. configs/example.toml")->required();
  cmd->add_option("--set", o->set, "override one config key, e.g. --set train.batch_per_site=4 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->default_str("");
  CLI::Option* resume = cmd->add_flag("--resume", o->resume, "continue the run in output.dir, bit-identically, from its "
                                      "newest checkpoint that verifies (latest.ckpt, else the highest iter_N.ckpt)");
  cmd->add_flag("--overwrite", o->overwrite, "delete the run in output.dir (checkpoints, metrics.jsonl, tb/, samples/, "
                                             "config.toml) and start a new one there")
      ->excludes(resume);
  cmd->add_option("--stop-at", o->stop_at, "stop (with a checkpoint) after iteration N, e.g. to split a run into jobs")
      ->type_name("N")
      ->check(at_least(0));
  cmd->add_flag("--check", o->check, "validate the config and the shards, print the resolved config, train nothing");
  cmd->add_option("--role", o->role, "simulation: every role in this process; central: the central node, listening on "
                                     "dist.listen; site: one hospital's site, connecting to dist.central")
      ->check(CLI::IsMember({"simulation", "central", "site"}));
  cmd->add_option("--site", o->site, "with --role site: which site this process is (its shard in data.shards, its "
                                     "certificate in dist.certs)")
      ->type_name("NAME");
  cmd->add_flag("--insecure", o->insecure, "plaintext TCP without TLS (tests on one machine only: anyone on the path "
                                           "reads and alters the traffic)");
  return {cmd, [o] { return run_train(*o); }};
}

}  // namespace asyndgan::app
