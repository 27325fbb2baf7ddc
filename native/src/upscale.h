#pragma once
#include <napi.h>

// upscaleBicubic({ data, width, height, channels, out, outWidth, outHeight }) → Promise<void>:
// resamples raw interleaved 8-bit pixels to a larger size into `out`, on libuv's thread pool, as
// libvips' bicubic upsizing does (see upscale_core.cc), for a fraction of its time.
void RegisterUpscale(Napi::Env env, Napi::Object exports);
