#pragma once
// Bicubic upsizing of raw 8-bit pixels, without N-API: what upscale.cc runs on libuv's pool.

#include <cstddef>
#include <string>

namespace vitrine_upscale {

struct UpscaleJob {
  const unsigned char* in = nullptr;
  size_t inSize = 0;
  int width = 0, height = 0, channels = 0;
  unsigned char* out = nullptr;
  size_t outSize = 0;
  int outWidth = 0, outHeight = 0;
};

// Why the job cannot run (sizes out of range, a buffer too small, a smaller output), or "".
std::string CheckUpscale(const UpscaleJob& job);

// Resamples job.in (width × height × channels, interleaved) to outWidth × outHeight into job.out.
// Trusts a job CheckUpscale accepted.
void Upscale(const UpscaleJob& job);

}  // namespace vitrine_upscale
