// PSNR and SSIM (models/image_metrics.h) against closed forms and against the numpy reference in
// tests/golden/image_metrics.json (made by tests/golden/make_image_metrics.py).
#include <doctest/doctest.h>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>
#include "base/error.h"
#include "engine/io/json.h"
#include "models/image_metrics.h"

using namespace asyndgan;
using namespace asyndgan::models;

namespace {

struct Golden {
  Json j;
  explicit Golden(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::stringstream ss;
    ss << in.rdbuf();
    j = parse_json(ss.str(), path);
  }
  std::vector<float> floats(const std::string& key) const {
    return j.at(key).get<std::vector<float>>();
  }
  double num(const std::string& key) const { return j.at(key).get<double>(); }
};

std::vector<float> pattern(int h, int w) {
  std::vector<float> v(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) v[static_cast<size_t>(y) * w + x] = 0.8f * std::sin(0.4f * x) * std::cos(0.3f * y);
  return v;
}

}  // namespace

TEST_CASE("metrics: PSNR is infinite for identical images and exact for a known error") {
  const std::vector<float> a = pattern(16, 16);
  CHECK(std::isinf(psnr(a.data(), a.data(), a.size(), 2.0)));
  // A constant error e gives MSE e^2, so PSNR = 10 log10(range^2 / e^2) = 20 log10(2 / 0.125) = 24.08 dB.
  std::vector<float> b = a;
  for (float& v : b) v += 0.125f;  // exactly representable, so the MSE is exact
  CHECK(psnr(a.data(), b.data(), a.size(), 2.0) == doctest::Approx(20 * std::log10(2.0 / 0.125)).epsilon(1e-12));
  CHECK(psnr(a.data(), b.data(), a.size(), 1.0) == doctest::Approx(20 * std::log10(1.0 / 0.125)).epsilon(1e-12));
  // The mask restricts the error to the pixels it selects.
  std::vector<uint8_t> mask(a.size(), 0);
  b = a;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i % 2) b[i] += 0.5f;  // error only off the mask
    else mask[i] = 1;
  }
  CHECK(std::isinf(psnr(a.data(), b.data(), a.size(), 2.0, mask.data())));
  CHECK(psnr(a.data(), b.data(), a.size(), 2.0) == doctest::Approx(10 * std::log10(4.0 / 0.125)));
  CHECK_THROWS_AS(psnr(a.data(), b.data(), 0, 2.0), ValueError);
  CHECK_THROWS_AS(psnr(a.data(), b.data(), a.size(), 0.0), ValueError);
  std::vector<uint8_t> none(a.size(), 0);
  CHECK_THROWS_AS(psnr(a.data(), b.data(), a.size(), 2.0, none.data()), ValueError);
}

TEST_CASE("metrics: SSIM is 1 for identical images and falls as noise grows") {
  const std::vector<float> a = pattern(16, 16);
  CHECK(ssim(a.data(), a.data(), 16, 16, 2.0) == doctest::Approx(1.0).epsilon(1e-12));
  double previous = 1.0;
  for (float amp : {0.05f, 0.2f, 0.5f}) {
    std::vector<float> b = a;
    for (size_t i = 0; i < b.size(); ++i) b[i] += amp * (((i * 7919) % 13) / 6.0f - 1.0f);  // fixed pseudo-noise
    const double s = ssim(a.data(), b.data(), 16, 16, 2.0);
    CHECK(s < previous);
    previous = s;
  }
  CHECK(previous < 0.8);
  CHECK_THROWS_AS(ssim(a.data(), a.data(), 10, 16, 2.0), ValueError);
  CHECK_THROWS_AS(ssim(a.data(), a.data(), 16, 16, -1.0), ValueError);
  std::vector<uint8_t> border_only(a.size(), 0);
  for (int x = 0; x < 16; ++x) border_only[x] = 1;  // row 0 holds no window centre
  CHECK_THROWS_AS(ssim(a.data(), a.data(), 16, 16, 2.0, border_only.data()), ValueError);
}

TEST_CASE("metrics: PSNR and SSIM match the numpy reference to 1e-10") {
  const Golden g(std::string(ASYNDGAN_GOLDEN_DIR) + "/image_metrics.json");
  const int h = g.j.at("height").get<int>(), w = g.j.at("width").get<int>();
  const double range = g.num("data_range");
  const std::vector<float> real = g.floats("real"), light = g.floats("light"), heavy = g.floats("heavy");
  const std::vector<uint8_t> mask = g.j.at("mask").get<std::vector<uint8_t>>();
  REQUIRE(real.size() == static_cast<size_t>(h) * w);
  const size_t n = real.size();
  CHECK(psnr(real.data(), light.data(), n, range) == doctest::Approx(g.num("psnr_light")).epsilon(1e-9));
  CHECK(psnr(real.data(), heavy.data(), n, range) == doctest::Approx(g.num("psnr_heavy")).epsilon(1e-9));
  CHECK(psnr(real.data(), light.data(), n, range, mask.data()) == doctest::Approx(g.num("psnr_light_masked")).epsilon(1e-9));
  CHECK(std::abs(ssim(real.data(), light.data(), h, w, range) - g.num("ssim_light")) < 1e-10);
  CHECK(std::abs(ssim(real.data(), heavy.data(), h, w, range) - g.num("ssim_heavy")) < 1e-10);
  CHECK(std::abs(ssim(real.data(), light.data(), h, w, range, mask.data()) - g.num("ssim_light_masked")) < 1e-10);
}
