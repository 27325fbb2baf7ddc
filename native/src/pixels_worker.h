#pragma once
#include <napi.h>

#include "decoded_pixels.h"

#include <cstdlib>
#include <string>


// Runs Decode(job, pixels, error) on libuv's thread pool and settles a promise with
// { data: Buffer (owning the pixels), width, height, channels } or an Error with the message.
// For the addon's decoders that return one block of pixels (tiff_rgba.cc, jp2_decode.cc).
template <typename Job, bool (*Decode)(const Job&, DecodedPixels&, std::string&)>
class PixelsWorker : public Napi::AsyncWorker {
 public:
  PixelsWorker(Napi::Env env, const Job& job) : Napi::AsyncWorker(env), job_(job), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~PixelsWorker() override { std::free(pixels_.data); }

  // Queues a decode of `job`; the worker deletes itself once the promise is settled.
  static Napi::Promise Start(Napi::Env env, const Job& job) {
    auto* worker = new PixelsWorker(env, job);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    std::string error;
    if (!Decode(job_, pixels_, error)) SetError(error.empty() ? "decoding failed" : error);
  }

  void OnOK() override {
    Napi::Env env = Env();
    const size_t bytes = static_cast<size_t>(pixels_.width) * pixels_.height * pixels_.channels;
    unsigned char* data = pixels_.data;
    pixels_.data = nullptr;
    Napi::Object out = Napi::Object::New(env);
    out.Set("data", Napi::Buffer<unsigned char>::New(env, data, bytes, [](Napi::Env, unsigned char* p) { std::free(p); }));
    out.Set("width", Napi::Number::New(env, pixels_.width));
    out.Set("height", Napi::Number::New(env, pixels_.height));
    out.Set("channels", Napi::Number::New(env, pixels_.channels));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Job job_;
  DecodedPixels pixels_;
  Napi::Promise::Deferred deferred_;
};
