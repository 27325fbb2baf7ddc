#include "jp2_decode_core.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <openjpeg.h>

#include "jp2_colour.h"

namespace vitrine_jp2 {

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

using Job = AreaJob;

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
    if (ok) ok = ToDisplayPixels(image, AreaAtLevel(job.x0, job.y0, job.x1, job.y1, reduce), result, error);
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
                  Reduce(full, AreaAtLevel(job.x0, job.y0, job.x1, job.y1, 0), job.reduce, result, error);
  std::free(full.data);
  return ok;
}

}  // namespace

bool DecodeArea(const AreaJob& job, DecodedPixels& out, std::string& error) {
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

}  // namespace vitrine_jp2
