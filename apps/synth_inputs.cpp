// Finding and preparing what synth and complete feed the generator.
#include "apps/synth_inputs.h"
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include "data/nifti.h"
#include "data/prepared_dir.h"
#include "base/error.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

PreparedFormat prepared_format(const LoadedGenerator& g, const std::string& prepare_path) {
  if (!prepare_path.empty()) {
    std::ifstream in(prepare_path, std::ios::binary);
    if (!in) throw IOError(msg("cannot read ", prepare_path));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_prepare_json(ss.str(), prepare_path);
  }
  if (g.meta.prepare_json.empty())
    throw ValueError("the run's shards came without a prepare.json, so how label maps become conditions is unknown: "
                     "pass --prepare PATH/prepare.json (written by 'asyndgan prepare')");
  return parse_prepare_json(g.meta.prepare_json, "prepare.json in the checkpoint");
}

std::string subject_of_label(const std::string& label_path) {
  std::string name = fs::path(label_path).filename().string();
  for (const char* ext : {".nii.gz", ".nii"})
    if (name.ends_with(ext)) {
      name.resize(name.size() - std::string(ext).size());
      break;
    }
  for (const char* suffix : {"_seg", "-seg"})
    if (name.ends_with(suffix)) name.resize(name.size() - 4);
  return name;
}

std::vector<const data::Volume*> SubjectVolumes::present() const {
  std::vector<const data::Volume*> out;
  for (const auto& v : volumes)
    if (v) out.push_back(v.get());
  return out;
}

SubjectVolumes find_modalities(const std::string& dir, const std::string& subject, const std::vector<std::string>& modalities) {
  SubjectVolumes s;
  for (const std::string& m : modalities) {
    std::unique_ptr<data::Volume> v;
    for (const char* ext : {".nii.gz", ".nii"}) {
      const fs::path p = fs::path(dir) / (subject + "_" + m + ext);
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) {
        v = std::make_unique<data::Volume>(data::read_nifti(p.string()));
        break;
      }
    }
    s.volumes.push_back(std::move(v));
  }
  return s;
}

std::vector<std::string> shard_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const std::vector<std::string> found = data::prepared_shards(p);
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      data::check_listed_shard(p);
      out.push_back(p);
    } else {
      throw IOError(msg(p, " is neither a shard file nor a directory of them"));
    }
  }
  return out;
}

std::optional<data::Split> parse_split_option(const std::string& s) {
  if (s == "train") return data::Split::train;
  if (s == "val") return data::Split::val;
  if (s == "test") return data::Split::test;
  if (s == "all") return std::nullopt;
  throw ValueError("option --split takes train, val, test or all, got '" + s + "'");
}

SubjectSynthesis synthesize_subject(nn::Module& g, const PreparedFormat& f, const std::string& label_path,
                                    const SubjectVolumes& volumes, const RunMeta& meta) {
  SubjectSynthesis s;
  s.in = subject_inputs(f, label_path, volumes.present(), meta.condition_channels);
  s.fake = run_generator(g, s.in.condition, s.in.slices, s.in.channels, s.in.height, s.in.width,
                         static_cast<int64_t>(meta.image_channels.size()));
  return s;
}

}  // namespace asyndgan::app
