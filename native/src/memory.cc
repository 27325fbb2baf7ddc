// trimMemory(): gives the allocator's free memory back to the system (glibc malloc_trim). After a
// burst of large renders, glibc keeps the freed buffers in its per-thread arenas and the process
// stays large; the server calls this once the burst is over. Elsewhere it does nothing.
#include "memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

static Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory));
}
