#include "jp2_decode.h"

void RegisterJp2Decode(Napi::Env, Napi::Object) {}
