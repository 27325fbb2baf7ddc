// Vitrine's native helpers: small, hot operations where libvips' per-call overhead dominates.
#include <napi.h>

#include "jpeg_crop.h"
#include "memory.h"
#include "upscale.h"
#ifdef VITRINE_REGION_DECODE
#include "region_decode.h"
#include "finish.h"
#endif
#ifdef VITRINE_LIBTIFF
#include "tiff_rgba.h"
#endif
#ifdef VITRINE_OPENJPEG
#include "jp2_decode.h"
#include "jp2_encode.h"
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterJpegCrop(env, exports);
  RegisterMemory(env, exports);
  RegisterUpscale(env, exports);
#ifdef VITRINE_REGION_DECODE
  // Needs libjpeg-turbo's libjpeg API (jpeglib.h: Debian libjpeg62-turbo-dev) besides TurboJPEG.
  RegisterRegionDecode(env, exports);
  // Resize, turn and encode decoded regions in one job (libjpeg-turbo encodes).
  RegisterFinish(env, exports);
#endif
#ifdef VITRINE_OPENJPEG
  // OpenJPEG (Debian libopenjp2-7-dev): JPEG 2000 decoding by area and resolution, and encoding.
  RegisterJp2Decode(env, exports);
  RegisterJp2Encode(env, exports);
#endif
#ifdef VITRINE_LIBTIFF
  // The system libtiff (Debian libtiff-dev): what sharp's libtiff cannot decode (old-style JPEG).
  RegisterTiffRgba(env, exports);
#endif
  return exports;
}

NODE_API_MODULE(vitrine_native, Init)
