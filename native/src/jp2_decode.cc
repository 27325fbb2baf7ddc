#include "jp2_decode.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <openjpeg.h>

#include "jp2_colour.h"
#include "pixels_worker.h"

namespace {

// OpenJPEG reads through this: pread on a descriptor the caller keeps open, so concurrent decodes
// of one file share it without moving a file offset, and no file is opened per request.
struct FdReader {
  int fd;
  uint64_t size;
  uint64_t position;
};

OPJ_SIZE_T ReadFd(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* reader = static_cast<FdReader*>(user);
  if (reader->position >= reader->size) return static_cast<OPJ_SIZE_T>(-1);
  const uint64_t wanted = std::min<uint64_t>(bytes, reader->size - reader->position);
  ssize_t got;
  do {
    got = pread(reader->fd, buffer, wanted, static_cast<off_t>(reader->position));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return static_cast<OPJ_SIZE_T>(-1);
  reader->position += static_cast<uint64_t>(got);
  return static_cast<OPJ_SIZE_T>(got);
}

OPJ_OFF_T SkipFd(OPJ_OFF_T bytes, void* user) {
  auto* reader = static_cast<FdReader*>(user);
  const int64_t target = static_cast<int64_t>(reader->position) + bytes;
  if (target < 0) return -1;
  reader->position = static_cast<uint64_t>(target);
  return bytes;
}

OPJ_BOOL SeekFd(OPJ_OFF_T offset, void* user) {
  auto* reader = static_cast<FdReader*>(user);
  if (offset < 0 || static_cast<uint64_t>(offset) > reader->size) return OPJ_FALSE;
  reader->position = static_cast<uint64_t>(offset);
  return OPJ_TRUE;
}

void KeepError(const char* message, void* user) {
  auto* error = static_cast<std::string*>(user);
  if (error->empty()) {
    *error = message;
    while (!error->empty() && (error->back() == '\n' || error->back() == ' ')) error->pop_back();
  }
}

void Ignore(const char*, void*) {}

struct Job {
  int fd = -1;
  uint64_t size = 0;
  bool jp2 = true;
  int reduce = 0;
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int threads = 1;
  // Decode at full resolution and average down to `reduce`: a palette image's indices cannot be
  // reduced by the wavelet (their averages index other colours), only its expanded colours can.
  bool fullResolution = false;
};

using vitrine_jp2::Pixels;

// Sets the decode area: the job's, widened up and left when components are subsampled, so that the
// sample at or before the area's first pixel is decoded too (OpenJPEG starts at the first sample
// inside the area; the pixels before it show the one before).
bool SetArea(opj_codec_t* codec, opj_image_t* image, const Job& job, int reduce) {
  uint32_t dx = 1, dy = 1;
  for (uint32_t c = 0; c < image->numcomps; c++) {
    dx = std::max(dx, image->comps[c].dx);
    dy = std::max(dy, image->comps[c].dy);
  }
  const int64_t marginX = dx > 1 ? static_cast<int64_t>(dx) << reduce : 0;
  const int64_t marginY = dy > 1 ? static_cast<int64_t>(dy) << reduce : 0;
  const int x0 = static_cast<int>(std::max<int64_t>(image->x0, job.x0 - marginX));
  const int y0 = static_cast<int>(std::max<int64_t>(image->y0, job.y0 - marginY));
  return opj_set_decode_area(codec, image, x0, y0, job.x1, job.y1);
}

// One decode of the area at `reduce` into display pixels; false with OpenJPEG's reason otherwise.
bool DecodeAt(const Job& job, int reduce, Pixels& result, std::string& error) {
  FdReader reader{job.fd, job.size, 0};
  opj_stream_t* stream = opj_stream_create(64 * 1024, OPJ_TRUE);
  opj_codec_t* codec = opj_create_decompress(job.jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_image_t* image = nullptr;
  bool ok = false;
  if (stream == nullptr || codec == nullptr) {
    error = "cannot create an OpenJPEG decoder";
  } else {
    opj_stream_set_user_data(stream, &reader, nullptr);
    opj_stream_set_user_data_length(stream, job.size);
    opj_stream_set_read_function(stream, ReadFd);
    opj_stream_set_skip_function(stream, SkipFd);
    opj_stream_set_seek_function(stream, SeekFd);
    opj_set_error_handler(codec, KeepError, &error);
    opj_set_warning_handler(codec, Ignore, nullptr);
    opj_set_info_handler(codec, Ignore, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    parameters.cp_reduce = static_cast<OPJ_UINT32>(reduce);
    ok = opj_setup_decoder(codec, &parameters) &&
         (job.threads <= 1 || !opj_has_thread_support() || opj_codec_set_threads(codec, job.threads)) &&
         opj_read_header(stream, codec, &image) && SetArea(codec, image, job, reduce) &&
         opj_decode(codec, stream, image) && opj_end_decompress(codec, stream);
    if (ok) ok = vitrine_jp2::ToDisplayPixels(image, vitrine_jp2::AreaAtLevel(job.x0, job.y0, job.x1, job.y1, reduce), result, error);
    if (!ok && error.empty()) error = "OpenJPEG could not decode the file";
  }
  if (image != nullptr) opj_image_destroy(image);
  if (codec != nullptr) opj_destroy_codec(codec);
  if (stream != nullptr) opj_stream_destroy(stream);
  return ok;
}

bool Decode(const Job& job, Pixels& result, std::string& error) {
  if (!job.fullResolution || job.reduce == 0) return DecodeAt(job, job.reduce, result, error);
  Pixels full;
  const bool ok = DecodeAt(job, 0, full, error) &&
                  vitrine_jp2::Reduce(full, vitrine_jp2::AreaAtLevel(job.x0, job.y0, job.x1, job.y1, 0), job.reduce, result, error);
  std::free(full.data);
  return ok;
}

// The decode in the shape PixelsWorker runs (its pixels handed over, not copied).
bool DecodeForWorker(const Job& job, DecodedPixels& out, std::string& error) {
  Pixels result;
  if (!Decode(job, result, error)) {
    std::free(result.data);
    return false;
  }
  out.data = result.data;
  out.width = static_cast<uint32_t>(result.width);
  out.height = static_cast<uint32_t>(result.height);
  out.channels = result.channels;
  return true;
}

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
  return PixelsWorker<Job, DecodeForWorker>::Start(env, job);
}

void RegisterJp2Decode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJp2", Napi::Function::New(env, DecodeJp2));
  exports.Set("openjpegVersion", Napi::String::New(env, opj_version()));
  exports.Set("jp2ColourManagement", Napi::Boolean::New(env, vitrine_jp2::HasColourManagement()));
}
