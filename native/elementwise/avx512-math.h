// Vector math shared by the AVX-512 element-wise kernels (the math ops and the conv epilogue),
// 16 floats per call. The same evaluation as avx2-math.h, operation for operation (the same
// coefficients, reductions and special-value handling; masks in place of blendv), so every
// function has avx2-math.h's accuracy and NaN behaviour; see that file for the derivations.
// exp's 2^n is applied with scalef (one exact scaling, where avx2 multiplies by two halves).
// Include only from -avx512f.cpp files.
#pragma once
#include <cmath>

#include "native/elementwise/avx512-common.h"

namespace ce::native::avx512 {

inline __m512 splat(float v) { return _mm512_set1_ps(v); }

inline __m512 abs(__m512 v) { return _mm512_abs_ps(v); }

inline __m512 flip_sign(__m512 v) { return _mm512_xor_ps(v, splat(-0.0f)); }

constexpr float kExpCutoff = -0x1.5D589Ep+6f;

inline __m512 exp_reduced(__m512 vt) {
  __m512 vp = _mm512_fmadd_ps(splat(0x1.0F9F9Cp-7f), vt, splat(0x1.573A1Ap-5f));
  vp = _mm512_fmadd_ps(vp, vt, splat(0x1.555A80p-3f));
  vp = _mm512_fmadd_ps(vp, vt, splat(0x1.FFFDC6p-2f));
  vp = _mm512_fmadd_ps(vp, vt, splat(0x1.FFFFF6p-1f));
  return _mm512_fmadd_ps(vt, vp, splat(1.0f));
}

constexpr int kRoundNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

// exp(x) for every float; x < kExpCutoff gives 0, x > 88.72 and +inf give +inf.
inline __m512 exp(__m512 x) {
  const __m512 vx = _mm512_min_ps(splat(88.8f), _mm512_max_ps(splat(-87.5f), x));
  const __m512 vn = _mm512_roundscale_ps(_mm512_mul_ps(vx, splat(0x1.715476p+0f)), kRoundNearest);
  __m512 vt = _mm512_fmadd_ps(vn, splat(-0x1.62E400p-1f), vx);
  vt = _mm512_fmadd_ps(vn, splat(-0x1.7F7D1Cp-20f), vt);
  const __m512 vr = _mm512_scalef_ps(exp_reduced(vt), vn);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, splat(kExpCutoff), _CMP_NLT_UQ), vr);
}

// exp(z) - 1 for z <= 0 without cancellation near 0 (avx2::expm1_nonpositive).
inline __m512 expm1_nonpositive(__m512 z) {
  const __m512 vz = _mm512_max_ps(splat(-17.5f), z);
  const __m512 vn = _mm512_roundscale_ps(_mm512_mul_ps(vz, splat(0x1.715476p+0f)), kRoundNearest);
  __m512 vt = _mm512_fmadd_ps(vn, splat(-0x1.62E400p-1f), vz);
  vt = _mm512_fmadd_ps(vn, splat(-0x1.7F7D1Cp-20f), vt);
  const __m512 vs = _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(vn), _mm512_set1_epi32(127)), 23));
  __m512 vq = _mm512_fmadd_ps(splat(0x1.6bec06p-10f), vt, splat(0x1.122768p-7f));
  vq = _mm512_fmadd_ps(vq, vt, splat(0x1.555674p-5f));
  vq = _mm512_fmadd_ps(vq, vt, splat(0x1.5554b0p-3f));
  vq = _mm512_fmadd_ps(vq, vt, splat(0x1.fffffep-2f));
  const __m512 vp = _mm512_fmadd_ps(_mm512_mul_ps(vt, vt), vq, vt);
  return _mm512_fmadd_ps(vs, vp, _mm512_sub_ps(vs, splat(1.0f)));
}

// log(1 + f) for f in [sqrt(1/2) - 1, 1] (avx2::log1p_reduced).
inline __m512 log1p_reduced(__m512 vf) {
  const __m512 vs = _mm512_div_ps(vf, _mm512_add_ps(vf, splat(2.0f)));
  const __m512 vw = _mm512_mul_ps(vs, vs);
  __m512 vg = _mm512_fmadd_ps(splat(0x1.1ed7bcp-3f), vw, splat(0x1.1ebd0ep-3f));
  vg = _mm512_fmadd_ps(vg, vw, splat(0x1.99d208p-3f));
  vg = _mm512_fmadd_ps(vg, vw, splat(0x1.555502p-2f));
  const __m512 vr = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(vs, vs), vw), vg);
  return _mm512_sub_ps(vf, _mm512_fmsub_ps(vs, vf, vr));
}

// log(x) (avx2::log): denormals read through their integer bits; log(+-0) = -inf, log(x < 0)
// = NaN, log(+inf) = +inf.
inline __m512 log(__m512 x) {
  const __m512i vbits = _mm512_castps_si512(x);
  const __m512i vzero = _mm512_setzero_si512();
  const __m512i vmag = _mm512_and_si512(vbits, _mm512_set1_epi32(0x7FFFFFFF));
  const __mmask16 den = _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(0x00800000), vbits) &
                        _mm512_cmpgt_epi32_mask(vbits, vzero);
  const __m512i vb = _mm512_mask_mov_epi32(vbits, den, _mm512_castps_si512(_mm512_cvtepi32_ps(vbits)));
  const __m512i vk = _mm512_sub_epi32(vb, _mm512_set1_epi32(0x3F3504F3));
  const __m512i vexp = _mm512_srai_epi32(vk, 23);
  const __m512i ve = _mm512_mask_add_epi32(vexp, den, vexp, _mm512_set1_epi32(-149));
  const __m512 vm = _mm512_castsi512_ps(_mm512_add_epi32(
      _mm512_and_si512(vk, _mm512_set1_epi32(0x007FFFFF)), _mm512_set1_epi32(0x3F3504F3)));
  const __m512 vlm = log1p_reduced(_mm512_sub_ps(vm, splat(1.0f)));
  const __m512 vef = _mm512_cvtepi32_ps(ve);
  __m512 vr = _mm512_fmadd_ps(vef, splat(0x1.62E400p-1f),
                              _mm512_fmadd_ps(vef, splat(0x1.7F7D1Cp-20f), vlm));
  const __mmask16 is_zero = _mm512_cmpeq_epi32_mask(vmag, vzero);
  const __mmask16 is_inf = _mm512_cmpeq_epi32_mask(vbits, _mm512_set1_epi32(0x7F800000));
  const __mmask16 is_nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) |
                           (static_cast<__mmask16>(~is_zero) & _mm512_cmpgt_epi32_mask(vzero, vbits));
  vr = _mm512_mask_mov_ps(vr, is_zero, splat(-INFINITY));
  vr = _mm512_mask_mov_ps(vr, is_inf, splat(INFINITY));
  return _mm512_mask_mov_ps(vr, is_nan, splat(NAN));
}

// erf(x) = x P(x^2) / Q(x^2) for |x| < 3.92, +-1 beyond (avx2::erf).
inline __m512 erf(__m512 x) {
  const __m512 va = abs(x);
  const __m512 vc = _mm512_min_ps(splat(3.92f), va);
  const __m512 vu = _mm512_mul_ps(vc, vc);
  __m512 vp = _mm512_fmadd_ps(splat(0x1.564bf0p-26f), vu, splat(-0x1.06c714p-19f));
  vp = _mm512_fmadd_ps(vp, vu, splat(0x1.297c48p-13f));
  vp = _mm512_fmadd_ps(vp, vu, splat(0x1.e52f68p-9f));
  vp = _mm512_fmadd_ps(vp, vu, splat(0x1.9e4c56p-5f));
  vp = _mm512_fmadd_ps(vp, vu, splat(0x1.9972bap-3f));
  vp = _mm512_fmadd_ps(vp, vu, splat(0x1.20dd74p+0f));
  __m512 vq = _mm512_fmadd_ps(splat(0x1.f53f70p-11f), vu, splat(0x1.d65464p-7f));
  vq = _mm512_fmadd_ps(vq, vu, splat(0x1.d70928p-4f));
  vq = _mm512_fmadd_ps(vq, vu, splat(0x1.0561bep-1f));
  vq = _mm512_fmadd_ps(vq, vu, splat(1.0f));
  __m512 vr = _mm512_min_ps(splat(1.0f), _mm512_div_ps(_mm512_mul_ps(vc, vp), vq));
  vr = _mm512_mask_mov_ps(vr, _mm512_cmp_ps_mask(va, splat(3.92f), _CMP_GE_OQ), splat(1.0f));
  return _mm512_or_ps(vr, _mm512_and_ps(x, splat(-0.0f)));
}

// gelu(x) = x Phi(x) through exp(-x^2 / 2) H(|x|), H rational (avx2::gelu).
inline __m512 gelu(__m512 x) {
  const __m512 va = _mm512_min_ps(splat(14.0f), abs(x));
  const __m512 vhi = _mm512_mul_ps(va, va);
  const __m512 vlo = _mm512_fmsub_ps(va, va, vhi);
  const __m512 ve = exp(_mm512_mul_ps(vhi, splat(-0.5f)));
  const __m512 vg = _mm512_fnmadd_ps(_mm512_mul_ps(ve, splat(0.5f)), vlo, ve);
  __m512 vp = _mm512_fmadd_ps(splat(0x1.0b378ap-8f), va, splat(0x1.4ab890p-5f));
  vp = _mm512_fmadd_ps(vp, va, splat(0x1.75ac7cp-3f));
  vp = _mm512_fmadd_ps(vp, va, splat(0x1.bfbd56p-2f));
  vp = _mm512_fmadd_ps(vp, va, splat(0.5f));
  __m512 vq = _mm512_fmadd_ps(splat(0x1.4ee710p-7f), va, splat(0x1.9e8670p-4f));
  vq = _mm512_fmadd_ps(vq, va, splat(0x1.dea302p-2f));
  vq = _mm512_fmadd_ps(vq, va, splat(0x1.3303a8p+0f));
  vq = _mm512_fmadd_ps(vq, va, splat(0x1.ac20dap+0f));
  vq = _mm512_fmadd_ps(vq, va, splat(1.0f));
  const __m512 vah = _mm512_mul_ps(_mm512_mul_ps(va, _mm512_div_ps(vp, vq)), vg);
  const __m512 vr = _mm512_mask_sub_ps(flip_sign(vah), sign_clear(x), x, vah);
  return _mm512_mask_mov_ps(vr, _mm512_cmp_ps_mask(x, splat(-INFINITY), _CMP_EQ_OQ), splat(NAN));
}

// gelu's tanh form x sigmoid(z), z and its reduction in double (avx2::gelu_tanh): 8 doubles
// per half.
inline __m512 gelu_tanh(__m512 x) {
  const __m512d vc1 = _mm512_set1_pd(1.5957691216057307117597),
                vc2 = _mm512_set1_pd(1.5957691216057307117597 * 0.044715),
                vlog2e = _mm512_set1_pd(1.4426950408889634074),
                vln2 = _mm512_set1_pd(0.69314718055994530942), vsign = _mm512_set1_pd(-0.0);
  __m256 t[2];
  __m256i n[2];
  for (int h = 0; h < 2; ++h) {
    const __m512d vx = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(x, 1) : _mm512_castps512_ps256(x));
    const __m512d vz = _mm512_or_pd(
        _mm512_mul_pd(vx, _mm512_fmadd_pd(_mm512_mul_pd(vx, vx), vc2, vc1)), vsign);
    const __m512d vn = _mm512_roundscale_pd(_mm512_mul_pd(vz, vlog2e), kRoundNearest);
    t[h] = _mm512_cvtpd_ps(_mm512_fnmadd_pd(vn, vln2, vz));
    n[h] = _mm512_cvtpd_epi32(vn);
  }
  const __m512 vt = _mm512_insertf32x8(_mm512_castps256_ps512(t[0]), t[1], 1);
  const __m512i vn = _mm512_inserti32x8(_mm512_castsi256_si512(n[0]), n[1], 1);
  const __m512 vs = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(vn, _mm512_set1_epi32(127)), 23));
  const __mmask16 keep = _mm512_cmpgt_epi32_mask(vn, _mm512_set1_epi32(-127));
  const __m512 ve = _mm512_maskz_mul_ps(keep, exp_reduced(vt), vs);
  const __m512 vf = _mm512_div_ps(ve, _mm512_add_ps(ve, splat(1.0f)));
  return _mm512_mask_mov_ps(_mm512_mul_ps(x, vf), sign_clear(x),
                            _mm512_fnmadd_ps(_mm512_min_ps(splat(16.0f), x), vf, x));
}

// mish(x) = x n / (n + 2), n = e (e + 2), e = exp(min(x, 20)) (avx2::mish).
inline __m512 mish(__m512 x) {
  const __m512 ve = exp(_mm512_min_ps(splat(20.0f), x));
  const __m512 vn = _mm512_fmadd_ps(ve, ve, _mm512_add_ps(ve, ve));
  return _mm512_mul_ps(x, _mm512_div_ps(vn, _mm512_add_ps(vn, splat(2.0f))));
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
inline __m512 softplus(__m512 x) {
  const __m512 ve = exp(_mm512_or_ps(x, splat(-0.0f)));
  return _mm512_add_ps(_mm512_max_ps(_mm512_setzero_ps(), x), log1p_reduced(ve));
}

// x > 0 ? beta x : alpha expm1(gamma x) (avx2::elu); +-0 take the first branch.
inline __m512 elu(__m512 x, __m512 alpha, __m512 beta, __m512 gamma) {
  const __m512 vneg = _mm512_mul_ps(alpha, expm1_nonpositive(_mm512_mul_ps(gamma, x)));
  return _mm512_mask_mul_ps(vneg, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), beta, x);
}

}  // namespace ce::native::avx512
