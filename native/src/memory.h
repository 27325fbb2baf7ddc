// Memory housekeeping: giving freed memory back (the server) and keeping it for reuse (conversion).
#pragma once
#include <napi.h>

void RegisterMemory(Napi::Env env, Napi::Object exports);
