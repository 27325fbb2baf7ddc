// Memory housekeeping for the server process.
#pragma once
#include <napi.h>

void RegisterMemory(Napi::Env env, Napi::Object exports);
