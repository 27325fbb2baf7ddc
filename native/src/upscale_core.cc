#include "upscale_core.h"
#include "vips_fixed_point.h"

// The row loops below vectorise at -O3 (the addon builds with -O2); clang vectorises them at -O2.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cmath>
#include <cstdint>
#include <vector>

namespace vitrine_upscale {

namespace {

// What libvips 8.18 does when sharp upsizes with a cubic-family kernel: vips_resize hands upsizing to
// vips_affine with its bicubic interpolator, input displaced by half a pixel (output pixel o samples
// the source at o × in/out − 0.5, on both axes, even one not scaled), edges extended by copying.
// The interpolator is Catmull-Rom with the position rounded to 1/64 of a pixel and weights in 12-bit
// fixed point; it filters each of the window's four rows across, rounds, then combines the four
// down and rounds again. That is separable: here each source row is filtered across once into a row
// of integers, and each output row is four such rows weighted, the same sums in the same order
// (identical bytes), but a few integer multiply-adds per sample, which the compiler vectorises,
// instead of a 4×4 window per output pixel.
using vitrine_vips::kRound;
using vitrine_vips::kShift;
using vitrine_vips::kSteps;

struct Weights {
  int w[kSteps + 1][4];
  Weights() {
    for (int s = 0; s <= kSteps; s++) {
      // Computed in float from the step, as libvips does, then truncated to fixed point.
      const double t = static_cast<double>(static_cast<float>(s) / kSteps);
      // Catmull-Rom (a = -1/2) weights of the samples at -1, 0, +1, +2 for an offset t in [0, 1].
      const double weights[4] = {-0.5 * t * (1 - t) * (1 - t), 1 - 2.5 * t * t + 1.5 * t * t * t, 0.5 * t + 2 * t * t - 1.5 * t * t * t, -0.5 * t * t * (1 - t)};
      for (int i = 0; i < 4; i++) w[s][i] = static_cast<int>(weights[i] * (1 << kShift));
    }
  }
};

const Weights& Table() {
  static const Weights table;  // thread-safe initialisation (C++11)
  return table;
}

// For every output coordinate along one axis: the four source samples (clamped) and their weights.
struct Tap {
  int index[4];
  const int* weight;
};

std::vector<Tap> AxisTaps(int in, int out) {
  const Weights& table = Table();
  std::vector<Tap> taps(static_cast<size_t>(out));
  const double step = static_cast<double>(in) / out;
  for (int o = 0; o < out; o++) {
    // One more than the position, as in libvips' window, so that truncation is flooring.
    const double position = o * step - 0.5 + 1;
    const int fixed = static_cast<int>(position * kSteps * 2);
    const int frac = ((fixed & (kSteps * 2 - 1)) + 1) >> 1;
    const int base = static_cast<int>(position) - 1;
    Tap& tap = taps[static_cast<size_t>(o)];
    for (int k = 0; k < 4; k++) {
      const int i = base - 1 + k;
      tap.index[k] = i < 0 ? 0 : i >= in ? in - 1 : i;
    }
    tap.weight = table.w[frac];
  }
  return taps;
}

}  // namespace

std::string CheckUpscale(const UpscaleJob& job) {
  if (job.channels < 1 || job.channels > 4) return "channels must be 1 to 4";
  if (job.width < 1 || job.height < 1 || job.width > (1 << 16) || job.height > (1 << 16)) return "width and height out of range";
  if (job.outWidth < job.width || job.outHeight < job.height || job.outWidth > (1 << 16) || job.outHeight > (1 << 16)) {
    return "the output must be at least as large as the input, and at most 65536 a side";
  }
  if (job.in == nullptr || job.inSize < static_cast<size_t>(job.width) * job.height * job.channels) return "in is smaller than width × height × channels";
  if (job.out == nullptr || job.outSize < static_cast<size_t>(job.outWidth) * job.outHeight * job.channels) {
    return "out is smaller than outWidth × outHeight × channels";
  }
  return "";
}

// Compiled twice: with AVX2 (eight 32-bit multiplies per instruction) where the CPU has it, else SSE2.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void Upscale(const UpscaleJob& job) {
  const int ch = job.channels;
  const std::vector<Tap> across = AxisTaps(job.width, job.outWidth);
  const std::vector<Tap> down = AxisTaps(job.height, job.outHeight);
  const size_t rowSamples = static_cast<size_t>(job.outWidth) * ch;
  // Source rows filtered across, the last four used: output rows walk down the source in order.
  std::vector<int32_t> rows(rowSamples * 4);
  int held[4] = {-1, -1, -1, -1};
  auto filtered = [&](int y) -> const int32_t* {
    int32_t* row = rows.data() + static_cast<size_t>(y & 3) * rowSamples;
    if (held[y & 3] == y) return row;
    held[y & 3] = y;
    const unsigned char* src = job.in + static_cast<size_t>(y) * job.width * ch;
    for (int x = 0; x < job.outWidth; x++) {
      const Tap& t = across[static_cast<size_t>(x)];
      const unsigned char* p0 = src + t.index[0] * ch;
      const unsigned char* p1 = src + t.index[1] * ch;
      const unsigned char* p2 = src + t.index[2] * ch;
      const unsigned char* p3 = src + t.index[3] * ch;
      for (int c = 0; c < ch; c++) {
        const int sum = t.weight[0] * p0[c] + t.weight[1] * p1[c] + t.weight[2] * p2[c] + t.weight[3] * p3[c];
        row[static_cast<size_t>(x) * ch + c] = (sum + kRound) >> kShift;
      }
    }
    return row;
  };
  for (int y = 0; y < job.outHeight; y++) {
    const Tap& t = down[static_cast<size_t>(y)];
    // Near the edges the four rows repeat (clamped): each is filtered once.
    const int32_t* r0 = filtered(t.index[0]);
    const int32_t* r1 = filtered(t.index[1]);
    const int32_t* r2 = filtered(t.index[2]);
    const int32_t* r3 = filtered(t.index[3]);
    const int32_t w0 = t.weight[0], w1 = t.weight[1], w2 = t.weight[2], w3 = t.weight[3];
    unsigned char* dst = job.out + static_cast<size_t>(y) * rowSamples;
    for (size_t i = 0; i < rowSamples; i++) {
      int32_t v = (w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i] + kRound) >> kShift;
      v = v < 0 ? 0 : v > 255 ? 255 : v;
      dst[i] = static_cast<unsigned char>(v);
    }
  }
}

}  // namespace vitrine_upscale
