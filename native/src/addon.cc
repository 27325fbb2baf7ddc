// Vitrine's native helpers: small, hot operations where libvips' per-call overhead dominates.
#include <napi.h>

#include "jpeg_crop.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("cropJpeg", Napi::Function::New(env, CropJpeg));
  return exports;
}

NODE_API_MODULE(vitrine_native, Init)
