#pragma once
// libvips' fixed point for resampling, which the reduce and the bicubic upsizing reproduce to the
// byte: positions in 1/64 of a sample, coefficients in 1/4096, rounded by adding half before the shift.

namespace vitrine_vips {

constexpr int kSteps = 64;
constexpr int kShift = 12;
constexpr int kRound = 1 << (kShift - 1);

}  // namespace vitrine_vips
