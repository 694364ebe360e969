#include <immintrin.h>

#include "native/gemm/gconv.h"
#include "native/simd/avx2.h"

namespace ce::native {

namespace {

enum Mode {
  kPermute = 0,    // any cin_g <= cout_g in {2, 4}: one vpermps per input term
  kInLane4 = 1,    // cin_g = cout_g = 4: two groups per block, in-lane vpermilps broadcasts
  kBroadcast = 2,  // cout_g = 8: one group per block, broadcast loads, no shuffles
};

template <int MODE>
void run_blocks(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                const float* const* a, size_t a_offset, const float* zero, const float* w,
                float* c, size_t cm_stride, size_t in_valid, const ClampParams* params) {
  constexpr size_t MR = 8;
  float* cp[MR];
  cp[0] = c;
  for (size_t p = 1; p < MR; ++p) cp[p] = p < mr ? cp[p - 1] + cm_stride : cp[p - 1];
  const size_t win = 8 * cin_g / cout_g;
  __m256i idx[8];
  if (MODE == kPermute)
    for (size_t i = 0; i < cin_g; ++i) {
      alignas(32) int32_t t[8];
      for (int l = 0; l < 8; ++l) t[l] = static_cast<int32_t>((l / cout_g) * cin_g + i);
      idx[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(t));
    }
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  for (size_t b = 0, off = 0; b * 8 < nc; ++b, off += win) {
    const bool masked = MODE != kBroadcast && in_valid - off < 8;
    const __m256i mask = avx2::tail_mask(masked ? in_valid - off : 0);
    __m256 acc[MR];
    const __m256 bias = _mm256_loadu_ps(w);
#pragma GCC unroll 8
    for (size_t p = 0; p < MR; ++p) acc[p] = bias;
    w += 8;
    for (size_t t = 0; t < ks; ++t, w += 8 * cin_g) {
      const float* const* ap = a + t * MR;
      if (MODE == kInLane4) {
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        const __m256 w2 = _mm256_loadu_ps(w + 16), w3 = _mm256_loadu_ps(w + 24);
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float* x = ap[p] == zero ? zero : ap[p] + a_offset + off;
          const __m256 v = masked ? _mm256_maskload_ps(x, mask) : _mm256_loadu_ps(x);
          acc[p] = _mm256_fmadd_ps(_mm256_permute_ps(v, 0x00), w0, acc[p]);
          acc[p] = _mm256_fmadd_ps(_mm256_permute_ps(v, 0x55), w1, acc[p]);
          acc[p] = _mm256_fmadd_ps(_mm256_permute_ps(v, 0xAA), w2, acc[p]);
          acc[p] = _mm256_fmadd_ps(_mm256_permute_ps(v, 0xFF), w3, acc[p]);
        }
      } else if (MODE == kBroadcast) {
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float* x = ap[p] == zero ? zero : ap[p] + a_offset + off;
          for (size_t i = 0; i < cin_g; ++i)
            acc[p] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), _mm256_loadu_ps(w + 8 * i), acc[p]);
        }
      } else {
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float* x = ap[p] == zero ? zero : ap[p] + a_offset + off;
          const __m256 v = masked ? _mm256_maskload_ps(x, mask) : _mm256_loadu_ps(x);
          for (size_t i = 0; i < cin_g; ++i)
            acc[p] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(v, idx[i]), _mm256_loadu_ps(w + 8 * i),
                                     acc[p]);
        }
      }
    }
    const size_t lanes = nc - b * 8 < 8 ? nc - b * 8 : 8;
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      // Highest row first: aliased rows (mr < MR) end with row mr - 1's value.
      const size_t p = MR - 1 - r;
      avx2::store_n(cp[p] + b * 8, _mm256_min_ps(vmax, _mm256_max_ps(vmin, acc[p])), lanes);
    }
  }
}

}  // namespace

void f32_gconv_8p8c__fma3(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                          const float* const* a, size_t a_offset, const float* zero,
                          const float* w, float* c, size_t cm_stride, size_t in_valid,
                          const ClampParams* params) {
  if (cout_g == 8)
    run_blocks<kBroadcast>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
  else if (cout_g == 4 && cin_g == 4)
    run_blocks<kInLane4>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
  else
    run_blocks<kPermute>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride, in_valid, params);
}

}  // namespace ce::native
