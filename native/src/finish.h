#pragma once
#include <napi.h>

// finishPixels(job): resize, mirror, turn, threshold and JPEG-encode raw pixels on libuv's pool
// (finish_core.h); resolves with the JPEG, or the raw pixels when no quality is given.
void RegisterFinish(Napi::Env env, Napi::Object exports);
