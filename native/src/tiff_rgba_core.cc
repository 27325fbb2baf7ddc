#include "tiff_rgba_core.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tiffio.h>

namespace vitrine_tiff {

namespace {


// libtiff reads through these: pread on a descriptor the caller keeps open, with a position of our
// own, so concurrent decodes of one file share the descriptor without moving its offset.
struct FdFile {
  int fd;
  uint64_t size;
  uint64_t position;
};

tmsize_t ReadProc(thandle_t handle, void* buffer, tmsize_t bytes) {
  auto* file = static_cast<FdFile*>(handle);
  if (bytes <= 0 || file->position >= file->size) return 0;
  uint64_t wanted = static_cast<uint64_t>(bytes);
  if (wanted > file->size - file->position) wanted = file->size - file->position;
  uint64_t done = 0;
  while (done < wanted) {
    const ssize_t got = pread(file->fd, static_cast<char*>(buffer) + done, wanted - done, static_cast<off_t>(file->position + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<uint64_t>(got);
  }
  file->position += done;
  return static_cast<tmsize_t>(done);
}

tmsize_t WriteProc(thandle_t, void*, tmsize_t) { return -1; }

toff_t SeekProc(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<FdFile*>(handle);
  uint64_t base = 0;
  if (whence == SEEK_CUR) base = file->position;
  else if (whence == SEEK_END) base = file->size;
  else if (whence != SEEK_SET) return static_cast<toff_t>(-1);
  file->position = base + offset;
  return file->position;
}

int CloseProc(thandle_t) { return 0; }
toff_t SizeProc(thandle_t handle) { return static_cast<FdFile*>(handle)->size; }
int MapProc(thandle_t, void**, toff_t*) { return 0; }
void UnmapProc(thandle_t, void*, toff_t) {}

// Per-handle handlers (libtiff 4.5): the first error is kept for the promise; nothing reaches
// stderr. Warnings are dropped (old-style JPEG files raise several about themselves), except
// libjpeg's about damaged data, which libtiff passes on as warnings while it fills the rest of the
// strip with grey: a truncated file must fail, not be served half grey.
std::string Format(const char* module, const char* format, va_list args) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, args);
  return module && *module ? std::string(module) + ": " + message : std::string(message);
}

int KeepError(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* error = static_cast<std::string*>(user);
  if (error->empty()) *error = Format(module, format, args);
  return 1;
}

int KeepDamageWarning(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* error = static_cast<std::string*>(user);
  const std::string message = Format(module, format, args);
  const bool damaged = message.find("Corrupt JPEG data") != std::string::npos || message.find("Premature end of JPEG") != std::string::npos;
  if (damaged && error->empty()) *error = message;
  return 1;
}

}  // namespace

bool DecodeRgba(const RgbaJob& job, DecodedPixels& result, std::string& error) {
  FdFile file{job.fd, job.size, 0};
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, KeepError, &error);
  TIFFOpenOptionsSetWarningHandlerExtR(options, KeepDamageWarning, &error);
  // "m": no memory mapping (reads go through ReadProc); "h": the first directory is not read
  // here, TIFFSetSubDirectory reads the one asked for.
  TIFF* tif = TIFFClientOpenExt("tiff", "rmh", &file, ReadProc, WriteProc, SeekProc, CloseProc, SizeProc, MapProc, UnmapProc, options);
  TIFFOpenOptionsFree(options);
  if (!tif) {
    if (error.empty()) error = "libtiff cannot open the file";
    return false;
  }
  bool ok = false;
  uint32_t width = 0, height = 0;
  char message[1024] = "";
  TIFFRGBAImage image;
  uint32_t* raster = nullptr;
  const bool directory = TIFFSetSubDirectory(tif, job.offset);
  // libtiff reports some oddities of a directory it still reads (an unknown tag 0) as errors: only
  // what happens from here on, while pixels are decoded, fails the request.
  if (directory) error.clear();
  if (!directory) {
    if (error.empty()) error = "libtiff cannot read the directory at offset " + std::to_string(job.offset);
  } else if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height)) {
    error = "the directory has no image dimensions";
  } else if (job.x0 >= job.x1 || job.y0 >= job.y1 || job.x1 > width || job.y1 > height) {
    error = "the rectangle lies outside the image";
  } else if (!TIFFRGBAImageOK(tif, message) || !TIFFRGBAImageBegin(&image, tif, 1, message)) {
    error = message[0] ? message : "libtiff's RGBA interface cannot read this directory";
  } else {
    // libtiff's RGBA interface finds a pixel's bytes in a strip or tile as if every pixel had all its
    // samples, which subsampled YCbCr (old-style JPEG's usual layout) has not: an offset inside a
    // strip or tile reads the wrong bytes. So whole strips (full rows) or whole tiles are decoded,
    // and the rectangle is cut from them.
    uint32_t tileWidth = 0, tileHeight = 0, rowsPerStrip = height;
    uint32_t ax0 = 0, ay0 = 0, ax1 = width, ay1 = height;
    if (TIFFIsTiled(tif) && TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tileWidth) && TIFFGetField(tif, TIFFTAG_TILELENGTH, &tileHeight) && tileWidth && tileHeight) {
      ax0 = job.x0 / tileWidth * tileWidth;
      ax1 = std::min<uint64_t>(width, (static_cast<uint64_t>(job.x1) + tileWidth - 1) / tileWidth * tileWidth);
      ay0 = job.y0 / tileHeight * tileHeight;
      ay1 = std::min<uint64_t>(height, (static_cast<uint64_t>(job.y1) + tileHeight - 1) / tileHeight * tileHeight);
    } else {
      TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rowsPerStrip);
      if (rowsPerStrip == 0 || rowsPerStrip > height) rowsPerStrip = height;
      ay0 = job.y0 / rowsPerStrip * rowsPerStrip;
      ay1 = std::min<uint64_t>(height, (static_cast<uint64_t>(job.y1) + rowsPerStrip - 1) / rowsPerStrip * rowsPerStrip);
    }
    const uint32_t aw = ax1 - ax0;
    const uint32_t ah = ay1 - ay0;
    const uint32_t w = job.x1 - job.x0;
    const uint32_t h = job.y1 - job.y0;
    image.req_orientation = ORIENTATION_TOPLEFT;
    image.col_offset = static_cast<int>(ax0);
    image.row_offset = static_cast<int>(ay0);
    // Zero-filled: whatever libtiff does not write stays defined (and an error fails the decode).
    raster = static_cast<uint32_t*>(std::calloc(static_cast<size_t>(aw) * ah, sizeof(uint32_t)));
    if (!raster) {
      error = "out of memory";
    } else if (TIFFRGBAImageGet(&image, raster, aw, ah) && error.empty()) {
      uint16_t samples = 1, photometric = PHOTOMETRIC_MINISBLACK;
      TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
      TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
      const bool grey = (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE) && samples == 1;
      const int channels = image.alpha ? 4 : grey ? 1 : 3;
      result.data = static_cast<unsigned char*>(std::malloc(static_cast<size_t>(w) * h * channels));
      if (!result.data) {
        error = "out of memory";
      } else {
        // The raster holds ABGR words (TIFFGetR … TIFFGetA); alpha stays as the file has it.
        unsigned char* out = result.data;
        for (uint32_t y = 0; y < h; y++) {
          const uint32_t* row = raster + static_cast<size_t>(job.y0 - ay0 + y) * aw + (job.x0 - ax0);
          for (uint32_t x = 0; x < w; x++) {
            const uint32_t v = row[x];
            *out++ = static_cast<unsigned char>(TIFFGetR(v));
            if (channels == 1) continue;
            *out++ = static_cast<unsigned char>(TIFFGetG(v));
            *out++ = static_cast<unsigned char>(TIFFGetB(v));
            if (channels == 4) *out++ = static_cast<unsigned char>(TIFFGetA(v));
          }
        }
        result.width = w;
        result.height = h;
        result.channels = channels;
        ok = true;
      }
    } else if (error.empty()) {
      error = "libtiff could not decode the image data";
    }
    TIFFRGBAImageEnd(&image);
  }
  std::free(raster);
  TIFFClose(tif);
  if (!ok) {
    std::free(result.data);
    result.data = nullptr;
  }
  return ok;
}

}  // namespace vitrine_tiff
