#pragma once
// From OpenJPEG's decoded components to the 8-bit grey or sRGB pixels Vitrine serves: subsampled
// components upsampled onto the reference grid, colour spaces converted (sYCC, e-sYCC, CIELab, CMYK,
// an embedded ICC profile through Little CMS), every output byte written. Used by jp2_decode.cc.

#include <string>

#include <openjpeg.h>

namespace vitrine_jp2 {

// An area of a resolution level, on that level's reference grid: [x0, x1) × [y0, y1), where level
// `reduce` of the reference grid has coordinates ceil(X / 2^reduce).
struct LevelArea {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int reduce = 0;
};

// Interleaved 8-bit pixels, malloc'ed (the caller frees `data`): 1 grey, 2 grey + alpha, 3 RGB,
// 4 RGB + alpha.
struct Pixels {
  unsigned char* data = nullptr;
  int width = 0, height = 0, channels = 0;
};

// The level area a decode of the reference-grid area [x0, x1) × [y0, y1) at `reduce` yields.
LevelArea AreaAtLevel(int x0, int y0, int x1, int y1, int reduce);

// Converts `image` (decoded over `area`) to `out`, exactly the area's size. Fails, with a reason,
// when a component has no data or does not cover the area, or the colour space cannot be converted.
bool ToDisplayPixels(const opj_image_t* image, const LevelArea& area, Pixels& out, std::string& error);

// Averages full-resolution pixels `in` (level 0 of `full`) into level `reduce` of the same area:
// what a palette image looks like at a reduced size (its indices cannot be reduced, only its colours).
bool Reduce(const Pixels& in, const LevelArea& full, int reduce, Pixels& out, std::string& error);

// Whether colour management (ICC profiles, CIELab) is compiled in (Little CMS).
bool HasColourManagement();

}  // namespace vitrine_jp2
