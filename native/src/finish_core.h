#pragma once
// The rest of a region request once its pixels are decoded, without N-API: resize (libvips'
// reduce or bicubic upsizing, the same bytes), mirror, turn by a multiple of 90°, threshold, and
// encode as JPEG with libjpeg-turbo. What finish.cc runs on libuv's pool, in one pass.

#include <cstddef>
#include <cstdint>
#include <string>

namespace vitrine_finish {

struct FinishJob {
  const uint8_t* in = nullptr;
  size_t inSize = 0;
  int width = 0, height = 0, channels = 0;  // 1 (grey) or 3 (RGB)
  int outWidth = 0, outHeight = 0;          // the size asked, before turning
  int kernel = 5;                           // vitrine_reduce::Kernel
  bool mirror = false;
  int rotation = 0;                         // 0, 90, 180 or 270, clockwise
  bool threshold = false;                   // bitonal: 255 from 128 on, else 0 (grey only)
  int quality = 0;                          // JPEG quality 1–100, or 0 for raw pixels
};

// Why the job cannot run as libvips would (sizes, a resize libvips does another way), or "".
std::string CheckFinish(const FinishJob& job);

// A block from malloc() holding the result, freed with this unless released.
struct Output {
  uint8_t* data = nullptr;
  size_t size = 0;
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output();
  uint8_t* Release();
};

// Runs a job CheckFinish accepted: `out` receives the JPEG, or the raw pixels (turned) when
// job.quality is 0. False with libjpeg's reason when encoding fails.
bool Finish(const FinishJob& job, Output& out, std::string& error);

}  // namespace vitrine_finish
