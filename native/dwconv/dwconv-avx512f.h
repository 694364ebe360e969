// AVX-512 helpers shared by the depthwise *-avx512f.cpp kernels. Include only from files
// compiled with -mavx512f -mavx512vl -mavx512dq.
//
// A row is walked in strips of 16 output channels on __m512, one packed weight block (kDwTile)
// each; a last strip of at most 8 channels runs on __m256 (AVX-512VL masks): on Zen 4 a zmm op
// costs two ymm ones, masked-off lanes included (24 channels as zmm + masked zmm ran 1.26x
// slower than the three ymm strips of the -fma3 kernel, zmm + ymm 1.04x).
//
// The row kernels take the zmm path only for wide rows: row pointers, output and strides on
// 64-byte boundaries (pixel strides a multiple of 16 floats). Other rows go to the
// -fma3 twin. Measured on Zen 4 (3x3 s1, 56x56, 1 thread): with 24..116 channels (pixel
// strides not a multiple of 16) most zmm accesses straddle two cache lines and the zmm path ran
// 1.03-1.13x slower than the -fma3 kernel; 8-channel ymm strips compiled here ran 1.05-1.09x
// slower too, because GCC then also allocates ymm16-31 (EVEX only): the -fma3 source built
// with AVX-512 enabled was 1.07x slower on 72 channels, 1.00x with -ffixed-xmm16..31.
// DwParams::any_alignment (set where engine/cpu says misaligned zmm loads are cheap: Zen 5)
// sends every row to the zmm path. Zen 5, 1 thread, time zmm / -fma3 twin on such rows: 3x3 s1
// 40 ch 56x56 0.83, 72 ch 56x56 0.93, 120 ch 28x28 0.91, 232 ch 14x14 0.91, 200 ch 14x14 1.05;
// 5x5 s1 120 ch 28x28 0.83, 200 ch 14x14 0.90.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "native/dwconv/dwconv.h"
#include "native/simd/avx512.h"

namespace ce::native::dw512 {

// How a strip reads its inputs:
//   kFull  multiplier 1, a whole vector of channels
//   kTail  multiplier 1, the last strip of fewer channels (masked load and store)
//   kMult  multiplier >= 2: a strip's inputs are at most 8 channels base..base+7 (c is a
//          multiple of 16, so (c + 15) / M - c / M <= 7 for M >= 2): one masked 256-bit load
//          and a vpermps to the output lanes
enum LoadMode { kFull, kTail, kMult };
template <int kMode>
using Mode = std::integral_constant<int, kMode>;

template <class V>
inline V load(const float* p);
template <>
inline __m512 load<__m512>(const float* p) { return _mm512_loadu_ps(p); }
template <>
inline __m256 load<__m256>(const float* p) { return _mm256_loadu_ps(p); }
template <class V>
inline V set1(float x);
template <>
inline __m512 set1<__m512>(float x) { return _mm512_set1_ps(x); }
template <>
inline __m256 set1<__m256>(float x) { return _mm256_set1_ps(x); }

inline __m512 fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m256 fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
inline __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
inline __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m512 clamp(__m512 v, __m512 vmin, __m512 vmax) {
  return _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
}
inline __m256 clamp(__m256 v, __m256 vmin, __m256 vmax) {
  return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
}

// Per-strip state: `load` the input lanes (kTail, kMult), `store` the output lanes, `perm` the
// lane permutation (kMult; its low half for __m256).
struct Strip {
  __mmask16 load, store;
  __m512i perm;
};

template <class V, int kMode>
inline V load_in(const float* p, const Strip& s) {
  if constexpr (sizeof(V) == 32) {
    if constexpr (kMode == kFull) return _mm256_loadu_ps(p);
    else if constexpr (kMode == kTail)
      return _mm256_maskz_loadu_ps(static_cast<__mmask8>(s.load), p);
    else
      return _mm256_permutexvar_ps(_mm512_castsi512_si256(s.perm),
                                   _mm256_maskz_loadu_ps(static_cast<__mmask8>(s.load), p));
  } else {
    if constexpr (kMode == kFull) return _mm512_loadu_ps(p);
    else if constexpr (kMode == kTail) return _mm512_maskz_loadu_ps(s.load, p);
    else
      return _mm512_permutexvar_ps(
          s.perm, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(static_cast<__mmask8>(s.load), p)));
  }
}

template <int kMode>
inline void store(float* p, __m512 v, const Strip& s) {
  if constexpr (kMode == kFull) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, s.store, v);
}
template <int kMode>
inline void store(float* p, __m256 v, const Strip& s) {
  if constexpr (kMode == kFull) _mm256_storeu_ps(p, v);
  else _mm256_mask_storeu_ps(p, static_cast<__mmask8>(s.store), v);
}

// Multiplier lanes of the strip at channel c (a multiple of 16) from the 8-channel entries of
// its blocks (dwconv.h): lanes 8..15 are rebased from the second block's
// base to the first's.
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

// Whether the row is wide (see the top): the first row pointer, the output and the strides
// (floats) on 64-byte boundaries. (The other rows are the image's, a multiple of the pixel
// stride away, or the driver's zero row; a misaligned one costs speed, not correctness.)
inline bool wide(const float* row0, size_t in_step, size_t in_dil, const float* out,
                 size_t out_step) {
  const uintptr_t bits = ((in_step | in_dil | out_step) * sizeof(float)) |
                         reinterpret_cast<uintptr_t>(row0) | reinterpret_cast<uintptr_t>(out);
  return (bits & 63) == 0;
}

// A row kernel's entry: kWide on wide rows, kNarrow (the -fma3 twin) on the others. Both are
// sibling calls (kWide is not inlined), so a narrow row costs the check and a jump: with kWide
// inlined, its stack frame set up before the check made narrow rows 1-2% slower than calling
// the -fma3 kernel directly (24..44 channels, 3x3 s1, Zen 4).
template <DwRowFn kWide, DwRowFn kNarrow>
inline void route(size_t channels, size_t pixels, const float* const* rows, size_t in_step,
                  size_t in_dil, size_t kh, size_t kw, const float* w, float* out,
                  size_t out_step, const DwParams* params) {
  if (params->any_alignment || wide(rows[0], in_step, in_dil, out, out_step))
    kWide(channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
  else
    kNarrow(channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

// Runs f(V{}, Mode<m>{}, c, off, strip) for each strip of 16 output channels c..c+15 (fewer in
// the last; V = __m256 for 8 or fewer), where off is the input channel its loads start at (c
// for multiplier 1, the strip's first block's base for multiplier > 1).
template <class F>
inline void for_each_strip(size_t channels, const DwParams* params, F&& f) {
  for (size_t c = 0; c < channels; c += 16) {
    const size_t nc = channels - c < 16 ? channels - c : 16;
    if (params->mult != nullptr) {
      const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
      const size_t base = static_cast<size_t>(e[16]);
      if (nc > 8) f(__m512{}, Mode<kMult>{}, c, base, mult_strip(e, nc));
      else f(__m256{}, Mode<kMult>{}, c, base, mult_strip(e, nc));
    } else {
      const __mmask16 m = avx512::tail_mask(nc);
      const Strip s{m, m, _mm512_setzero_si512()};
      if (nc == 16) f(__m512{}, Mode<kFull>{}, c, c, s);
      else if (nc > 8) f(__m512{}, Mode<kTail>{}, c, c, s);
      else if (nc == 8) f(__m256{}, Mode<kFull>{}, c, c, s);
      else f(__m256{}, Mode<kTail>{}, c, c, s);
    }
  }
}

// Packed weights of the strip at channel c (a multiple of 16) for a kernel of `taps` taps.
inline const float* tile_weights(const float* w, size_t c, size_t taps) {
  return w + (c / kDwTile) * kDwTile * (1 + taps);
}

// A wide row of a 3x3 sliding-window kernel (f32-dwconv-3x3s{1,2}-16c-avx512f.cpp), where
// Slide::strip<V, kMode>(pixels, row0, row1, row2, in_dil, weights, out, out_step, strip,
// vmin, vmax) walks one strip.
template <class Slide>
__attribute__((noinline)) void rows3x3(size_t channels, size_t pixels, const float* const* rows,
                                       size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                       const float* w, float* out, size_t out_step,
                                       const DwParams* params) {
  for_each_strip(channels, params, [&](auto v, auto mode, size_t c, size_t off, const Strip& s) {
    using V = decltype(v);
    Slide::template strip<V, decltype(mode)::value>(
        pixels, rows[0] + off, rows[1] + off, rows[2] + off, in_dil, tile_weights(w, c, 9),
        out + c, out_step, s, set1<V>(params->min), set1<V>(params->max));
  });
}

}  // namespace ce::native::dw512
