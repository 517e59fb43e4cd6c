// `asyndgan prepare`: a BraTS directory or a CSV manifest to one training shard per site plus prepare.json,
// printing per-site sample counts and the throughput in volumes/s.
#include <cstdio>
#include <string>
#include "apps/args.h"
#include "apps/commands.h"
#include "data/brats_sites.h"
#include "data/dataset.h"
#include "data/prepare.h"
#include "base/error.h"

namespace asyndgan::app {
namespace {

constexpr const char* kUsage =
    "usage: asyndgan prepare (--brats DIR [--sites-csv F] [--site-groups institution|paper] | --manifest CSV "
    "[--label-values 0,1,2,4] [--label-names background,ncr,ed,et]) --out DIR [--size 256,256] [--resize] "
    "[--norm percentile|zscore] [--clip 0.5,99.5] [--min-tumor 10] [--healthy-share 0.1] "
    "[--condition onehot|asyndgan] [--split 0.8,0.1,0.1] [--seed S]";

data::PrepareOptions options(const Args& a) {
  data::PrepareOptions o;
  if (a.has("--size")) {
    auto s = a.integers("--size", 2);
    o.height = s[0];
    o.width = s[1];
  }
  o.resize = a.flag("--resize");
  o.norm = data::parse_normalization(a.str("--norm", "percentile"));
  if (a.has("--clip")) {
    auto c = a.numbers("--clip", 2);
    o.clip_low = c[0];
    o.clip_high = c[1];
  }
  o.min_tumor = a.integer("--min-tumor", 10);
  o.healthy_share = a.number("--healthy-share", 0.1);
  o.condition = data::parse_condition(a.str("--condition", "onehot"));
  if (a.has("--split")) {
    auto s = a.numbers("--split", 3);
    o.split = {s[0], s[1], s[2]};
  }
  long long seed = a.integer("--seed", 0);
  if (seed < 0) throw ValueError("prepare: --seed must be >= 0");
  o.seed = static_cast<uint64_t>(seed);
  o.validate();
  return o;
}

data::Dataset dataset(const Args& a) {
  if (a.has("--brats") == a.has("--manifest")) throw ValueError(msg("prepare: give either --brats or --manifest\n", kUsage));
  if (a.has("--brats")) {
    if (a.has("--label-values") || a.has("--label-names"))
      throw ValueError("prepare: --label-values/--label-names are for --manifest (BraTS's labels are detected)");
    data::Dataset ds = data::scan_brats(a.required("--brats"), a.str("--sites-csv", ""));
    if (a.has("--site-groups")) {
      auto g = data::parse_site_grouping(a.required("--site-groups"));
      if (a.has("--sites-csv")) throw ValueError("prepare: --site-groups applies to name_mapping.csv sites, not --sites-csv");
      for (auto& s : ds.subjects) s.site = data::group_site(s.site, g);
    }
    return ds;
  }
  if (a.has("--sites-csv") || a.has("--site-groups"))
    throw ValueError("prepare: --sites-csv/--site-groups are for --brats (a manifest has a site column)");
  return data::read_manifest(a.required("--manifest"), a.str("--label-values", ""), a.str("--label-names", ""));
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

int run_prepare(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::printf("%s\n", kUsage);
      return 0;
    }
  Args a(argc, argv,
         {"--brats", "--sites-csv", "--site-groups", "--manifest", "--label-values", "--label-names", "--out", "--size",
          "--norm", "--clip", "--min-tumor", "--healthy-share", "--condition", "--split", "--seed"},
         {"--resize"});
  const std::string out = a.required("--out");
  const data::PrepareOptions opt = options(a);
  const data::Dataset ds = dataset(a);
  std::printf("prepare: %s\n", ds.description.c_str());
  std::fflush(stdout);
  const data::PrepareReport r = data::prepare_dataset(ds, out, opt);
  for (const auto& s : r.sites) {
    int64_t n = s.split_samples[0] + s.split_samples[1] + s.split_samples[2];
    std::printf("  site %-10s %3d subjects (%d/%d/%d train/val/test), %6lld samples (%lld/%lld/%lld) -> %s\n",
                s.site.c_str(), s.subjects, s.split_subjects[0], s.split_subjects[1], s.split_subjects[2],
                static_cast<long long>(n), static_cast<long long>(s.split_samples[0]),
                static_cast<long long>(s.split_samples[1]), static_cast<long long>(s.split_samples[2]),
                s.shard.empty() ? "(no samples: no shard)" : s.shard.c_str());
  }
  std::printf("prepare: %lld subjects, %lld volumes, %lld samples of %lldx%lld (condition %s; images %s) in %.2f s: "
              "%.1f volumes/s (%.2f subjects/s); wrote %s/prepare.json\n",
              static_cast<long long>(r.subjects), static_cast<long long>(r.volumes), static_cast<long long>(r.samples),
              static_cast<long long>(opt.height), static_cast<long long>(opt.width), join(r.condition_channels).c_str(),
              join(r.image_channels).c_str(), r.seconds, r.volumes_per_second(),
              r.seconds > 0 ? static_cast<double>(r.subjects) / r.seconds : 0.0, out.c_str());
  return 0;
}

}  // namespace asyndgan::app
