// PNG encoding through libspng (deflate, row filters, chunk CRCs), with the text keywords and values
// checked here first so that a bad one is named in the error.
#include "apps/io/png.h"
#include <spng.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include "base/error.h"
#include "engine/io/file_io.h"

namespace asyndgan {
namespace {

void check_image(const Image8& im, const char* what) {
  if (im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3) ||
      im.pixels.size() != static_cast<size_t>(im.width) * im.height * im.channels)
    throw ValueError(msg(what, ": image ", im.width, "x", im.height, "x", im.channels, " with ", im.pixels.size(),
                         " bytes; need width, height > 0, 1 or 3 channels and width*height*channels bytes"));
}

bool latin1_printable(unsigned char c) { return (c >= 32 && c <= 126) || c >= 161; }

// The PNG rules for keywords and text (which spng enforces with a bare "invalid argument"); bytes from 0x80
// up are allowed in values since those are written as UTF-8 iTXt.
void check_text(const std::string& what, const std::string& key, const std::string& value) {
  const bool key_ok = !key.empty() && key.size() <= 79 && key.front() != ' ' && key.back() != ' ' &&
                      key.find("  ") == std::string::npos &&
                      std::all_of(key.begin(), key.end(), [](char c) { return latin1_printable(static_cast<unsigned char>(c)); });
  if (!key_ok)
    throw ValueError(msg(what, ": text keyword '", key, "' must be 1-79 printable Latin-1 characters without leading, "
                         "trailing or double spaces"));
  const bool value_ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '\n' || (u >= 32 && u != 127);
  });
  if (!value_ok)
    throw ValueError(msg(what, ": text '", key, "' must be non-empty, without control characters other than newline"));
}

bool ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 128; });
}

using SpngContext = std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)>;

void check_spng(int err, const std::string& what, const char* step) {
  if (err != 0) throw ValueError(msg(what, ": libspng ", step, " failed: ", spng_strerror(err)));
}

// `what` names the caller (and the file, for write_png) in every error.
std::vector<uint8_t> encode(const Image8& im, const PngText& text, const std::string& what) {
  check_image(im, what.c_str());
  for (const auto& [key, value] : text) check_text(what, key, value);
  SpngContext ctx(spng_ctx_new(SPNG_CTX_ENCODER), spng_ctx_free);
  if (!ctx) throw ValueError(msg(what, ": libspng could not create an encoder (out of memory)"));
  check_spng(spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1), what, "buffer output");
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(im.width);
  ihdr.height = static_cast<uint32_t>(im.height);
  ihdr.bit_depth = 8;
  ihdr.color_type = im.channels == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR;
  check_spng(spng_set_ihdr(ctx.get(), &ihdr), what, "IHDR");
  // spng keeps pointers into `chunks` (and the strings of `text`) until the image is encoded. tEXt is
  // Latin-1, so a value with non-ASCII (UTF-8) bytes, a site name say, goes into an iTXt chunk instead.
  std::vector<spng_text> chunks(text.size());
  char no_language[] = "";
  for (size_t i = 0; i < text.size(); ++i) {
    std::copy(text[i].first.begin(), text[i].first.end(), chunks[i].keyword);
    chunks[i].type = ascii(text[i].second) ? SPNG_TEXT : SPNG_ITXT;
    chunks[i].length = text[i].second.size();
    chunks[i].text = const_cast<char*>(text[i].second.data());
    chunks[i].language_tag = chunks[i].translated_keyword = no_language;
  }
  if (!chunks.empty()) check_spng(spng_set_text(ctx.get(), chunks.data(), static_cast<uint32_t>(chunks.size())), what, "tEXt");
  check_spng(spng_encode_image(ctx.get(), im.pixels.data(), im.pixels.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), what,
             "encoding");
  size_t size = 0;
  int err = 0;
  std::unique_ptr<void, decltype(&std::free)> buffer(spng_get_png_buffer(ctx.get(), &size, &err), std::free);
  check_spng(err, what, "output");
  const auto* bytes = static_cast<const uint8_t*>(buffer.get());
  return std::vector<uint8_t>(bytes, bytes + size);
}

}  // namespace

Image8::Image8(int w, int h, int c, uint8_t fill) : width(w), height(h), channels(c) {
  if (w <= 0 || h <= 0 || (c != 1 && c != 3) || static_cast<int64_t>(w) * h > (int64_t{1} << 30))
    throw ValueError(msg("Image8: size ", w, "x", h, " with ", c, " channels; need positive sizes and 1 or 3 channels"));
  pixels.assign(static_cast<size_t>(w) * h * c, fill);
}

std::vector<uint8_t> encode_png(const Image8& image, const PngText& text) { return encode(image, text, "encode_png"); }

void write_png(const std::string& path, const Image8& image, const PngText& text) {
  const std::vector<uint8_t> bytes = encode(image, text, "write_png " + path);
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
