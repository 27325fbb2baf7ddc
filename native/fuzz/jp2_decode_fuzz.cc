// libFuzzer target: OpenJPEG area decoding and the colour conversion to display pixels
// (jp2_decode_core.cc, jp2_colour.cc), as `vitrine serve` runs them on a JP2 or J2K file.
// Parameter bytes: reduce, the area (x0, y0, width, height, in 1/256ths of 2048 px), full resolution.

#include <string>

#include "../src/jp2_decode_core.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vitrine_fuzz::Input input(data, size, 6);
  if (input.fileSize < 12) return 0;
  vitrine_fuzz::MemoryFile file(input.file, input.fileSize);
  if (!file.ok()) return 0;
  vitrine_jp2::AreaJob job;
  job.fd = file.fd();
  job.size = input.fileSize;
  // A JP2 file starts with its signature box; anything else is tried as a raw codestream.
  job.jp2 = input.fileSize >= 12 && input.file[3] == 0x0c && input.file[4] == 'j' && input.file[5] == 'P';
  job.reduce = input.params[0] % 6;
  job.x0 = input.params[1] * 8;
  job.y0 = input.params[2] * 8;
  job.x1 = job.x0 + 1 + input.params[3] * 8;
  job.y1 = job.y0 + 1 + input.params[4] * 8;
  job.fullResolution = (input.params[5] & 1) != 0;
  job.threads = 1;
  DecodedPixels pixels;
  std::string error;
  vitrine_fuzz::ReadAndFree(pixels, vitrine_jp2::DecodeArea(job, pixels, error));
  return 0;
}
