// Helpers shared by the NEON element-wise, reduction and normalisation kernels (include only
// from -neon.cpp files): 4-lane loops with lane-wise tails, and the rr2-p5 exp / sigmoid of
// avx2-common.h (same constants, same operation order, so the same error bound).
#pragma once
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "native/simd/neon-tail.h"

namespace ce::native::neon {

inline float32x4_t splat(float v) { return vdupq_n_f32(v); }

// All ones in the lanes whose sign bit is set (negative numbers, -0, NaN with the sign bit).
inline uint32x4_t sign_mask(float32x4_t v) {
  return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(v), 31));
}

inline float32x4_t or_sign(float32x4_t v) {  // -|v|
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(v), vdupq_n_u32(0x80000000u)));
}

// Applies `f` (float32x4_t -> float32x4_t) to n floats, 16 per step (four independent
// vectors), then 4, then a lane-wise tail. y may be x.
template <class F>
inline void map(size_t n, const float* x, float* y, const F& f) {
  for (; n >= 16; n -= 16, x += 16, y += 16) {
    const float32x4_t a = f(vld1q_f32(x)), b = f(vld1q_f32(x + 4));
    const float32x4_t c = f(vld1q_f32(x + 8)), d = f(vld1q_f32(x + 12));
    vst1q_f32(y, a);
    vst1q_f32(y + 4, b);
    vst1q_f32(y + 8, c);
    vst1q_f32(y + 12, d);
  }
  for (; n >= 4; n -= 4, x += 4, y += 4) vst1q_f32(y, f(vld1q_f32(x)));
  if (n) store_tail(y, f(load_tail(x, n)), n);
}

// y[i] = f(a[i], b[i]) for i < n, 8 per step, then 4, then a lane-wise tail; with kScalarB,
// b[0] for every i.
template <bool kScalarB, class F>
inline void map2(size_t n, const float* a, const float* b, float* y, const F& f) {
  const float32x4_t vb0 = kScalarB ? vld1q_dup_f32(b) : vdupq_n_f32(0.0f);
  auto ld = [&](size_t i) { return kScalarB ? vb0 : vld1q_f32(b + i); };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t r0 = f(vld1q_f32(a + i), ld(i));
    const float32x4_t r1 = f(vld1q_f32(a + i + 4), ld(i + 4));
    vst1q_f32(y + i, r0);
    vst1q_f32(y + i + 4, r1);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(a + i), ld(i)));
  if (i < n) {
    const float32x4_t vb = kScalarB ? vb0 : load_tail(b + i, n - i);
    store_tail(y + i, f(load_tail(a + i, n - i), vb), n - i);
  }
}

// exp(z) for -87.33 <= z <= 0 (callers flush below): z = n ln2 + t, ln2 in two constants
// (Cody-Waite), exp(t) ~= 1 + t p(t) with p of degree 4 (the rr2-p5 polynomial), 2^n built in
// the exponent bits by the magic-bias rounding. As avx2::exp_nonpositive, (1 + t p) s and not
// s + (t s) p: t s is denormal (flushed) for z < -86.3.
inline float32x4_t exp_nonpositive(float32x4_t vz) {
  const float32x4_t vmagic = splat(0x1.8000FEp23f);  // 1.5 * 2^23 + 127: round + bias
  float32x4_t vn = vfmaq_f32(vmagic, vz, splat(0x1.715476p+0f));
  const float32x4_t vs = vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(vn), 23));
  vn = vsubq_f32(vn, vmagic);
  float32x4_t vt = vfmaq_f32(vz, vn, splat(-0x1.62E400p-1f));
  vt = vfmaq_f32(vt, vn, splat(-0x1.7F7D1Cp-20f));
  float32x4_t vp = vfmaq_f32(splat(0x1.573A1Ap-5f), splat(0x1.0F9F9Cp-7f), vt);
  vp = vfmaq_f32(splat(0x1.555A80p-3f), vp, vt);
  vp = vfmaq_f32(splat(0x1.FFFDC6p-2f), vp, vt);
  vp = vfmaq_f32(splat(0x1.FFFFF6p-1f), vp, vt);
  return vmulq_f32(vfmaq_f32(splat(1.0f), vt, vp), vs);
}

// exp(z) for z <= 0, 0 below -87.33 (results under 2^-126).
inline float32x4_t exp_nonpositive_flushed(float32x4_t vz) {
  const uint32x4_t vlow = vcltq_f32(vz, splat(-0x1.5D589Ep+6f));
  return vreinterpretq_f32_u32(
      vbicq_u32(vreinterpretq_u32_f32(exp_nonpositive(vz)), vlow));
}

// sigmoid(x): e = exp(-|x|), f = e / (1 + e) is sigmoid(-|x|); 1 - f for x >= 0. Below -87.33
// the result is 0; NaN propagates.
inline float32x4_t sigmoid(float32x4_t vx) {
  const float32x4_t vone = splat(1.0f);
  const float32x4_t ve = exp_nonpositive_flushed(or_sign(vx));
  const float32x4_t vf = vdivq_f32(ve, vaddq_f32(ve, vone));
  return vbslq_f32(sign_mask(vx), vf, vsubq_f32(vone, vf));
}

}  // namespace ce::native::neon
