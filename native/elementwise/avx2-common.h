// Helpers shared by the AVX2 element-wise kernels (include only from -avx2.cpp files).
#pragma once
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstddef>
#include <cstdint>

namespace ce::native::avx2 {


// Applies `f` (a __m256 -> __m256 functor) to n floats, 32 per step, then 8, then a masked tail.
template <class F>
inline void map(size_t n, const float* x, float* y, const F& f) {
  for (; n >= 32; n -= 32, x += 32, y += 32) {
    const __m256 a = f(_mm256_loadu_ps(x)), b = f(_mm256_loadu_ps(x + 8));
    const __m256 c = f(_mm256_loadu_ps(x + 16)), d = f(_mm256_loadu_ps(x + 24));
    _mm256_storeu_ps(y, a);
    _mm256_storeu_ps(y + 8, b);
    _mm256_storeu_ps(y + 16, c);
    _mm256_storeu_ps(y + 24, d);
  }
  for (; n >= 8; n -= 8, x += 8, y += 8) _mm256_storeu_ps(y, f(_mm256_loadu_ps(x)));
  if (n) {
    const __m256i m = tail_mask(n);
    _mm256_maskstore_ps(y, m, f(_mm256_maskload_ps(x, m)));
  }
}

// exp(z) for z <= 0, accurate for z >= -87.33 (results >= 2^-126); callers flush below that.
// Range reduction z = n ln2 + t with |t| <= ln2/2, ln2 split in two constants (Cody-Waite):
// a single float ln2 is 1.9e-9 off, which for n near -126 puts 2.4e-7 of relative error into
// the result (XNNPACK's rr1 variant); the split keeps it below 1 ulp. Then
// exp(t) ~= 1 + t * p(t) with a degree-5 minimax polynomial, and 2^n built in the exponent bits
// (n >= -126 for z >= -87.33, so 2^n is a normal number).
// Constants are those of XNNPACK's f32-vsigmoid rr2-p5 kernels.
inline __m256 exp_nonpositive(__m256 vz) {
  const __m256 vmagic = _mm256_set1_ps(0x1.8000FEp23f);  // 1.5 * 2^23 + 127: round + bias
  const __m256 vlog2e = _mm256_set1_ps(0x1.715476p+0f);
  const __m256 vminus_ln2_hi = _mm256_set1_ps(-0x1.62E400p-1f);
  const __m256 vminus_ln2_lo = _mm256_set1_ps(-0x1.7F7D1Cp-20f);
  const __m256 vc5 = _mm256_set1_ps(0x1.0F9F9Cp-7f);
  const __m256 vc4 = _mm256_set1_ps(0x1.573A1Ap-5f);
  const __m256 vc3 = _mm256_set1_ps(0x1.555A80p-3f);
  const __m256 vc2 = _mm256_set1_ps(0x1.FFFDC6p-2f);
  const __m256 vc1 = _mm256_set1_ps(0x1.FFFFF6p-1f);
  __m256 vn = _mm256_fmadd_ps(vz, vlog2e, vmagic);
  const __m256 vs = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(vn), 23));
  vn = _mm256_sub_ps(vn, vmagic);
  __m256 vt = _mm256_fmadd_ps(vn, vminus_ln2_hi, vz);
  vt = _mm256_fmadd_ps(vn, vminus_ln2_lo, vt);
  __m256 vp = _mm256_fmadd_ps(vc5, vt, vc4);
  vp = _mm256_fmadd_ps(vp, vt, vc3);
  vp = _mm256_fmadd_ps(vp, vt, vc2);
  vp = _mm256_fmadd_ps(vp, vt, vc1);
  // exp(z) = s * (1 + t * p). Not s + (t * s) * p as XNNPACK: the engine flushes denormals, and
  // t * s is denormal for n <= -125 (z < -86.3), which lost up to 41% of the result there.
  return _mm256_mul_ps(_mm256_fmadd_ps(vt, vp, _mm256_set1_ps(1.0f)), vs);
}

// sigmoid(x): e = exp(-|x|), f = e / (1 + e) is sigmoid(-|x|); reflect with 1 - f for x >= 0.
// Below -87.33 the result (< 2^-126) is flushed to 0. NaN in, NaN out.
inline __m256 sigmoid(__m256 vx) {
  const __m256 vsign = _mm256_set1_ps(-0.0f);
  const __m256 vone = _mm256_set1_ps(1.0f);
  const __m256 vcutoff = _mm256_set1_ps(-0x1.5D589Ep+6f);
  const __m256 vz = _mm256_or_ps(vx, vsign);
  const __m256 ve = exp_nonpositive(vz);
  __m256 vf = _mm256_div_ps(ve, _mm256_add_ps(ve, vone));
  vf = _mm256_andnot_ps(_mm256_cmp_ps(vz, vcutoff, _CMP_LT_OQ), vf);
  return _mm256_blendv_ps(_mm256_sub_ps(vone, vf), vf, vx);
}

}  // namespace ce::native::avx2
