// PNG writer and grid helpers (apps/io/png.h), checked by walking our files' chunks (layout and CRCs), by
// libspng's decoder (IHDR, pixels, tEXt) and by PIL (python3-pil).
#include <doctest/doctest.h>
#include <spng.h>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <fstream>
#include <memory>
#include <sstream>
#include "base/error.h"
#include "engine/io/checksum.h"
#include "apps/io/png.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

// The chunk types in file order; every chunk's CRC must match.
std::vector<std::string> chunk_types(const std::vector<uint8_t>& png) {
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(png.size() > 8);
  REQUIRE(std::equal(sig, sig + 8, png.begin()));
  std::vector<std::string> types;
  for (size_t p = 8; p < png.size();) {
    REQUIRE(p + 12 <= png.size());
    const uint32_t len = be32(&png[p]);
    REQUIRE(p + 12 + len <= png.size());
    types.emplace_back(png.begin() + p + 4, png.begin() + p + 8);
    CHECK_MESSAGE(be32(&png[p + 8 + len]) == crc32(&png[p + 4], len + 4), "CRC of chunk " << types.back());
    p += 12 + len;
  }
  return types;
}

struct Decoded {
  spng_ihdr ihdr{};
  std::vector<uint8_t> pixels;  // as stored: 1 or 3 bytes per pixel
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<int> text_types;  // SPNG_TEXT or SPNG_ITXT, per entry of `text`
};

// libspng's decoder, strict about CRCs (its default), reading what our encoder wrote.
Decoded spng_decode(const std::vector<uint8_t>& png) {
  std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)> ctx(spng_ctx_new(0), spng_ctx_free);
  REQUIRE(ctx);
  REQUIRE(spng_set_png_buffer(ctx.get(), png.data(), png.size()) == 0);
  Decoded d;
  REQUIRE(spng_get_ihdr(ctx.get(), &d.ihdr) == 0);
  size_t size = 0;
  REQUIRE(spng_decoded_image_size(ctx.get(), SPNG_FMT_PNG, &size) == 0);
  d.pixels.resize(size);
  const int err = spng_decode_image(ctx.get(), d.pixels.data(), size, SPNG_FMT_PNG, 0);
  REQUIRE_MESSAGE(err == 0, spng_strerror(err));
  uint32_t n = 0;
  if (spng_get_text(ctx.get(), nullptr, &n) == 0 && n > 0) {
    std::vector<spng_text> chunks(n);
    REQUIRE(spng_get_text(ctx.get(), chunks.data(), &n) == 0);
    for (const spng_text& t : chunks) {
      d.text_types.push_back(t.type);
      d.text.emplace_back(t.keyword, std::string(t.text, t.length));
    }
  }
  return d;
}

std::vector<uint8_t> as_bytes(const std::vector<char>& chars) { return std::vector<uint8_t>(chars.begin(), chars.end()); }

}  // namespace

TEST_CASE("png: grayscale image decodes to the same pixels and text with valid chunks") {
  Image8 im(5, 3, 1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) im.at(x, y) = static_cast<uint8_t>(x * 50 + y);
  const PngText text{{"Description", "columns: real | synthetic\nrows: SiteA, SiteB"}, {"Title", "grid"}};
  const std::vector<uint8_t> png = encode_png(im, text);
  CHECK(chunk_types(png) == std::vector<std::string>{"IHDR", "tEXt", "tEXt", "IDAT", "IEND"});
  const Decoded d = spng_decode(png);
  CHECK(d.ihdr.width == 5);
  CHECK(d.ihdr.height == 3);
  CHECK(d.ihdr.bit_depth == 8);
  CHECK(d.ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE);
  CHECK(d.ihdr.interlace_method == 0);
  CHECK(d.text == text);
  CHECK(d.text_types == std::vector<int>{SPNG_TEXT, SPNG_TEXT});
  CHECK(d.pixels == im.pixels);
}

TEST_CASE("png: a text with UTF-8 goes into an iTXt chunk and decodes unchanged") {
  const PngText text{{"Title", "plain"}, {"Description", "rows: H\xc3\xb4pital Sud, SiteB"}};
  const std::vector<uint8_t> png = encode_png(Image8(2, 2, 1, 7), text);
  CHECK(chunk_types(png) == std::vector<std::string>{"IHDR", "tEXt", "iTXt", "IDAT", "IEND"});
  const Decoded d = spng_decode(png);
  CHECK(d.text == text);
  CHECK(d.text_types == std::vector<int>{SPNG_TEXT, SPNG_ITXT});
}

TEST_CASE("png: a large RGB image round-trips through libspng's decoder") {
  // Noise over gradients: every row filter and several deflate blocks get exercised.
  Image8 im(300, 200, 3);
  uint32_t state = 12345;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int c = 0; c < 3; ++c) {
        state = state * 1664525u + 1013904223u;
        im.at(x, y, c) = static_cast<uint8_t>(c == 0 ? x : c == 1 ? y + (state >> 29) : state >> 24);
      }
  const Decoded d = spng_decode(encode_png(im));
  CHECK(d.ihdr.width == 300);
  CHECK(d.ihdr.height == 200);
  CHECK(d.ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR);
  CHECK(d.text.empty());
  CHECK(d.pixels == im.pixels);
}

TEST_CASE("png: RGB from [-1,1] floats, written atomically") {
  // Planar [3, 2, 2]: red ramps, green constant, blue out of range on both sides and NaN.
  const float chw[12] = {-1.f, 0.f, 0.5f, 1.f,     0.f, 0.f, 0.f, 0.f,     -3.f, 3.f, std::nanf(""), -0.999f};
  const Image8 im = image_from_floats(chw, 3, 2, 2);
  CHECK(im.channels == 3);
  CHECK(im.at(0, 0, 0) == 0);
  CHECK(im.at(1, 0, 0) == 128);  // 127.5 rounds up
  CHECK(im.at(0, 1, 0) == 191);  // 191.25
  CHECK(im.at(1, 1, 0) == 255);
  CHECK(im.at(1, 1, 1) == 128);
  CHECK(im.at(0, 0, 2) == 0);
  CHECK(im.at(1, 0, 2) == 255);
  CHECK(im.at(0, 1, 2) == 0);
  CHECK(im.at(1, 1, 2) == 0);  // 0.1275 rounds down
  ScratchDir dir("png_rgb");
  write_png(dir.file("a.png"), im);
  CHECK(dir.entries() == 1);
  const Decoded d = spng_decode(as_bytes(read_bytes(dir.file("a.png"))));
  CHECK(d.ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR);
  CHECK(d.pixels == im.pixels);
}

TEST_CASE("png: tile_grid lays tiles out with 1-pixel separators and promotes gray to RGB") {
  Image8 a(2, 2, 1, 10), b(2, 2, 3, 0), c(1, 2, 1, 30);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) b.at(x, y, 0) = 200, b.at(x, y, 1) = 100, b.at(x, y, 2) = 50;
  const Image8 g = tile_grid({a, b, c}, 2, 255);
  CHECK(g.width == 2 * 2 + 1);
  CHECK(g.height == 2 * 2 + 1);
  CHECK(g.channels == 3);
  CHECK(g.at(0, 0, 2) == 10);                                    // gray a repeated into RGB
  CHECK(g.at(2, 0, 0) == 255);                                   // vertical separator
  CHECK(g.at(0, 2, 1) == 255);                                   // horizontal separator
  CHECK((g.at(3, 1, 0) == 200 && g.at(3, 1, 1) == 100 && g.at(3, 1, 2) == 50));  // b
  CHECK(g.at(0, 4, 0) == 30);                                    // c, next row
  CHECK(g.at(1, 4, 0) == 0);                                     // c is narrower than its cell
  CHECK(g.at(4, 4, 0) == 0);                                     // the empty cell
  const Image8 single = tile_grid({a}, 4);
  CHECK(single.width == 2);  // no separator without a neighbour
  CHECK(single.channels == 1);
}

TEST_CASE("png: bad images and keywords are ValueErrors") {
  CHECK_THROWS_AS(Image8(0, 3, 1), ValueError);
  CHECK_THROWS_AS(Image8(3, 3, 2), ValueError);
  Image8 wrong;
  wrong.width = 2, wrong.height = 2, wrong.channels = 1;
  wrong.pixels.resize(3);
  CHECK(contains_all(error_message<ValueError>([&] { encode_png(wrong); }), {"encode_png", "2x2x1", "3 bytes"}));
  CHECK_THROWS_AS(encode_png(Image8(1, 1, 1), {{"", "x"}}), ValueError);
  CHECK(contains_all(error_message<ValueError>([] { encode_png(Image8(1, 1, 1), {{"Two  spaces", "x"}}); }),
                     {"encode_png", "'Two  spaces'", "double spaces"}));
  CHECK(contains_all(error_message<ValueError>([] { encode_png(Image8(1, 1, 1), {{"Title", "tab\there"}}); }),
                     {"encode_png", "'Title'", "control characters"}));
  CHECK_THROWS_AS(encode_png(Image8(1, 1, 1), {{"Title", ""}}), ValueError);
  ScratchDir dir("png_errors");
  CHECK(contains_all(error_message<ValueError>([&] { write_png(dir.file("k.png"), Image8(1, 1, 1), {{" lead", "x"}}); }),
                     {"write_png", dir.file("k.png"), "' lead'"}));
  CHECK(dir.entries() == 0);
  CHECK(contains_all(error_message<IOError>([&] { write_png(dir.file("no/such/dir/a.png"), Image8(1, 1, 1)); }),
                     {dir.file("no/such/dir/a.png")}));
  CHECK_THROWS_AS(tile_grid({}, 2), ValueError);
  CHECK_THROWS_AS(image_from_floats(nullptr, 1, 1, 1, 1.f, 1.f), ValueError);
}

// PIL is an independent decoder (Debian's python3-pil, which `make deps` installs).
TEST_CASE("png: PIL reads our grid with the same pixels") {
  REQUIRE_MESSAGE(std::system("/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1") == 0,
                  "/usr/bin/python3 cannot import PIL: install python3-pil (make deps does)");
  Image8 a(3, 2, 1), b(3, 2, 3);
  for (size_t i = 0; i < a.pixels.size(); ++i) a.pixels[i] = static_cast<uint8_t>(i * 40);
  for (size_t i = 0; i < b.pixels.size(); ++i) b.pixels[i] = static_cast<uint8_t>(255 - i * 13);
  const Image8 g = tile_grid({a, b}, 2, 128);
  ScratchDir dir("png_pil");
  write_png(dir.file("g.png"), g, {{"Comment", "grid"}});
  const std::string out = dir.file("pil.txt");
  const std::string cmd = "/usr/bin/python3 -c \"from PIL import Image; im = Image.open('" + dir.file("g.png") +
                          "'); im.load(); print(im.mode, im.size[0], im.size[1], im.text.get('Comment'), "
                          "' '.join(str(v) for px in im.getdata() for v in px))\" > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out);
  std::string mode, comment;
  int w = 0, h = 0;
  in >> mode >> w >> h >> comment;
  CHECK(mode == "RGB");
  CHECK(w == g.width);
  CHECK(h == g.height);
  CHECK(comment == "grid");
  std::vector<int> values{std::istream_iterator<int>(in), std::istream_iterator<int>()};
  REQUIRE(values.size() == g.pixels.size());
  for (size_t i = 0; i < values.size(); ++i) CHECK(values[i] == g.pixels[i]);
}
