// The bitmap font (apps/io/bitmap_font.h) and labelled sample grids (apps/io/grid.h): glyph bitmaps, text
// metrics and truncation, and where a grid's header row, row labels and cells land.
#include <doctest/doctest.h>
#include <string>
#include <vector>
#include "apps/io/bitmap_font.h"
#include "apps/io/grid.h"
#include "base/error.h"

using namespace asyndgan;

namespace {

// The pixels of a w x h region as rows of '#' (any channel non-zero) and '.'.
std::vector<std::string> ink(const Image8& im, int x0, int y0, int w, int h) {
  std::vector<std::string> rows;
  for (int y = y0; y < y0 + h; ++y) {
    std::string row;
    for (int x = x0; x < x0 + w; ++x) {
      bool on = false;
      for (int c = 0; c < im.channels; ++c) on = on || im.at(x, y, c) != 0;
      row += on ? '#' : '.';
    }
    rows.push_back(row);
  }
  return rows;
}

struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;  // inclusive; x1 < 0 when there is no ink
  int width() const { return x1 - x0 + 1; }
  int height() const { return y1 - y0 + 1; }
};

// The bounding box of the non-black pixels in a region.
Box ink_box(const Image8& im, int x0, int y0, int w, int h) {
  Box b;
  const auto rows = ink(im, x0, y0, w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (rows[y][x] == '#') b.x0 = std::min(b.x0, x0 + x), b.y0 = std::min(b.y0, y0 + y), b.x1 = std::max(b.x1, x0 + x),
                             b.y1 = std::max(b.y1, y0 + y);
  return b;
}

// True when the region's ink is exactly `text` drawn at its ink box (white, the given scale): the label
// reads `text` and nothing else is drawn there.
void check_label(const Image8& im, int x0, int y0, int w, int h, const std::string& text, int scale) {
  const Box b = ink_box(im, x0, y0, w, h);
  REQUIRE_MESSAGE(b.x1 >= 0, "no ink where '" << text << "' belongs");
  Image8 want(text_width(text, scale), text_height(scale), 1);
  draw_text(want, 0, 0, text, scale);
  // Text starting with a glyph whose first column is blank has its ink box shifted right; compare from
  // the drawn glyphs' own ink box.
  const Box wb = ink_box(want, 0, 0, want.width, want.height);
  CHECK_MESSAGE(b.width() == wb.width(), text);
  CHECK_MESSAGE(b.height() == wb.height(), text);
  CHECK_MESSAGE(ink(im, b.x0, b.y0, b.width(), b.height()) == ink(want, wb.x0, wb.y0, wb.width(), wb.height()), text);
  for (int y = b.y0; y <= b.y1; ++y)
    for (int x = b.x0; x <= b.x1; ++x)
      if (ink(im, x, y, 1, 1)[0] == "#") CHECK(im.at(x, y, 0) == 255);  // white on black
}

}  // namespace

TEST_CASE("bitmap_font: 'A' draws its 5x7 bitmap, scaled by whole pixels, clipped at the image edge") {
  const std::vector<std::string> A = {".###.", "#...#", "#...#", "#...#", "#####", "#...#", "#...#"};
  Image8 im(7, 9, 3, 0);
  draw_text(im, 1, 1, "A");
  CHECK(ink(im, 1, 1, 5, 7) == A);
  CHECK(ink(im, 0, 0, 7, 1) == std::vector<std::string>{"......."});  // nothing outside the glyph
  CHECK(ink(im, 0, 8, 7, 1) == std::vector<std::string>{"......."});
  CHECK(ink(im, 6, 0, 1, 9) == std::vector<std::string>(9, "."));
  CHECK((im.at(1, 2, 0) == 255 && im.at(1, 2, 1) == 255 && im.at(1, 2, 2) == 255));

  Image8 big(10, 14, 1, 0);
  draw_text(big, 0, 0, "A", 2);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 10; ++x) CHECK(ink(big, x, y, 1, 1)[0][0] == A[y / 2][x / 2]);

  Image8 edge(3, 4, 1, 0);
  draw_text(edge, -2, -3, "A");  // only the glyph's lower-right part lands
  CHECK(ink(edge, 0, 0, 3, 4) == std::vector<std::string>{"..#", "###", "..#", "..#"});
}

TEST_CASE("bitmap_font: text metrics, truncation to a width, and '?' for characters outside ASCII") {
  CHECK(text_width("") == 0);
  CHECK(text_width("a") == 5);
  CHECK(text_width("ab") == 11);
  CHECK(text_width("ab", 2) == 22);
  CHECK(text_height(3) == 21);
  CHECK(fit_text("abcdef", 17) == "abc");  // 3 characters need 17 pixels
  CHECK(fit_text("abcdef", 16) == "ab");
  CHECK(fit_text("abcdef", 34, 2) == "abc");
  CHECK(fit_text("abcdef", 33, 2) == "ab");
  CHECK(fit_text("abc", 1000) == "abc");
  CHECK(fit_text("abc", 4).empty());
  CHECK(wrap_text("t1ce real", 30) == std::vector<std::string>{"t1ce", "real"});
  CHECK(wrap_text("t1 real", 41) == std::vector<std::string>{"t1 real"});
  CHECK(wrap_text("a bb  ccccccc d", 17) == std::vector<std::string>{"a", "bb", "ccc", "d"});
  CHECK(wrap_text("", 10) == std::vector<std::string>{""});
  CHECK(glyph_columns('\t') == glyph_columns('?'));
  CHECK(glyph_columns(static_cast<char>(200)) == glyph_columns('?'));
  CHECK(glyph_columns('?') != glyph_columns(' '));
  Image8 im(5, 7, 1);
  CHECK_THROWS_AS(draw_text(im, 0, 0, "x", 0), ValueError);
  CHECK_THROWS_AS(text_width("x", 0), ValueError);
}

TEST_CASE("grid: labeled_grid adds a header row naming each column and a label column naming each row") {
  // 2 rows x 3 columns of 48x30 tiles, gray values that differ per tile.
  std::vector<Image8> tiles;
  for (int i = 0; i < 6; ++i) tiles.emplace_back(48, 30, 1, static_cast<uint8_t>(20 + i));
  const std::vector<std::string> cols = {"cond", "t1 real", "t1 fake"}, rows = {"SiteA", "SiteB"};
  const Image8 g = labeled_grid(tiles, 3, cols, rows, 255);
  // Scale 1 (cells under 128 pixels): the header is 7 + 2 * 2 (padding) tall, the label column as wide
  // as "SiteA" (29) + 2 * 1; each is followed by a separator line.
  const int header = 11, label = 31, x0 = label + 1, y0 = header + 1;
  CHECK(g.width == x0 + 3 * 48 + 2);
  CHECK(g.height == y0 + 2 * 30 + 1);
  CHECK(g.channels == 1);
  for (int k = 0; k < 3; ++k) check_label(g, x0 + k * 49, 0, 48, header, cols[static_cast<size_t>(k)], 1);
  for (int r = 0; r < 2; ++r) check_label(g, 0, y0 + r * 31, label, 30, rows[static_cast<size_t>(r)], 1);
  CHECK(ink_box(g, 0, 0, label, header).x1 < 0);  // the corner stays black
  // Labels are centred: "cond" (23 wide) in a 48-pixel cell starts 12 pixels in; "SiteA" (7 tall) in a
  // 30-pixel row 11 down.
  CHECK(ink_box(g, x0, 0, 48, header).x0 == x0 + 12);
  CHECK(ink_box(g, 0, y0, label, 30).y0 == y0 + 11);
  // Separators: below the header, right of the labels, and between label cells like between tiles.
  for (int x = 0; x < g.width; ++x) CHECK(g.at(x, header) == 255);
  for (int y = 0; y < g.height; ++y) CHECK(g.at(label, y) == 255);
  CHECK(g.at(x0 + 48, 3) == 255);
  CHECK(g.at(5, y0 + 30) == 255);
  // The cells are tile_grid's, shifted past the labels.
  for (int i = 0; i < 6; ++i) CHECK(g.at(x0 + (i % 3) * 49 + 20, y0 + (i / 3) * 31 + 15) == 20 + i);
  const Image8 plain = tile_grid(tiles, 3, 255);
  for (int y = 0; y < plain.height; ++y)
    for (int x = 0; x < plain.width; ++x) REQUIRE(g.at(x0 + x, y0 + y) == plain.at(x, y));
}

TEST_CASE("grid: long names wrap at spaces and are cut to the cell width, and large cells get larger text") {
  std::vector<Image8> tiles(4, Image8(32, 32, 3, 0));
  const Image8 g = labeled_grid(tiles, 2, {"averyverylongword", "t1ce real"}, {"hospital_number_7", "big site b"}, 255);
  // 32-pixel cells hold 30 pixels of text, 5 characters: "t1ce real" takes two lines, so the header is
  // 7 + 1 + 7 + 2 * 2 tall; the label column is one cell wide (+ 2 * 1) since the longest name is wider.
  const int header = 19, label = 32 + 2, x0 = label + 1, y0 = header + 1;
  CHECK(g.width == x0 + 2 * 32 + 1);
  CHECK(g.height == y0 + 2 * 32 + 1);
  CHECK(g.channels == 3);
  check_label(g, x0, 0, 32, header, "avery", 1);
  check_label(g, x0 + 33, 0, 32, 2 + 7 + 1, "t1ce", 1);
  check_label(g, x0 + 33, 10, 32, header - 10, "real", 1);
  check_label(g, 0, y0, label, 32, "hospi", 1);
  // "big site b": three lines, 23 pixels, centred in the 32-pixel row from 4 pixels down.
  check_label(g, 0, y0 + 33 + 4, label, 7, "big", 1);
  check_label(g, 0, y0 + 33 + 12, label, 7, "site", 1);
  check_label(g, 0, y0 + 33 + 20, label, 7, "b", 1);

  std::vector<Image8> large(2, Image8(128, 128, 1, 0));
  const Image8 l = labeled_grid(large, 2, {"cond", "flair fake"}, {"SiteA"}, 255);
  CHECK(grid_label_scale(128) == 2);
  const int header2 = 14 + 8, label2 = text_width("SiteA", 2) + 4;
  CHECK(l.width == label2 + 1 + 2 * 128 + 1);
  CHECK(l.height == header2 + 1 + 128);
  check_label(l, label2 + 1 + 129, 0, 128, header2, "flair fake", 2);
  check_label(l, 0, header2 + 1, label2, 128, "SiteA", 2);
}

TEST_CASE("grid: without names labeled_grid is tile_grid, and a wrong number of names is a ValueError") {
  std::vector<Image8> tiles(3, Image8(4, 4, 1, 9));
  const Image8 plain = tile_grid(tiles, 2, 128);
  const Image8 g = labeled_grid(tiles, 2, {}, {}, 128);
  CHECK(g.width == plain.width);
  CHECK(g.height == plain.height);
  CHECK(g.pixels == plain.pixels);
  CHECK(labeled_grid(tiles, 2, {"a", "b"}, {}).height == plain.height + 12);
  CHECK(labeled_grid(tiles, 2, {}, {"r0", "r1"}).width == plain.width + 4 + 2 + 1);  // at most a 4-pixel cell
  CHECK_THROWS_AS(labeled_grid(tiles, 2, {"a"}, {}), ValueError);
  CHECK_THROWS_AS(labeled_grid(tiles, 2, {}, {"r0"}), ValueError);
  CHECK_THROWS_AS(labeled_grid({}, 2, {}, {}), ValueError);
}
