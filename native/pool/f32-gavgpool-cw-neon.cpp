// Global average pooling of channels-first planes: out[j] = scale * sum of the `pixels`
// contiguous floats of plane j. Four 4-lane accumulators (16 floats per step), then 4, then a
// lane-wise tail, then one horizontal sum per plane.
#include "native/pool/pool.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

void f32_gavgpool_cw__neon(size_t planes, size_t pixels, const float* in, float scale,
                           float* out) {
  for (size_t j = 0; j < planes; ++j, in += pixels) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in;
    size_t n = pixels;
    for (; n >= 16; n -= 16, p += 16) {
      a0 = vaddq_f32(a0, vld1q_f32(p));
      a1 = vaddq_f32(a1, vld1q_f32(p + 4));
      a2 = vaddq_f32(a2, vld1q_f32(p + 8));
      a3 = vaddq_f32(a3, vld1q_f32(p + 12));
    }
    for (; n >= 4; n -= 4, p += 4) a0 = vaddq_f32(a0, vld1q_f32(p));
    if (n) a1 = vaddq_f32(a1, neon::load_tail(p, n));
    out[j] = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) * scale;
  }
}

}  // namespace ce::native
