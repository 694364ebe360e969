// Rounding microkernels: y[i] = f(x[i]) for i < n, f by `mode` (RoundMode). They handle their
// own tail, may run in place (y == x) and propagate NaN (sign(NaN) is NaN, sign(+-0) is +0).
#pragma once
#include <cstddef>

namespace ce::native {

enum class RoundMode { kFloor, kCeil, kNearestEven, kSign };

using VRoundFn = void (*)(size_t n, const float* x, float* y, RoundMode mode);

void f32_vround__avx2(size_t n, const float* x, float* y, RoundMode mode);
void f32_vround__neon(size_t n, const float* x, float* y, RoundMode mode);
void f32_vround__scalar(size_t n, const float* x, float* y, RoundMode mode);

}  // namespace ce::native
