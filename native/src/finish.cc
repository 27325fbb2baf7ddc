#include "finish.h"
#include "finish_core.h"
#include "job_args.h"
#include "reduce_core.h"

#include <cstdlib>
#include <string>

namespace {

using vitrine_finish::FinishJob;

class FinishWorker : public Napi::AsyncWorker {
 public:
  FinishWorker(Napi::Env env, const FinishJob& job, Napi::Buffer<unsigned char> in)
      : Napi::AsyncWorker(env, "vitrine:finishPixels"), job_(job), deferred_(Napi::Promise::Deferred::New(env)) {
    in_ = Napi::Persistent(in);  // held until the pool is done with it
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::string error;
    if (!vitrine_finish::Finish(job_, out_, error)) SetError("finishPixels: " + error);
  }
  void OnOK() override {
    // The result's block becomes the Buffer's memory, freed with it.
    const size_t size = out_.size;
    deferred_.Resolve(Napi::Buffer<uint8_t>::New(Env(), out_.Release(), size, [](Napi::Env, uint8_t* data) { std::free(data); }));
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  FinishJob job_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Buffer<unsigned char>> in_;
  vitrine_finish::Output out_;
};

int KernelCode(const std::string& name) {
  if (name == "linear") return vitrine_reduce::kLinear;
  if (name == "cubic") return vitrine_reduce::kCubic;
  if (name == "mitchell") return vitrine_reduce::kMitchell;
  if (name == "lanczos2") return vitrine_reduce::kLanczos2;
  if (name == "lanczos3") return vitrine_reduce::kLanczos3;
  return 0;
}

Napi::Value FinishPixels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& message) {
    Napi::TypeError::New(env, "finishPixels: " + message).ThrowAsJavaScriptException();
    return env.Null();
  };
  if (info.Length() != 1 || !info[0].IsObject()) return fail("expects one job object");
  Napi::Object object = info[0].As<Napi::Object>();
  FinishJob job;
  if (!IntProperty(object, "width", 1, 1 << 16, job.width) || !IntProperty(object, "height", 1, 1 << 16, job.height) ||
      !IntProperty(object, "channels", 1, 3, job.channels) || !IntProperty(object, "outWidth", 1, 1 << 16, job.outWidth) ||
      !IntProperty(object, "outHeight", 1, 1 << 16, job.outHeight) || !IntProperty(object, "rotation", 0, 270, job.rotation) ||
      !IntProperty(object, "quality", 0, 100, job.quality)) {
    return fail("width, height, channels, outWidth, outHeight, rotation, quality must be integers in range");
  }
  Napi::Value kernel = object.Get("kernel");
  job.kernel = kernel.IsString() ? KernelCode(kernel.As<Napi::String>().Utf8Value()) : 0;
  if (job.kernel == 0) return fail("kernel must be linear, cubic, mitchell, lanczos2 or lanczos3");
  Napi::Value mirror = object.Get("mirror");
  Napi::Value threshold = object.Get("threshold");
  if (!mirror.IsBoolean() || !threshold.IsBoolean()) return fail("mirror and threshold must be booleans");
  job.mirror = mirror.As<Napi::Boolean>().Value();
  job.threshold = threshold.As<Napi::Boolean>().Value();
  Napi::Value data = object.Get("data");
  if (!data.IsBuffer()) return fail("data must be a Buffer");
  auto in = data.As<Napi::Buffer<unsigned char>>();
  job.in = in.Data();
  job.inSize = in.Length();
  const std::string invalid = vitrine_finish::CheckFinish(job);
  if (!invalid.empty()) return fail(invalid);
  auto* worker = new FinishWorker(env, job, in);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterFinish(Napi::Env env, Napi::Object exports) { exports.Set("finishPixels", Napi::Function::New(env, FinishPixels)); }
