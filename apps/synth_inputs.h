// The inputs of synth and complete: the prepared format a run's generator expects, a subject's modality
// volumes found by BraTS file names, shard paths, and one subject synthesized slice by slice.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "apps/label_volumes.h"
#include "apps/run_checkpoint.h"
#include "data/shard.h"
#include "data/volume.h"

namespace asyndgan::app {

// From --prepare FILE when given, else the prepare.json the run's checkpoint carries. ValueError when
// neither exists (the run's shards came without one).
PreparedFormat prepared_format(const LoadedGenerator& g, const std::string& prepare_path);

// "dir/BraTS20_Training_001_seg.nii.gz" -> "BraTS20_Training_001" (also "-seg", ".nii").
std::string subject_of_label(const std::string& label_path);

// The subject's volumes of each modality in `modalities` order (nullptr where absent), found in `dir` as
// <subject>_<modality>.nii.gz or .nii.
struct SubjectVolumes {
  std::vector<std::unique_ptr<data::Volume>> volumes;
  std::vector<const data::Volume*> present() const;
};
SubjectVolumes find_modalities(const std::string& dir, const std::string& subject, const std::vector<std::string>& modalities);

// Files as given, or every *.shard of a prepared directory (sorted) once it checks out against its prepare.json
// (data/prepared_dir.h); IOError naming a path that is neither.
std::vector<std::string> shard_files(const std::vector<std::string>& paths);

// "train", "val", "test" or "all" (nullopt); ValueError otherwise.
std::optional<data::Split> parse_split_option(const std::string& s);

// Every axial slice of one subject through G: its inputs and G's output [slices][M][H][W].
struct SubjectSynthesis {
  SubjectInputs in;
  std::vector<float> fake;
};
SubjectSynthesis synthesize_subject(nn::Module& g, const PreparedFormat& f, const std::string& label_path,
                                    const SubjectVolumes& volumes, const RunMeta& meta);

}  // namespace asyndgan::app
