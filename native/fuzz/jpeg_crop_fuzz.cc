// libFuzzer target: the lossless crop of edge tiles (jpeg_crop_core.cc), as readStoredTile has the
// addon make it. Parameter bytes: the crop's width and height in 1/255ths of the stream's own (as
// TurboJPEG reads it; raw when it cannot).
//
// Besides memory errors, it checks what the crop promises: where it takes a stream, its output has
// the crop's size, and it decodes to the pixels of tjTransform's crop of the same stream whenever
// libjpeg-turbo decodes both without a warning (a warning means libjpeg-turbo read the broken
// stream its own way: filling missing data, skipping bad codes).

#include <turbojpeg.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../src/jpeg_crop_core.h"
#include "fuzz_input.h"

namespace {

struct Decoded {
  bool clean = false;  // decoded without error or warning
  int width = 0, height = 0;
  std::vector<unsigned char> pixels;
};

Decoded Decode(tjhandle handle, const unsigned char* jpeg, size_t size) {
  Decoded result;
  int subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(handle, jpeg, static_cast<unsigned long>(size), &result.width, &result.height, &subsampling, &colourspace) != 0) return result;
  if (result.width > 2048 || result.height > 2048) return result;
  const int format = colourspace == TJCS_GRAY ? TJPF_GRAY : TJPF_RGB;
  result.pixels.resize(static_cast<size_t>(result.width) * result.height * tjPixelSize[format]);
  result.clean = tjDecompress2(handle, jpeg, static_cast<unsigned long>(size), result.pixels.data(), result.width, 0, result.height, format, 0) == 0;
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vitrine_fuzz::Input input(data, size, 2);
  static tjhandle decoder = tjInitDecompress();
  static tjhandle transformer = tjInitTransform();
  static vitrine_crop::CropScratch* scratch = new vitrine_crop::CropScratch();
  if (decoder == nullptr || transformer == nullptr) return 0;

  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(decoder, input.file, static_cast<unsigned long>(input.fileSize), &width, &height, &subsampling, &colourspace) == 0 && width > 0 && height > 0) {
    width = 1 + input.params[0] * (width - 1) / 255;
    height = 1 + input.params[1] * (height - 1) / 255;
  } else {
    width = input.params[0];
    height = input.params[1];
  }

  std::vector<uint8_t> out;
  if (vitrine_crop::CropTopLeft(input.file, input.fileSize, width, height, out, *scratch) != nullptr) return 0;

  const Decoded fast = Decode(decoder, out.data(), out.size());
  if (fast.width != 0 && (fast.width != width || fast.height != height)) {
    std::fprintf(stderr, "jpeg_crop: asked %d×%d, the output says %d×%d\n", width, height, fast.width, fast.height);
    std::abort();
  }
  if (!fast.clean) return 0;

  tjtransform transform;
  std::memset(&transform, 0, sizeof transform);
  transform.r.w = width;
  transform.r.h = height;
  transform.options = TJXOPT_CROP;
  unsigned char* reference = nullptr;
  unsigned long referenceSize = 0;
  if (tjTransform(transformer, input.file, static_cast<unsigned long>(input.fileSize), 1, &reference, &referenceSize, &transform, 0) == 0) {
    const Decoded slow = Decode(decoder, reference, referenceSize);
    if (slow.clean && slow.pixels != fast.pixels) {
      std::fprintf(stderr, "jpeg_crop: the fast crop's pixels differ from tjTransform's\n");
      std::abort();
    }
  }
  if (reference != nullptr) tjFree(reference);
  return 0;
}
