// PNG encoder: signature, IHDR, optional tEXt, one zlib-compressed IDAT of unfiltered rows, IEND; the
// chunk CRC is the engine's CRC-32 (the same polynomial PNG uses).
#include "apps/io/png.h"
#include <zlib.h>
#include <algorithm>
#include <cmath>
#include "base/error.h"
#include "engine/io/checksum.h"
#include "engine/io/file_io.h"

namespace asyndgan {
namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, crc32(out.data() + start, out.size() - start));
}

void check_image(const Image8& im, const char* what) {
  if (im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3) ||
      im.pixels.size() != static_cast<size_t>(im.width) * im.height * im.channels)
    throw ValueError(msg(what, ": image ", im.width, "x", im.height, "x", im.channels, " with ", im.pixels.size(),
                         " bytes; need width, height > 0, 1 or 3 channels and width*height*channels bytes"));
}

}  // namespace

Image8::Image8(int w, int h, int c, uint8_t fill) : width(w), height(h), channels(c) {
  if (w <= 0 || h <= 0 || (c != 1 && c != 3) || static_cast<int64_t>(w) * h > (int64_t{1} << 30))
    throw ValueError(msg("Image8: size ", w, "x", h, " with ", c, " channels; need positive sizes and 1 or 3 channels"));
  pixels.assign(static_cast<size_t>(w) * h * c, fill);
}

std::vector<uint8_t> encode_png(const Image8& im, const PngText& text) {
  check_image(im, "encode_png");
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, static_cast<uint32_t>(im.width));
  put_be32(ihdr, static_cast<uint32_t>(im.height));
  ihdr.insert(ihdr.end(), {8, static_cast<uint8_t>(im.channels == 1 ? 0 : 2), 0, 0, 0});  // depth, color, methods
  put_chunk(out, "IHDR", ihdr);
  for (const auto& [key, value] : text) {
    const bool ok = !key.empty() && key.size() <= 79 && std::all_of(key.begin(), key.end(), [](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return (c >= 32 && c <= 126) || c >= 161;
    });
    if (!ok) throw ValueError("encode_png: text keyword '" + key + "' must be 1-79 printable Latin-1 characters");
    std::vector<uint8_t> chunk(key.begin(), key.end());
    chunk.push_back(0);
    for (char c : value)
      if (c != '\0') chunk.push_back(static_cast<uint8_t>(c));
    put_chunk(out, "tEXt", chunk);
  }
  // Each row is preceded by its filter type, 0 (none): previews are small, so simplicity wins.
  const size_t row = static_cast<size_t>(im.width) * im.channels;
  std::vector<uint8_t> raw;
  raw.reserve((row + 1) * im.height);
  for (int y = 0; y < im.height; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), im.pixels.begin() + y * row, im.pixels.begin() + (y + 1) * row);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> packed(packed_size);
  if (compress2(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw ValueError(msg("encode_png: zlib could not compress ", raw.size(), " bytes"));
  packed.resize(packed_size);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", {});
  return out;
}

void write_png(const std::string& path, const Image8& image, const PngText& text) {
  const std::vector<uint8_t> bytes = encode_png(image, text);
  AtomicFileWriter out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

Image8 image_from_floats(const float* chw, int channels, int height, int width, float lo, float hi) {
  if (!(hi > lo)) throw ValueError(msg("image_from_floats: range [", lo, ", ", hi, "] is empty"));
  Image8 im(width, height, channels);
  const size_t plane = static_cast<size_t>(height) * width;
  const double scale = 255.0 / (static_cast<double>(hi) - lo);
  for (int c = 0; c < channels; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const double v = (static_cast<double>(chw[c * plane + i]) - lo) * scale;
      im.pixels[i * channels + c] = std::isnan(v) ? 0 : static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
    }
  return im;
}

Image8 tile_grid(const std::vector<Image8>& tiles, int columns, uint8_t separator) {
  if (tiles.empty() || columns <= 0)
    throw ValueError(msg("tile_grid: ", tiles.size(), " tiles in ", columns, " columns; need at least one of each"));
  int cw = 0, ch = 0, channels = 1;
  for (const Image8& t : tiles) {
    check_image(t, "tile_grid");
    cw = std::max(cw, t.width);
    ch = std::max(ch, t.height);
    channels = std::max(channels, t.channels);
  }
  const int cols = std::min<int>(columns, static_cast<int>(tiles.size()));
  const int rows = static_cast<int>((tiles.size() + columns - 1) / columns);
  Image8 grid(cols * cw + cols - 1, rows * ch + rows - 1, channels, 0);
  for (int y = 0; y < grid.height; ++y)
    for (int x = 0; x < grid.width; ++x)
      if (x % (cw + 1) == cw || y % (ch + 1) == ch)
        for (int c = 0; c < channels; ++c) grid.at(x, y, c) = separator;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Image8& t = tiles[i];
    const int x0 = static_cast<int>(i % columns) * (cw + 1), y0 = static_cast<int>(i / columns) * (ch + 1);
    for (int y = 0; y < t.height; ++y)
      for (int x = 0; x < t.width; ++x)
        for (int c = 0; c < channels; ++c) grid.at(x0 + x, y0 + y, c) = t.at(x, y, t.channels == 1 ? 0 : c);
  }
  return grid;
}

}  // namespace asyndgan
