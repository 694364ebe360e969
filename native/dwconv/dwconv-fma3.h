// AVX2 helpers shared by the depthwise *-fma3.cpp kernels. Include only from files compiled
// with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "native/dwconv/dwconv.h"
#include "native/simd/avx2.h"

namespace ce::native::dw {

// Lane mask with the first n (0..8) lanes set.
inline __m256i lane_mask(size_t n) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
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
  if constexpr (kTail) avx2::store_partial(p, v, n);
  else _mm256_storeu_ps(p, v);
}

// How a strip of 8 output channels reads its inputs:
//   kFull      multiplier 1, 8 channels
//   kTailLoad  multiplier 1, the last strip of fewer than 8 channels (masked load)
//   kMultLoad  multiplier >= 2, inputs are channels base..base+3, all inside the pixel: one
//              128-bit broadcast load and an in-lane vpermilps
//   kMultTail  multiplier >= 2, the last blocks where 4 channels would run past c_in: masked
//              load and a lane-crossing vpermps
enum LoadMode { kFull, kTailLoad, kMultLoad, kMultTail };
template <int kMode>
using Mode = std::integral_constant<int, kMode>;

template <int kMode>
inline __m256 load_in(const float* p, __m256i mask, __m256i perm) {
  if constexpr (kMode == kFull) return _mm256_loadu_ps(p);
  else if constexpr (kMode == kTailLoad) return _mm256_maskload_ps(p, mask);
  else if constexpr (kMode == kMultLoad)
    return _mm256_permutevar_ps(_mm256_broadcast_ps(reinterpret_cast<const __m128*>(p)), perm);
  else return _mm256_permutevar8x32_ps(_mm256_maskload_ps(p, mask), perm);
}

// Runs f(Mode<m>{}, c, nc, off, mask, perm) for each strip of 8 output channels c..c+nc-1,
// where off is the input channel the strip's loads start at (c for multiplier 1, the block's
// base for multiplier > 1) and m its LoadMode.
template <class F>
inline void for_each_strip(size_t channels, const DwParams* params, F&& f) {
  const __m256i none = _mm256_setzero_si256();
  for (size_t c = 0; c < channels; c += 8) {
    const size_t nc = channels - c < 8 ? channels - c : 8;
    if (params->mult != nullptr) {
      const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
      const __m256i perm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e));
      const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 8));
      const size_t base = static_cast<size_t>(e[16]);
      if (e[17]) f(Mode<kMultLoad>{}, c, nc, base, mask, perm);
      else f(Mode<kMultTail>{}, c, nc, base, mask, perm);
    } else if (nc == 8) {
      f(Mode<kFull>{}, c, nc, c, none, none);
    } else {
      f(Mode<kTailLoad>{}, c, nc, c, lane_mask(nc), none);
    }
  }
}

inline __m256 clamp(__m256 v, __m256 vmin, __m256 vmax) {
  return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
}

// Packed weights of channel c (a multiple of 8) for a kernel of `taps` taps: the bias lane block;
// tap t is at + 16 * (1 + t).
inline const float* tile_weights(const float* w, size_t c, size_t taps) {
  return w + (c / kDwTile) * kDwTile * (1 + taps) + (c % kDwTile);
}

}  // namespace ce::native::dw
