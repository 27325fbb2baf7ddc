#include "tiff_rgba.h"

#include "pixels_worker.h"
#include "tiff_rgba_core.h"

#include <cstdint>
#include <string>

#include <tiffio.h>

namespace {

using Job = vitrine_tiff::RgbaJob;

uint32_t Coordinate(const Napi::Object& job, const char* name) {
  const Napi::Value value = job.Get(name);
  if (!value.IsNumber()) return 0;
  const double n = value.As<Napi::Number>().DoubleValue();
  return n >= 0 && n <= 4294967295.0 ? static_cast<uint32_t>(n) : 0;
}

}  // namespace

Napi::Value DecodeTiffRgba(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "decodeTiffRgba: expected a job object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Napi::Object object = info[0].As<Napi::Object>();
  if (!object.Get("fd").IsNumber() || !object.Get("size").IsNumber() || !object.Get("offset").IsNumber()) {
    Napi::TypeError::New(env, "decodeTiffRgba: fd, size and offset must be numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Job job;
  job.fd = object.Get("fd").As<Napi::Number>().Int32Value();
  job.size = static_cast<uint64_t>(object.Get("size").As<Napi::Number>().Int64Value());
  job.offset = static_cast<uint64_t>(object.Get("offset").As<Napi::Number>().Int64Value());
  job.x0 = Coordinate(object, "x0");
  job.y0 = Coordinate(object, "y0");
  job.x1 = Coordinate(object, "x1");
  job.y1 = Coordinate(object, "y1");
  return PixelsWorker<Job, vitrine_tiff::DecodeRgba>::Start(env, job);
}

void RegisterTiffRgba(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeTiffRgba", Napi::Function::New(env, DecodeTiffRgba));
  // TIFFGetVersion() is "LIBTIFF, Version 4.5.0\nCopyright …": keep the version number.
  std::string version = TIFFGetVersion();
  const size_t at = version.find("Version ");
  version = at == std::string::npos ? version : version.substr(at + 8);
  version = version.substr(0, version.find('\n'));
  exports.Set("libtiffVersion", Napi::String::New(env, version));
}
