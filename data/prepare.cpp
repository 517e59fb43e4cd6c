// prepare_dataset: options, subject-level splits, the parallel per-subject pipeline written in a fixed
// order into one shard per site, and prepare.json.
#include "data/prepare.h"
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>
#include <tuple>
#include "data/prepared_dir.h"
#include "data/preprocess.h"
#include "base/error.h"
#include "engine/io/file_io.h"
#include "engine/io/json.h"
#include "engine/io/names.h"
#include "engine/io/staged_dir.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace asyndgan::data {

namespace fs = std::filesystem;

Normalization parse_normalization(const std::string& s) {
  if (s == "percentile") return Normalization::percentile;
  if (s == "zscore") return Normalization::zscore;
  throw ValueError(msg("normalization '", s, "': use percentile or zscore"));
}

ConditionKind parse_condition(const std::string& s) {
  if (s == "onehot") return ConditionKind::onehot;
  if (s == "asyndgan") return ConditionKind::asyndgan;
  throw ValueError(msg("condition '", s, "': use onehot or asyndgan"));
}

void PrepareOptions::validate() const {
  if (height < 8 || width < 8 || height > 8192 || width > 8192)
    throw ValueError(msg("prepare: the target size must be 8..8192 per side, got ", height, ",", width));
  if (!(clip_low >= 0 && clip_low < clip_high && clip_high <= 100))
    throw ValueError(msg("prepare: clip percentiles need 0 <= low < high <= 100, got ", clip_low, ", ", clip_high));
  if (min_tumor < 1) throw ValueError(msg("prepare: --min-tumor must be >= 1, got ", min_tumor));
  if (!(healthy_share >= 0 && healthy_share <= 1))
    throw ValueError(msg("prepare: --healthy-share must be in [0, 1], got ", healthy_share));
  double sum = 0;
  for (double f : split) {
    if (!(f >= 0 && f <= 1)) throw ValueError(msg("prepare: --split fractions must be in [0, 1], got ", f));
    sum += f;
  }
  if (std::fabs(sum - 1.0) > 1e-6)
    throw ValueError(msg("prepare: --split fractions must add up to 1, got ", split[0], ",", split[1], ",", split[2]));
}

std::vector<std::string> condition_channels(const LabelSet& labels, ConditionKind kind) {
  if (kind == ConditionKind::asyndgan) return {"labels_outline"};
  std::vector<std::string> c = labels.names;
  c.push_back("brain");
  return c;
}

std::map<std::string, Split> assign_splits(const Dataset& ds, const PrepareOptions& opt) {
  std::map<std::string, Split> out;
  std::map<std::string, std::vector<std::pair<uint32_t, std::string>>> open;  // site -> (draw, id) to split
  for (const auto& s : ds.subjects) {
    if (out.count(s.id) || std::any_of(open[s.site].begin(), open[s.site].end(), [&](auto& p) { return p.second == s.id; }))
      throw ValueError(msg("prepare: subject '", s.id, "' appears twice in the dataset"));
    if (s.split == "train") out[s.id] = Split::train;
    else if (s.split == "val") out[s.id] = Split::val;
    else if (s.split == "test") out[s.id] = Split::test;
    else if (s.split.empty()) open[s.site].emplace_back(subject_random(opt.seed, s.id, 0, 0), s.id);
    else throw ValueError(msg("prepare: subject '", s.id, "' has split '", s.split, "' (use train, val, test or empty)"));
  }
  for (auto& [site, subs] : open) {
    std::sort(subs.begin(), subs.end());
    const double n = static_cast<double>(subs.size());
    const size_t cut1 = static_cast<size_t>(std::llround(n * opt.split[0]));
    const size_t cut2 = std::max(cut1, static_cast<size_t>(std::llround(n * (opt.split[0] + opt.split[1]))));
    for (size_t i = 0; i < subs.size(); ++i)
      out[subs[i].second] = i < cut1 ? Split::train : i < cut2 ? Split::val : Split::test;
  }
  return out;
}

namespace {

std::string shard_file_name(const std::string& site) {
  std::string f;
  for (char c : site) f += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ? c : '_';
  return f + ".shard";
}

Json options_json(const PrepareOptions& o) {
  Json j = Json::object();
  j["height"] = o.height;
  j["width"] = o.width;
  j["resize"] = o.resize;
  j["norm"] = o.norm == Normalization::percentile ? "percentile" : "zscore";
  j["clip_low"] = o.clip_low;
  j["clip_high"] = o.clip_high;
  j["min_tumor"] = o.min_tumor;
  j["healthy_share"] = o.healthy_share;
  j["condition"] = o.condition == ConditionKind::onehot ? "onehot" : "asyndgan";
  j["split"] = Json::array({o.split[0], o.split[1], o.split[2]});
  j["seed"] = o.seed;
  return j;
}

struct SubjectRecord {
  const Subject* subject;
  Split split;
  int64_t samples;
};

void write_prepare_json(const std::string& path, const Dataset& ds, const PrepareOptions& opt, const PrepareReport& rep,
                        const std::vector<SubjectRecord>& subjects) {
  Json j = Json::object();
  j["format"] = "asyndgan-prepare";
  j["version"] = 1;
  j["source"] = ds.description;
  j["options"] = options_json(opt);
  j["labels"]["names"] = ds.labels.names;
  j["labels"]["file_values"] = ds.labels.file_values;
  j["condition_channels"] = rep.condition_channels;
  j["image_channels"] = rep.image_channels;
  j["sites"] = Json::array();
  for (const auto& s : rep.sites) {
    Json o = Json::object();
    o["site"] = s.site;
    o["shard"] = s.shard.empty() ? Json() : Json(fs::path(s.shard).filename().string());
    if (!s.shard.empty()) {  // what training checks the folder's shards against (data/prepared_dir.h)
      const ShardStamp stamp = shard_stamp(s.shard);
      o["shard_bytes"] = stamp.bytes;
      o["shard_crc32"] = stamp.crc32;
    }
    o["subjects"] = s.subjects;
    for (int k = 0; k < 3; ++k) {
      o["subjects_by_split"][split_name(static_cast<Split>(k))] = s.split_subjects[k];
      o["samples_by_split"][split_name(static_cast<Split>(k))] = s.split_samples[k];
    }
    j["sites"].push_back(std::move(o));
  }
  j["subjects"] = Json::array();
  for (const auto& r : subjects) {
    Json o = Json::object();
    o["id"] = r.subject->id;
    o["site"] = r.subject->site;
    o["split"] = split_name(r.split);
    o["samples"] = r.samples;
    std::vector<std::string> missing;
    for (const auto& m : ds.modalities)
      if (!r.subject->modality_paths.count(m)) missing.push_back(m);
    o["missing_modalities"] = missing;
    j["subjects"].push_back(std::move(o));
  }
  write_text_file(path, dump_json(j) + "\n");
}

}  // namespace

namespace {

// What an existing --out holds: prepare may replace it (--overwrite) only when it holds nothing but what a
// prepare writes, so a mistyped --out never deletes someone's files.
void check_output_folder(const std::string& out_dir, bool overwrite) {
  std::error_code ec;
  const auto st = fs::symlink_status(out_dir, ec);
  if (!fs::exists(st)) return;
  if (fs::is_symlink(st))
    throw IOError(msg("prepare: --out ", out_dir, " is a symbolic link, which prepare would replace by a folder: give the ",
                      "folder it points to"));
  if (!fs::is_directory(st)) throw IOError(msg("prepare: --out ", out_dir, " exists and is not a folder: choose another --out"));
  std::vector<std::string> names, foreign;
  for (fs::directory_iterator it(out_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    names.push_back(n);
    const bool ours = it->is_regular_file() && (n == "prepare.json" || n.ends_with(".shard") || n.find(".shard.tmp.") != std::string::npos ||
                                                n.find("prepare.json.tmp.") != std::string::npos);
    if (!ours) foreign.push_back(n);
  }
  if (ec) throw IOError(msg("prepare: cannot list --out ", out_dir, ": ", ec.message()));
  if (names.empty()) return;
  if (!overwrite)
    throw ValueError(msg("prepare: --out ", out_dir, " is not empty (it holds ", names.size(), " entr", names.size() > 1 ? "ies" : "y",
                         ", e.g. '", printable(names[0]), "'): pass --overwrite to replace it once the new shards are "
                         "complete, or choose another --out"));
  if (!foreign.empty())
    throw ValueError(msg("prepare: --overwrite replaces only a folder that prepare wrote (prepare.json and .shard files), but ",
                         out_dir, " also holds '", printable(foreign[0]), "': move it away, or choose another --out"));
}

}  // namespace

PrepareReport prepare_dataset(const Dataset& ds, const std::string& out_dir, const PrepareOptions& opt, bool overwrite) {
  opt.validate();
  if (ds.subjects.empty()) throw ValueError("prepare: the dataset has no subjects");
  check_names(ds);
  check_output_folder(out_dir, overwrite);
  StagedDirectory staged(out_dir);
  const std::string& stage = staged.path();
  const auto t0 = std::chrono::steady_clock::now();
  const std::map<std::string, Split> splits = assign_splits(ds, opt);

  PrepareReport rep;
  rep.condition_channels = condition_channels(ds.labels, opt.condition);
  rep.image_channels = ds.modalities;
  std::vector<const Subject*> order;
  for (const auto& s : ds.subjects) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const Subject* a, const Subject* b) { return std::tie(a->site, a->id) < std::tie(b->site, b->id); });
  std::set<std::string> files;
  for (const auto& site : ds.sites())
    if (!files.insert(shard_file_name(site)).second)
      throw ValueError(msg("prepare: two site names map to the shard file ", shard_file_name(site), "; rename one site"));

  const int64_t hw = opt.height * opt.width;
  const int64_t C = static_cast<int64_t>(rep.condition_channels.size()), M = static_cast<int64_t>(ds.modalities.size());
  std::unique_ptr<ShardWriter> writer;
  std::vector<SubjectRecord> records;
  auto finish_site = [&] {
    if (writer) writer->finish();
    writer.reset();
  };
  // Writes one batch's results in the fixed (site, id) order, so the shards do not depend on the thread count.
  auto write_batch = [&](size_t b, std::vector<PreparedSubject>& done, std::vector<std::exception_ptr>& errors) {
    for (size_t k = b; k < b + done.size(); ++k) {
      if (errors[k - b]) std::rethrow_exception(errors[k - b]);
      const Subject& s = *order[k];
      PreparedSubject& p = done[k - b];
      if (rep.sites.empty() || rep.sites.back().site != s.site) {
        finish_site();
        rep.sites.push_back(SiteReport{s.site, "", 0, {0, 0, 0}, {0, 0, 0}});
      }
      SiteReport& sr = rep.sites.back();
      const Split split = splits.at(s.id);
      if (!writer && !p.samples.empty()) {
        sr.shard = path_inside(stage, shard_file_name(s.site));
        ShardHeader h;
        h.site = s.site;
        h.height = opt.height;
        h.width = opt.width;
        h.condition_channels = rep.condition_channels;
        h.image_channels = rep.image_channels;
        writer = std::make_unique<ShardWriter>(sr.shard, h);
      }
      for (size_t i = 0; i < p.samples.size(); ++i)
        writer->add(p.condition.data() + static_cast<int64_t>(i) * C * hw, p.image.data() + static_cast<int64_t>(i) * M * hw,
                    p.samples[i]);
      sr.subjects += 1;
      sr.split_subjects[static_cast<int>(split)] += 1;
      sr.split_samples[static_cast<int>(split)] += static_cast<int64_t>(p.samples.size());
      rep.subjects += 1;
      rep.volumes += p.volumes;
      rep.samples += static_cast<int64_t>(p.samples.size());
      records.push_back(SubjectRecord{&s, split, static_cast<int64_t>(p.samples.size())});
      p = PreparedSubject{};
    }
  };

  int batch = 1;
#ifdef _OPENMP
  batch = std::max(1, omp_get_max_threads());
#endif
  // Batches of subjects run in parallel; a background thread writes the previous batch meanwhile (shard
  // writing is serial and otherwise leaves the cores idle).
  std::vector<PreparedSubject> writing;
  std::vector<std::exception_ptr> writing_errors;
  size_t writing_first = 0;
  std::thread write_thread;
  std::exception_ptr write_error;
  auto join_writer = [&] {
    if (write_thread.joinable()) write_thread.join();
  };
  try {
    for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batch)) {
      const size_t e = std::min(order.size(), b + static_cast<size_t>(batch));
      std::vector<PreparedSubject> done(e - b);
      std::vector<std::exception_ptr> errors(e - b);
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t k = static_cast<int64_t>(b); k < static_cast<int64_t>(e); ++k) {
        try {
          done[k - b] = prepare_subject(ds, *order[k], splits.at(order[k]->id), opt);
        } catch (...) {
          errors[k - b] = std::current_exception();
        }
      }
      join_writer();
      if (write_error) std::rethrow_exception(write_error);
      writing = std::move(done);
      writing_errors = std::move(errors);
      writing_first = b;
      write_thread = std::thread([&] {
        try {
          write_batch(writing_first, writing, writing_errors);
        } catch (...) {
          write_error = std::current_exception();
        }
      });
    }
    join_writer();
    if (write_error) std::rethrow_exception(write_error);
  } catch (...) {
    join_writer();
    throw;
  }
  finish_site();
  if (rep.samples == 0)
    throw ValueError(msg("prepare: no slice of the ", rep.subjects, " subjects was kept, so there is nothing to train on: ",
                         "no slice has --min-tumor ", opt.min_tumor, " tumor voxels and --healthy-share ", opt.healthy_share,
                         " kept no tumor-free slice; lower --min-tumor, raise --healthy-share, or check the label files"));
  write_prepare_json((fs::path(stage) / "prepare.json").string(), ds, opt, rep, records);
  staged.commit(overwrite);
  for (auto& s : rep.sites)  // the report names the files where they now are
    if (!s.shard.empty()) s.shard = (fs::path(staged.target()) / fs::path(s.shard).filename()).string();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace asyndgan::data
