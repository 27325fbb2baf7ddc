#include "region_decode_core.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "jpeg_error.h"

// jpeg_crop_scanline and jpeg_skip_scanlines are libjpeg-turbo's; IJG's libjpeg has neither.
#if defined(LIBJPEG_TURBO_VERSION_NUMBER) && LIBJPEG_TURBO_VERSION_NUMBER >= 2000000

namespace vitrine_region {

namespace {

// libvips' sRGB to greyscale (what sharp's grayscale() does), reproduced so the fast path gives the
// same bytes: Rec. 709 luminance of the linear values, then gamma-encoded through a table of 256
// rounded sRGB codes, interpolated between neighbours and rounded (as libvips' scRGB to B_W does;
// the analytic curve would differ by one level on ~17 % of pixels).
struct GreyTables {
  // Each channel's weighted linear value (the products libvips' luminance sums, one per code), and
  // the gamma-encoding table with the step to the next code, all as the floats the sum uses.
  float red[256], green[256], blue[256];
  float encode[256], step[256];
  GreyTables() {
    int codes[257];
    for (int i = 0; i < 256; i++) {
      const float v = static_cast<float>(i) / 255.0f;
      const float linear = v <= 0.04045f ? v / 12.92f : static_cast<float>(std::pow((v + 0.055) / 1.055, 2.4));
      red[i] = 0.2126f * linear;
      green[i] = 0.7152f * linear;
      blue[i] = 0.0722f * linear;
      const float e = v <= 0.0031308f ? 12.92f * v : static_cast<float>(1.055 * std::pow(v, 1 / 2.4) - 0.055);
      codes[i] = static_cast<int>(std::lrintf(255.0f * e));
    }
    codes[256] = codes[255];
    for (int i = 0; i < 256; i++) {
      encode[i] = static_cast<float>(codes[i]);
      step[i] = static_cast<float>(codes[i + 1] - codes[i]);
    }
  }
};
const GreyTables& Grey() {
  static const GreyTables tables;  // thread-safe initialisation (C++11)
  return tables;
}

// lrintf without the call into libm: the same round-half-to-even in the default rounding mode.
inline int RoundToInt(float v) {
#if defined(__SSE__) || defined(_M_X64)
  return _mm_cvtss_si32(_mm_set_ss(v));
#else
  return static_cast<int>(std::lrintf(v));
#endif
}

void RgbRowToGrey(const unsigned char* rgb, unsigned char* grey, int width) {
  const GreyTables& t = Grey();
  for (int x = 0; x < width; x++, rgb += 3) {
    const float y = t.red[rgb[0]] + t.green[rgb[1]] + t.blue[rgb[2]];
    float f = y * 255.0f;
    f = f < 0.0f ? 0.0f : f > 255.0f ? 255.0f : f;
    const int i = static_cast<int>(f);
    grey[x] = static_cast<unsigned char>(RoundToInt(t.encode[i] + t.step[i] * (f - static_cast<float>(i))));
  }
}

using vitrine_jpeg::ErrorExit;
using vitrine_jpeg::ErrorManager;

// Level -1 is a warning (corrupt or truncated data, which libjpeg patches over): fail instead, so the
// caller falls back to libvips and its own error handling. Trace messages (level >= 0) are ignored.
void EmitMessage(j_common_ptr cinfo, int level) {
  if (level < 0) ErrorExit(cinfo);
}

// Rows decoded into the scratch before they are converted or moved (see DecodeTiles).
constexpr int kBatchRows = 16;

// One scratch row: a scaled tile's width of RGB, and slack.
size_t ScratchRow(const TilesJob& job) { return static_cast<size_t>(job.tileWidth / job.denominator) * 3 + 64; }

}  // namespace

// Everything between setjmp and a longjmp out of libjpeg lives in this C-style function: no local has
// a destructor, and the locals changed after setjmp are not used after the jump.
bool DecodeTiles(const TilesJob& job, unsigned char* scratch, std::string& error) {
  jpeg_decompress_struct cinfo;
  ErrorManager manager;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&manager.pub);
  manager.pub.error_exit = ErrorExit;
  manager.pub.emit_message = EmitMessage;
  manager.message[0] = '\0';
  if (setjmp(manager.jump)) {
    error = manager.message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  if (job.tables != nullptr) {
    jpeg_mem_src(&cinfo, job.tables, static_cast<unsigned long>(job.tablesSize));
    if (jpeg_read_header(&cinfo, FALSE) != JPEG_HEADER_TABLES_ONLY) {
      std::snprintf(manager.message, sizeof manager.message, "JPEGTables is not a tables-only stream");
      std::longjmp(manager.jump, 1);
    }
  }
  const int components = job.colour == kGrey ? 1 : 3;
  const int scaledTileWidth = job.tileWidth / job.denominator;
  const int scaledTileHeight = job.tileHeight / job.denominator;
  const size_t stride = static_cast<size_t>(job.width) * job.channels;
  for (const Placement& tile : job.tiles) {
    jpeg_mem_src(&cinfo, tile.data, static_cast<unsigned long>(tile.size));
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
      std::snprintf(manager.message, sizeof manager.message, "a tile holds no image");
      std::longjmp(manager.jump, 1);
    }
    if (static_cast<int>(cinfo.image_width) != job.tileWidth || static_cast<int>(cinfo.image_height) != job.tileHeight ||
        cinfo.num_components != components || cinfo.data_precision != 8 || cinfo.progressive_mode) {
      std::snprintf(manager.message, sizeof manager.message, "a tile is %ux%u, %d components, %d-bit%s; expected %dx%d, %d, 8-bit baseline",
                    cinfo.image_width, cinfo.image_height, cinfo.num_components, cinfo.data_precision,
                    cinfo.progressive_mode ? ", progressive" : "", job.tileWidth, job.tileHeight, components);
      std::longjmp(manager.jump, 1);
    }
    // Sampling as libtiff accepts it: RGB unsubsampled; YCbCr with chroma at 1×1 (luma 1 or 2 each way).
    if (components == 3) {
      const jpeg_component_info* c = cinfo.comp_info;
      bool chroma = c[1].h_samp_factor == 1 && c[1].v_samp_factor == 1 && c[2].h_samp_factor == 1 && c[2].v_samp_factor == 1;
      bool luma = job.colour == kRgb ? c[0].h_samp_factor == 1 && c[0].v_samp_factor == 1
                                     : c[0].h_samp_factor <= 2 && c[0].v_samp_factor <= 2;
      if (!chroma || !luma) {
        std::snprintf(manager.message, sizeof manager.message, "unexpected sampling factors %dx%d,%dx%d,%dx%d", c[0].h_samp_factor,
                      c[0].v_samp_factor, c[1].h_samp_factor, c[1].v_samp_factor, c[2].h_samp_factor, c[2].v_samp_factor);
        std::longjmp(manager.jump, 1);
      }
    }
    // The TIFF's Photometric says what the components are, whatever JFIF/Adobe markers the stream has.
    cinfo.jpeg_color_space = job.colour == kGrey ? JCS_GRAYSCALE : job.colour == kRgb ? JCS_RGB : JCS_YCbCr;
    cinfo.out_color_space = job.colour == kGrey ? JCS_GRAYSCALE : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = static_cast<unsigned int>(job.denominator);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    if (static_cast<int>(cinfo.output_width) != scaledTileWidth || static_cast<int>(cinfo.output_height) != scaledTileHeight ||
        cinfo.output_components != components) {
      std::snprintf(manager.message, sizeof manager.message, "unexpected decoded tile size %ux%u", cinfo.output_width, cinfo.output_height);
      std::longjmp(manager.jump, 1);
    }
    // Columns: libjpeg widens the crop to the left to an iMCU boundary; the right edge stays. Fancy
    // upsampling treats the crop's edges as the image's: a margin on both sides gives it the chroma
    // samples beyond them, so the pixels kept are those of a whole-tile decode.
    JDIMENSION cropX = static_cast<JDIMENSION>(tile.srcX);
    JDIMENSION cropWidth = static_cast<JDIMENSION>(tile.width);
    if (tile.srcX != 0 || tile.width != scaledTileWidth) {
      const int margin = cinfo.max_h_samp_factor * cinfo.min_DCT_scaled_size;  // one iMCU column
      const int from = tile.srcX - margin > 0 ? tile.srcX - margin : 0;
      const int to = tile.srcX + tile.width + margin < scaledTileWidth ? tile.srcX + tile.width + margin : scaledTileWidth;
      cropX = static_cast<JDIMENSION>(from);
      cropWidth = static_cast<JDIMENSION>(to - from);
      if (from != 0 || to != scaledTileWidth) jpeg_crop_scanline(&cinfo, &cropX, &cropWidth);
    }
    const int lead = tile.srcX - static_cast<int>(cropX);
    const size_t scratchRow = ScratchRow(job);
    const bool direct = !job.grey && lead == 0 && static_cast<int>(cinfo.output_width) == tile.width;
    if (tile.srcY > 0 && jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(tile.srcY)) != static_cast<JDIMENSION>(tile.srcY)) {
      std::snprintf(manager.message, sizeof manager.message, "cannot skip to row %d of a tile", tile.srcY);
      std::longjmp(manager.jump, 1);
    }
    unsigned char* target = job.out + static_cast<size_t>(tile.dstY) * stride + static_cast<size_t>(tile.dstX) * job.channels;
    const size_t rowBytes = static_cast<size_t>(tile.width) * job.channels;
    for (int y = 0; y < tile.height;) {
      // Rows that need work after decoding come kBatchRows at a time into the scratch, then get it
      // (converted to grey, or moved into place): converting each row right after libjpeg wrote it
      // stalled the conversion's table loads behind those stores in some processes (2x the time).
      JSAMPROW rows[kBatchRows];
      const int batch = direct ? 4 : kBatchRows;
      const int wanted = tile.height - y < batch ? tile.height - y : batch;
      for (int i = 0; i < wanted; i++) rows[i] = direct ? target + static_cast<size_t>(y + i) * stride : scratch + static_cast<size_t>(i) * scratchRow;
      int got = 0;
      while (got < wanted) {
        const JDIMENSION read = jpeg_read_scanlines(&cinfo, rows + got, static_cast<JDIMENSION>(wanted - got));
        if (read == 0) {
          std::snprintf(manager.message, sizeof manager.message, "a tile ended early");
          std::longjmp(manager.jump, 1);
        }
        got += static_cast<int>(read);
      }
      for (int i = 0; i < got && !direct; i++) {
        const unsigned char* from = scratch + static_cast<size_t>(i) * scratchRow + static_cast<size_t>(lead) * components;
        if (job.grey) {
          RgbRowToGrey(from, target + static_cast<size_t>(y + i) * stride, tile.width);
        } else {
          std::memcpy(target + static_cast<size_t>(y + i) * stride, from, rowBytes);
        }
      }
      y += got;
    }
    // The rows below the placement are never entropy-decoded. Abort keeps the tables for the next tile.
    jpeg_abort_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

std::string CheckJob(const TilesJob& job) {
  if (job.tileWidth < 8 || job.tileWidth > 65536 || job.tileHeight < 8 || job.tileHeight > 65536) return "tile dimensions out of range";
  if (job.denominator != 1 && job.denominator != 2 && job.denominator != 4 && job.denominator != 8) return "denominator must be 1, 2, 4 or 8";
  if (job.tileWidth % (8 * job.denominator) != 0 || job.tileHeight % (8 * job.denominator) != 0) {
    return "tile dimensions must be multiples of 8 × denominator";
  }
  if (job.colour < kGrey || job.colour > kRgb) return "colour must be 0, 1 or 2";
  if (job.width < 1 || job.width > (1 << 16) || job.height < 1 || job.height > (1 << 16)) return "width and height out of range";
  if (job.channels != (job.colour == kGrey || job.grey ? 1 : 3)) return "channels do not match the colour";
  if (job.out == nullptr || job.outSize < static_cast<size_t>(job.width) * job.height * job.channels) return "out is smaller than width × height × channels";
  const int scaledTileWidth = job.tileWidth / job.denominator;
  const int scaledTileHeight = job.tileHeight / job.denominator;
  for (size_t i = 0; i < job.tiles.size(); i++) {
    const Placement& p = job.tiles[i];
    // Every write must land inside the tile and inside the destination: checked here, not trusted.
    if (p.data == nullptr || p.size < 4 || p.srcX < 0 || p.srcY < 0 || p.width < 1 || p.height < 1 || p.dstX < 0 || p.dstY < 0 ||
        p.srcX + p.width > scaledTileWidth || p.srcY + p.height > scaledTileHeight || p.dstX + p.width > job.width ||
        p.dstY + p.height > job.height) {
      return "placement " + std::to_string(i) + " lies outside its tile or the destination";
    }
  }
  return "";
}

size_t ScratchSize(const TilesJob& job) { return ScratchRow(job) * kBatchRows; }

}  // namespace vitrine_region

#endif
