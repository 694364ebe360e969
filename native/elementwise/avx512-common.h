// Helpers shared by the AVX-512 element-wise kernels (include only from -avx512f.cpp files).
// The arithmetic is that of avx2-common.h, lane for lane, so results are bit-identical to the
// AVX2 kernels'; masks replace the blends.
#pragma once
#include <immintrin.h>

#include "native/simd/avx512.h"

#include <cstddef>
#include <cstdint>

namespace ce::native::avx512 {

// Applies `f` (a __m512 -> __m512 functor) to n floats, 64 per step, then 16, then a masked tail.
template <class F>
inline void map(size_t n, const float* x, float* y, const F& f) {
  for (; n >= 64; n -= 64, x += 64, y += 64) {
    const __m512 a = f(_mm512_loadu_ps(x)), b = f(_mm512_loadu_ps(x + 16));
    const __m512 c = f(_mm512_loadu_ps(x + 32)), d = f(_mm512_loadu_ps(x + 48));
    _mm512_storeu_ps(y, a);
    _mm512_storeu_ps(y + 16, b);
    _mm512_storeu_ps(y + 32, c);
    _mm512_storeu_ps(y + 48, d);
  }
  for (; n >= 16; n -= 16, x += 16, y += 16) _mm512_storeu_ps(y, f(_mm512_loadu_ps(x)));
  if (n) {
    const __mmask16 m = tail_mask(n);
    _mm512_mask_storeu_ps(y, m, f(_mm512_maskz_loadu_ps(m, x)));
  }
}

// Lanes whose sign bit is clear (x >= +0, +NaN): the lanes avx2's blendv(a, b, x) takes a in.
inline __mmask16 sign_clear(__m512 x) {
  return _mm512_testn_epi32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
}

// exp(z) for z <= 0, z >= -87.33: avx2::exp_nonpositive (rr2-p5, XNNPACK's constants).
inline __m512 exp_nonpositive(__m512 vz) {
  const __m512 vmagic = _mm512_set1_ps(0x1.8000FEp23f);  // 1.5 * 2^23 + 127: round + bias
  __m512 vn = _mm512_fmadd_ps(vz, _mm512_set1_ps(0x1.715476p+0f), vmagic);
  const __m512 vs = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(vn), 23));
  vn = _mm512_sub_ps(vn, vmagic);
  __m512 vt = _mm512_fmadd_ps(vn, _mm512_set1_ps(-0x1.62E400p-1f), vz);
  vt = _mm512_fmadd_ps(vn, _mm512_set1_ps(-0x1.7F7D1Cp-20f), vt);
  __m512 vp = _mm512_fmadd_ps(_mm512_set1_ps(0x1.0F9F9Cp-7f), vt, _mm512_set1_ps(0x1.573A1Ap-5f));
  vp = _mm512_fmadd_ps(vp, vt, _mm512_set1_ps(0x1.555A80p-3f));
  vp = _mm512_fmadd_ps(vp, vt, _mm512_set1_ps(0x1.FFFDC6p-2f));
  vp = _mm512_fmadd_ps(vp, vt, _mm512_set1_ps(0x1.FFFFF6p-1f));
  return _mm512_mul_ps(_mm512_fmadd_ps(vt, vp, _mm512_set1_ps(1.0f)), vs);
}

// sigmoid(x) as avx2::sigmoid: f = e / (1 + e), e = exp(-|x|), 0 below -87.33, 1 - f for
// x >= 0. NaN in, NaN out.
inline __m512 sigmoid(__m512 vx) {
  const __m512 vone = _mm512_set1_ps(1.0f);
  const __m512 vz = _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_castps_si512(vx), _mm512_set1_epi32(INT32_MIN)));
  const __m512 ve = exp_nonpositive(vz);
  const __mmask16 keep = _mm512_cmp_ps_mask(vz, _mm512_set1_ps(-0x1.5D589Ep+6f), _CMP_NLT_UQ);
  const __m512 vf = _mm512_maskz_div_ps(keep, ve, _mm512_add_ps(ve, vone));
  return _mm512_mask_sub_ps(vf, sign_clear(vx), vone, vf);
}

}  // namespace ce::native::avx512
