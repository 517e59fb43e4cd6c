// labeled_grid: tile_grid's cells framed by a header row and a label column drawn with the bitmap font.
#include "apps/io/grid.h"
#include <algorithm>
#include "apps/io/bitmap_font.h"
#include "base/error.h"

namespace asyndgan {
namespace {

// Text padding inside a label cell: 1 font pixel left and right (narrow cells keep one more character),
// 2 above and below; lines of a wrapped name 1 font pixel apart.
struct LabelLayout {
  int scale, pad_x, pad_y, line_step;
  explicit LabelLayout(int s) : scale(s), pad_x(s), pad_y(2 * s), line_step(text_height(s) + s) {}
  int block_height(size_t lines) const { return static_cast<int>(lines) * line_step - scale; }
};

}  // namespace

int grid_label_scale(int cell_width) { return std::clamp(cell_width / 64, 1, 3); }

Image8 labeled_grid(const std::vector<Image8>& tiles, int columns, const std::vector<std::string>& column_names,
                    const std::vector<std::string>& row_names, uint8_t separator) {
  const Image8 cells = tile_grid(tiles, columns, separator);  // validates tiles and columns
  int cw = 0, ch = 0;
  for (const Image8& t : tiles) cw = std::max(cw, t.width), ch = std::max(ch, t.height);
  const int cols = std::min<int>(columns, static_cast<int>(tiles.size()));
  const int rows = static_cast<int>((tiles.size() + columns - 1) / columns);
  if (!column_names.empty() && static_cast<int>(column_names.size()) != cols)
    throw ValueError(msg("labeled_grid: ", column_names.size(), " column names for ", cols, " columns"));
  if (!row_names.empty() && static_cast<int>(row_names.size()) != rows)
    throw ValueError(msg("labeled_grid: ", row_names.size(), " row names for ", rows, " rows"));

  const LabelLayout lay(grid_label_scale(cw));
  std::vector<std::vector<std::string>> headers;
  size_t header_lines = 0;
  for (const std::string& name : column_names) {
    headers.push_back(wrap_text(name, cw - 2 * lay.pad_x, lay.scale));
    header_lines = std::max(header_lines, headers.back().size());
  }
  const int header_h = headers.empty() ? 0 : lay.block_height(header_lines) + 2 * lay.pad_y;
  // The label column is as wide as the widest name, at most one cell; a row shows the lines that fit in it.
  int text_w = 0;
  for (const std::string& name : row_names) text_w = std::max(text_w, text_width(name, lay.scale));
  text_w = std::min(text_w, cw);
  const int label_w = row_names.empty() ? 0 : text_w + 2 * lay.pad_x;
  const auto row_lines = static_cast<size_t>(std::max(1, (ch + lay.scale) / lay.line_step));

  // Each label area is followed by a separator line before the cells.
  const int x0 = label_w ? label_w + 1 : 0, y0 = header_h ? header_h + 1 : 0;
  Image8 grid(x0 + cells.width, y0 + cells.height, cells.channels, 0);
  for (int y = 0; y < cells.height; ++y)
    std::copy_n(&cells.pixels[static_cast<size_t>(y) * cells.width * cells.channels],
                static_cast<size_t>(cells.width) * cells.channels, &grid.at(x0, y0 + y));
  const auto line = [&](int x, int y) {
    for (int c = 0; c < grid.channels; ++c) grid.at(x, y, c) = separator;
  };
  if (header_h) {
    for (int x = 0; x < grid.width; ++x) line(x, header_h);
    for (int k = 0; k < cols; ++k) {
      const int left = x0 + k * (cw + 1);
      if (k > 0)
        for (int y = 0; y < header_h; ++y) line(left - 1, y);
      const auto& lines = headers[static_cast<size_t>(k)];
      for (size_t i = 0; i < lines.size(); ++i)
        draw_text(grid, left + (cw - text_width(lines[i], lay.scale)) / 2,
                  lay.pad_y + static_cast<int>(i) * lay.line_step, lines[i], lay.scale);
    }
  }
  if (label_w) {
    for (int y = 0; y < grid.height; ++y) line(label_w, y);
    for (int r = 0; r < rows; ++r) {
      const int top = y0 + r * (ch + 1);
      if (r > 0)
        for (int x = 0; x < label_w; ++x) line(x, top - 1);
      auto lines = wrap_text(row_names[static_cast<size_t>(r)], text_w, lay.scale);
      lines.resize(std::min(lines.size(), row_lines));
      const int first = top + std::max(0, (ch - lay.block_height(lines.size())) / 2);
      for (size_t i = 0; i < lines.size(); ++i)
        draw_text(grid, lay.pad_x, first + static_cast<int>(i) * lay.line_step, lines[i], lay.scale);
    }
  }
  return grid;
}

}  // namespace asyndgan
