// floor / ceil / round-half-to-even by frintm / frintp / frintn, sign by two compares and a
// NaN select; 16 floats per step, then 4, then a lane-wise tail.
#include <arm_neon.h>

#include "native/round/round.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

namespace {

template <class F>
inline void map(size_t n, const float* x, float* y, F f) {
  for (; n >= 16; n -= 16, x += 16, y += 16) {
    const float32x4_t v0 = f(vld1q_f32(x)), v1 = f(vld1q_f32(x + 4));
    const float32x4_t v2 = f(vld1q_f32(x + 8)), v3 = f(vld1q_f32(x + 12));
    vst1q_f32(y, v0);
    vst1q_f32(y + 4, v1);
    vst1q_f32(y + 8, v2);
    vst1q_f32(y + 12, v3);
  }
  for (; n >= 4; n -= 4, x += 4, y += 4) vst1q_f32(y, f(vld1q_f32(x)));
  if (n) neon::store_tail(y, f(neon::load_tail(x, n)), n);
}

}  // namespace

void f32_vround__neon(size_t n, const float* x, float* y, RoundMode mode) {
  switch (mode) {
    case RoundMode::kFloor:
      return map(n, x, y, [](float32x4_t v) { return vrndmq_f32(v); });
    case RoundMode::kCeil:
      return map(n, x, y, [](float32x4_t v) { return vrndpq_f32(v); });
    case RoundMode::kNearestEven:
      return map(n, x, y, [](float32x4_t v) { return vrndnq_f32(v); });
    case RoundMode::kSign: {
      const uint32x4_t one = vreinterpretq_u32_f32(vdupq_n_f32(1.0f));
      const uint32x4_t sign = vdupq_n_u32(0x80000000u);
      return map(n, x, y, [&](float32x4_t v) {
        const float32x4_t zero = vdupq_n_f32(0.0f);
        // +1 where v > 0, -1 where v < 0, +0 elsewhere; NaN lanes keep v
        const uint32x4_t mag = vandq_u32(vorrq_u32(vcgtq_f32(v, zero), vcltq_f32(v, zero)), one);
        const uint32x4_t s = vorrq_u32(mag, vandq_u32(vcltq_f32(v, zero), sign));
        return vbslq_f32(vceqq_f32(v, v), vreinterpretq_f32_u32(s), v);
      });
    }
  }
}

}  // namespace ce::native
