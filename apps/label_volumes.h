// NIfTI label volumes to generator inputs, and generator outputs back to volumes on the source grid, using
// prepare's own steps (data/preprocess.h) and options (the shards' prepare.json), so that synth and complete
// feed the generator exactly what training fed it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "data/dataset.h"
#include "data/prepare.h"
#include "data/volume.h"
#include "engine/nn/module.h"

namespace asyndgan::app {

// What prepare did: its options and the label set (from prepare.json's "options" and "labels").
struct PreparedFormat {
  data::PrepareOptions options;
  data::LabelSet labels;
};
// FormatError naming `source` when a field is missing or of the wrong type.
PreparedFormat parse_prepare_json(const std::string& text, const std::string& source);

// One subject on the prepared grid: every axial slice of its label volume.
struct SubjectInputs {
  data::Volume grid;                 // the label volume's dims, spacing and affine (no voxels)
  std::vector<uint8_t> brain;        // source grid, from the modalities present (as prepare's brain_mask)
  int64_t slices = 0, channels = 0, height = 0, width = 0;
  std::vector<float> condition;      // [slices][channels][height][width]
  std::vector<uint8_t> brain_planes; // [slices][height][width]
  std::vector<int64_t> tumor;        // tumor pixels per slice (for choosing a preview slice)
};

// Conditions of every axial slice of `label_path`, built as prepare builds them; `present` are the
// subject's modality volumes (at least one: the brain mask comes from them), all on the label's grid.
// The condition channels must equal `expected` (the generator's inputs): a ValueError naming both otherwise.
SubjectInputs subject_inputs(const PreparedFormat& f, const std::string& label_path,
                             const std::vector<const data::Volume*>& present, const std::vector<std::string>& expected);

// A modality volume normalized as prepare does and cut into the prepared planes [slices][height][width].
std::vector<float> prepared_planes(const PreparedFormat& f, data::Volume v, const SubjectInputs& in);

// Planes [slices][height][width] (stride `stride` floats between slices) back onto the source grid
// (the inverse of prepare's pad/crop, or a resize back), with voxels outside the brain set to prepare's
// background (-1 for percentile, 0 for z-score); the source affine is kept.
data::Volume restack(const float* planes, int64_t stride, const PreparedFormat& f, const SubjectInputs& in);

// G over n conditions [n][C][H][W] in batches (no gradients; the caller puts G in eval mode): [n][M][H][W].
std::vector<float> run_generator(nn::Module& g, const std::vector<float>& condition, int64_t n, int64_t C, int64_t H,
                                 int64_t W, int64_t M, int64_t batch = 8);

}  // namespace asyndgan::app
