#pragma once
#include <cstdint>

// Decoded pixels handed from a worker thread to JavaScript: malloc'ed, row-major, interleaved.
struct DecodedPixels {
  unsigned char* data = nullptr;
  uint32_t width = 0, height = 0;
  int channels = 0;
};
