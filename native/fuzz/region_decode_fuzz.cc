// libFuzzer target: decoding parts of stored JPEG tiles at a DCT scale (region_decode_core.cc), as
// `vitrine serve` does for regions of pyramidal TIFFs. The job is built as the JavaScript side builds
// it, then checked by CheckJob as the addon checks it, so only jobs the addon would run are run.
// Parameter bytes: denominator, colour, grey, the placement (srcX, srcY, width, height) in 1/255ths
// of the scaled tile, the split of the input into a JPEGTables stream and a tile stream.

#include <turbojpeg.h>

#include <string>
#include <vector>

#include "../src/region_decode_core.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vitrine_fuzz::Input input(data, size, 8);
  if (input.fileSize < 4) return 0;
  // The stream's own size and colour space, as the TIFF's tags would give them.
  tjhandle handle = tjInitDecompress();
  if (handle == nullptr) return 0;
  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  const bool header = tjDecompressHeader3(handle, input.file, static_cast<unsigned long>(input.fileSize), &width, &height, &subsampling, &colourspace) == 0;
  tjDestroy(handle);
  if (!header || width <= 0 || height <= 0 || width > 4096 || height > 4096) return 0;

  vitrine_region::TilesJob job;
  job.denominator = 1 << (input.params[0] % 4);
  job.tileWidth = width;
  job.tileHeight = height;
  job.colour = colourspace == TJCS_GRAY ? vitrine_region::kGrey : (input.params[1] & 1) ? vitrine_region::kRgb : vitrine_region::kYCbCr;
  job.grey = job.colour != vitrine_region::kGrey && (input.params[2] & 1);
  job.channels = job.colour == vitrine_region::kGrey || job.grey ? 1 : 3;
  const int scaledWidth = width / job.denominator;
  const int scaledHeight = height / job.denominator;
  if (scaledWidth < 1 || scaledHeight < 1) return 0;
  vitrine_region::Placement placement{};
  placement.srcX = input.params[3] * (scaledWidth - 1) / 255;
  placement.srcY = input.params[4] * (scaledHeight - 1) / 255;
  placement.width = 1 + input.params[5] * (scaledWidth - placement.srcX - 1) / 255;
  placement.height = 1 + input.params[6] * (scaledHeight - placement.srcY - 1) / 255;
  // A split inside the stream hands its first part to the decoder as JPEGTables.
  const size_t split = input.params[7] < 128 ? 0 : (input.fileSize * (input.params[7] - 128)) / 128;
  if (split > 0) {
    job.tables = input.file;
    job.tablesSize = split;
  }
  placement.data = input.file + split;
  placement.size = input.fileSize - split;
  job.tiles.push_back(placement);
  job.width = placement.width;
  job.height = placement.height;
  std::vector<unsigned char> out(static_cast<size_t>(job.width) * job.height * job.channels);
  job.out = out.data();
  job.outSize = out.size();
  if (!vitrine_region::CheckJob(job).empty()) return 0;
  std::vector<unsigned char> scratch(vitrine_region::ScratchSize(job));
  std::string error;
  vitrine_region::DecodeTiles(job, scratch.data(), error);
  return 0;
}
