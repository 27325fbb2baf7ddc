#include "jp2_encode.h"

void RegisterJp2Encode(Napi::Env, Napi::Object) {}
