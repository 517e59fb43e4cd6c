// Per-modality PSNR/SSIM tallies over planes, through models/image_metrics.h.
#include "apps/image_quality.h"
#include <algorithm>
#include <cstdio>
#include "base/error.h"
#include "models/image_metrics.h"

namespace asyndgan::app {

QualityTally::QualityTally(std::vector<std::string> modalities, double data_range)
    : names_(std::move(modalities)), range_(data_range), sums_(names_.size()) {
  for (size_t m = 0; m < names_.size(); ++m) sums_[m].modality = names_[m];
}

void QualityTally::add(size_t m, const float* real, const float* synthetic, int height, int width, const uint8_t* mask) {
  const size_t n = static_cast<size_t>(height) * static_cast<size_t>(width);
  double range = range_;
  if (range <= 0) {
    const auto [lo, hi] = std::minmax_element(real, real + n);
    range = *hi - *lo;
    if (!(range > 0)) return;  // a flat plane has no scale to measure against
  }
  if (mask && std::none_of(mask, mask + n, [](uint8_t v) { return v != 0; })) mask = nullptr;
  Score& s = sums_.at(m);
  s.psnr += std::min(99.0, models::psnr(real, synthetic, n, range, mask));
  ++s.planes;
  if (height >= 11 && width >= 11) {
    s.ssim += models::ssim(real, synthetic, height, width, range);
    ++s.ssim_planes;
  }
}

std::vector<QualityTally::Score> QualityTally::scores() const {
  std::vector<Score> out;
  for (const Score& s : sums_) {
    if (s.planes == 0) continue;
    Score r = s;
    r.psnr = s.psnr / static_cast<double>(s.planes);
    r.ssim = s.ssim_planes ? s.ssim / static_cast<double>(s.ssim_planes) : 0.0;
    out.push_back(r);
  }
  return out;
}

Json QualityTally::to_json() const {
  Json o = Json::object();
  for (const Score& s : scores()) {
    Json& m = o[s.modality];
    m["planes"] = s.planes;
    m["psnr"] = s.psnr;
    m["ssim"] = s.ssim_planes ? Json(s.ssim) : Json();
  }
  return o;
}

std::string QualityTally::report() const {
  std::string out;
  for (const Score& s : scores()) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-8s PSNR %6.2f dB  SSIM %.4f  (%lld planes)\n", s.modality.c_str(), s.psnr,
                  s.ssim, static_cast<long long>(s.planes));
    out += line;
  }
  return out.empty() ? "  (no real images to compare with)\n" : out;
}

}  // namespace asyndgan::app
