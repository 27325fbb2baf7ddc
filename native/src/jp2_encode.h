#pragma once
#include <napi.h>

// Adds the JPEG 2000 encoder's functions to the exports.
void RegisterJp2Encode(Napi::Env env, Napi::Object exports);
