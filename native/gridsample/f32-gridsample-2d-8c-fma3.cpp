// GridSample row, 2-D, c <= 8 channels, linear / nearest, zeros / border padding: 8 samples per
// step, coordinates and weights in ymm lanes, pixels fetched per channel by masked gathers.
// No FMA contraction here: the pixel coordinate must round as onnxruntime's (nearest picks
// depend on its last bit), so the file is compiled with fp-contract off.
#pragma GCC optimize("fp-contract=off")
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "native/gridsample/gridsample.h"

namespace ce::native {

namespace {

// Pixel coordinates of 8 normalised grid values along an axis of `size`, clamped to
// [-4, size + 3] (beyond, every tap reads zeros or the edge pixel); NaN lanes are reported in
// `nan` (the clamp would hide them).
inline __m256 coordinate(__m256 g, int64_t size, bool align, __m256& nan) {
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  __m256 x;
  if (align)  // (g + 1) / 2 * (size - 1)
    x = _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(g, one), half),
                      _mm256_set1_ps(static_cast<float>(size - 1)));
  else        // ((g + 1) * size - 1) / 2
    x = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_add_ps(g, one),
                                                  _mm256_set1_ps(static_cast<float>(size))),
                                    one),
                      half);
  nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  x = _mm256_max_ps(x, _mm256_set1_ps(-4.0f));
  return _mm256_min_ps(x, _mm256_set1_ps(static_cast<float>(size) + 3.0f));
}

// Lanes with 0 <= i < size (all lanes with border padding, after clamping i).
inline __m256i inside(__m256i& i, int64_t size, bool border) {
  const __m256i hi = _mm256_set1_epi32(static_cast<int32_t>(size - 1));
  if (border) {
    i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), hi);
    return _mm256_set1_epi32(-1);
  }
  return _mm256_andnot_si256(_mm256_or_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), i),
                                             _mm256_cmpgt_epi32(i, hi)),
                             _mm256_set1_epi32(-1));
}

}  // namespace

void f32_gridsample_2d_8c__fma3(const GridRow2d& r) {
  alignas(32) float gx[8], gy[8], res[8][8];
  const __m256i ps = _mm256_set1_epi32(static_cast<int32_t>(r.ps));
  const __m256i w = _mm256_set1_epi32(static_cast<int32_t>(r.w));
  for (size_t s0 = 0; s0 < r.n; s0 += 8) {
    const size_t m = r.n - s0 < 8 ? r.n - s0 : 8;
    for (size_t i = 0; i < 8; ++i) {
      const float* gp = r.g + static_cast<int64_t>(s0 + (i < m ? i : 0)) * r.g_step;
      gx[i] = gp[0];
      gy[i] = gp[r.g_coord];
    }
    __m256 nan = _mm256_setzero_ps();
    const __m256 x = coordinate(_mm256_load_ps(gx), r.w, r.align, nan);
    const __m256 y = coordinate(_mm256_load_ps(gy), r.h, r.align, nan);
    if (!r.linear) {
      // round half to even (the default rounding mode), then one gather per channel
      constexpr int kEven = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
      __m256i ix = _mm256_cvtps_epi32(_mm256_round_ps(x, kEven));
      __m256i iy = _mm256_cvtps_epi32(_mm256_round_ps(y, kEven));
      const __m256i ok = _mm256_and_si256(inside(ix, r.w, r.border), inside(iy, r.h, r.border));
      const __m256i off = _mm256_mullo_epi32(_mm256_add_epi32(_mm256_mullo_epi32(iy, w), ix), ps);
      for (size_t k = 0; k < r.c; ++k) {
        const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), r.img + k, off,
                                                  _mm256_castsi256_ps(ok), 4);
        _mm256_store_ps(res[k], _mm256_blendv_ps(v, _mm256_set1_ps(NAN), nan));
      }
    } else {
      const __m256 fx = _mm256_round_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      const __m256 fy = _mm256_round_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      const __m256 tx = _mm256_sub_ps(x, fx), ty = _mm256_sub_ps(y, fy);
      const __m256 one = _mm256_set1_ps(1.0f);
      const __m256 ux = _mm256_sub_ps(one, tx), uy = _mm256_sub_ps(one, ty);
      const __m256 wt[4] = {_mm256_mul_ps(uy, ux), _mm256_mul_ps(uy, tx), _mm256_mul_ps(ty, ux),
                            _mm256_mul_ps(ty, tx)};
      __m256i x0 = _mm256_cvtps_epi32(fx), y0 = _mm256_cvtps_epi32(fy);
      __m256i x1 = _mm256_add_epi32(x0, _mm256_set1_epi32(1));
      __m256i y1 = _mm256_add_epi32(y0, _mm256_set1_epi32(1));
      const __m256i okx0 = inside(x0, r.w, r.border), okx1 = inside(x1, r.w, r.border);
      const __m256i oky0 = inside(y0, r.h, r.border), oky1 = inside(y1, r.h, r.border);
      const __m256i row0 = _mm256_mullo_epi32(y0, w), row1 = _mm256_mullo_epi32(y1, w);
      const __m256i off[4] = {_mm256_mullo_epi32(_mm256_add_epi32(row0, x0), ps),
                              _mm256_mullo_epi32(_mm256_add_epi32(row0, x1), ps),
                              _mm256_mullo_epi32(_mm256_add_epi32(row1, x0), ps),
                              _mm256_mullo_epi32(_mm256_add_epi32(row1, x1), ps)};
      const __m256 ok[4] = {_mm256_castsi256_ps(_mm256_and_si256(oky0, okx0)),
                            _mm256_castsi256_ps(_mm256_and_si256(oky0, okx1)),
                            _mm256_castsi256_ps(_mm256_and_si256(oky1, okx0)),
                            _mm256_castsi256_ps(_mm256_and_si256(oky1, okx1))};
      for (size_t k = 0; k < r.c; ++k) {
        __m256 acc = _mm256_setzero_ps();
        for (int t = 0; t < 4; ++t)
          acc = _mm256_fmadd_ps(
              wt[t], _mm256_mask_i32gather_ps(_mm256_setzero_ps(), r.img + k, off[t], ok[t], 4),
              acc);
        _mm256_store_ps(res[k], _mm256_blendv_ps(acc, _mm256_set1_ps(NAN), nan));
      }
    }
    for (size_t i = 0; i < m; ++i) {
      float* o = r.out + static_cast<int64_t>(s0 + i) * r.out_ps;
      for (size_t k = 0; k < r.c; ++k) o[k] = res[k][i];
    }
  }
}

}  // namespace ce::native
