// AVX-512 helpers shared by the depthwise *-avx512f.cpp kernels: strips of 16 output channels,
// one zmm per strip, which is exactly one packed weight block (kDwTile). Include only from
// files compiled with -mavx512f -mavx512vl -mavx512dq.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "native/dwconv/dwconv.h"
#include "native/simd/avx512.h"

namespace ce::native::dw512 {

// How a strip of 16 output channels reads its inputs:
//   kFull  multiplier 1, 16 channels
//   kTail  multiplier 1, the last strip of fewer than 16 channels (masked load)
//   kMult  multiplier >= 2: the strip's inputs are at most 8 channels base..base+7 (c is a
//          multiple of 16, so (c + 15) / M - c / M <= 7 for M >= 2): one masked 256-bit load
//          and a vpermps to the output lanes
enum LoadMode { kFull, kTail, kMult };
template <int kMode>
using Mode = std::integral_constant<int, kMode>;

template <int kMode>
inline __m512 load_in(const float* p, __mmask16 m, __m512i perm) {
  if constexpr (kMode == kFull) return _mm512_loadu_ps(p);
  else if constexpr (kMode == kTail) return _mm512_maskz_loadu_ps(m, p);
  else
    return _mm512_permutexvar_ps(
        perm, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(static_cast<__mmask8>(m), p)));
}

template <int kMode>
inline void store(float* p, __m512 v, __mmask16 m) {
  if constexpr (kMode == kFull) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, m, v);
}

// Per-strip state: `load` the input lanes (kTail, kMult), `store` the output lanes, `perm` the
// lane permutation (kMult).
struct Strip {
  __mmask16 load, store;
  __m512i perm;
};

// Multiplier lanes of the strip at channel c (a multiple of 16) from the two 8-channel entries
// of its blocks (dwconv.h): lanes 8..15 are rebased from the second block's base to the first's.
inline Strip mult_strip(const int32_t* e, size_t nc) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e));
  __m256i hi = _mm256_setzero_si256();
  if (nc > 8)
    hi = _mm256_add_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + kDwMultEntry)),
        _mm256_set1_epi32(e[kDwMultEntry + 16] - e[16]));
  const __mmask8 load =
      _mm256_movepi32_mask(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 8)));
  return {load, avx512::tail_mask(nc), _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)};
}

// Runs f(Mode<m>{}, c, nc, off, strip) for each strip of 16 output channels c..c+nc-1, where
// off is the input channel the strip's loads start at (c for multiplier 1, the first block's
// base for multiplier > 1) and m its LoadMode.
template <class F>
inline void for_each_strip(size_t channels, const DwParams* params, F&& f) {
  for (size_t c = 0; c < channels; c += 16) {
    const size_t nc = channels - c < 16 ? channels - c : 16;
    if (params->mult != nullptr) {
      const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
      f(Mode<kMult>{}, c, nc, static_cast<size_t>(e[16]), mult_strip(e, nc));
    } else if (nc == 16) {
      f(Mode<kFull>{}, c, nc, c, Strip{0xFFFF, 0xFFFF, _mm512_setzero_si512()});
    } else {
      const __mmask16 m = avx512::tail_mask(nc);
      f(Mode<kTail>{}, c, nc, c, Strip{m, m, _mm512_setzero_si512()});
    }
  }
}

inline __m512 clamp(__m512 v, __m512 vmin, __m512 vmax) {
  return _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
}

// Packed weights of the strip at channel c (a multiple of 16) for a kernel of `taps` taps.
inline const float* tile_weights(const float* w, size_t c, size_t taps) {
  return w + (c / kDwTile) * kDwTile * (1 + taps);
}

}  // namespace ce::native::dw512
