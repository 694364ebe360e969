// Tiny-group conv (gconv.h) on 16-lane blocks: 8 output pixels x 16 output channels (one zmm
// accumulator per pixel), a block spanning 16 / cout_g groups whose inputs are the
// win = 16 * cin_g / cout_g consecutive channels of one masked load per pixel and tap (the mask
// also stops at in_valid, so no read passes the last channel). Input term i of lane l is
// channel (l / cout_g) * cin_g + i of the window:
//   cin_g == cout_g in {2, 4} (ResNeXt 4x4, 2x2)  in-lane vpermilps with an immediate: the
//                                                 groups never cross a 128-bit lane
//   otherwise                                     one vpermps per input term
#include <immintrin.h>

#include "native/gemm/gconv.h"
#include "native/simd/avx512.h"

namespace ce::native {

namespace {

// In-lane broadcast of element g * (lane / g) + i within each group of g lanes (g = 2 or 4).
template <int G, int I>
inline __m512 in_lane(__m512 v) {
  if constexpr (G == 4) return _mm512_permute_ps(v, I * 0x55);
  else return _mm512_permute_ps(v, I ? 0xF5 : 0xA0);
}

// kInLane > 0: cin_g == cout_g == kInLane; 0: any shape, vpermps.
template <int kInLane>
void run_blocks(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                const float* const* a, size_t a_offset, const float* zero, const float* w,
                float* c, size_t cm_stride, size_t in_valid, const ClampParams* params) {
  constexpr size_t MR = 8;
  float* cp[MR];
  cp[0] = c;
  for (size_t p = 1; p < MR; ++p) cp[p] = p < mr ? cp[p - 1] + cm_stride : cp[p - 1];
  const size_t win = 16 * cin_g / cout_g;
  __m512i idx[8];
  if (kInLane == 0)
    for (size_t i = 0; i < cin_g; ++i) {
      alignas(64) int32_t t[16];
      for (int l = 0; l < 16; ++l) t[l] = static_cast<int32_t>((l / cout_g) * cin_g + i);
      idx[i] = _mm512_load_si512(t);
    }
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  for (size_t b = 0, off = 0; b * 16 < nc; ++b, off += win) {
    const __mmask16 load = avx512::tail_mask(in_valid - off < win ? in_valid - off : win);
    __m512 acc[MR];
    const __m512 bias = _mm512_loadu_ps(w);
#pragma GCC unroll 8
    for (size_t p = 0; p < MR; ++p) acc[p] = bias;
    w += 16;
    for (size_t t = 0; t < ks; ++t, w += 16 * cin_g) {
      const float* const* ap = a + t * MR;
      if constexpr (kInLane > 0) {
        __m512 wi[kInLane];
#pragma GCC unroll 4
        for (int i = 0; i < kInLane; ++i) wi[i] = _mm512_loadu_ps(w + 16 * i);
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float* x = ap[p] == zero ? zero : ap[p] + a_offset + off;
          const __m512 v = _mm512_maskz_loadu_ps(load, x);
          acc[p] = _mm512_fmadd_ps(in_lane<kInLane, 0>(v), wi[0], acc[p]);
          acc[p] = _mm512_fmadd_ps(in_lane<kInLane, 1>(v), wi[1], acc[p]);
          if constexpr (kInLane == 4) {
            acc[p] = _mm512_fmadd_ps(in_lane<kInLane, 2>(v), wi[2], acc[p]);
            acc[p] = _mm512_fmadd_ps(in_lane<kInLane, 3>(v), wi[3], acc[p]);
          }
        }
      } else {
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float* x = ap[p] == zero ? zero : ap[p] + a_offset + off;
          const __m512 v = _mm512_maskz_loadu_ps(load, x);
          for (size_t i = 0; i < cin_g; ++i)
            acc[p] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx[i], v), _mm512_loadu_ps(w + 16 * i),
                                     acc[p]);
        }
      }
    }
    const __mmask16 store = avx512::tail_mask(nc - b * 16);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      // Highest row first: aliased rows (mr < MR) end with row mr - 1's value.
      const size_t p = MR - 1 - r;
      _mm512_mask_storeu_ps(cp[p] + b * 16, store,
                            _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[p])));
    }
  }
}

}  // namespace

void f32_gconv_8p16c__avx512f(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                              const float* const* a, size_t a_offset, const float* zero,
                              const float* w, float* c, size_t cm_stride, size_t in_valid,
                              const ClampParams* params) {
  if (cin_g == 4 && cout_g == 4)
    run_blocks<4>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
  else if (cin_g == 2 && cout_g == 2)
    run_blocks<2>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
  else
    run_blocks<0>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
}

}  // namespace ce::native
