// PNG writer and grid helpers (apps/io/png.h), checked by decoding our own files here: chunk layout
// and CRCs, IHDR fields, inflated rows and pixels; and by PIL (python3-pil).
#include <doctest/doctest.h>
#include <zlib.h>  // zlib comes with the engine, which links it for the PNG writer
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <fstream>
#include <sstream>
#include "base/error.h"
#include "engine/io/checksum.h"
#include "apps/io/png.h"
#include "engine/file_test_util.h"

using namespace asyndgan;
using namespace asyndgan::test;

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

struct Decoded {
  std::vector<std::string> chunk_types;
  std::vector<std::pair<std::string, std::string>> text;
  uint32_t width = 0, height = 0;
  int depth = 0, color = 0, compression = -1, filter = -1, interlace = -1;
  std::vector<uint8_t> raw;  // inflated IDAT: filter byte + row bytes, per row
};

// A strict little decoder for what encode_png writes; every chunk's CRC must match.
Decoded decode(const std::vector<uint8_t>& png) {
  Decoded d;
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(png.size() > 8);
  REQUIRE(std::equal(sig, sig + 8, png.begin()));
  std::vector<uint8_t> idat;
  size_t p = 8;
  while (p < png.size()) {
    REQUIRE(p + 12 <= png.size());
    const uint32_t len = be32(&png[p]);
    REQUIRE(p + 12 + len <= png.size());
    const std::string type(png.begin() + p + 4, png.begin() + p + 8);
    const uint8_t* data = &png[p + 8];
    CHECK_MESSAGE(be32(data + len) == crc32(&png[p + 4], len + 4), "CRC of chunk " << type);
    d.chunk_types.push_back(type);
    if (type == "IHDR") {
      REQUIRE(len == 13);
      d.width = be32(data), d.height = be32(data + 4);
      d.depth = data[8], d.color = data[9], d.compression = data[10], d.filter = data[11], d.interlace = data[12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    } else if (type == "tEXt") {
      const std::string all(data, data + len);
      const size_t nul = all.find('\0');
      REQUIRE(nul != std::string::npos);
      d.text.emplace_back(all.substr(0, nul), all.substr(nul + 1));
    }
    p += 12 + len;
  }
  const int channels = d.color == 2 ? 3 : 1;
  d.raw.resize((static_cast<size_t>(d.width) * channels + 1) * d.height);
  uLongf n = d.raw.size();
  REQUIRE(uncompress(d.raw.data(), &n, idat.data(), idat.size()) == Z_OK);
  CHECK(n == d.raw.size());
  return d;
}

uint8_t pixel(const Decoded& d, int x, int y, int c) {
  const int channels = d.color == 2 ? 3 : 1;
  const size_t row = d.width * channels + 1;
  REQUIRE(d.raw[y * row] == 0);  // filter type none
  return d.raw[y * row + 1 + x * channels + c];
}

}  // namespace

TEST_CASE("png: grayscale image decodes to the same pixels with valid chunks") {
  Image8 im(5, 3, 1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) im.at(x, y) = static_cast<uint8_t>(x * 50 + y);
  const Decoded d = decode(encode_png(im, {{"Description", "columns: real | synthetic"}}));
  CHECK(d.chunk_types == std::vector<std::string>{"IHDR", "tEXt", "IDAT", "IEND"});
  CHECK(d.width == 5);
  CHECK(d.height == 3);
  CHECK(d.depth == 8);
  CHECK(d.color == 0);
  CHECK(d.compression == 0);
  CHECK(d.filter == 0);
  CHECK(d.interlace == 0);
  CHECK(d.text == std::vector<std::pair<std::string, std::string>>{{"Description", "columns: real | synthetic"}});
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) CHECK(pixel(d, x, y, 0) == x * 50 + y);
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
  const std::vector<char> bytes = read_bytes(dir.file("a.png"));
  const Decoded d = decode(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  CHECK(d.color == 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) CHECK(pixel(d, x, y, c) == im.at(x, y, c));
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
