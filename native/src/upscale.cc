#include "upscale.h"
#include "upscale_core.h"
#include "job_args.h"

#include <string>

namespace {

using vitrine_upscale::UpscaleJob;

class UpscaleWorker : public Napi::AsyncWorker {
 public:
  UpscaleWorker(Napi::Env env, const UpscaleJob& job, Napi::Buffer<unsigned char> in, Napi::Buffer<unsigned char> out)
      : Napi::AsyncWorker(env, "vitrine:upscaleBicubic"), job_(job), deferred_(Napi::Promise::Deferred::New(env)) {
    // Both buffers are held until the pool is done with them.
    in_ = Napi::Persistent(in);
    out_ = Napi::Persistent(out);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { vitrine_upscale::Upscale(job_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  UpscaleJob job_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Buffer<unsigned char>> in_;
  Napi::Reference<Napi::Buffer<unsigned char>> out_;
};

Napi::Value UpscaleBicubic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& message) {
    Napi::TypeError::New(env, "upscaleBicubic: " + message).ThrowAsJavaScriptException();
    return env.Null();
  };
  if (info.Length() != 1 || !info[0].IsObject()) return fail("expects one job object");
  Napi::Object object = info[0].As<Napi::Object>();
  UpscaleJob job;
  if (!IntProperty(object, "width", 1, 1 << 16, job.width) || !IntProperty(object, "height", 1, 1 << 16, job.height) ||
      !IntProperty(object, "channels", 1, 4, job.channels) || !IntProperty(object, "outWidth", 1, 1 << 16, job.outWidth) ||
      !IntProperty(object, "outHeight", 1, 1 << 16, job.outHeight)) {
    return fail("width, height, channels, outWidth, outHeight must be integers in range");
  }
  Napi::Value data = object.Get("data");
  Napi::Value out = object.Get("out");
  if (!data.IsBuffer() || !out.IsBuffer()) return fail("data and out must be Buffers");
  auto in = data.As<Napi::Buffer<unsigned char>>();
  auto target = out.As<Napi::Buffer<unsigned char>>();
  job.in = in.Data();
  job.inSize = in.Length();
  job.out = target.Data();
  job.outSize = target.Length();
  if (job.in == job.out) return fail("data and out must be different buffers");
  const std::string invalid = vitrine_upscale::CheckUpscale(job);
  if (!invalid.empty()) return fail(invalid);
  auto* worker = new UpscaleWorker(env, job, in, target);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterUpscale(Napi::Env env, Napi::Object exports) { exports.Set("upscaleBicubic", Napi::Function::New(env, UpscaleBicubic)); }
