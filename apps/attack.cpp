// `asyndgan attack probe`: plays a curious central node against one real site (built from a training config as
// `train --role site` builds it) and reports how much of one sample's real image its gradients give away.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include "apps/attack_probe.h"
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/io/grid.h"
#include "apps/io/png.h"
#include "apps/train_run.h"
#include "base/error.h"
#include "dist/in_process_channel.h"
#include "dist/site.h"
#include "dist/site_secret.h"
#include "engine/io/file_io.h"
#include "engine/io/json.h"
#include "engine/numerics.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

constexpr const char* kProbeFooter =
    "The tool plays both roles: a site built from --shard and --config exactly as 'train --role site' builds it\n"
    "(its own options site.* included), and a central node that sends synthetic images of its own making about\n"
    "one uploaded sample and reads the gradients back. The real image is read from the shard only to score the\n"
    "reconstruction. Budget: answers (rows) about that sample. Writes OUT/probe.json and OUT/probe.png\n"
    "(real | reconstruction per method | the site's mean training image).";

struct ProbeArgs {
  std::string shard, config, out, method = "both";
  std::vector<std::string> set;
  int64_t sample = 0, rows_per_request = 1;
  std::vector<int64_t> budgets = {1, 2, 4, 8, 16, 32};
  bool interleave = false;
};

Json quality_json(const ProbeQuality& q) { return {{"psnr", q.psnr}, {"ssim", q.ssim}}; }

int run_probe(const ProbeArgs& a) {
  TrainConfig cfg = load_train_config(a.config, a.set);
  const auto shard = data::Shard::open(a.shard);
  const data::ShardHeader& h = shard->header();
  if (std::none_of(h.samples.begin(), h.samples.end(), [](const data::SampleInfo& s) { return s.split == data::Split::train; }))
    throw ValueError(msg("attack probe: shard '", a.shard, "' of site '", h.site,
                         "' holds no training sample, and a site uploads and answers only about those; prepare it with a "
                         "train split (prepare --split)"));
  const SiteParts parts = site_parts(cfg, h);
  set_numerics(parts.options.numerics);
  std::vector<ProbeMethod> methods;
  if (a.method == "both") methods = {ProbeMethod::bisect, ProbeMethod::invert};
  else methods = {parse_probe_method(a.method)};

  ProbeOptions po;
  po.sample = a.sample;
  po.budgets = a.budgets;
  po.rows_per_request = a.rows_per_request;
  po.interleave = a.interleave;
  po.wire = parts.options.wire_dtype;
  po.timeout = parts.options.timeout;

  std::vector<ProbeRun> runs;
  dist::Hello hello;
  std::vector<uint8_t> condition;
  uint64_t key = 0;
  for (ProbeMethod m : methods) {
    // A fresh site per method, so neither method finds the other's questions counted against it.
    dist::InProcessChannel channel(1, parts.options.wire_dtype);
    dist::Site site(shard, channel.site(0), parts.options, parts.discriminator,
                    dist::simulation_site_secret(parts.options.seed, 0), parts.modalities);
    site.connect();
    po.method = m;
    ProbeAttacker attacker(channel.central(), 0, [&site] { site.serve_one(); }, po);
    attacker.connect();
    hello = attacker.hello();
    condition = attacker.target_condition();
    key = attacker.target_key();
    runs.push_back(attacker.run());
  }

  const ProbeTruth truth = probe_truth(*shard, condition);
  std::vector<int64_t> channels;
  std::string channel_names;
  for (size_t c = 0; c < hello.has_modality.size(); ++c)
    if (hello.has_modality[c]) {
      channels.push_back(static_cast<int64_t>(c));
      channel_names += (channel_names.empty() ? "" : ",") + hello.image_channels[c];
    }
  const ProbeQuality mean_q = probe_quality(truth.real, truth.mean, channels, h.height, h.width);
  const ProbeQuality mid_q = probe_quality(truth.real, std::vector<float>(truth.real.size(), 0.0f), channels, h.height, h.width);

  std::printf("attack probe: site '%s', sample %lld of %lld uploaded (key %016llx), %lldx%lld, channels %s, wire %s\n",
              h.site.c_str(), static_cast<long long>(a.sample), static_cast<long long>(hello.samples),
              static_cast<unsigned long long>(key), static_cast<long long>(h.height), static_cast<long long>(h.width),
              channel_names.c_str(), dist::wire_dtype_name(parts.options.wire_dtype));
  std::printf("baselines without any answer: the site's mean training image PSNR %.2f dB SSIM %.4f; mid-grey PSNR %.2f dB "
              "SSIM %.4f\n",
              mean_q.psnr, mean_q.ssim, mid_q.psnr, mid_q.ssim);
  std::printf("%-7s %7s %9s %7s %11s %9s %8s\n", "method", "budget", "PSNR", "SSIM", "base PSNR", "base SSIM", "refused");
  Json methods_json = Json::object();
  for (const ProbeRun& r : runs) {
    Json rows = Json::array();
    for (const ProbeSnapshot& s : r.snapshots) {
      const ProbeQuality q = probe_quality(truth.real, s.estimate, channels, h.height, h.width);
      std::printf("%-7s %7lld %9.2f %7.4f %11.2f %9.4f %8lld\n", probe_method_name(r.method), static_cast<long long>(s.budget),
                  q.psnr, q.ssim, mean_q.psnr, mean_q.ssim, static_cast<long long>(s.refused));
      rows.push_back({{"budget", s.budget}, {"psnr", q.psnr}, {"ssim", q.ssim}, {"refused", s.refused}});
    }
    methods_json[probe_method_name(r.method)] = {{"budgets", rows},
                                                 {"asked", r.asked},
                                                 {"refused", r.refused},
                                                 {"first_refusal", r.first_refusal},
                                                 {"other_rows", r.other_rows},
                                                 {"other_refused", r.other_refused}};
    if (r.refused > 0)
      std::printf("%s: the site refused %lld of %lld rows about the sample; first reason: %s\n", probe_method_name(r.method),
                  static_cast<long long>(r.refused), static_cast<long long>(r.asked), r.first_refusal.c_str());
    if (r.other_rows > 0)
      std::printf("%s: %lld interleaved rows about the other samples (%lld refused)\n", probe_method_name(r.method),
                  static_cast<long long>(r.other_rows), static_cast<long long>(r.other_refused));
  }

  fs::create_directories(a.out);
  Json report = {{"site", h.site},
                 {"shard", a.shard},
                 {"sample", a.sample},
                 {"uploaded", hello.samples},
                 {"height", h.height},
                 {"width", h.width},
                 {"channels", channel_names},
                 {"wire_dtype", dist::wire_dtype_name(parts.options.wire_dtype)},
                 {"rows_per_request", a.rows_per_request},
                 {"interleave", a.interleave},
                 {"truth", "the real image read from the shard by the tool, which plays the site too"},
                 {"baseline", {{"mean_image", quality_json(mean_q)}, {"mid_grey", quality_json(mid_q)}}},
                 {"methods", methods_json}};
  const std::string json_path = (fs::path(a.out) / "probe.json").string();
  write_text_file(json_path, report.dump(2) + "\n");

  // One row per channel the site has: real | each method's reconstruction at its largest budget | the mean image.
  const int H = static_cast<int>(h.height), W = static_cast<int>(h.width);
  const size_t P = static_cast<size_t>(H) * static_cast<size_t>(W);
  std::vector<Image8> tiles;
  std::vector<std::string> columns = {"real"}, rows;
  for (const ProbeRun& r : runs) columns.push_back(msg(probe_method_name(r.method), " @", r.snapshots.back().budget));
  columns.push_back("mean image");
  for (int64_t c : channels) {
    rows.push_back(hello.image_channels[static_cast<size_t>(c)]);
    tiles.push_back(image_from_floats(truth.real.data() + static_cast<size_t>(c) * P, 1, H, W));
    for (const ProbeRun& r : runs) tiles.push_back(image_from_floats(r.snapshots.back().estimate.data() + static_cast<size_t>(c) * P, 1, H, W));
    tiles.push_back(image_from_floats(truth.mean.data() + static_cast<size_t>(c) * P, 1, H, W));
  }
  std::string description = "columns:";
  for (const auto& c : columns) description += (description == "columns:" ? " " : " | ") + c;
  const std::string png_path = (fs::path(a.out) / "probe.png").string();
  write_png(png_path, labeled_grid(tiles, static_cast<int>(columns.size()), columns, rows), {{"Description", description}});
  std::printf("wrote %s and %s\n", json_path.c_str(), png_path.c_str());
  return 0;
}

}  // namespace

Verb add_attack(CLI::App& cli) {
  CLI::App* cmd = cli.add_subcommand("attack", "attacks on a site, to measure what its answers give away");
  cmd->require_subcommand(1);
  auto o = std::make_shared<ProbeArgs>();
  CLI::App* probe = cmd->add_subcommand("probe", "a curious central node recovers one sample's real image from a site's "
                                                 "gradients (bisection on their sign, or gradient inversion)");
  probe->footer(kProbeFooter);
  probe->add_option("--shard", o->shard, "the site's shard, e.g. prepared/SiteA.shard")->required();
  probe->add_option("--config", o->config, "a training config (model, loss and the site's own site.* options)")->required();
  probe->add_option("--set", o->set, "override one config key, e.g. --set site.max_queries_per_sample=0 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->default_str("");
  probe->add_option("--sample", o->sample, "the target: its position in the site's condition upload")->type_name("N")->check(at_least(0));
  add_list(*probe, "--budget", o->budgets, "answers (rows) about the sample at which to measure, increasing")->type_name("N,...")->check(at_least(1));
  probe->add_option("--method", o->method, "bisect, invert or both")->check(CLI::IsMember({"bisect", "invert", "both"}));
  probe->add_option("--rows-per-request", o->rows_per_request,
                    "rows per request: bisect probes that many points per pixel at once, invert averages that many copies")
      ->type_name("B")
      ->check(at_least(1));
  probe->add_flag("--interleave", o->interleave, "between questions about the sample, ask once about every other sample, "
                                                 "so the site's epoch turns over (site.max_queries_per_sample is a rate)");
  probe->add_option("--out", o->out, "where probe.json and probe.png go")->required();
  return {cmd, [o] { return run_probe(*o); }};
}

}  // namespace asyndgan::app
