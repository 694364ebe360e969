// Softmax of contiguous rows, 4 lanes: the row's max, then e = exp(x - max) (neon::exp, as
// f32-vexp-neon) stored and summed in one pass, then y = e * (1 / sum) (the reciprocal in
// double); lane-wise tails. A row stays in L1 between the passes.
#include "native/elementwise/neon-math.h"
#include "native/norm/norm.h"
#include "native/simd/neon-tail.h"

#include <algorithm>
#include <cmath>

namespace ce::native {

void f32_softmax_rows__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                            size_t y_stride) {
  if (n == 0) return;
  const size_t full = n & ~size_t{3};
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    float32x4_t vmax = vdupq_n_f32(-INFINITY);
    for (size_t i = 0; i < full; i += 4) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
    float m = vmaxvq_f32(vmax);
    for (size_t i = full; i < n; ++i) m = std::max(m, x[i]);  // a NaN is caught by the sum
    const float32x4_t vm = vdupq_n_f32(m);
    float32x4_t vsum = vdupq_n_f32(0.0f);
    for (size_t i = 0; i < full; i += 4) {
      const float32x4_t e = neon::exp(vsubq_f32(vld1q_f32(x + i), vm));
      vst1q_f32(y + i, e);
      vsum = vaddq_f32(vsum, e);
    }
    float sum = vaddvq_f32(vsum);
    if (full < n) {
      neon::store_tail(y + full, neon::exp(vsubq_f32(neon::load_tail(x + full, n - full), vm)), n - full);
      for (size_t i = full; i < n; ++i) sum += y[i];
    }
    const float s = static_cast<float>(1.0 / sum);
    for (size_t i = 0; i < full; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), s));
    for (size_t i = full; i < n; ++i) y[i] *= s;
  }
}

}  // namespace ce::native
