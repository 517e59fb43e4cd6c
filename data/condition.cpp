// Condition maps for the generator: one-hot labels plus the brain mask, or the AsynDGAN paper's single
// channel of tumor labels merged with the brain outline.
#include <algorithm>
#include "data/preprocess.h"

namespace asyndgan::data {

void onehot_condition(const uint8_t* labels, const uint8_t* brain, int64_t h, int64_t w, int classes, float* out) {
  const int64_t n = h * w;
  std::fill(out, out + n * (classes + 1), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    out[labels[i] * n + i] = 1.0f;
    out[classes * n + i] = brain[i] ? 1.0f : 0.0f;
  }
}

std::vector<uint8_t> fill_holes(const uint8_t* brain, int64_t h, int64_t w) {
  // Flood the background from the border; whatever it cannot reach is brain or a hole in it.
  std::vector<uint8_t> outside(static_cast<size_t>(h * w), 0);
  std::vector<int64_t> stack;
  auto push = [&](int64_t y, int64_t x) {
    const int64_t i = y * w + x;
    if (!brain[i] && !outside[i]) {
      outside[i] = 1;
      stack.push_back(i);
    }
  };
  for (int64_t x = 0; x < w; ++x) push(0, x), push(h - 1, x);
  for (int64_t y = 0; y < h; ++y) push(y, 0), push(y, w - 1);
  while (!stack.empty()) {
    const int64_t i = stack.back();
    stack.pop_back();
    const int64_t y = i / w, x = i % w;
    if (y > 0) push(y - 1, x);
    if (y + 1 < h) push(y + 1, x);
    if (x > 0) push(y, x - 1);
    if (x + 1 < w) push(y, x + 1);
  }
  for (auto& o : outside) o = !o;
  return outside;
}

void asyndgan_condition(const uint8_t* labels, const uint8_t* brain, int64_t h, int64_t w, int classes, float* out) {
  const std::vector<uint8_t> filled = fill_holes(brain, h, w);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t i = y * w + x;
      float v = 0.0f;
      if (labels[i] > 0) {
        v = static_cast<float>(labels[i]) / static_cast<float>(classes);
      } else if (!filled[i]) {
        const bool edge = (y > 0 && filled[i - w]) || (y + 1 < h && filled[i + w]) || (x > 0 && filled[i - 1]) ||
                          (x + 1 < w && filled[i + 1]);
        v = edge ? 1.0f : 0.0f;
      }
      out[i] = v;
    }
}

}  // namespace asyndgan::data
