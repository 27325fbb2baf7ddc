#pragma once
// libvips' reducev and reduceh (what sharp's resize() runs to downsize 8-bit pixels by less than
// twice its reduce gap), reproduced so the addon gives the same bytes without a libvips pipeline.

#include <cstdint>
#include <string>
#include <vector>

namespace vitrine_reduce {

// libvips' VipsKernel values for the kernels reproduced here (nearest subsamples instead).
enum Kernel { kLinear = 1, kCubic = 2, kMitchell = 3, kLanczos2 = 4, kLanczos3 = 5 };

// One axis of a reduction from `in` to `out` samples: the mask table libvips builds for it.
struct Axis {
  int in = 0, out = 0;
  int points = 0;      // taps per output sample
  int pad = 0;         // samples libvips' embed adds before the first (edges copied)
  double shrink = 0;   // the residual shrink factor
  double offset = 0;   // libvips' hoffset/voffset
  std::vector<int16_t> masks;  // 65 masks of `points` coefficients, 12-bit fixed point
  // For every output sample: its first tap (in the embedded axis) and its mask.
  std::vector<int> first;
  std::vector<const int16_t*> mask;
  std::vector<int> phase;  // which of the 65 masks

};

// Plans one axis as libvips does for resize(1 / (in / out)) with `kernel` and the default gap of
// 2; "" when it can, else why not (a reduction libvips would start with a box shrink, a kernel
// not reproduced, an output larger than the input).
std::string PlanAxis(int in, int out, int kernel, Axis& axis);

// PlanAxis's answer without the plan: what a job's check needs, without computing the kernel's
// weights (thousands of sin() calls for a lanczos3 reduction), which the run computes once.
std::string AxisProblem(int in, int out, int kernel);

// Vertical pass: in (width × axis.in rows, `channels` interleaved) to width × axis.out rows.
void ReduceV(const uint8_t* in, int width, int channels, const Axis& axis, uint8_t* out);

// Horizontal pass: in (axis.in × height) to axis.out × height.
void ReduceH(const uint8_t* in, int height, int channels, const Axis& axis, uint8_t* out);

}  // namespace vitrine_reduce
