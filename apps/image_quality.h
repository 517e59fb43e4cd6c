// PSNR and SSIM of synthetic against real images per modality, tallied over 2-D planes as synth produces
// them, for its report and its metrics file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "engine/io/json.h"

namespace asyndgan::app {

class QualityTally {
 public:
  // data_range: the value scale's max - min (2 for prepare's percentile normalization to [-1, 1]); 0
  // takes each real plane's own max - min (z-scored images).
  QualityTally(std::vector<std::string> modalities, double data_range);
  // One plane pair of modality m; mask (optional) limits PSNR to the brain as models::psnr does.
  void add(size_t m, const float* real, const float* synthetic, int height, int width, const uint8_t* mask = nullptr);

  struct Score {
    std::string modality;
    int64_t planes = 0;
    double psnr = 0, ssim = 0;  // means over planes; PSNR capped at 99 dB (identical planes); SSIM 0 if never measured
    int64_t ssim_planes = 0;    // planes of at least 11x11, where SSIM is defined
  };
  std::vector<Score> scores() const;  // modalities with at least one plane
  Json to_json() const;               // {modality: {planes, psnr, ssim}}
  std::string report() const;         // one line per modality

 private:
  std::vector<std::string> names_;
  double range_;
  std::vector<Score> sums_;
};

}  // namespace asyndgan::app
