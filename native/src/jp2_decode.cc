#include "jp2_decode.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include <openjpeg.h>

#include "jp2_colour.h"
#include "jp2_decode_core.h"
#include "pixels_worker.h"

namespace {

using Job = vitrine_jp2::AreaJob;

int IntField(const Napi::Object& job, const char* name) { return job.Get(name).As<Napi::Number>().Int32Value(); }

}  // namespace

Napi::Value DecodeJp2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "decodeJp2(job): job must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Napi::Object object = info[0].As<Napi::Object>();
  for (const char* name : {"fd", "size", "codec", "reduce", "x0", "y0", "x1", "y1", "threads"}) {
    if (!object.Get(name).IsNumber()) {
      Napi::TypeError::New(env, std::string("decodeJp2(job): job.") + name + " must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  Job job;
  job.fd = IntField(object, "fd");
  job.size = static_cast<uint64_t>(object.Get("size").As<Napi::Number>().Int64Value());
  job.jp2 = IntField(object, "codec") == 1;
  job.reduce = IntField(object, "reduce");
  job.x0 = IntField(object, "x0");
  job.y0 = IntField(object, "y0");
  job.x1 = IntField(object, "x1");
  job.y1 = IntField(object, "y1");
  job.threads = std::clamp(IntField(object, "threads"), 1, 64);
  job.fullResolution = object.Get("fullResolution").ToBoolean().Value();
  if (job.fd < 0 || job.reduce < 0 || job.reduce > 32 || job.x1 <= job.x0 || job.y1 <= job.y0) {
    Napi::RangeError::New(env, "decodeJp2(job): bad descriptor, reduce factor or area").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return PixelsWorker<Job, vitrine_jp2::DecodeArea>::Start(env, job);
}

void RegisterJp2Decode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJp2", Napi::Function::New(env, DecodeJp2));
  exports.Set("openjpegVersion", Napi::String::New(env, opj_version()));
  exports.Set("jp2ColourManagement", Napi::Boolean::New(env, vitrine_jp2::HasColourManagement()));
}
