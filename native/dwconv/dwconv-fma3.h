// AVX2 helpers shared by the depthwise *-fma3.cpp kernels. Include only from files compiled
// with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "native/dwconv/dwconv.h"

namespace ce::native::dw {

// Lane mask with the first n (0..8) lanes set.
inline __m256i lane_mask(size_t n) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
}

// Stores the first n (1..7) lanes of v.
inline void store_partial(float* p, __m256 v, size_t n) {
  __m128 lo = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, lo);
    lo = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), lo);
    lo = _mm_movehl_ps(lo, lo);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, lo);
}

// Loads 8 channels: all of them, or (kTail) only the lanes in `mask` (others read as zero and
// never touch memory, so a channel tail at the end of a buffer is safe).
template <bool kTail>
inline __m256 load8(const float* p, __m256i mask) {
  if constexpr (kTail) return _mm256_maskload_ps(p, mask);
  else return _mm256_loadu_ps(p);
}

template <bool kTail>
inline void store8(float* p, __m256 v, size_t n) {
  if constexpr (kTail) store_partial(p, v, n);
  else _mm256_storeu_ps(p, v);
}

inline __m256 clamp(__m256 v, __m256 vmin, __m256 vmax) {
  return _mm256_min_ps(_mm256_max_ps(v, vmin), vmax);
}

// Packed weights of channel c (a multiple of 8) for a kernel of `taps` taps: the bias lane block;
// tap t is at + 16 * (1 + t).
inline const float* tile_weights(const float* w, size_t c, size_t taps) {
  return w + (c / kDwTile) * kDwTile * (1 + taps) + (c % kDwTile);
}

}  // namespace ce::native::dw
