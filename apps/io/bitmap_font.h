// A fixed 5x7 bitmap font for printable ASCII, drawn into Image8 pixels: the column and row labels of the
// sample grids, readable in any image viewer without relying on PNG text chunks.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>
#include "apps/io/png.h"

namespace asyndgan {

// Every function taking a scale throws ValueError for one below 1.
constexpr int kGlyphWidth = 5, kGlyphHeight = 7;
constexpr int kGlyphAdvance = kGlyphWidth + 1;  // one blank column between characters

// The glyph of `c` as 5 columns, bit y of column x set where pixel (x, y) is ink (y = 0 at the top).
// Characters outside 32..126 draw as '?'.
std::array<uint8_t, kGlyphWidth> glyph_columns(char c);

// Pixels `text` covers at `scale` (each font pixel a scale x scale block): advance per character, less
// the trailing blank column; 0 for "".
int text_width(const std::string& text, int scale = 1);
int text_height(int scale = 1);

// The longest prefix of `text` whose text_width fits in max_width (possibly "").
std::string fit_text(const std::string& text, int max_width, int scale = 1);

// `text` broken at spaces into lines that fit max_width, as many words per line as fit; a word wider than
// max_width is cut to what fits. At least one line (empty for "").
std::vector<std::string> wrap_text(const std::string& text, int max_width, int scale = 1);

// Ink pixels of `text` set to `value` in every channel, top-left corner at (x, y); the rest of the image is
// untouched and ink falling outside it is clipped.
void draw_text(Image8& image, int x, int y, const std::string& text, int scale = 1, uint8_t value = 255);

}  // namespace asyndgan
