#include "jpeg_crop.h"

#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "jpeg_crop_core.h"

namespace {

// One transformer, used from the JavaScript thread only (the calls are short).
tjhandle Transformer() {
  static tjhandle handle = tjInitTransform();
  return handle;
}

// The fast crop's buffers and tables, and its output, kept from call to call (per thread, should
// the addon ever be loaded in workers).
vitrine_crop::CropScratch& Scratch() {
  thread_local std::unique_ptr<vitrine_crop::CropScratch> scratch(new vitrine_crop::CropScratch());
  return *scratch;
}

std::vector<uint8_t>& Output() {
  thread_local std::vector<uint8_t> out;
  return out;
}

struct CropArguments {
  Napi::Buffer<unsigned char> source;
  int width = 0;
  int height = 0;
};

bool ReadArguments(const Napi::CallbackInfo& info, const char* name, CropArguments& args) {
  if (info.Length() != 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(name) + "(jpeg: Buffer, width: number, height: number)").ThrowAsJavaScriptException();
    return false;
  }
  args.source = info[0].As<Napi::Buffer<unsigned char>>();
  args.width = info[1].As<Napi::Number>().Int32Value();
  args.height = info[2].As<Napi::Number>().Int32Value();
  return true;
}

// The crop by jpeg_crop_core.cc into Output(), false where it declines the stream.
bool FastCrop(const CropArguments& args) {
  return vitrine_crop::CropTopLeft(args.source.Data(), args.source.Length(), args.width, args.height, Output(), Scratch()) == nullptr;
}

Napi::Value TransformCrop(Napi::Env env, const CropArguments& args) {
  tjhandle handle = Transformer();
  if (handle == nullptr) {
    Napi::Error::New(env, "cropJpeg: libjpeg-turbo could not be initialised").ThrowAsJavaScriptException();
    return env.Null();
  }
  tjtransform transform;
  std::memset(&transform, 0, sizeof transform);
  transform.r.x = 0;
  transform.r.y = 0;
  transform.r.w = args.width;
  transform.r.h = args.height;
  transform.op = TJXOP_NONE;
  transform.options = TJXOPT_CROP;

  unsigned char* output = nullptr;
  unsigned long outputSize = 0;
  if (tjTransform(handle, args.source.Data(), args.source.Length(), 1, &output, &outputSize, &transform, 0) != 0) {
    std::string message = std::string("cropJpeg: ") + tjGetErrorStr2(handle);
    if (output != nullptr) tjFree(output);
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return env.Null();
  }
  Napi::Buffer<unsigned char> result = Napi::Buffer<unsigned char>::Copy(env, output, outputSize);
  tjFree(output);
  return result;
}

Napi::Value CropJpeg(const Napi::CallbackInfo& info) {
  CropArguments args;
  if (!ReadArguments(info, "cropJpeg", args)) return info.Env().Null();
  if (!FastCrop(args)) return TransformCrop(info.Env(), args);
  return Napi::Buffer<unsigned char>::Copy(info.Env(), Output().data(), Output().size());
}

// Written over the input: a new Buffer costs a sixth of a fast crop.
Napi::Value CropJpegInPlace(const Napi::CallbackInfo& info) {
  CropArguments args;
  if (!ReadArguments(info, "cropJpegInPlace", args)) return info.Env().Null();
  if (!FastCrop(args) || Output().size() > args.source.Length()) return Napi::Number::New(info.Env(), 0);
  std::memcpy(args.source.Data(), Output().data(), Output().size());
  return Napi::Number::New(info.Env(), static_cast<double>(Output().size()));
}

Napi::Value CropJpegTransform(const Napi::CallbackInfo& info) {
  CropArguments args;
  if (!ReadArguments(info, "cropJpegTransform", args)) return info.Env().Null();
  return TransformCrop(info.Env(), args);
}

}  // namespace

void RegisterJpegCrop(Napi::Env env, Napi::Object exports) {
  exports.Set("cropJpeg", Napi::Function::New(env, CropJpeg));
  exports.Set("cropJpegInPlace", Napi::Function::New(env, CropJpegInPlace));
  exports.Set("cropJpegTransform", Napi::Function::New(env, CropJpegTransform));
}
