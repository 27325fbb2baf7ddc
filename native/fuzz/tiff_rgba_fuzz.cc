// libFuzzer target: libtiff's RGBA decoding of one directory (tiff_rgba_core.cc), the fallback
// `vitrine serve` and `vitrine convert` use for old-style JPEG TIFFs.
// Parameter bytes: the rectangle (x0, y0, width, height), in pixels.

#include <string>

#include "../src/tiff_rgba_core.h"
#include "fuzz_input.h"

namespace {

// The first directory's offset, from the classic (42) or BigTIFF (43) header; 0 when there is none.
uint64_t FirstDirectory(const uint8_t* file, size_t size) {
  if (size < 8) return 0;
  const bool little = file[0] == 'I';
  auto read = [&](size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= static_cast<uint64_t>(file[at + (little ? i : bytes - 1 - i)]) << (8 * i);
    return v;
  };
  const uint64_t version = read(2, 2);
  if (version == 42) return read(4, 4);
  if (version == 43 && size >= 16) return read(8, 8);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vitrine_fuzz::Input input(data, size, 4);
  const uint64_t directory = FirstDirectory(input.file, input.fileSize);
  if (directory == 0) return 0;
  vitrine_fuzz::MemoryFile file(input.file, input.fileSize);
  if (!file.ok()) return 0;
  vitrine_tiff::RgbaJob job;
  job.fd = file.fd();
  job.size = input.fileSize;
  job.offset = directory;
  job.x0 = input.params[0];
  job.y0 = input.params[1];
  job.x1 = job.x0 + 1 + input.params[2];
  job.y1 = job.y0 + 1 + input.params[3];
  DecodedPixels pixels;
  std::string error;
  vitrine_fuzz::ReadAndFree(pixels, vitrine_tiff::DecodeRgba(job, pixels, error));
  return 0;
}
