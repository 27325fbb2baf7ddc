#pragma once
#include <napi.h>

// decodeJpegTiles(job): Promise<void>
// Decodes the parts of stored JPEG tiles (one resolution level of a tiled TIFF) that a region needs
// and composes them into one raw, row-major, interleaved RGB or grey buffer. Runs on libuv's pool
// (an AsyncWorker), so the JavaScript thread stays free and requests decode in parallel.
//
// job = {
//   tables: Buffer | undefined,  // the TIFF's JPEGTables (a tables-only stream), if any
//   tiles: Buffer[],             // each tile's stored stream (abbreviated or complete)
//   placements: Int32Array,      // per tile: srcX, srcY, width, height, dstX, dstY, in output pixels
//   tileWidth, tileHeight,       // the tiles' full-resolution dimensions (each stream must have them)
//   denominator: 1 | 2 | 4 | 8,  // libjpeg-turbo's DCT scaling: the tiles are decoded at 1/denominator
//   colour: 0 | 1 | 2,           // 0 grey, 1 YCbCr (converted to RGB), 2 RGB stored as is
//   grey: boolean | undefined,   // colour tiles written as one grey channel, as libvips' sRGB → B_W
//   out: Buffer, width, height,  // the destination: width × height × (1 or 3) bytes
// }
//
// Only the rows a placement needs are decoded (skipped rows above are entropy-decoded without the
// inverse DCT; rows below are not read), and only the iMCU columns it needs (jpeg_crop_scanline).
// Any libjpeg warning (corrupt data) is an error: the caller then falls back to libvips.
Napi::Value DecodeJpegTiles(const Napi::CallbackInfo& info);

// Adds decodeJpegTiles to the exports when jpeglib.h is libjpeg-turbo's (2.0 or later), else nothing.
void RegisterRegionDecode(Napi::Env env, Napi::Object exports);
