#include "jpeg_crop.h"

#include <turbojpeg.h>

#include <cstring>
#include <string>

namespace {

// One transformer, used from the JavaScript thread only (the call is short: no decode happens).
tjhandle Transformer() {
  static tjhandle handle = tjInitTransform();
  return handle;
}

}  // namespace

Napi::Value CropJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "cropJpeg(jpeg: Buffer, width: number, height: number)").ThrowAsJavaScriptException();
    return env.Null();
  }
  auto source = info[0].As<Napi::Buffer<unsigned char>>();
  int width = info[1].As<Napi::Number>().Int32Value();
  int height = info[2].As<Napi::Number>().Int32Value();
  tjhandle handle = Transformer();
  if (handle == nullptr) {
    Napi::Error::New(env, "cropJpeg: libjpeg-turbo could not be initialised").ThrowAsJavaScriptException();
    return env.Null();
  }

  tjtransform transform;
  std::memset(&transform, 0, sizeof transform);
  transform.r.x = 0;
  transform.r.y = 0;
  transform.r.w = width;
  transform.r.h = height;
  transform.op = TJXOP_NONE;
  transform.options = TJXOPT_CROP;

  unsigned char* output = nullptr;
  unsigned long outputSize = 0;
  if (tjTransform(handle, source.Data(), source.Length(), 1, &output, &outputSize, &transform, 0) != 0) {
    std::string message = std::string("cropJpeg: ") + tjGetErrorStr2(handle);
    if (output != nullptr) tjFree(output);
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return env.Null();
  }
  Napi::Buffer<unsigned char> result = Napi::Buffer<unsigned char>::Copy(env, output, outputSize);
  tjFree(output);
  return result;
}
