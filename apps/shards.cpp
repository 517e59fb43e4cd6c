// `asyndgan shards`: opens a prepared directory's shards (checking them against its prepare.json, verifying
// their checksums and that every image value is finite), summarizes each site,
// and loads batches through the training loader: the CLI proof that prepared data loads.
#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "data/loader.h"
#include "data/prepared_dir.h"
#include "data/shard.h"
#include "base/error.h"

namespace asyndgan::app {
namespace {

std::vector<std::string> shard_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IOError(msg("shards: ", dir, " is not a directory (give the --out directory of 'asyndgan prepare')"));
  return data::prepared_shards(dir);
}

// What the command line gives; `loader` takes --batch, --crop, --flip and --seed directly.
struct ShardsArgs {
  std::string dir;
  long long batches = 50;
  std::string split = "train";
  data::LoaderOptions loader;
};

std::optional<data::Split> parse_split(const std::string& s) {
  if (s == "train") return data::Split::train;
  if (s == "val") return data::Split::val;
  if (s == "test") return data::Split::test;
  return std::nullopt;  // "all": CLI11 admits nothing else
}

void summarize(const data::Shard& shard, const std::string& path) {
  const auto& h = shard.header();
  int64_t per_split[3] = {0, 0, 0};
  std::vector<int64_t> available(h.image_channels.size(), 0);
  for (const auto& s : h.samples) {
    ++per_split[static_cast<int>(s.split)];
    for (size_t m = 0; m < available.size(); ++m) available[m] += (s.available >> m) & 1u;
  }
  std::printf("  %-10s %6lld samples (train %lld, val %lld, test %lld), %lldx%lld, %s\n", h.site.c_str(),
              static_cast<long long>(shard.size()), static_cast<long long>(per_split[0]),
              static_cast<long long>(per_split[1]), static_cast<long long>(per_split[2]),
              static_cast<long long>(h.height), static_cast<long long>(h.width),
              std::filesystem::path(path).filename().c_str());
  std::string cond, mods;
  for (const auto& c : h.condition_channels) cond += (cond.empty() ? "" : ",") + c;
  for (size_t m = 0; m < available.size(); ++m)
    mods += " " + h.image_channels[m] + (available[m] == shard.size() ? "" : available[m] == 0 ? " (missing)"
                                                                        : " (partly missing)");
  std::printf("             condition [%s]; modalities:%s\n", cond.c_str(), mods.c_str());
}

}  // namespace

int run_shards(const ShardsArgs& args) {
  const std::string& dir = args.dir;
  const long long batches = args.batches;

  std::vector<std::shared_ptr<data::Shard>> shards;
  std::printf("shards: %s (checked against prepare.json; checksums and finite values verified)\n", dir.c_str());
  const std::vector<std::string> files = shard_files(dir);
  std::vector<std::string> sites;
  for (const std::string& f : files) {
    shards.push_back(data::Shard::open(f, /*verify_checksum=*/true));
    sites.push_back(shards.back()->header().site);
    data::check_distinct_sites(files, sites);
    summarize(*shards.back(), f);
  }
  if (batches == 0) return 0;

  data::LoaderOptions opt = args.loader;
  opt.split = parse_split(args.split);
  data::Loader loader(shards, opt);
  double waited = 0;  // seconds spent inside next(): what a training step would wait for
  int64_t samples = 0;
  double image_sum = 0, available_sum = 0;
  int64_t image_count = 0, available_count = 0;
  for (long long b = 0; b < batches; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    data::Batch batch = loader.next();
    waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    samples += static_cast<int64_t>(batch.indices.size());
    for (float v : batch.image.to_vector<float>()) image_sum += v, ++image_count;
    for (float v : batch.available.to_vector<float>()) available_sum += v, ++available_count;
  }
  std::printf("loaded %lld batches (%lld samples, batch %lld per site%s%s); next() took %.3f s in all\n"
              "  mean image value %.3f, share of modalities available %.3f\n",
              batches, static_cast<long long>(samples), static_cast<long long>(opt.batch_per_site),
              opt.crop ? ", cropped" : "", opt.flip ? ", flipped" : "", waited,
              image_count ? image_sum / image_count : 0.0, available_count ? available_sum / available_count : 0.0);
  return 0;
}

Verb add_shards(CLI::App& cli) {
  auto o = std::make_shared<ShardsArgs>();
  o->loader.batch_per_site = 4;
  CLI::App* cmd = cli.add_subcommand("shards", "verify and summarize prepared shards, and load batches from them");
  cmd->add_option("--dir", o->dir, "the --out directory of 'asyndgan prepare'")->required();
  cmd->add_option("--batches", o->batches, "batches to load through the training loader (0: only verify and summarize)")
      ->check(at_least(0));
  cmd->add_option("--batch", o->loader.batch_per_site, "samples per site in a batch")->check(at_least(1));
  cmd->add_option("--crop", o->loader.crop, "square random crop side (0: the full sample)")->check(at_least(0));
  cmd->add_flag("--flip", o->loader.flip, "random left-right mirror");
  cmd->add_option("--split", o->split, "load samples of this split only, or all")
      ->check(CLI::IsMember({"train", "val", "test", "all"}));
  cmd->add_option("--seed", o->loader.seed, "seed of the sampling and augmentation")->check(at_least(0));
  return {cmd, [o] { return run_shards(*o); }};
}

}  // namespace asyndgan::app
