// The per-volume and per-slice steps of `asyndgan prepare` (brain mask, label mapping, intensity
// normalization, slice selection, pad/crop/resize, condition maps), kept separate so each can be tested.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>
#include "data/dataset.h"
#include "data/volume.h"

namespace asyndgan::data {

// 1 where any of the volumes is > 0 (all must have the same dims).
std::vector<uint8_t> brain_mask(const std::vector<const Volume*>& modalities);

// File label values -> internal indices (LabelSet order). A value outside the set, or not an integer, is a
// FormatError naming `path` and the value.
std::vector<uint8_t> map_labels(const Volume& label, const LabelSet& labels, const std::string& path);

// In place, over the whole volume: clip to the [low_pct, high_pct] percentiles of the brain voxels and
// scale to [-1, 1]; voxels outside the brain become -1. A modality with no contrast in the brain (or no
// brain) becomes -1 everywhere.
void normalize_percentile(Volume& v, const std::vector<uint8_t>& brain, double low_pct = 0.5, double high_pct = 99.5);
// In place: (x - mean) / std over the brain; outside the brain 0 (the brain's mean), as nnU-Net does.
void normalize_zscore(Volume& v, const std::vector<uint8_t>& brain);

// Axial slices to keep, ascending: every slice with >= min_tumor tumor voxels (internal label > 0), plus
// round(healthy_share * n) of the n slices with brain but no tumor, drawn from `seed` and `subject`
// (so the choice does not depend on other subjects or on threads). Slices with 1..min_tumor-1 tumor
// voxels are neither.
std::vector<int> select_slices(const std::vector<uint8_t>& labels, const std::vector<uint8_t>& brain,
                               const std::array<int64_t, 3>& dims, int64_t min_tumor, double healthy_share,
                               uint64_t seed, const std::string& subject);

// A uniform draw for (seed, subject, stream, i): deterministic, independent of order and threads.
uint32_t subject_random(uint64_t seed, const std::string& subject, uint32_t stream, uint64_t i);

// 2-D planes, row-major [h][w] (a NIfTI axial slice: rows are y, columns x).
// Centered pad (with `fill`) and/or crop from (sh, sw) to (th, tw): offsets (t - s) / 2 rounded down.
void pad_crop(const float* src, int64_t sh, int64_t sw, float* dst, int64_t th, int64_t tw, float fill);
void pad_crop(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t th, int64_t tw, uint8_t fill);
// Bilinear (half-pixel centers, edge clamped, as PyTorch's align_corners=False) and nearest-neighbour.
void resize_bilinear(const float* src, int64_t sh, int64_t sw, float* dst, int64_t th, int64_t tw);
void resize_nearest(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t th, int64_t tw);

// Condition maps from a plane of internal labels and a brain plane, written as [C][h][w] floats.
// onehot: one channel per label (background first), each 0/1, then the brain mask: classes + 1 channels.
void onehot_condition(const uint8_t* labels, const uint8_t* brain, int64_t h, int64_t w, int classes, float* out);
// asyndgan (the paper's single channel): the outline of the hole-filled brain (pixels just outside it, as
// the authors' clipped Laplacian gives) = 1, tumor class c (1..classes-1) = c / classes, else 0.
void asyndgan_condition(const uint8_t* labels, const uint8_t* brain, int64_t h, int64_t w, int classes, float* out);
// The brain with its holes filled (every pixel not reachable from the border through non-brain pixels).
std::vector<uint8_t> fill_holes(const uint8_t* brain, int64_t h, int64_t w);

}  // namespace asyndgan::data
