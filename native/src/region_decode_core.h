#pragma once
// The JPEG tile decoder behind decodeJpegTiles (region_decode.h), without N-API: what the addon
// runs on libuv's pool and what the fuzz targets (native/fuzz/) call directly.

#include <cstddef>
#include <string>
#include <vector>

namespace vitrine_region {

enum Colour { kGrey = 0, kYCbCr = 1, kRgb = 2 };

// Where one stored tile's pixels go: a rectangle of the tile (at 1/denominator) to a place in `out`.
struct Placement {
  const unsigned char* data;
  size_t size;
  int srcX, srcY, width, height, dstX, dstY;
};

struct TilesJob {
  const unsigned char* tables = nullptr;
  size_t tablesSize = 0;
  std::vector<Placement> tiles;
  int tileWidth = 0, tileHeight = 0, denominator = 1, colour = kYCbCr;
  unsigned char* out = nullptr;
  size_t outSize = 0;
  int width = 0, height = 0, channels = 3;
  // Colour tiles written out as one grey channel (the `gray` and `bitonal` qualities).
  bool grey = false;
};

// Why the job cannot run (a placement outside its tile or the destination, an out buffer too small,
// parameters out of range), or "" when it can. DecodeTiles trusts a job this accepted.
std::string CheckJob(const TilesJob& job);

// The scratch row buffer DecodeTiles needs for the job.
size_t ScratchSize(const TilesJob& job);

// Decodes the placements into job.out; false with libjpeg's reason (corrupt data included).
bool DecodeTiles(const TilesJob& job, unsigned char* scratch, std::string& error);

}  // namespace vitrine_region
