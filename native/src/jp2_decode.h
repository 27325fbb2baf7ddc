#pragma once
#include <napi.h>

// Adds the JPEG 2000 decoder's functions to the exports.
void RegisterJp2Decode(Napi::Env env, Napi::Object exports);
