// Vector math of the NEON element-wise kernels (the math ops and the conv epilogue): the
// functions of avx2-math.h lane for lane on 4 floats, with the same range reductions,
// polynomial and rational degrees, coefficients and operation order (each FMA of the AVX2
// version is one FMA here), so the error bounds written in the -avx2.cpp files hold. Include
// only from -neon.cpp files. NaN in gives NaN out: fmin / fmax propagate NaN from either
// operand, where minps / maxps needed it as their second.
#pragma once
#include <cmath>

#include "native/elementwise/neon-common.h"

namespace ce::native::neon {

inline float32x4_t select(uint32x4_t m, float32x4_t a, float32x4_t b) { return vbslq_f32(m, a, b); }
inline float32x4_t fmsub(float32x4_t a, float32x4_t b, float32x4_t c) {  // a b - c, one rounding
  return vnegq_f32(vfmsq_f32(c, a, b));
}
inline float32x4_t pow2i(int32x4_t n) {  // 2^n for n in [-126, 127]
  return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23));
}

// Smallest float x with exp(x) >= 2^-126; results below it are returned as 0.
constexpr float kExpCutoff = -0x1.5D589Ep+6f;

// exp(t) ~= 1 + t p(t) for |t| <= ln2 / 2 (exp_nonpositive's polynomial).
inline float32x4_t exp_reduced(float32x4_t vt) {
  float32x4_t vp = vfmaq_f32(splat(0x1.573A1Ap-5f), splat(0x1.0F9F9Cp-7f), vt);
  vp = vfmaq_f32(splat(0x1.555A80p-3f), vp, vt);
  vp = vfmaq_f32(splat(0x1.FFFDC6p-2f), vp, vt);
  vp = vfmaq_f32(splat(0x1.FFFFF6p-1f), vp, vt);
  return vfmaq_f32(splat(1.0f), vt, vp);
}

// exp(x) for every float: x = n ln2 + t, 2^n as 2^(n >> 1) 2^(n - (n >> 1)) (both normal for
// n in [-126, 128]). x < kExpCutoff gives 0, x > 88.72 and +inf give +inf.
inline float32x4_t exp(float32x4_t x) {
  const float32x4_t vx = vminq_f32(splat(88.8f), vmaxq_f32(splat(-87.5f), x));
  const int32x4_t vi = vcvtnq_s32_f32(vmulq_f32(vx, splat(0x1.715476p+0f)));
  const float32x4_t vn = vcvtq_f32_s32(vi);
  float32x4_t vt = vfmaq_f32(vx, vn, splat(-0x1.62E400p-1f));
  vt = vfmaq_f32(vt, vn, splat(-0x1.7F7D1Cp-20f));
  const int32x4_t vh = vshrq_n_s32(vi, 1);
  const float32x4_t vr = vmulq_f32(vmulq_f32(exp_reduced(vt), pow2i(vh)), pow2i(vsubq_s32(vi, vh)));
  return vreinterpretq_f32_u32(
      vbicq_u32(vreinterpretq_u32_f32(vr), vcltq_f32(x, splat(kExpCutoff))));
}

// exp(z) - 1 for z <= 0: z = n ln2 + t, s = 2^n, expm1(z) = s (t + t^2 q(t)) + (s - 1), s - 1
// exact (degree-4 q). Below -17.5 the result rounds to -1.
inline float32x4_t expm1_nonpositive(float32x4_t z) {
  const float32x4_t vz = vmaxq_f32(splat(-17.5f), z);
  const int32x4_t vi = vcvtnq_s32_f32(vmulq_f32(vz, splat(0x1.715476p+0f)));
  const float32x4_t vn = vcvtq_f32_s32(vi);
  float32x4_t vt = vfmaq_f32(vz, vn, splat(-0x1.62E400p-1f));
  vt = vfmaq_f32(vt, vn, splat(-0x1.7F7D1Cp-20f));
  const float32x4_t vs = pow2i(vi);
  float32x4_t vq = vfmaq_f32(splat(0x1.122768p-7f), splat(0x1.6bec06p-10f), vt);
  vq = vfmaq_f32(splat(0x1.555674p-5f), vq, vt);
  vq = vfmaq_f32(splat(0x1.5554b0p-3f), vq, vt);
  vq = vfmaq_f32(splat(0x1.fffffep-2f), vq, vt);
  const float32x4_t vp = vfmaq_f32(vt, vmulq_f32(vt, vt), vq);
  return vfmaq_f32(vsubq_f32(vs, splat(1.0f)), vs, vp);
}

// log(1 + f) for f in [sqrt(1/2) - 1, 1]: s = f / (2 + f), log(1 + f) = f - s f + 2 s^3 g(s^2).
inline float32x4_t log1p_reduced(float32x4_t vf) {
  const float32x4_t vs = vdivq_f32(vf, vaddq_f32(vf, splat(2.0f)));
  const float32x4_t vw = vmulq_f32(vs, vs);
  float32x4_t vg = vfmaq_f32(splat(0x1.1ebd0ep-3f), splat(0x1.1ed7bcp-3f), vw);
  vg = vfmaq_f32(splat(0x1.99d208p-3f), vg, vw);
  vg = vfmaq_f32(splat(0x1.555502p-2f), vg, vw);
  const float32x4_t vr = vmulq_f32(vmulq_f32(vaddq_f32(vs, vs), vw), vg);
  return vsubq_f32(vf, fmsub(vs, vf, vr));
}

// log(x): x = 2^e m, m in [sqrt(1/2), sqrt(2)), log(x) = e ln2 + log1p(m - 1). Denormal inputs
// are read through their bits (exact with or without FZ). log(+-0) = -inf, log(x < 0) = NaN,
// log(+inf) = +inf.
inline float32x4_t log(float32x4_t x) {
  const int32x4_t vbits = vreinterpretq_s32_f32(x);
  const uint32x4_t vden = vandq_u32(vcltq_s32(vbits, vdupq_n_s32(0x00800000)), vcgtzq_s32(vbits));
  const int32x4_t vb = vbslq_s32(vden, vreinterpretq_s32_f32(vcvtq_f32_s32(vbits)), vbits);
  const int32x4_t vk = vsubq_s32(vb, vdupq_n_s32(0x3F3504F3));
  const int32x4_t ve = vaddq_s32(vshrq_n_s32(vk, 23),
                                 vandq_s32(vreinterpretq_s32_u32(vden), vdupq_n_s32(-149)));
  const float32x4_t vm = vreinterpretq_f32_s32(
      vaddq_s32(vandq_s32(vk, vdupq_n_s32(0x007FFFFF)), vdupq_n_s32(0x3F3504F3)));
  const float32x4_t vlm = log1p_reduced(vsubq_f32(vm, splat(1.0f)));
  const float32x4_t vef = vcvtq_f32_s32(ve);
  float32x4_t vr = vfmaq_f32(vfmaq_f32(vlm, vef, splat(0x1.7F7D1Cp-20f)), vef, splat(0x1.62E400p-1f));
  const uint32x4_t vis_zero =
      vceqq_s32(vandq_s32(vbits, vdupq_n_s32(0x7FFFFFFF)), vdupq_n_s32(0));
  const uint32x4_t vis_inf = vceqq_s32(vbits, vdupq_n_s32(0x7F800000));
  const uint32x4_t vis_nan = vorrq_u32(vmvnq_u32(vceqq_f32(x, x)),
                                       vbicq_u32(vcltzq_s32(vbits), vis_zero));
  vr = select(vis_zero, splat(-INFINITY), vr);
  vr = select(vis_inf, splat(INFINITY), vr);
  return select(vis_nan, splat(NAN), vr);
}

// erf(x) = x P(x^2) / Q(x^2) (degrees 6 / 4 in x^2) for |x| < 3.92, +-1 beyond.
inline float32x4_t erf(float32x4_t x) {
  const float32x4_t va = vabsq_f32(x);
  const float32x4_t vc = vminq_f32(splat(3.92f), va);
  const float32x4_t vu = vmulq_f32(vc, vc);
  float32x4_t vp = vfmaq_f32(splat(-0x1.06c714p-19f), splat(0x1.564bf0p-26f), vu);
  vp = vfmaq_f32(splat(0x1.297c48p-13f), vp, vu);
  vp = vfmaq_f32(splat(0x1.e52f68p-9f), vp, vu);
  vp = vfmaq_f32(splat(0x1.9e4c56p-5f), vp, vu);
  vp = vfmaq_f32(splat(0x1.9972bap-3f), vp, vu);
  vp = vfmaq_f32(splat(0x1.20dd74p+0f), vp, vu);
  float32x4_t vq = vfmaq_f32(splat(0x1.d65464p-7f), splat(0x1.f53f70p-11f), vu);
  vq = vfmaq_f32(splat(0x1.d70928p-4f), vq, vu);
  vq = vfmaq_f32(splat(0x1.0561bep-1f), vq, vu);
  vq = vfmaq_f32(splat(1.0f), vq, vu);
  float32x4_t vr = vminq_f32(splat(1.0f), vdivq_f32(vmulq_f32(vc, vp), vq));
  vr = select(vcgeq_f32(va, splat(3.92f)), splat(1.0f), vr);
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(vr),
                                         vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u))));
}

// gelu(x) = x Phi(x): h = Phi(-|x|) = exp(-x^2 / 2) H(|x|), H = P / Q (degrees 4 / 5) on
// [0, 14], x^2 split into hi + lo by an FMA; x h for x < 0, x - x h otherwise. +inf gives +inf,
// -inf NaN (as torch).
inline float32x4_t gelu(float32x4_t x) {
  const float32x4_t va = vminq_f32(splat(14.0f), vabsq_f32(x));
  const float32x4_t vhi = vmulq_f32(va, va);
  const float32x4_t vlo = fmsub(va, va, vhi);
  const float32x4_t ve = exp(vmulq_f32(vhi, splat(-0.5f)));
  const float32x4_t vg = vfmsq_f32(ve, vmulq_f32(ve, splat(0.5f)), vlo);
  float32x4_t vp = vfmaq_f32(splat(0x1.4ab890p-5f), splat(0x1.0b378ap-8f), va);
  vp = vfmaq_f32(splat(0x1.75ac7cp-3f), vp, va);
  vp = vfmaq_f32(splat(0x1.bfbd56p-2f), vp, va);
  vp = vfmaq_f32(splat(0.5f), vp, va);
  float32x4_t vq = vfmaq_f32(splat(0x1.9e8670p-4f), splat(0x1.4ee710p-7f), va);
  vq = vfmaq_f32(splat(0x1.dea302p-2f), vq, va);
  vq = vfmaq_f32(splat(0x1.3303a8p+0f), vq, va);
  vq = vfmaq_f32(splat(0x1.ac20dap+0f), vq, va);
  vq = vfmaq_f32(splat(1.0f), vq, va);
  // |x| h = (|x| H) e: when h is below 2^-126 (flushed) x h may not be, near x = -13
  const float32x4_t vah = vmulq_f32(vmulq_f32(va, vdivq_f32(vp, vq)), vg);
  const float32x4_t vr = select(sign_mask(x), vnegq_f32(vah), vsubq_f32(x, vah));
  return select(vceqq_f32(x, splat(-INFINITY)), splat(NAN), vr);
}

// gelu, tanh form: x sigmoid(z), z = x (c1 + c2 x^2), c1 = 2 sqrt(2 / pi), c2 = 0.044715 c1;
// z and its reduction z = n ln2 + t in double (two float64x2 halves), so t is accurate to float
// precision and the relative error of e = exp(-|z|) is that of the polynomial.
inline float32x4_t gelu_tanh(float32x4_t x) {
  const float64x2_t vc1 = vdupq_n_f64(1.5957691216057307117597),
                    vc2 = vdupq_n_f64(1.5957691216057307117597 * 0.044715),
                    vlog2e = vdupq_n_f64(1.4426950408889634074),
                    vln2 = vdupq_n_f64(0.69314718055994530942);
  auto reduce = [&](float64x2_t vx, float64x2_t* vn) {
    // -|z|; the sign of z is the sign of x
    const float64x2_t vz = vnegq_f64(vabsq_f64(vmulq_f64(vx, vfmaq_f64(vc1, vmulq_f64(vx, vx), vc2))));
    *vn = vrndnq_f64(vmulq_f64(vz, vlog2e));
    return vfmsq_f64(vz, *vn, vln2);
  };
  float64x2_t vn0, vn1;
  const float64x2_t vt0 = reduce(vcvt_f64_f32(vget_low_f32(x)), &vn0);
  const float64x2_t vt1 = reduce(vcvt_high_f64_f32(x), &vn1);
  const float32x4_t vt = vcvt_high_f32_f64(vcvt_f32_f64(vt0), vt1);
  // saturating: n of a huge |z| (or -inf) stays below -126
  const int32x4_t vn = vcombine_s32(vqmovn_s64(vcvtq_s64_f64(vn0)), vqmovn_s64(vcvtq_s64_f64(vn1)));
  // n >= -126 exactly when e >= 2^-126.5: below, e (and sigmoid) flush to 0
  const uint32x4_t vkeep = vcgtq_s32(vn, vdupq_n_s32(-127));
  const float32x4_t ve = vreinterpretq_f32_u32(vandq_u32(
      vreinterpretq_u32_f32(vmulq_f32(exp_reduced(vt), pow2i(vn))), vkeep));
  const float32x4_t vf = vdivq_f32(ve, vaddq_f32(ve, splat(1.0f)));
  // x f for x < 0, x - x f otherwise (f = 0 from x = 10 on: x f = 0 for x = +inf)
  return select(sign_mask(x), vmulq_f32(x, vf), vfmsq_f32(x, vminq_f32(splat(16.0f), x), vf));
}

// mish(x) = x n / (n + 2), n = e (e + 2), e = exp(min(x, 20)).
inline float32x4_t mish(float32x4_t x) {
  const float32x4_t ve = exp(vminq_f32(splat(20.0f), x));
  const float32x4_t vn = vfmaq_f32(vaddq_f32(ve, ve), ve, ve);
  return vmulq_f32(x, vdivq_f32(vn, vaddq_f32(vn, splat(2.0f))));
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
inline float32x4_t softplus(float32x4_t x) {
  const float32x4_t ve = exp(or_sign(x));
  return vaddq_f32(vmaxq_f32(vdupq_n_f32(0.0f), x), log1p_reduced(ve));
}

// x > 0 ? beta x : alpha expm1(gamma x) (Elu: 1, 1; Selu: alpha gamma, gamma, 1; Celu: alpha,
// 1, 1 / alpha). +-0 take the first branch, which keeps their sign.
inline float32x4_t elu(float32x4_t x, float32x4_t alpha, float32x4_t beta, float32x4_t gamma) {
  const float32x4_t vneg = vmulq_f32(alpha, expm1_nonpositive(vmulq_f32(gamma, x)));
  return select(vcgezq_f32(x), vmulq_f32(beta, x), vneg);
}

inline float32x4_t softsign(float32x4_t x) {
  return vdivq_f32(x, vaddq_f32(splat(1.0f), vabsq_f32(x)));
}

// PRelu: a < 0 ? a b : a, by the sign bit (-0 gives -0 b).
inline float32x4_t prelu(float32x4_t a, float32x4_t b) {
  return select(sign_mask(a), vmulq_f32(a, b), a);
}

// x > alpha ? x : 0, and NaN for NaN.
inline float32x4_t threshold(float32x4_t x, float32x4_t alpha) {
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(x), vcleq_f32(x, alpha)));
}

}  // namespace ce::native::neon
