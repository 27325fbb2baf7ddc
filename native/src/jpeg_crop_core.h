#pragma once
// Lossless crop of the top-left corner of a baseline JPEG without TurboJPEG's full transcode, and
// without N-API: what cropJpeg (jpeg_crop.cc) tries first for edge tiles of pyramidal TIFFs.
//
// The entropy-coded data is walked symbol by symbol only to find where blocks end and what their DC
// values are. The kept MCUs are written again with their DC differences re-encoded against their new
// predecessors (MCUs dropped at the end of each row change the prediction chain) and their AC bits
// copied as they are; the walk stops after the last MCU row kept. The decoder clips the last MCU
// of each row and column to the size in the new SOF, as it does for jpegtran -crop's output.
//
// Only Huffman-coded, 8-bit, sequential (SOF0, SOF1) streams with one scan of all their 1 to 3
// components are taken; restart markers are handled (the output has none). Anything else, and any
// stream the walk finds malformed or truncated, is declined: the caller then uses tjTransform.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "jpeg_table_cache.h"

namespace vitrine_crop {

// A restart marker met in the entropy-coded data: where it was once stuffing was removed, its number.
struct RestartMarker {
  size_t offset;
  int number;
};

// What one call leaves behind for the next: buffers, and Huffman tables that are often the same.
struct CropScratch {
  std::vector<uint8_t> entropy;
  std::vector<RestartMarker> restarts;
  TableCache<DcTable, BuildDcTable> dcTables;
  TableCache<AcTable, BuildAcTable> acTables;
  BlockStartCache blockStarts;
};

// Writes the top-left width × height of the JPEG stream `jpeg` into `out` (resized to fit). Returns
// nullptr when done, otherwise why the stream is outside what this crop does (then `out` is
// meaningless). Never reads outside jpeg[0, size).
const char* CropTopLeft(const uint8_t* jpeg, size_t size, int width, int height, std::vector<uint8_t>& out, CropScratch& scratch);

}  // namespace vitrine_crop
