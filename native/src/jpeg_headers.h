#pragma once
// The segments of a JPEG stream up to its first scan, read for the lossless crop (jpeg_crop_core.cc):
// only what a baseline, Huffman-coded, 8-bit, single-scan stream has is accepted.

#include <cstddef>
#include <cstdint>

namespace vitrine_crop {

struct FrameComponent {
  int id = 0;
  int h = 1, v = 1;  // sampling factors
  int quantTable = 0;
};

struct ScanComponent {
  int frameIndex = 0;
  int dcTable = 0, acTable = 0;
};

// Where a DHT entry is in the stream: 16 counts, then the symbols (size bytes in all).
struct HuffmanEntry {
  const uint8_t* bytes = nullptr;
  size_t size = 0;
};

struct StreamHeaders {
  int width = 0, height = 0;
  int componentCount = 0;
  FrameComponent components[3];
  size_t frameAt = 0;  // the SOF marker's offset
  // The last DRI's interval, and each DRI segment's interval field (the output has no restarts).
  int restartInterval = 0;
  size_t restartFieldAt[4] = {};
  int restartFieldCount = 0;
  int scanCount = 0;
  ScanComponent scan[3];
  HuffmanEntry huffman[2][4];  // [DC, AC][slot]: the last definition before the scan
  size_t dataAt = 0;           // the first byte of entropy-coded data
};

// Reads the segments from SOI to the first SOS. Returns nullptr, or why the stream is outside what
// the crop takes (it then goes to tjTransform, which handles or refuses it). Reads only jpeg[0, size).
const char* ReadHeaders(const uint8_t* jpeg, size_t size, StreamHeaders& headers);

}  // namespace vitrine_crop
