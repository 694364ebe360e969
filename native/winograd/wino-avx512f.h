// The Winograd tile transforms of wino-tiles.h over 16-channel zmm vectors, shared by the
// f32-wino*-avx512f.cpp files (include only from -avx512f.cpp files). Tails of 8 or fewer
// channels run on ymm vectors (Ymm8).
#pragma once
#include <immintrin.h>

#include <cstddef>

#include "native/simd/avx512.h"
#include "native/winograd/wino-fma3.h"

namespace ce::native::wino {

// 8 channels, Ymm's arithmetic with AVX-512VL opmask tails: tails of 8 or fewer channels (Zen 4
// runs a zmm operation as two ymm halves, so a zmm tail costs twice the work of these).
struct Ymm8 : Ymm {
  using Mask = __mmask8;
  static Mask all() { return 0xFF; }
  static Mask tail(size_t n) { return static_cast<Mask>(avx512::tail_mask(n)); }
  template <bool kTail>
  static T load(const float* p, Mask m) {
    return kTail ? _mm256_maskz_loadu_ps(m, p) : _mm256_loadu_ps(p);
  }
  static void store_tail(float* p, T v, Mask m, size_t) { _mm256_mask_storeu_ps(p, m, v); }
};

// Tails are opmask loads (zero past the tail) and stores; the input transform's padded tail
// stores round_up(n, 8) lanes (the contract's buffer ends there): 8 or 16, no mask needed.
struct Zmm {
  using T = __m512;
  using Mask = __mmask16;
  static constexpr size_t kLanes = 16;
  using Half = Ymm8;
  static T zero() { return _mm512_setzero_ps(); }
  static T k(float v) { return _mm512_set1_ps(v); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static Mask all() { return avx512::tail_mask(16); }
  static Mask tail(size_t n) { return avx512::tail_mask(n); }
  template <bool kTail>
  static T load(const float* p, Mask m) {
    return kTail ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
  }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void store_padded(float* p, T v, size_t n) {
    if (n > 8)
      _mm512_storeu_ps(p, v);
    else
      _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
  }
  static void store_tail(float* p, T v, Mask m, size_t) { _mm512_mask_storeu_ps(p, m, v); }
};

}  // namespace ce::native::wino
