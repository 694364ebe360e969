// Vector math shared by the AVX2 element-wise kernels (the math ops and the conv epilogue).
// Include only from -avx2.cpp / -fma3.cpp files. Every function takes and returns 8 floats;
// NaN in gives NaN out. Where an argument is clamped, the clamp is written as max(lo, v) /
// min(hi, v): maxps/minps return their second operand when either is NaN, so NaN passes.
//
// The polynomial and rational coefficients (other than exp's, shared with avx2-common.h) are
// minimax fits made for this file (tools/fit_math_constants.py), rounded to float32.
#pragma once
#include <cmath>

#include "native/elementwise/avx2-common.h"

namespace ce::native::avx2 {

inline __m256 splat(float v) { return _mm256_set1_ps(v); }

// y[i] = f(a[i], b[i]) for i < n (f: (__m256, __m256) -> __m256), 16 per step, then 8, then a
// masked tail; with kScalarB, b[0] for every i.
template <bool kScalarB, class F>
inline void map2(size_t n, const float* a, const float* b, float* y, const F& f) {
  const __m256 vb0 = kScalarB ? _mm256_broadcast_ss(b) : _mm256_setzero_ps();
  auto ld = [&](size_t i) { return kScalarB ? vb0 : _mm256_loadu_ps(b + i); };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 r0 = f(_mm256_loadu_ps(a + i), ld(i));
    const __m256 r1 = f(_mm256_loadu_ps(a + i + 8), ld(i + 8));
    _mm256_storeu_ps(y + i, r0);
    _mm256_storeu_ps(y + i + 8, r1);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(a + i), ld(i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 vb = kScalarB ? vb0 : _mm256_maskload_ps(b + i, m);
    _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(a + i, m), vb));
  }
}

inline __m256 abs(__m256 v) { return _mm256_andnot_ps(splat(-0.0f), v); }

// Smallest float x with exp(x) >= 2^-126; results below it are returned as 0.
constexpr float kExpCutoff = -0x1.5D589Ep+6f;

// exp(t) ~= 1 + t p(t) for |t| <= ln2 / 2 (exp_nonpositive's polynomial).
inline __m256 exp_reduced(__m256 vt) {
  __m256 vp = _mm256_fmadd_ps(splat(0x1.0F9F9Cp-7f), vt, splat(0x1.573A1Ap-5f));
  vp = _mm256_fmadd_ps(vp, vt, splat(0x1.555A80p-3f));
  vp = _mm256_fmadd_ps(vp, vt, splat(0x1.FFFDC6p-2f));
  vp = _mm256_fmadd_ps(vp, vt, splat(0x1.FFFFF6p-1f));
  return _mm256_fmadd_ps(vt, vp, splat(1.0f));
}

// exp(x) for every float: x = n ln2 + t (two-constant reduction), 2^n applied as two factors
// 2^(n >> 1) and 2^(n - (n >> 1)), which keeps both normal for n in [-126, 128] (x up to
// ln(FLT_MAX) = 88.72 is finite). x < kExpCutoff gives 0, x > 88.72 and +inf give +inf.
inline __m256 exp(__m256 x) {
  const __m256 vx = _mm256_min_ps(splat(88.8f), _mm256_max_ps(splat(-87.5f), x));
  const __m256 vn = _mm256_round_ps(_mm256_mul_ps(vx, splat(0x1.715476p+0f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 vt = _mm256_fmadd_ps(vn, splat(-0x1.62E400p-1f), vx);
  vt = _mm256_fmadd_ps(vn, splat(-0x1.7F7D1Cp-20f), vt);
  const __m256i vi = _mm256_cvtps_epi32(vn);
  const __m256i vh = _mm256_srai_epi32(vi, 1);
  const __m256i vbias = _mm256_set1_epi32(127);
  const __m256 vs1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(vh, vbias), 23));
  const __m256 vs2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(vi, vh), vbias), 23));
  const __m256 vr = _mm256_mul_ps(_mm256_mul_ps(exp_reduced(vt), vs1), vs2);
  return _mm256_andnot_ps(_mm256_cmp_ps(x, splat(kExpCutoff), _CMP_LT_OQ), vr);
}

// exp(z) - 1 for z <= 0 without cancellation near 0: z = n ln2 + t, s = 2^n (n in [-26, 0]),
// expm1(z) = s (e^t - 1) + (s - 1) with s - 1 exact and e^t - 1 = t + t^2 q(t) (degree-4 q).
// Below -17.5 the result rounds to -1.
inline __m256 expm1_nonpositive(__m256 z) {
  const __m256 vz = _mm256_max_ps(splat(-17.5f), z);
  const __m256 vn = _mm256_round_ps(_mm256_mul_ps(vz, splat(0x1.715476p+0f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 vt = _mm256_fmadd_ps(vn, splat(-0x1.62E400p-1f), vz);
  vt = _mm256_fmadd_ps(vn, splat(-0x1.7F7D1Cp-20f), vt);
  const __m256 vs = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(vn), _mm256_set1_epi32(127)), 23));
  __m256 vq = _mm256_fmadd_ps(splat(0x1.6bec06p-10f), vt, splat(0x1.122768p-7f));
  vq = _mm256_fmadd_ps(vq, vt, splat(0x1.555674p-5f));
  vq = _mm256_fmadd_ps(vq, vt, splat(0x1.5554b0p-3f));
  vq = _mm256_fmadd_ps(vq, vt, splat(0x1.fffffep-2f));
  const __m256 vp = _mm256_fmadd_ps(_mm256_mul_ps(vt, vt), vq, vt);
  return _mm256_fmadd_ps(vs, vp, _mm256_sub_ps(vs, splat(1.0f)));
}

// log(1 + f) for f in [sqrt(1/2) - 1, 1]: s = f / (2 + f), log(1 + f) = 2 atanh(s)
// = f - s f + 2 s^3 g(s^2) (2 s = f - s f), so the rounding of s is damped by |s| <= 1/3.
inline __m256 log1p_reduced(__m256 vf) {
  const __m256 vs = _mm256_div_ps(vf, _mm256_add_ps(vf, splat(2.0f)));
  const __m256 vw = _mm256_mul_ps(vs, vs);
  __m256 vg = _mm256_fmadd_ps(splat(0x1.1ed7bcp-3f), vw, splat(0x1.1ebd0ep-3f));
  vg = _mm256_fmadd_ps(vg, vw, splat(0x1.99d208p-3f));
  vg = _mm256_fmadd_ps(vg, vw, splat(0x1.555502p-2f));
  const __m256 vr = _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(vs, vs), vw), vg);
  return _mm256_sub_ps(vf, _mm256_fmsub_ps(vs, vf, vr));
}

// log(x): x = 2^e m with m in [sqrt(1/2), sqrt(2)), log(x) = e ln2 + log1p(m - 1). Denormal
// inputs are read through their integer bits (x = bits 2^-149), so they are exact whether or
// not DAZ is on. log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf.
inline __m256 log(__m256 x) {
  const __m256i vbits = _mm256_castps_si256(x);
  const __m256i vzero = _mm256_setzero_si256();
  const __m256i vmag = _mm256_and_si256(vbits, _mm256_set1_epi32(0x7FFFFFFF));
  const __m256i vden = _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), vbits),
                                        _mm256_cmpgt_epi32(vbits, vzero));
  const __m256i vb = _mm256_blendv_epi8(vbits, _mm256_castps_si256(_mm256_cvtepi32_ps(vbits)), vden);
  const __m256i vk = _mm256_sub_epi32(vb, _mm256_set1_epi32(0x3F3504F3));
  const __m256i ve = _mm256_add_epi32(_mm256_srai_epi32(vk, 23),
                                      _mm256_and_si256(vden, _mm256_set1_epi32(-149)));
  const __m256 vm = _mm256_castsi256_ps(_mm256_add_epi32(
      _mm256_and_si256(vk, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F3504F3)));
  const __m256 vlm = log1p_reduced(_mm256_sub_ps(vm, splat(1.0f)));
  const __m256 vef = _mm256_cvtepi32_ps(ve);
  __m256 vr = _mm256_fmadd_ps(vef, splat(0x1.62E400p-1f),
                              _mm256_fmadd_ps(vef, splat(0x1.7F7D1Cp-20f), vlm));
  const __m256i vis_zero = _mm256_cmpeq_epi32(vmag, vzero);
  const __m256i vis_inf = _mm256_cmpeq_epi32(vbits, _mm256_set1_epi32(0x7F800000));
  const __m256 vis_nan = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                                      _mm256_castsi256_ps(_mm256_andnot_si256(
                                          vis_zero, _mm256_cmpgt_epi32(vzero, vbits))));
  vr = _mm256_blendv_ps(vr, splat(-INFINITY), _mm256_castsi256_ps(vis_zero));
  vr = _mm256_blendv_ps(vr, splat(INFINITY), _mm256_castsi256_ps(vis_inf));
  return _mm256_blendv_ps(vr, splat(NAN), vis_nan);
}

// erf(x) = x P(x^2) / Q(x^2) (degrees 6 / 4 in x^2) for |x| < 3.92, +-1 beyond (erf(3.92) rounds
// to 1 in float32).
inline __m256 erf(__m256 x) {
  const __m256 va = abs(x);
  const __m256 vc = _mm256_min_ps(splat(3.92f), va);
  const __m256 vu = _mm256_mul_ps(vc, vc);
  __m256 vp = _mm256_fmadd_ps(splat(0x1.564bf0p-26f), vu, splat(-0x1.06c714p-19f));
  vp = _mm256_fmadd_ps(vp, vu, splat(0x1.297c48p-13f));
  vp = _mm256_fmadd_ps(vp, vu, splat(0x1.e52f68p-9f));
  vp = _mm256_fmadd_ps(vp, vu, splat(0x1.9e4c56p-5f));
  vp = _mm256_fmadd_ps(vp, vu, splat(0x1.9972bap-3f));
  vp = _mm256_fmadd_ps(vp, vu, splat(0x1.20dd74p+0f));
  __m256 vq = _mm256_fmadd_ps(splat(0x1.f53f70p-11f), vu, splat(0x1.d65464p-7f));
  vq = _mm256_fmadd_ps(vq, vu, splat(0x1.d70928p-4f));
  vq = _mm256_fmadd_ps(vq, vu, splat(0x1.0561bep-1f));
  vq = _mm256_fmadd_ps(vq, vu, splat(1.0f));
  __m256 vr = _mm256_min_ps(splat(1.0f), _mm256_div_ps(_mm256_mul_ps(vc, vp), vq));
  vr = _mm256_blendv_ps(vr, splat(1.0f), _mm256_cmp_ps(va, splat(3.92f), _CMP_GE_OQ));
  return _mm256_or_ps(vr, _mm256_and_ps(x, splat(-0.0f)));
}

// gelu(x) = x Phi(x). h = Phi(-|x|) = exp(-x^2 / 2) H(|x|) with H(a) = erfcx(a / sqrt 2) / 2 as
// a rational P(a) / Q(a) (degrees 4 / 5) on [0, 14]; x^2 is split into hi + lo by an FMA so
// the exponent is exact, then gelu(x) = x h for x < 0, x - x h otherwise: relative accuracy on
// both tails, as sigmoid has. +inf gives +inf, -inf gives NaN (-inf * 0, as torch).
inline __m256 gelu(__m256 x) {
  const __m256 va = _mm256_min_ps(splat(14.0f), abs(x));
  const __m256 vhi = _mm256_mul_ps(va, va);
  const __m256 vlo = _mm256_fmsub_ps(va, va, vhi);
  const __m256 ve = exp(_mm256_mul_ps(vhi, splat(-0.5f)));
  const __m256 vg = _mm256_fnmadd_ps(_mm256_mul_ps(ve, splat(0.5f)), vlo, ve);
  __m256 vp = _mm256_fmadd_ps(splat(0x1.0b378ap-8f), va, splat(0x1.4ab890p-5f));
  vp = _mm256_fmadd_ps(vp, va, splat(0x1.75ac7cp-3f));
  vp = _mm256_fmadd_ps(vp, va, splat(0x1.bfbd56p-2f));
  vp = _mm256_fmadd_ps(vp, va, splat(0.5f));
  __m256 vq = _mm256_fmadd_ps(splat(0x1.4ee710p-7f), va, splat(0x1.9e8670p-4f));
  vq = _mm256_fmadd_ps(vq, va, splat(0x1.dea302p-2f));
  vq = _mm256_fmadd_ps(vq, va, splat(0x1.3303a8p+0f));
  vq = _mm256_fmadd_ps(vq, va, splat(0x1.ac20dap+0f));
  vq = _mm256_fmadd_ps(vq, va, splat(1.0f));
  // |x| h = (|x| H) e: when h is below 2^-126 (flushed) x h may not be, near x = -13
  const __m256 vah = _mm256_mul_ps(_mm256_mul_ps(va, _mm256_div_ps(vp, vq)), vg);
  const __m256 vr = _mm256_blendv_ps(_mm256_sub_ps(x, vah), _mm256_xor_ps(vah, splat(-0.0f)), x);
  return _mm256_blendv_ps(vr, splat(NAN), _mm256_cmp_ps(x, splat(-INFINITY), _CMP_EQ_OQ));
}

// gelu with the tanh approximation: x / 2 (1 + tanh(u)) = x sigmoid(z), z = 2u
// = x (c1 + c2 x^2), c1 = 2 sqrt(2 / pi), c2 = 0.044715 c1. sigmoid(z) for z < 0 is e / (1 + e),
// e = exp(z), whose relative error is the absolute error of z: z (up to -87) is computed in
// double, and so is its reduction z = n ln2 + t, so that t is accurate to float precision.
inline __m256 gelu_tanh(__m256 x) {
  const __m256d vc1 = _mm256_set1_pd(1.5957691216057307117597),
                vc2 = _mm256_set1_pd(1.5957691216057307117597 * 0.044715),
                vlog2e = _mm256_set1_pd(1.4426950408889634074),
                vln2 = _mm256_set1_pd(0.69314718055994530942), vsign = _mm256_set1_pd(-0.0);
  __m128 t[2];
  __m128i n[2];
  for (int h = 0; h < 2; ++h) {
    const __m256d vx = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(x, 1) : _mm256_castps256_ps128(x));
    // -|z|; the sign of z is the sign of x
    const __m256d vz = _mm256_or_pd(
        _mm256_mul_pd(vx, _mm256_fmadd_pd(_mm256_mul_pd(vx, vx), vc2, vc1)), vsign);
    const __m256d vn = _mm256_round_pd(_mm256_mul_pd(vz, vlog2e),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    t[h] = _mm256_cvtpd_ps(_mm256_fnmadd_pd(vn, vln2, vz));
    n[h] = _mm256_cvtpd_epi32(vn);
  }
  const __m256 vt = _mm256_set_m128(t[1], t[0]);
  const __m256i vn = _mm256_set_m128i(n[1], n[0]);
  // n >= -126 exactly when e >= 2^-126.5: below, e (and sigmoid) flush to 0
  const __m256 vs = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(vn, _mm256_set1_epi32(127)), 23));
  const __m256 vkeep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vn, _mm256_set1_epi32(-127)));
  const __m256 ve = _mm256_and_ps(_mm256_mul_ps(exp_reduced(vt), vs), vkeep);
  const __m256 vf = _mm256_div_ps(ve, _mm256_add_ps(ve, splat(1.0f)));
  // x sigmoid(z): x f for x < 0, x - x f otherwise (f = 0 from x = 10 on: x f = 0 for x = +inf)
  return _mm256_blendv_ps(_mm256_fnmadd_ps(_mm256_min_ps(splat(16.0f), x), vf, x),
                          _mm256_mul_ps(x, vf), x);
}

// mish(x) = x tanh(log(1 + e)) = x n / (n + 2), n = e (e + 2), e = exp(x): no cancellation for
// x -> -inf (the result is x e there); n / (n + 2) is exactly 1 from x = 9 on, so exp's
// argument is capped at 20.
inline __m256 mish(__m256 x) {
  const __m256 ve = exp(_mm256_min_ps(splat(20.0f), x));
  const __m256 vn = _mm256_fmadd_ps(ve, ve, _mm256_add_ps(ve, ve));
  return _mm256_mul_ps(x, _mm256_div_ps(vn, _mm256_add_ps(vn, splat(2.0f))));
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
inline __m256 softplus(__m256 x) {
  const __m256 ve = exp(_mm256_or_ps(x, splat(-0.0f)));
  return _mm256_add_ps(_mm256_max_ps(_mm256_setzero_ps(), x), log1p_reduced(ve));
}

// x > 0 ? beta x : alpha expm1(gamma x)   (Elu: 1, 1; Selu: alpha gamma, gamma, 1;
// Celu: alpha, 1, 1 / alpha). +-0 take the first branch, which keeps their sign.
inline __m256 elu(__m256 x, __m256 alpha, __m256 beta, __m256 gamma) {
  const __m256 vneg = _mm256_mul_ps(alpha, expm1_nonpositive(_mm256_mul_ps(gamma, x)));
  return _mm256_blendv_ps(vneg, _mm256_mul_ps(beta, x),
                          _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

inline __m256 softsign(__m256 x) { return _mm256_div_ps(x, _mm256_add_ps(splat(1.0f), abs(x))); }

// min(a, b) and max(a, b), NaN when either is NaN (minps / maxps return their second operand
// for NaN, so a NaN a is put back).
inline __m256 min(__m256 a, __m256 b) {
  return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}
inline __m256 max(__m256 a, __m256 b) {
  return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}

// PRelu: a < 0 ? a * b : a, by the sign bit (-0 gives -0 * b).
inline __m256 prelu(__m256 a, __m256 b) { return _mm256_blendv_ps(a, _mm256_mul_ps(a, b), a); }

// x > alpha ? x : 0, and NaN for NaN.
inline __m256 threshold(__m256 x, __m256 alpha) {
  return _mm256_and_ps(x, _mm256_cmp_ps(x, alpha, _CMP_NLE_UQ));
}

}  // namespace ce::native::avx2
