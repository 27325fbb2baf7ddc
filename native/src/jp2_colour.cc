#include "jp2_colour.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef VITRINE_LCMS
#include <lcms2.h>
#endif

namespace vitrine_jp2 {
namespace {

int CeilDivPow2(int64_t value, int reduce) { return static_cast<int>((value + (int64_t{1} << reduce) - 1) >> reduce); }

// A component's samples as unsigned values in [0, 2^prec - 1], read at the output's pixels.
struct Channel {
  const opj_image_comp_t* comp = nullptr;
  int precision = 8;
  int offset = 0;        // added to signed samples
  int max = 255;
  std::vector<int> column;  // per output column: the sample index in a row
  std::vector<int> row;     // per output row: the row index

  int At(int x, int y) const {
    const int v = comp->data[static_cast<size_t>(row[y]) * comp->w + column[x]] + offset;
    return std::clamp(v, 0, max);
  }
};

// For the output coordinates [start, start + count) of a level's reference grid, the index of the
// component sample each one shows: a component's sample i lies at i·step on that grid, and each output
// pixel shows the sample at or before it (the first one for pixels before it), as decoders upsample.
bool Locate(int start, int count, int step, int origin, int samples, std::vector<int>& index) {
  index.resize(static_cast<size_t>(count));
  for (int i = 0; i < count; i++) {
    const int at = (start + i) / step - origin;
    // More than one sample outside what OpenJPEG decoded: the component does not cover the area.
    if (at < -1 || at > samples) return false;
    index[static_cast<size_t>(i)] = std::clamp(at, 0, samples - 1);
  }
  return true;
}

bool Prepare(const opj_image_t* image, int c, const LevelArea& area, Channel& channel, std::string& error) {
  const opj_image_comp_t& comp = image->comps[c];
  const std::string name = "component " + std::to_string(c);
  if (comp.data == nullptr || comp.w == 0 || comp.h == 0) return error = "no data decoded for " + name, false;
  if (comp.dx == 0 || comp.dy == 0 || comp.prec < 1 || comp.prec > 31) return error = name + " has an invalid subsampling or precision", false;
  channel.comp = &comp;
  channel.precision = static_cast<int>(comp.prec);
  channel.max = static_cast<int>((int64_t{1} << comp.prec) - 1);
  channel.offset = comp.sgnd ? 1 << (comp.prec - 1) : 0;
  const int originX = CeilDivPow2(comp.x0, area.reduce);
  const int originY = CeilDivPow2(comp.y0, area.reduce);
  if (!Locate(area.x0, area.x1 - area.x0, static_cast<int>(comp.dx), originX, static_cast<int>(comp.w), channel.column) ||
      !Locate(area.y0, area.y1 - area.y0, static_cast<int>(comp.dy), originY, static_cast<int>(comp.h), channel.row)) {
    return error = "OpenJPEG decoded fewer pixels of " + name + " than the area asked for", false;
  }
  return true;
}

// A sample of `precision` bits as 8 bits: the top byte of wider ones, scaled up from narrower ones.
inline unsigned char To8(int value, int precision) {
  if (precision > 8) return static_cast<unsigned char>(value >> (precision - 8));
  if (precision < 8) return static_cast<unsigned char>(value * 255 / ((1 << precision) - 1));
  return static_cast<unsigned char>(value);
}

inline uint16_t To16(int value, int max) { return static_cast<uint16_t>((static_cast<int64_t>(value) * 65535 + max / 2) / max); }

inline unsigned char Clamp8(double value, int max, int precision) {
  return To8(std::clamp(static_cast<int>(std::lround(value)), 0, max), precision);
}

// Row `y` of a channel as 8-bit samples, every `step` bytes from `out`: the common case (no colour
// conversion) in a tight loop.
void WriteChannel(const Channel& ch, int y, unsigned char* out, int step, int width) {
  const int* source = ch.comp->data + static_cast<size_t>(ch.row[static_cast<size_t>(y)]) * ch.comp->w;
  const int* column = ch.column.data();
  if (ch.precision == 8 && ch.offset == 0) {
    for (int x = 0; x < width; x++, out += step) *out = static_cast<unsigned char>(std::clamp(source[column[x]], 0, 255));
    return;
  }
  for (int x = 0; x < width; x++, out += step) *out = To8(std::clamp(source[column[x]] + ch.offset, 0, ch.max), ch.precision);
}

bool ChromaSubsampled(const opj_image_comp_t* comps) {
  return comps[1].dx == comps[2].dx && comps[1].dy == comps[2].dy && (comps[1].dx > comps[0].dx || comps[1].dy > comps[0].dy);
}

enum class Model { Grey, Rgb, Ycc, ExtendedYcc, Cmyk, Lab };

#ifdef VITRINE_LCMS
// A Little CMS transform, deleted on every path.
struct Transform {
  cmsHTRANSFORM handle = nullptr;
  ~Transform() {
    if (handle != nullptr) cmsDeleteTransform(handle);
  }
};

// The transform from the embedded ICC profile to sRGB for `colours` colour channels, or none when the
// profile cannot be read or describes another colour space: then, like OpenJPEG's own tools and
// libvips, the profile is ignored and the enumerated colour space used.
// `eight`: 8-bit samples in and out (what OpenJPEG's tools use for 8-bit images), else 16-bit.
cmsHTRANSFORM IccToSrgb(const opj_image_t* image, int colours, bool eight) {
  cmsHPROFILE in = cmsOpenProfileFromMem(image->icc_profile_buf, image->icc_profile_len);
  if (in == nullptr) return nullptr;
  const cmsColorSpaceSignature space = cmsGetColorSpace(in);
  cmsUInt32Number inType = 0;
  if (space == cmsSigRgbData && colours == 3) inType = eight ? TYPE_RGB_8 : TYPE_RGB_16;
  else if (space == cmsSigGrayData && colours == 1) inType = eight ? TYPE_GRAY_8 : TYPE_GRAY_16;
  else if (space == cmsSigCmykData && colours == 4) inType = eight ? TYPE_CMYK_8 : TYPE_CMYK_16;
  cmsHTRANSFORM transform = nullptr;
  if (inType != 0) {
    cmsHPROFILE out = cmsCreate_sRGBProfile();
    if (out != nullptr) transform = cmsCreateTransform(in, inType, out, eight ? TYPE_RGB_8 : TYPE_RGB_16, cmsGetHeaderRenderingIntent(in), 0);
    if (out != nullptr) cmsCloseProfile(out);
  }
  cmsCloseProfile(in);
  return transform;
}
#endif

// CIELab's encoding (the colour box's ranges and offsets, or the defaults of ITU-T T.801 when absent).
struct LabRanges {
  double range[3], offset[3];
};

LabRanges LabEncoding(const opj_image_t* image) {
  const auto* fields = reinterpret_cast<const uint32_t*>(image->icc_profile_buf);
  LabRanges lab{};
  if (fields[1] == 0x44454600) {  // 'DEF\0': the defaults
    const double pa = image->comps[1].prec, pb = image->comps[2].prec;
    lab = {{100, 170, 200}, {0, std::pow(2, pa - 1), std::pow(2, pb - 2) + std::pow(2, pb - 3)}};
  } else {
    lab = {{double(fields[2]), double(fields[4]), double(fields[6])}, {double(fields[3]), double(fields[5]), double(fields[7])}};
  }
  return lab;
}

}  // namespace

LevelArea AreaAtLevel(int x0, int y0, int x1, int y1, int reduce) {
  return {CeilDivPow2(x0, reduce), CeilDivPow2(y0, reduce), CeilDivPow2(x1, reduce), CeilDivPow2(y1, reduce), reduce};
}

bool HasColourManagement() {
#ifdef VITRINE_LCMS
  return true;
#else
  return false;
#endif
}

bool ToDisplayPixels(const opj_image_t* image, const LevelArea& area, Pixels& out, std::string& error) {
  const int width = area.x1 - area.x0, height = area.y1 - area.y0;
  const int components = static_cast<int>(image->numcomps);
  if (width <= 0 || height <= 0) return error = "empty decode area", false;
  if (components < 1 || image->comps == nullptr) return error = "no decoded component", false;

  // The colour model: OpenJPEG has already expanded a palette and applied the channel definitions.
  const bool lab = image->icc_profile_buf != nullptr && image->icc_profile_len == 0 && components >= 3 &&
                   reinterpret_cast<const uint32_t*>(image->icc_profile_buf)[0] == 14;
  const bool unspecified = image->color_space == OPJ_CLRSPC_UNSPECIFIED || image->color_space == OPJ_CLRSPC_UNKNOWN;
  Model model = Model::Rgb;
  if (lab) model = Model::Lab;
  else if (image->color_space == OPJ_CLRSPC_CMYK && components >= 4) model = Model::Cmyk;
  else if (image->color_space == OPJ_CLRSPC_EYCC && components >= 3) model = Model::ExtendedYcc;
  else if (image->color_space == OPJ_CLRSPC_SYCC && components >= 3) model = Model::Ycc;
  // A raw codestream says nothing of its colours: three components whose second and third are
  // subsampled more than the first are YCbCr (as opj_decompress assumes, which also requires the
  // first to be subsampled alike both ways); otherwise one or two are grey, three or more RGB.
  else if (unspecified && components == 3 && ChromaSubsampled(image->comps)) model = Model::Ycc;
  else if (components < 3 || image->color_space == OPJ_CLRSPC_GRAY) model = Model::Grey;
  const int colourComponents = model == Model::Grey ? 1 : model == Model::Cmyk ? 4 : 3;
  const int colours = model == Model::Grey ? 1 : 3;

  int alpha = -1;
  for (int c = colourComponents; c < components && alpha < 0; c++) {
    if (image->comps[c].alpha != 0) alpha = c;
  }
  if (alpha < 0 && components == colourComponents + 1) alpha = colourComponents;

  std::vector<Channel> channels(static_cast<size_t>(colourComponents + (alpha >= 0 ? 1 : 0)));
  for (int c = 0; c < colourComponents; c++) {
    if (!Prepare(image, c, area, channels[static_cast<size_t>(c)], error)) return false;
  }
  if (alpha >= 0 && !Prepare(image, alpha, area, channels.back(), error)) return false;

  const bool icc = image->icc_profile_buf != nullptr && image->icc_profile_len > 0;
#ifdef VITRINE_LCMS
  Transform transform;
  bool eight = true;
  for (int c = 0; c < colourComponents; c++) eight = eight && channels[static_cast<size_t>(c)].precision <= 8;
  if (icc && (model == Model::Rgb || model == Model::Grey || model == Model::Cmyk)) transform.handle = IccToSrgb(image, colourComponents, eight);
  eight = eight && !lab;
  if (lab) {
    cmsHPROFILE in = cmsCreateLab4Profile(nullptr);
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    if (in != nullptr && srgb != nullptr) transform.handle = cmsCreateTransform(in, TYPE_Lab_DBL, srgb, TYPE_RGB_16, INTENT_PERCEPTUAL, 0);
    if (in != nullptr) cmsCloseProfile(in);
    if (srgb != nullptr) cmsCloseProfile(srgb);
    if (transform.handle == nullptr) return error = "cannot set up the CIELab to sRGB conversion", false;
  }
#else
  (void)icc;
  if (lab) return error = "CIELab colour needs Little CMS: the native addon was built without liblcms2-dev", false;
#endif

  out.width = width;
  out.height = height;
  out.channels = colours + (alpha >= 0 ? 1 : 0);
  const size_t rowBytes = static_cast<size_t>(width) * out.channels;
  // Zero-filled, so that no path can hand uninitialised memory to an encoder.
  out.data = static_cast<unsigned char*>(std::calloc(rowBytes * height, 1));
  if (out.data == nullptr) return error = "out of memory", false;

  std::vector<uint16_t> in16, out16;
  std::vector<unsigned char> in8, out8;
  std::vector<double> labRow;
  const LabRanges labRanges = lab ? LabEncoding(image) : LabRanges{};
  for (int y = 0; y < height; y++) {
    unsigned char* row = out.data + static_cast<size_t>(y) * rowBytes;
    const int step = out.channels;
#ifdef VITRINE_LCMS
    if (transform.handle != nullptr) {
      // Colour-managed: the row through Little CMS, at 8 bits or 16 (then to 8).
      out16.resize(static_cast<size_t>(width) * 3);
      if (lab) {
        labRow.resize(static_cast<size_t>(width) * 3);
        for (int x = 0; x < width; x++) {
          for (int c = 0; c < 3; c++) {
            const Channel& ch = channels[static_cast<size_t>(c)];
            const double low = -labRanges.range[c] * labRanges.offset[c] / ch.max;
            labRow[static_cast<size_t>(x) * 3 + c] = low + ch.At(x, y) * labRanges.range[c] / ch.max;
          }
        }
        cmsDoTransform(transform.handle, labRow.data(), out16.data(), static_cast<cmsUInt32Number>(width));
      } else if (eight) {
        in8.resize(static_cast<size_t>(width) * colourComponents);
        out8.resize(static_cast<size_t>(width) * 3);
        for (int x = 0; x < width; x++) {
          for (int c = 0; c < colourComponents; c++) {
            const Channel& ch = channels[static_cast<size_t>(c)];
            in8[static_cast<size_t>(x) * colourComponents + c] = To8(ch.At(x, y), ch.precision);
          }
        }
        cmsDoTransform(transform.handle, in8.data(), out8.data(), static_cast<cmsUInt32Number>(width));
      } else {
        in16.resize(static_cast<size_t>(width) * colourComponents);
        for (int x = 0; x < width; x++) {
          for (int c = 0; c < colourComponents; c++) {
            const Channel& ch = channels[static_cast<size_t>(c)];
            in16[static_cast<size_t>(x) * colourComponents + c] = To16(ch.At(x, y), ch.max);
          }
        }
        cmsDoTransform(transform.handle, in16.data(), out16.data(), static_cast<cmsUInt32Number>(width));
      }
      for (int x = 0; x < width; x++) {
        unsigned char* px = row + static_cast<size_t>(x) * step;
        for (int c = 0; c < colours; c++) {
          // A grey profile gives R = G = B: its grey is G.
          const size_t i = static_cast<size_t>(x) * 3 + (colours == 1 ? 1 : c);
          px[c] = eight ? out8[i] : static_cast<unsigned char>(out16[i] >> 8);
        }
      }
    } else
#endif
    if (model == Model::Rgb || model == Model::Grey) {
      for (int c = 0; c < colours; c++) WriteChannel(channels[static_cast<size_t>(c)], y, row + c, step, width);
    } else {
      for (int x = 0; x < width; x++) {
        unsigned char* px = row + static_cast<size_t>(x) * step;
        const Channel& a = channels[0];
        if (model == Model::Ycc || model == Model::ExtendedYcc) {
          const Channel &b = channels[1], &c = channels[2];
          const double luma = a.At(x, y), cb = b.At(x, y) - (b.max + 1) / 2.0, cr = c.At(x, y) - (c.max + 1) / 2.0;
          if (model == Model::Ycc) {
            px[0] = Clamp8(luma + 1.402 * cr, a.max, a.precision);
            px[1] = Clamp8(luma - 0.344136 * cb - 0.714136 * cr, a.max, a.precision);
            px[2] = Clamp8(luma + 1.772 * cb, a.max, a.precision);
          } else {  // e-sYCC (IEC 61966-2-1 amendment 1): the same matrix, with extended-range chroma
            px[0] = Clamp8(luma - 0.0000368 * cb + 1.40199 * cr, a.max, a.precision);
            px[1] = Clamp8(1.0003 * luma - 0.344125 * cb - 0.7141128 * cr, a.max, a.precision);
            px[2] = Clamp8(0.999823 * luma + 1.77204 * cb - 0.000008 * cr, a.max, a.precision);
          }
        } else if (model == Model::Cmyk) {
          const int black = To8(channels[3].At(x, y), channels[3].precision);
          for (int c = 0; c < 3; c++) {
            px[c] = static_cast<unsigned char>((255 - To8(channels[static_cast<size_t>(c)].At(x, y), channels[static_cast<size_t>(c)].precision)) * (255 - black) / 255);
          }
        }
      }
    }
    if (alpha >= 0) WriteChannel(channels.back(), y, row + colours, step, width);
  }
  return true;
}

bool Reduce(const Pixels& in, const LevelArea& full, int reduce, Pixels& out, std::string& error) {
  const LevelArea level = AreaAtLevel(full.x0, full.y0, full.x1, full.y1, reduce);
  if (in.width != full.x1 - full.x0 || in.height != full.y1 - full.y0) return error = "full-resolution pixels do not match the area", false;
  const int f = 1 << reduce;
  const int channels = in.channels;
  out.width = level.x1 - level.x0;
  out.height = level.y1 - level.y0;
  out.channels = channels;
  out.data = static_cast<unsigned char*>(std::calloc(static_cast<size_t>(out.width) * out.height * channels, 1));
  if (out.data == nullptr) return error = "out of memory", false;
  std::vector<uint32_t> sums(static_cast<size_t>(out.width) * channels);
  for (int Y = level.y0; Y < level.y1; Y++) {
    // The full-resolution rows and columns level pixel (X, Y) covers: [X·f, (X+1)·f) within the area.
    const int top = std::max(full.y0, Y * f) - full.y0, bottom = std::min(full.y1, (Y + 1) * f) - full.y0;
    std::fill(sums.begin(), sums.end(), 0);
    for (int y = top; y < bottom; y++) {
      const unsigned char* row = in.data + static_cast<size_t>(y) * in.width * channels;
      for (int X = level.x0; X < level.x1; X++) {
        const int left = std::max(full.x0, X * f) - full.x0, right = std::min(full.x1, (X + 1) * f) - full.x0;
        uint32_t* sum = &sums[static_cast<size_t>(X - level.x0) * channels];
        for (int x = left; x < right; x++) {
          for (int c = 0; c < channels; c++) sum[c] += row[static_cast<size_t>(x) * channels + c];
        }
      }
    }
    unsigned char* target = out.data + static_cast<size_t>(Y - level.y0) * out.width * channels;
    for (int X = level.x0; X < level.x1; X++) {
      const int left = std::max(full.x0, X * f), right = std::min(full.x1, (X + 1) * f);
      const uint32_t count = static_cast<uint32_t>((right - left) * (bottom - top));
      for (int c = 0; c < channels; c++) {
        const size_t i = static_cast<size_t>(X - level.x0) * channels + c;
        target[i] = static_cast<unsigned char>((sums[i] + count / 2) / count);
      }
    }
  }
  return true;
}

}  // namespace vitrine_jp2
