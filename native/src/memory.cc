// trimMemory(): gives the allocator's free memory back to the system (glibc malloc_trim). After a
// burst of large renders, glibc keeps the freed buffers in its per-thread arenas and the process
// stays large; the server calls this once the burst is over. Elsewhere it does nothing.
//
// keepFreedMemory(arenas, keepBytes): for processes that run libvips over and over (conversion page
// after page; the server request after request, between its trims). libvips allocates its region
// buffers (256 KB to a few MB each, zero-filled) afresh every time; glibc serves those above its
// mmap threshold with new mappings, and trims freed memory at the top of a heap at once, so every
// page touches new memory: ~7,500 page faults per 27 MP master, and the zero-fill runs on memory
// the kernel must first supply. Serving them from at most `arenas` heaps that keep up to
// `keepBytes` free lets the next page or request reuse the same, already mapped memory.
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

// glibc refuses an mmap threshold above half its largest heap (32 MB on 64-bit systems).
static const int kLargestMmapThreshold = 32 << 20;

static Napi::Value KeepFreedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "keepFreedMemory(arenas, keepBytes): two numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double arenas = info[0].As<Napi::Number>().DoubleValue();
  const double keep = info[1].As<Napi::Number>().DoubleValue();
  if (!(arenas >= 1 && arenas <= 1024 && arenas == static_cast<int>(arenas)) || !(keep >= 0 && keep <= 1 << 30 && keep == static_cast<int>(keep))) {
    Napi::RangeError::New(env, "keepFreedMemory: arenas must be a whole number from 1 to 1024, keepBytes from 0 to 1 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
#if defined(__GLIBC__)
  // Each setting also stops glibc from moving the thresholds by itself.
  const bool ok = mallopt(M_ARENA_MAX, static_cast<int>(arenas)) == 1 && mallopt(M_MMAP_THRESHOLD, kLargestMmapThreshold) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, static_cast<int>(keep)) == 1;
  return Napi::Boolean::New(env, ok);
#else
  return Napi::Boolean::New(env, false);
#endif
}

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory));
  exports.Set("keepFreedMemory", Napi::Function::New(env, KeepFreedMemory));
}
