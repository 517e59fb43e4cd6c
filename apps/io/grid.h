// Sample grids with their labels drawn into the pixels: a header row naming each column and a label column
// naming each row, so a grid reads the same in any image viewer.
#pragma once
#include <string>
#include <vector>
#include "apps/io/png.h"

namespace asyndgan {

// The text scale for cells `cell_width` pixels wide: the 5x7 font doubled from 128-pixel cells and tripled
// from 192, so labels stay readable next to large tiles.
int grid_label_scale(int cell_width);

// tile_grid(tiles, columns, separator) with, when column_names is not empty, a header row above it naming
// each grid column (centred) and, when row_names is not empty, a label column on its left naming each grid
// row (vertically centred): white text on black, separated from the cells (and the label cells from each
// other) by lines of `separator`. The label column is as wide as its longest name, at most one cell. A
// name wider than its cell is wrapped at spaces (the header grows to the most lines; a row label keeps the
// lines its row has room for) and a word wider than the cell is cut to the characters that fit.
// ValueError unless column_names is empty or has one name per grid column (min(columns, tiles)), and
// likewise row_names per grid row.
Image8 labeled_grid(const std::vector<Image8>& tiles, int columns, const std::vector<std::string>& column_names,
                    const std::vector<std::string>& row_names, uint8_t separator = 255);

}  // namespace asyndgan
