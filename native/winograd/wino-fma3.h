// The Winograd tile transforms of wino-tiles.h over 8-channel ymm vectors, shared by the
// f32-wino*-fma3.cpp files (include only from -fma3.cpp files, or from wino-avx512f.h, whose
// files also have AVX2 and FMA).
#pragma once
#include <immintrin.h>

#include <cstddef>

#include "native/simd/avx2.h"
#include "native/winograd/wino-tiles.h"

namespace ce::native::wino {

// Tails: vmaskmovps loads, lane-wise stores (avx2::store_partial: vmaskmovps stores are
// microcoded on AMD Zen); the input transform's padded tail is a whole vector.
struct Ymm {
  using T = __m256;
  using Mask = __m256i;
  static constexpr size_t kLanes = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T k(float v) { return _mm256_set1_ps(v); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static Mask all() { return _mm256_set1_epi32(-1); }
  static Mask tail(size_t n) { return avx2::tail_mask(n); }
  template <bool kTail>
  static T load(const float* p, Mask m) {
    return kTail ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
  }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void store_padded(float* p, T v, size_t) { _mm256_storeu_ps(p, v); }
  static void store_tail(float* p, T v, Mask, size_t n) { avx2::store_partial(p, v, n); }
};

}  // namespace ce::native::wino
