#include "region_decode.h"
#include "region_decode_core.h"
#include "job_args.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

// jpeg_crop_scanline and jpeg_skip_scanlines are libjpeg-turbo's; IJG's libjpeg has neither.
#if defined(LIBJPEG_TURBO_VERSION_NUMBER) && LIBJPEG_TURBO_VERSION_NUMBER >= 2000000

namespace {

using vitrine_region::Placement;
using vitrine_region::TilesJob;

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, TilesJob job, Napi::Array keep)
      : Napi::AsyncWorker(env, "vitrine:decodeJpegTiles"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {
    // Every buffer the job points into, held until the pool is done with them.
    keep_ = Napi::Persistent(keep);
    scratch_.resize(vitrine_region::ScratchSize(job_));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::string error;
    if (!vitrine_region::DecodeTiles(job_, scratch_.data(), error)) SetError("decodeJpegTiles: " + error);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  TilesJob job_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> keep_;
  std::vector<unsigned char> scratch_;
};

}  // namespace

Napi::Value DecodeJpegTiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& message) {
    Napi::TypeError::New(env, "decodeJpegTiles: " + message).ThrowAsJavaScriptException();
    return env.Null();
  };
  if (info.Length() != 1 || !info[0].IsObject()) return fail("expects one job object");
  Napi::Object object = info[0].As<Napi::Object>();
  TilesJob job;
  Napi::Array keep = Napi::Array::New(env);
  if (!IntProperty(object, "tileWidth", 8, 65536, job.tileWidth) || !IntProperty(object, "tileHeight", 8, 65536, job.tileHeight) ||
      !IntProperty(object, "denominator", 1, 8, job.denominator) || !IntProperty(object, "colour", 0, 2, job.colour) ||
      !IntProperty(object, "width", 1, 1 << 16, job.width) || !IntProperty(object, "height", 1, 1 << 16, job.height)) {
    return fail("tileWidth, tileHeight, denominator, colour, width, height must be integers in range");
  }
  Napi::Value grey = object.Get("grey");
  if (!grey.IsUndefined() && !grey.IsBoolean()) return fail("grey must be a boolean or undefined");
  job.grey = job.colour != vitrine_region::kGrey && grey.IsBoolean() && grey.As<Napi::Boolean>().Value();
  job.channels = job.colour == vitrine_region::kGrey || job.grey ? 1 : 3;

  Napi::Value tables = object.Get("tables");
  if (tables.IsBuffer()) {
    auto buffer = tables.As<Napi::Buffer<unsigned char>>();
    job.tables = buffer.Data();
    job.tablesSize = buffer.Length();
    keep.Set(keep.Length(), buffer);
  } else if (!tables.IsUndefined() && !tables.IsNull()) {
    return fail("tables must be a Buffer or undefined");
  }

  Napi::Value out = object.Get("out");
  if (!out.IsBuffer()) return fail("out must be a Buffer");
  auto outBuffer = out.As<Napi::Buffer<unsigned char>>();
  job.out = outBuffer.Data();
  job.outSize = outBuffer.Length();
  keep.Set(keep.Length(), outBuffer);

  Napi::Value tilesValue = object.Get("tiles");
  Napi::Value placementsValue = object.Get("placements");
  if (!tilesValue.IsArray() || !placementsValue.IsTypedArray()) return fail("tiles must be an Array and placements an Int32Array");
  Napi::Array tiles = tilesValue.As<Napi::Array>();
  Napi::TypedArray typed = placementsValue.As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_int32_array) return fail("placements must be an Int32Array");
  Napi::Int32Array placements = typed.As<Napi::Int32Array>();
  const uint32_t count = tiles.Length();
  if (placements.ElementLength() != static_cast<size_t>(count) * 6) return fail("placements must hold 6 integers per tile");
  job.tiles.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value tile = tiles.Get(i);
    if (!tile.IsBuffer()) return fail("every tile must be a Buffer");
    auto buffer = tile.As<Napi::Buffer<unsigned char>>();
    Placement p{buffer.Data(), buffer.Length(), placements[i * 6], placements[i * 6 + 1], placements[i * 6 + 2],
                placements[i * 6 + 3], placements[i * 6 + 4], placements[i * 6 + 5]};
    job.tiles.push_back(p);
    keep.Set(keep.Length(), buffer);
  }
  if (env.IsExceptionPending()) return env.Null();
  // Every write must land inside its tile and inside the destination: checked, not trusted.
  const std::string invalid = vitrine_region::CheckJob(job);
  if (!invalid.empty()) return fail(invalid);

  auto* worker = new DecodeWorker(env, std::move(job), keep);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void RegisterRegionDecode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpegTiles", Napi::Function::New(env, DecodeJpegTiles));
}

#else

void RegisterRegionDecode(Napi::Env, Napi::Object) {}

#endif
