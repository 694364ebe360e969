// Small AVX2 helpers shared by the kernels (include only from -avx2.cpp / -fma3.cpp files).
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ce::native::avx2 {

// Lane mask with the first n (< 8) lanes set, for _mm256_maskload_ps / _mm256_maskstore_ps.
inline __m256i tail_mask(size_t n) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&table[8 - n]));
}

// Stores the first n (< 8) lanes of v, without vmaskmovps (its stores are microcoded on AMD
// Zen: 2.4x slower on 8-channel tails).
inline void store_partial(float* p, __m256 v, size_t n) {
  __m128 h = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, h);
    h = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), h);
    h = _mm_movehl_ps(h, h);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, h);
}

// Sum and max of the 8 lanes (max: a NaN lane may or may not win).
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

// Stores lanes 0..n-1, n in 1..8.
inline void store_n(float* p, __m256 v, size_t n) {
  if (n == 8)
    _mm256_storeu_ps(p, v);
  else
    store_partial(p, v, n);
}

}  // namespace ce::native::avx2
