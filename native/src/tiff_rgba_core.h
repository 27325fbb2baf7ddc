#pragma once
// The libtiff RGBA decoder behind decodeTiffRgba (tiff_rgba.h), without N-API: what the addon runs
// on libuv's pool and what the fuzz targets (native/fuzz/) call directly.

#include <cstdint>
#include <string>

#include "decoded_pixels.h"

namespace vitrine_tiff {

struct RgbaJob {
  int fd = -1;          // read with pread, never moved
  uint64_t size = 0;    // the file's size
  uint64_t offset = 0;  // the directory's (IFD's) offset
  uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // the rectangle, [x0, x1) × [y0, y1)
};

// Decodes the rectangle of the directory into 8-bit pixels (malloc'ed, handed to `result`); false
// with libtiff's message.
bool DecodeRgba(const RgbaJob& job, DecodedPixels& result, std::string& error);

}  // namespace vitrine_tiff
