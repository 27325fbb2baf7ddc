#include "reduce_core.h"
#include "vips_fixed_point.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// VITRINE_SCALAR builds the portable loops only (what other CPUs run), for testing them here.
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(VITRINE_SCALAR)
#define VITRINE_X86 1
#include <emmintrin.h>
#include <immintrin.h>
#include <tmmintrin.h>
#endif

namespace vitrine_reduce {

namespace {

using vitrine_vips::kRound;
using vitrine_vips::kShift;
using vitrine_vips::kSteps;
constexpr double kPi = 3.14159265358979323846;

double Sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * kPi;
  return std::sin(x) / x;
}

double Cubic(double x, double b, double c) {
  const double ax = std::fabs(x);
  const double ax2 = ax * ax;
  const double ax3 = ax2 * ax;
  if (ax <= 1) return ((12 - 9 * b - 6 * c) * ax3 + (-18 + 12 * b + 6 * c) * ax2 + (6 - 2 * b)) / 6;
  if (ax <= 2) return ((-b - 6 * c) * ax3 + (6 * b + 30 * c) * ax2 + (-12 * b - 48 * c) * ax + (8 * b + 24 * c)) / 6;
  return 0.0;
}

// libvips' filters (resample/templates.h), the same expressions in the same order.
double Filter(int kernel, double x) {
  switch (kernel) {
    case kLinear:
      x = std::fabs(x);
      return x < 1.0 ? 1.0 - x : 0.0;
    case kCubic:
      return Cubic(x, 0.0, 0.5);
    case kMitchell:
      return Cubic(x, 1.0 / 3.0, 1.0 / 3.0);
    case kLanczos2:
      return x >= -2 && x <= 2 ? Sinc(x) * Sinc(x / 2) : 0.0;
    default:
      return x >= -3 && x <= 3 ? Sinc(x) * Sinc(x / 3) : 0.0;
  }
}

// vips_reduce_get_points.
int Points(int kernel, double shrink) {
  switch (kernel) {
    case kLinear:
      return 2 * static_cast<int>(std::rint(shrink)) + 1;
    case kCubic:
    case kMitchell:
    case kLanczos2:
      return 2 * static_cast<int>(std::rint(2 * shrink)) + 1;
    default:
      return 2 * static_cast<int>(std::rint(3 * shrink)) + 1;
  }
}

// Mask rows are padded with zeros to a multiple of 8 coefficients, for the vector loops.
int Stride(int points) { return (points + 7) & ~7; }

#ifdef VITRINE_X86
// A vector in a std::vector (which would drop __m128i's alignment attribute from its argument).
struct Lanes {
  __m128i v;
};
#endif

inline uint8_t Clip(int32_t sum) {
  const int32_t v = sum >> kShift;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

namespace {

// sharp asks vips_resize for a scale of 1 / (in / out); vips_resize reduces by 1 / scale.
double ShrinkOf(int in, int out) {
  const double scale = std::max(1.0 / (static_cast<double>(in) / out), 1.0 / in);
  return 1.0 / scale;
}

}  // namespace

std::string AxisProblem(int in, int out, int kernel) {
  if (kernel < kLinear || kernel > kLanczos3) return "kernel not reproduced";
  if (in < 1 || out < 1 || out > in) return "not a reduction";
  const double shrink = ShrinkOf(in, out);
  if (static_cast<int>(in / shrink + 0.5) != out) return "libvips would give another size";
  // The default gap of 2: libvips box-shrinks by the integer part first from a factor of 4 on.
  if (std::max(1.0, std::floor(static_cast<double>(in) / out / 2.0)) > 1) return "libvips would box-shrink first";
  if (Points(kernel, shrink) > 2000) return "reduction too large";
  return "";
}

std::string PlanAxis(int in, int out, int kernel, Axis& axis) {
  std::string why = AxisProblem(in, out, kernel);
  if (!why.empty()) return why;
  const double shrink = ShrinkOf(in, out);
  const double extra = out * shrink - in;
  axis.in = in;
  axis.out = out;
  axis.shrink = shrink;
  axis.points = Points(kernel, shrink);
  axis.offset = (1 + extra) / 2.0 - 1;
  axis.pad = static_cast<int>(std::ceil(axis.points / 2.0)) - 1;
  const int stride = Stride(axis.points);
  axis.masks.assign(static_cast<size_t>(kSteps + 1) * stride, 0);
  std::vector<double> c(static_cast<size_t>(axis.points));
  for (int t = 0; t <= kSteps; t++) {
    const double x = static_cast<float>(t) / kSteps;
    const double half = x + axis.points / 2.0 - 1;
    double sum = 0.0;
    for (int i = 0; i < axis.points; i++) {
      const double l = Filter(kernel, (i - half) / shrink);
      c[static_cast<size_t>(i)] = l;
      sum += l;
    }
    for (int i = 0; i < axis.points; i++) {
      axis.masks[static_cast<size_t>(t) * stride + i] = static_cast<int16_t>(c[static_cast<size_t>(i)] / sum * (1 << kShift));
    }
  }
  // Output positions as libvips walks them along a strip: the first from the edge, the others by
  // adding the shrink (the same rounding as its loop).
  axis.first.resize(static_cast<size_t>(out));
  axis.mask.resize(static_cast<size_t>(out));
  axis.phase.resize(static_cast<size_t>(out));
  double position = 0.5 * shrink - 0.5 - axis.offset;
  for (int o = 0; o < out; o++) {
    const int fixed = static_cast<int>(position * kSteps * 2);
    const int step = ((fixed & (kSteps * 2 - 1)) + 1) >> 1;
    axis.first[static_cast<size_t>(o)] = static_cast<int>(position);
    axis.mask[static_cast<size_t>(o)] = axis.masks.data() + static_cast<size_t>(step) * stride;
    axis.phase[static_cast<size_t>(o)] = step;
    position += shrink;
  }
  return "";
}

#ifdef VITRINE_X86
namespace {

// ReduceV's vector loop 32 bytes at a time (the SSE2 one below, widened; the unpacks and packs
// stay within 128-bit lanes, so the bytes come back in order). Returns where it stopped.
__attribute__((target("avx2"))) size_t RowVAvx2(const uint8_t* const* rows, const int32_t* pairs, int n, size_t rowBytes, uint8_t* q) {
  const __m256i zero = _mm256_setzero_si256();
  size_t x = 0;
  for (; x + 32 <= rowBytes; x += 32) {
    __m256i s0 = _mm256_set1_epi32(kRound), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 2) {
      const __m256i c = _mm256_set1_epi32(pairs[i / 2]);
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i] + x));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i + 1] + x));
      const __m256i lo = _mm256_unpacklo_epi8(a, b);
      const __m256i hi = _mm256_unpackhi_epi8(a, b);
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), c));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), c));
      s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), c));
      s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), c));
    }
    const __m256i w0 = _mm256_packs_epi32(_mm256_srai_epi32(s0, kShift), _mm256_srai_epi32(s1, kShift));
    const __m256i w1 = _mm256_packs_epi32(_mm256_srai_epi32(s2, kShift), _mm256_srai_epi32(s3, kShift));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + x), _mm256_packus_epi16(w0, w1));
  }
  return x;
}

}  // namespace
#endif

void ReduceV(const uint8_t* in, int width, int channels, const Axis& axis, uint8_t* out) {
  const size_t rowBytes = static_cast<size_t>(width) * channels;
  const int n = axis.points;
  std::vector<const uint8_t*> rows(static_cast<size_t>(n) + 1);
#ifdef VITRINE_X86
  std::vector<Lanes> pairs(static_cast<size_t>(n / 2 + 1));
  std::vector<int32_t> packed(static_cast<size_t>(n / 2 + 1));
  const bool avx2 = __builtin_cpu_supports("avx2");
#endif
  for (int o = 0; o < axis.out; o++) {
    for (int i = 0; i < n; i++) {
      const int source = std::min(std::max(axis.first[static_cast<size_t>(o)] + i - axis.pad, 0), axis.in - 1);
      rows[static_cast<size_t>(i)] = in + static_cast<size_t>(source) * rowBytes;
    }
    rows[static_cast<size_t>(n)] = rows[static_cast<size_t>(n) - 1];
    const int16_t* k = axis.mask[static_cast<size_t>(o)];
    uint8_t* q = out + static_cast<size_t>(o) * rowBytes;
    size_t x = 0;
#ifdef VITRINE_X86
    const __m128i zero = _mm_setzero_si128();
    // Coefficients two by two (the mask is zero past its points), broadcast once per row.
    for (int i = 0; i < n; i += 2) {
      packed[static_cast<size_t>(i / 2)] = static_cast<int32_t>(static_cast<uint16_t>(k[i]) | static_cast<uint32_t>(static_cast<uint16_t>(k[i + 1])) << 16);
      pairs[static_cast<size_t>(i / 2)].v = _mm_set1_epi32(packed[static_cast<size_t>(i / 2)]);
    }
    if (avx2) x = RowVAvx2(rows.data(), packed.data(), n, rowBytes, q);
    for (; x + 16 <= rowBytes; x += 16) {
      __m128i s0 = _mm_set1_epi32(kRound), s1 = s0, s2 = s0, s3 = s0;
      for (int i = 0; i < n; i += 2) {
        // Two rows at once: their samples interleaved, times the two coefficients (pmaddwd).
        // An odd last row pairs with itself, times a zero coefficient.
        const __m128i c = pairs[static_cast<size_t>(i / 2)].v;
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[static_cast<size_t>(i)] + x));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[static_cast<size_t>(i) + 1] + x));
        const __m128i lo = _mm_unpacklo_epi8(a, b);
        const __m128i hi = _mm_unpackhi_epi8(a, b);
        s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_unpacklo_epi8(lo, zero), c));
        s1 = _mm_add_epi32(s1, _mm_madd_epi16(_mm_unpackhi_epi8(lo, zero), c));
        s2 = _mm_add_epi32(s2, _mm_madd_epi16(_mm_unpacklo_epi8(hi, zero), c));
        s3 = _mm_add_epi32(s3, _mm_madd_epi16(_mm_unpackhi_epi8(hi, zero), c));
      }
      const __m128i w0 = _mm_packs_epi32(_mm_srai_epi32(s0, kShift), _mm_srai_epi32(s1, kShift));
      const __m128i w1 = _mm_packs_epi32(_mm_srai_epi32(s2, kShift), _mm_srai_epi32(s3, kShift));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + x), _mm_packus_epi16(w0, w1));
    }
#endif
    for (; x < rowBytes; x++) {
      int32_t sum = kRound;
      for (int i = 0; i < n; i++) sum += k[i] * rows[static_cast<size_t>(i)][x];
      q[x] = Clip(sum);
    }
  }
}

namespace {

#ifdef VITRINE_X86
// Three interleaved channels, two taps at a time: (r0 r1)(g0 g1)(b0 b1) as 16-bit pairs (pshufb),
// times the two coefficients (pmaddwd); two output pixels at once, for two independent sums.
// `Halves` is the number of tap pairs when known at compile time (the loop then unrolls), else 0.
__attribute__((target("ssse3"), always_inline)) inline __m128i Tap(const uint8_t* p, const Lanes& k, __m128i shuffle) {
  return _mm_madd_epi16(_mm_shuffle_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), shuffle), k.v);
}

inline uint32_t Pack(__m128i sum) {
  return static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(_mm_srai_epi32(sum, kShift), sum), sum)));
}

template <int Halves>
__attribute__((target("ssse3"))) void RowRgbSsse3(const uint8_t* padded, const Axis& axis, const Lanes* pairs, uint8_t* q) {
  const __m128i shuffle = _mm_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1);
  const int halves = Halves > 0 ? Halves : (axis.points + 1) / 2;
  const __m128i round = _mm_set1_epi32(kRound);
  const int last = axis.out - 1;
  int o = 0;
  for (; o + 1 < last; o += 2, q += 6) {
    const uint8_t* p = padded + static_cast<size_t>(axis.first[static_cast<size_t>(o)]) * 3;
    const uint8_t* r = padded + static_cast<size_t>(axis.first[static_cast<size_t>(o) + 1]) * 3;
    const Lanes* k = pairs + axis.phase[static_cast<size_t>(o)] * halves;
    const Lanes* l = pairs + axis.phase[static_cast<size_t>(o) + 1] * halves;
    __m128i a = round, b = round;
#pragma GCC unroll 8
    for (int i = 0; i < halves; i++) {
      a = _mm_add_epi32(a, Tap(p + 6 * i, k[i], shuffle));
      b = _mm_add_epi32(b, Tap(r + 6 * i, l[i], shuffle));
    }
    // Four bytes stored for three: the fourth is the next pixel's, written after (the row's last
    // pixel, below, stores three).
    const uint32_t first = Pack(a), second = Pack(b);
    std::memcpy(q, &first, 4);
    std::memcpy(q + 3, &second, 4);
  }
  for (; o <= last; o++, q += 3) {
    const uint8_t* p = padded + static_cast<size_t>(axis.first[static_cast<size_t>(o)]) * 3;
    const Lanes* k = pairs + axis.phase[static_cast<size_t>(o)] * halves;
    __m128i a = round;
    for (int i = 0; i < halves; i++) a = _mm_add_epi32(a, Tap(p + 6 * i, k[i], shuffle));
    const uint32_t rgb = Pack(a);
    q[0] = static_cast<uint8_t>(rgb);
    q[1] = static_cast<uint8_t>(rgb >> 8);
    q[2] = static_cast<uint8_t>(rgb >> 16);
  }
}

// The row function for a mask: unrolled for the common sizes (lanczos3 below 2.2×: 7 to 13 taps).
using RgbRow = void (*)(const uint8_t*, const Axis&, const Lanes*, uint8_t*);
RgbRow RgbRowFor(int points) {
  switch ((points + 1) / 2) {
    case 2: return RowRgbSsse3<2>;
    case 3: return RowRgbSsse3<3>;
    case 4: return RowRgbSsse3<4>;
    case 5: return RowRgbSsse3<5>;
    case 6: return RowRgbSsse3<6>;
    case 7: return RowRgbSsse3<7>;
    default: return RowRgbSsse3<0>;
  }
}

// One channel: eight taps at a time against the zero-padded mask.
void RowGreySse2(const uint8_t* padded, const Axis& axis, uint8_t* q) {
  const __m128i zero = _mm_setzero_si128();
  const int stride = Stride(axis.points);
  for (int o = 0; o < axis.out; o++) {
    const uint8_t* p = padded + axis.first[static_cast<size_t>(o)];
    const int16_t* k = axis.mask[static_cast<size_t>(o)];
    __m128i sum = zero;
    for (int i = 0; i < stride; i += 8) {
      const __m128i pixels = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + i)), zero);
      sum = _mm_add_epi32(sum, _mm_madd_epi16(pixels, _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i))));
    }
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(1, 0, 3, 2)));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(2, 3, 0, 1)));
    q[o] = Clip(_mm_cvtsi128_si32(sum) + kRound);
  }
}
#endif

void RowScalar(const uint8_t* padded, int channels, const Axis& axis, uint8_t* q) {
  const int n = axis.points;
  for (int o = 0; o < axis.out; o++) {
    const uint8_t* p = padded + static_cast<size_t>(axis.first[static_cast<size_t>(o)]) * channels;
    const int16_t* k = axis.mask[static_cast<size_t>(o)];
    for (int c = 0; c < channels; c++) {
      int32_t sum = kRound;
      for (int i = 0; i < n; i++) sum += k[i] * p[i * channels + c];
      *q++ = Clip(sum);
    }
  }
}

}  // namespace

void ReduceH(const uint8_t* in, int height, int channels, const Axis& axis, uint8_t* out) {
  // Each row copied with libvips' embedded edges (the first and last pixel repeated), and room for
  // the vector loads past the last tap.
  const int reach = axis.first.empty() ? 0 : axis.first.back() + Stride(axis.points) + 8;
  const int paddedWidth = std::max(reach, axis.pad + axis.in) + 8;
  std::vector<uint8_t> padded(static_cast<size_t>(paddedWidth) * channels + 16);
#ifdef VITRINE_X86
  const bool ssse3 = __builtin_cpu_supports("ssse3");
  const RgbRow rgbRow = RgbRowFor(axis.points);
  // Every mask's coefficients two by two, broadcast (the mask is zero past its points).
  const int stride = Stride(axis.points);
  const int halves = (axis.points + 1) / 2;
  std::vector<Lanes> pairs(channels == 3 && ssse3 ? static_cast<size_t>(kSteps + 1) * halves : 0);
  for (size_t m = 0; m < pairs.size(); m++) {
    const int16_t* k = axis.masks.data() + m / halves * stride + m % halves * 2;
    pairs[m].v = _mm_set1_epi32(static_cast<int32_t>(static_cast<uint16_t>(k[0]) | static_cast<uint32_t>(static_cast<uint16_t>(k[1])) << 16));
  }
#endif
  const size_t rowBytes = static_cast<size_t>(axis.in) * channels;
  for (int y = 0; y < height; y++) {
    const uint8_t* row = in + static_cast<size_t>(y) * rowBytes;
    uint8_t* p = padded.data();
    for (int i = 0; i < axis.pad; i++, p += channels) std::memcpy(p, row, static_cast<size_t>(channels));
    std::memcpy(p, row, rowBytes);
    p += rowBytes;
    for (int i = axis.pad + axis.in; i < paddedWidth; i++, p += channels) std::memcpy(p, row + rowBytes - channels, static_cast<size_t>(channels));
    uint8_t* q = out + static_cast<size_t>(y) * axis.out * channels;
#ifdef VITRINE_X86
    if (channels == 3 && ssse3) {
      rgbRow(padded.data(), axis, pairs.data(), q);
      continue;
    }
    if (channels == 1) {
      RowGreySse2(padded.data(), axis, q);
      continue;
    }
#endif
    RowScalar(padded.data(), channels, axis, q);
  }
}

}  // namespace vitrine_reduce
