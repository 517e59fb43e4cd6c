// Brain mask, label mapping and per-volume intensity normalization for `asyndgan prepare`.
#include <algorithm>
#include <cmath>
#include <map>
#include "data/preprocess.h"
#include "base/error.h"

namespace asyndgan::data {

std::vector<uint8_t> brain_mask(const std::vector<const Volume*>& modalities) {
  if (modalities.empty()) throw ValueError("brain_mask: no modality volume");
  const int64_t n = modalities[0]->size();
  for (const Volume* v : modalities)
    if (v->size() != n) throw ShapeError("brain_mask: the modality volumes differ in size");
  std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
  for (const Volume* v : modalities) {
    const float* x = v->voxels.data();
    for (int64_t i = 0; i < n; ++i) mask[i] |= x[i] > 0.0f;
  }
  return mask;
}

std::vector<uint8_t> map_labels(const Volume& label, const LabelSet& labels, const std::string& path) {
  if (labels.file_values.size() > 255) throw ValueError("map_labels: at most 255 labels are supported");
  // File values 0..255 through a table; anything else (rare) through the set.
  int lut[256];
  for (int v = 0; v < 256; ++v) lut[v] = labels.internal(v);
  std::vector<uint8_t> out(label.voxels.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const float x = label.voxels[i];
    const float r = std::nearbyint(x);
    int k = -1;
    if (std::fabs(x - r) <= 1e-3f && std::fabs(r) < 2e9f) {
      const int iv = static_cast<int>(r);
      k = iv >= 0 && iv < 256 ? lut[iv] : labels.internal(iv);
    }
    if (k < 0) {
      std::string allowed;
      for (int v : labels.file_values) {
        if (!allowed.empty()) allowed += ',';
        allowed += std::to_string(v);
      }
      throw FormatError(msg(path, ": label value ", x, " at voxel ", i, " is not in the label set {", allowed,
                            "} (pass the dataset's label values, e.g. --label-values)"));
    }
    out[i] = static_cast<uint8_t>(k);
  }
  return out;
}

namespace {

// The linear-interpolated percentiles (numpy's default) of the brain voxels, exactly, without sorting
// millions of values: a histogram over [min, max] finds the bin of each needed rank, and only the values of
// those few bins are ordered.
std::pair<float, float> brain_percentiles(const std::vector<float>& x, const std::vector<uint8_t>& brain, double low,
                                          double high, bool& any) {
  float mn = 0, mx = 0;
  int64_t n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!brain[i]) continue;
    mn = n ? std::min(mn, x[i]) : x[i];
    mx = n ? std::max(mx, x[i]) : x[i];
    ++n;
  }
  any = n > 0;
  if (n == 0 || mn == mx) return {mn, mx};
  constexpr int kBins = 4096;
  const double scale = kBins / (static_cast<double>(mx) - mn);
  auto bin_of = [&](float v) { return std::min(static_cast<int>((static_cast<double>(v) - mn) * scale), kBins - 1); };
  std::vector<int64_t> hist(kBins + 1, 0);  // hist[b + 1] counts bin b, then prefix sums: values below bin b
  for (size_t i = 0; i < x.size(); ++i)
    if (brain[i]) ++hist[bin_of(x[i]) + 1];
  for (int b = 0; b < kBins; ++b) hist[b + 1] += hist[b];
  const double pos[2] = {low / 100.0 * static_cast<double>(n - 1), high / 100.0 * static_cast<double>(n - 1)};
  int64_t ranks[4];
  for (int k = 0; k < 2; ++k) {
    ranks[2 * k] = static_cast<int64_t>(std::floor(pos[k]));
    ranks[2 * k + 1] = std::min(ranks[2 * k] + 1, n - 1);
  }
  // Bin of each rank, then the values of those bins.
  int bins[4];
  std::map<int, std::vector<float>> members;
  for (int r = 0; r < 4; ++r) {
    bins[r] = static_cast<int>(std::upper_bound(hist.begin(), hist.end(), ranks[r]) - hist.begin()) - 1;
    members[bins[r]];
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!brain[i]) continue;
    auto it = members.find(bin_of(x[i]));
    if (it != members.end()) it->second.push_back(x[i]);
  }
  float v[4];
  for (int r = 0; r < 4; ++r) {
    auto& m = members[bins[r]];
    const auto k = static_cast<std::ptrdiff_t>(ranks[r] - hist[bins[r]]);
    std::nth_element(m.begin(), m.begin() + k, m.end());
    v[r] = m[static_cast<size_t>(k)];
  }
  auto interp = [&](int k) {
    return static_cast<float>(v[2 * k] + (pos[k] - std::floor(pos[k])) * (static_cast<double>(v[2 * k + 1]) - v[2 * k]));
  };
  return {interp(0), interp(1)};
}

}  // namespace

void normalize_percentile(Volume& v, const std::vector<uint8_t>& brain, double low_pct, double high_pct) {
  if (brain.size() != v.voxels.size()) throw ShapeError("normalize_percentile: brain mask and volume differ in size");
  if (!(low_pct >= 0 && low_pct < high_pct && high_pct <= 100))
    throw ValueError(msg("normalize_percentile: need 0 <= low < high <= 100, got ", low_pct, ", ", high_pct));
  bool any = false;
  const auto [lo, hi] = brain_percentiles(v.voxels, brain, low_pct, high_pct, any);
  const float scale = any && hi > lo ? 2.0f / (hi - lo) : 0.0f;
  for (size_t i = 0; i < brain.size(); ++i) {
    float& x = v.voxels[i];
    x = brain[i] && scale != 0.0f ? std::clamp((std::clamp(x, lo, hi) - lo) * scale - 1.0f, -1.0f, 1.0f) : -1.0f;
  }
}

void normalize_zscore(Volume& v, const std::vector<uint8_t>& brain) {
  if (brain.size() != v.voxels.size()) throw ShapeError("normalize_zscore: brain mask and volume differ in size");
  double sum = 0, sq = 0;
  int64_t n = 0;
  for (size_t i = 0; i < brain.size(); ++i)
    if (brain[i]) {
      sum += v.voxels[i];
      ++n;
    }
  const double mean = n ? sum / static_cast<double>(n) : 0.0;
  for (size_t i = 0; i < brain.size(); ++i)
    if (brain[i]) sq += (v.voxels[i] - mean) * (v.voxels[i] - mean);
  const double sd = n > 1 ? std::sqrt(sq / static_cast<double>(n)) : 0.0;
  const double inv = sd > 0 ? 1.0 / sd : 0.0;
  for (size_t i = 0; i < brain.size(); ++i)
    v.voxels[i] = brain[i] ? static_cast<float>((v.voxels[i] - mean) * inv) : 0.0f;
}

}  // namespace asyndgan::data
