#pragma once
// The JPEG 2000 area decoder behind decodeJp2 (jp2_decode.h), without N-API: what the addon runs on
// libuv's pool and what the fuzz targets (native/fuzz/) call directly.

#include <cstdint>
#include <string>

#include "decoded_pixels.h"

namespace vitrine_jp2 {

struct AreaJob {
  int fd = -1;          // read with pread, never moved
  uint64_t size = 0;    // the file's size
  bool jp2 = true;      // a JP2 file (else a raw J2K codestream)
  int reduce = 0;       // highest resolution levels discarded
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // the area on the reference grid
  int threads = 1;      // OpenJPEG threads for this decode
  // Decode at full resolution and average down to `reduce`: a palette image's indices cannot be
  // reduced by the wavelet (their averages index other colours), only its expanded colours can.
  bool fullResolution = false;
};

// Decodes the job's area into 8-bit display pixels (malloc'ed, handed to `out`); false with
// OpenJPEG's (or the colour conversion's) reason.
bool DecodeArea(const AreaJob& job, DecodedPixels& out, std::string& error);

}  // namespace vitrine_jp2
