#include "finish_core.h"

#include "reduce_core.h"
#include "upscale_core.h"

#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "jpeg_error.h"

namespace vitrine_finish {

Output::~Output() { std::free(data); }

uint8_t* Output::Release() {
  uint8_t* released = data;
  data = nullptr;
  return released;
}

namespace {

// Working buffers, kept by each pool thread between jobs (regions are megabytes, many per second:
// fresh ones cost page faults and zeroing); one over kKeep bytes is freed after its job.
constexpr size_t kKeep = 4 << 20;

class Scratch {
 public:
  uint8_t* Get(size_t bytes) {
    if (bytes > capacity_) {
      data_.reset(new uint8_t[bytes]);
      capacity_ = bytes;
    }
    return data_.get();
  }
  ~Scratch() = default;
  void Trim() {
    if (capacity_ > kKeep) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
};

thread_local Scratch scratch[3];

enum class Resize { kNone, kUp, kDown, kOther };

Resize KindOf(const FinishJob& job) {
  if (job.outWidth == job.width && job.outHeight == job.height) return Resize::kNone;
  if (job.outWidth >= job.width && job.outHeight >= job.height) return Resize::kUp;
  if (job.outWidth <= job.width && job.outHeight <= job.height) return Resize::kDown;
  return Resize::kOther;
}

// The size after turning.
void Turned(const FinishJob& job, int& width, int& height) {
  const bool across = job.rotation == 90 || job.rotation == 270;
  width = across ? job.outHeight : job.outWidth;
  height = across ? job.outWidth : job.outHeight;
}

// Mirrors (left to right), then turns clockwise, as the Image API orders them; thresholds on the way.
void Orient(const FinishJob& job, const uint8_t* in, uint8_t* out) {
  const int w = job.outWidth, h = job.outHeight, ch = job.channels;
  const size_t rowBytes = static_cast<size_t>(w) * ch;
  if (job.rotation == 0 || job.rotation == 180) {
    // Rows stay rows: copied, or reversed pixel by pixel when the result is mirrored.
    const bool reverse = job.mirror != (job.rotation == 180);
    for (int y = 0; y < h; y++) {
      const uint8_t* p = in + static_cast<size_t>(job.rotation == 180 ? h - 1 - y : y) * rowBytes;
      uint8_t* q = out + static_cast<size_t>(y) * rowBytes;
      if (!reverse) {
        std::memcpy(q, p, rowBytes);
      } else if (ch == 1) {
        for (int x = 0; x < w; x++) q[x] = p[w - 1 - x];
      } else {
        for (int x = 0; x < w; x++) std::memcpy(q + static_cast<size_t>(x) * 3, p + static_cast<size_t>(w - 1 - x) * 3, 3);
      }
    }
  } else {
    // A quarter turn: each output row is a column of the input, walked in blocks of 16 rows so
    // that the input rows read stay in cache.
    const int tw = h, th = w;
    // Output row dy is input column x, walked forwards or backwards.
    const bool forwards = (job.rotation == 90) != job.mirror;
    const ptrdiff_t step = forwards ? ch : -ch;
    const ptrdiff_t down = static_cast<ptrdiff_t>(tw) * ch;
    for (int y0 = 0; y0 < th; y0 += 16) {
      const int y1 = y0 + 16 < th ? y0 + 16 : th;
      const int x0 = forwards ? y0 : w - 1 - y0;
      for (int dx = 0; dx < tw; dx++) {
        const int y = job.rotation == 90 ? h - 1 - dx : dx;
        const uint8_t* p = in + static_cast<size_t>(y) * rowBytes + static_cast<size_t>(x0) * ch;
        uint8_t* q = out + (static_cast<size_t>(y0) * tw + dx) * ch;
        if (ch == 3) {
          for (int dy = y0; dy < y1; dy++, p += step, q += down) {
            q[0] = p[0];
            q[1] = p[1];
            q[2] = p[2];
          }
        } else {
          for (int dy = y0; dy < y1; dy++, p += step, q += down) *q = *p;
        }
      }
    }
  }
  if (job.threshold) {
    uint8_t* end = out + static_cast<size_t>(w) * h * ch;
    for (uint8_t* q = out; q < end; q++) *q = *q >= 128 ? 255 : 0;
  }
}

using vitrine_jpeg::ErrorExit;
using vitrine_jpeg::ErrorManager;

// As sharp's jpeg() with optimiseCoding off asks libvips: baseline, standard tables, 4:2:0 below
// quality 90 (libvips' default), accurate integer DCT. C-style between setjmp and longjmp.
bool Encode(const uint8_t* pixels, int width, int height, int channels, int quality, Output& out, std::string& error) {
  jpeg_compress_struct cinfo;
  ErrorManager manager;
  // A first guess at the size, so that libjpeg rarely has to grow the block (it then copies into a
  // new one of its own, which becomes the result).
  unsigned long size = static_cast<unsigned long>(width) * height * channels / 4 + 4096;
  unsigned char* initial = static_cast<unsigned char*>(std::malloc(size));
  unsigned char* buffer = initial;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&manager.pub);
  manager.pub.error_exit = ErrorExit;
  manager.message[0] = '\0';
  if (setjmp(manager.jump)) {
    error = manager.message;
    jpeg_destroy_compress(&cinfo);
    if (buffer != initial) std::free(buffer);
    std::free(initial);
    return false;
  }
  if (initial == nullptr) {
    std::snprintf(manager.message, sizeof manager.message, "out of memory");
    std::longjmp(manager.jump, 1);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (channels == 3 && quality >= 90) {
    // libvips keeps chroma whole from quality 90 on.
    cinfo.comp_info[0].h_samp_factor = 1;
    cinfo.comp_info[0].v_samp_factor = 1;
  }
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.optimize_coding = FALSE;
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = static_cast<size_t>(width) * channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rows[16];
    JDIMENSION count = 0;
    for (; count < 16 && cinfo.next_scanline + count < cinfo.image_height; count++) {
      rows[count] = const_cast<JSAMPROW>(pixels + (cinfo.next_scanline + count) * stride);
    }
    jpeg_write_scanlines(&cinfo, rows, count);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  if (buffer != initial) std::free(initial);
  out.data = buffer;
  out.size = size;
  return true;
}

}  // namespace

std::string CheckFinish(const FinishJob& job) {
  if (job.channels != 1 && job.channels != 3) return "channels must be 1 or 3";
  if (job.width < 1 || job.height < 1 || job.width > (1 << 16) || job.height > (1 << 16)) return "width and height out of range";
  if (job.outWidth < 1 || job.outHeight < 1 || job.outWidth > (1 << 16) || job.outHeight > (1 << 16)) return "outWidth and outHeight out of range";
  if (job.in == nullptr || job.inSize < static_cast<size_t>(job.width) * job.height * job.channels) return "in is smaller than width × height × channels";
  if (job.rotation != 0 && job.rotation != 90 && job.rotation != 180 && job.rotation != 270) return "rotation must be 0, 90, 180 or 270";
  if (job.threshold && job.channels != 1) return "threshold needs grey pixels";
  if (job.quality < 0 || job.quality > 100) return "quality must be 0 (raw) or 1 to 100";
  switch (KindOf(job)) {
    case Resize::kNone:
      return "";
    case Resize::kUp:
      // libvips upsizes with its bicubic interpolator for the cubic family only.
      return job.kernel >= vitrine_reduce::kCubic && job.kernel <= vitrine_reduce::kLanczos3 ? "" : "kernel not reproduced for upsizing";
    case Resize::kDown: {
      std::string why;
      if (job.outHeight < job.height) why = vitrine_reduce::AxisProblem(job.height, job.outHeight, job.kernel);
      if (why.empty() && job.outWidth < job.width) why = vitrine_reduce::AxisProblem(job.width, job.outWidth, job.kernel);
      return why;
    }
    default:
      return "one side grows and the other shrinks";
  }
}

bool Finish(const FinishJob& job, Output& out, std::string& error) {
  const int ch = job.channels;
  const uint8_t* pixels = job.in;
  switch (KindOf(job)) {
    case Resize::kUp: {
      vitrine_upscale::UpscaleJob up;
      up.in = job.in;
      up.inSize = job.inSize;
      up.width = job.width;
      up.height = job.height;
      up.channels = ch;
      up.outSize = static_cast<size_t>(job.outWidth) * job.outHeight * ch;
      up.out = scratch[0].Get(up.outSize);
      up.outWidth = job.outWidth;
      up.outHeight = job.outHeight;
      vitrine_upscale::Upscale(up);
      pixels = up.out;
      break;
    }
    case Resize::kDown: {
      // libvips' order: vertical first, then horizontal.
      int height = job.height;
      if (job.outHeight < job.height) {
        vitrine_reduce::Axis axis;
        vitrine_reduce::PlanAxis(job.height, job.outHeight, job.kernel, axis);
        uint8_t* between = scratch[1].Get(static_cast<size_t>(job.width) * job.outHeight * ch);
        vitrine_reduce::ReduceV(pixels, job.width, ch, axis, between);
        pixels = between;
        height = job.outHeight;
      }
      if (job.outWidth < job.width) {
        vitrine_reduce::Axis axis;
        vitrine_reduce::PlanAxis(job.width, job.outWidth, job.kernel, axis);
        uint8_t* resized = scratch[0].Get(static_cast<size_t>(job.outWidth) * height * ch);
        vitrine_reduce::ReduceH(pixels, height, ch, axis, resized);
        pixels = resized;
      }
      break;
    }
    default:
      break;
  }
  int width, height;
  Turned(job, width, height);
  const size_t bytes = static_cast<size_t>(width) * height * ch;
  bool ok = true;
  if (job.quality == 0) {
    // Raw pixels out: turned straight into the result, or copied.
    out.data = static_cast<uint8_t*>(std::malloc(bytes));
    out.size = bytes;
    if (out.data == nullptr) {
      error = "out of memory";
      ok = false;
    } else if (job.mirror || job.rotation != 0 || job.threshold) {
      Orient(job, pixels, out.data);
    } else {
      std::memcpy(out.data, pixels, bytes);
    }
  } else {
    if (job.mirror || job.rotation != 0 || job.threshold) {
      uint8_t* oriented = scratch[2].Get(bytes);
      Orient(job, pixels, oriented);
      pixels = oriented;
    }
    ok = Encode(pixels, width, height, ch, job.quality, out, error);
  }
  for (Scratch& s : scratch) s.Trim();
  return ok;
}

}  // namespace vitrine_finish
