// 8-bit grayscale and RGB PNG writing (libspng, written atomically) and the image helpers the sample grids
// are built from (labeled_grid in apps/io/grid.h adds their text labels).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace asyndgan {

// Pixels row-major with the channels interleaved (RGBRGB...); channels is 1 (gray) or 3 (RGB).
struct Image8 {
  int width = 0, height = 0, channels = 1;
  std::vector<uint8_t> pixels;

  Image8() = default;
  Image8(int width, int height, int channels, uint8_t fill = 0);  // ValueError for a bad size or channels
  uint8_t& at(int x, int y, int c = 0) { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int x, int y, int c = 0) const { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
};

// (keyword, text) pairs stored as PNG tEXt chunks, e.g. {"Description", "columns: condition | real |
// synthetic; rows: site0, site1"}: labels a program can read back. A text with non-ASCII bytes is taken as
// UTF-8 and stored as an iTXt chunk (tEXt is Latin-1).
using PngText = std::vector<std::pair<std::string, std::string>>;

// The PNG file bytes. ValueError for an empty image, a keyword that is not 1-79 printable Latin-1
// characters (no leading, trailing or double spaces), a text that is empty or holds control characters
// other than newline, or an encoding error (with libspng's message).
std::vector<uint8_t> encode_png(const Image8& image, const PngText& text = {});
// encode_png written through AtomicFileWriter, so a crash never leaves a half-written preview; its errors
// name the path (IOError when the file cannot be written).
void write_png(const std::string& path, const Image8& image, const PngText& text = {});

// Planar floats [channels, height, width] (channels 1 or 3) mapped linearly from [lo, hi] to 0..255,
// rounded and clamped; NaN becomes 0. The default range is the generator's tanh output.
Image8 image_from_floats(const float* chw, int channels, int height, int width, float lo = -1.f, float hi = 1.f);

// Tiles laid out row by row in `columns` columns with 1-pixel separator lines of value `separator`
// between cells (none around the border). Cells are as large as the largest tile, smaller tiles sit
// top-left on black; gray tiles are repeated into RGB when any tile is RGB.
Image8 tile_grid(const std::vector<Image8>& tiles, int columns, uint8_t separator = 255);

}  // namespace asyndgan
