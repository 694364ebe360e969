#include <immintrin.h>

#include "native/gemm/gemm-prefetch.h"
#include "native/gemm/igemm.h"
#include "native/simd/avx2.h"

namespace ce::native {

namespace {
inline void store_tail(float* c, __m256 lo, __m256 hi, size_t nc) {
  if (nc & 8) {
    _mm256_storeu_ps(c, lo);
    lo = hi;
    c += 8;
  }
  avx2::store_partial(c, lo, nc & 7);
}

template <bool Stream>
void igemm(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a, const float* w,
           float* c, size_t cm_stride, size_t cn_stride, size_t a_offset, const float* zero,
           const ClampParams* params, const void* prefetch, size_t prefetch_lines) {
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + 15) / 16 * ks * kc);
  float* c0 = c;
  float* c1 = mr > 1 ? c0 + cm_stride : c0;
  float* c2 = mr > 2 ? c1 + cm_stride : c1;
  float* c3 = mr > 3 ? c2 + cm_stride : c2;
  float* c4 = mr > 4 ? c3 + cm_stride : c3;
  float* c5 = mr > 5 ? c4 + cm_stride : c4;
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);

  for (;;) {
    __m256 acc0l = _mm256_loadu_ps(w), acc0h = _mm256_loadu_ps(w + 8);
    __m256 acc1l = acc0l, acc1h = acc0h, acc2l = acc0l, acc2h = acc0h;
    __m256 acc3l = acc0l, acc3h = acc0h, acc4l = acc0l, acc4h = acc0h;
    __m256 acc5l = acc0l, acc5h = acc0h;
    w += 16;
    const float* const* ap = a;
    for (size_t t = 0; t < ks; ++t, ap += 6) {
      const float* a0 = ap[0];
      const float* a1 = ap[1];
      const float* a2 = ap[2];
      const float* a3 = ap[3];
      const float* a4 = ap[4];
      const float* a5 = ap[5];
      if (a0 != zero) a0 += a_offset;
      if (a1 != zero) a1 += a_offset;
      if (a2 != zero) a2 += a_offset;
      if (a3 != zero) a3 += a_offset;
      if (a4 != zero) a4 += a_offset;
      if (a5 != zero) a5 += a_offset;
      for (size_t k = 0; k < kc; ++k) {
        const __m256 bl = _mm256_loadu_ps(w);
        const __m256 bh = _mm256_loadu_ps(w + 8);
        w += 16;
        if constexpr (Stream) stream.step();
        __m256 va = _mm256_broadcast_ss(a0 + k);
        acc0l = _mm256_fmadd_ps(va, bl, acc0l);
        acc0h = _mm256_fmadd_ps(va, bh, acc0h);
        va = _mm256_broadcast_ss(a1 + k);
        acc1l = _mm256_fmadd_ps(va, bl, acc1l);
        acc1h = _mm256_fmadd_ps(va, bh, acc1h);
        va = _mm256_broadcast_ss(a2 + k);
        acc2l = _mm256_fmadd_ps(va, bl, acc2l);
        acc2h = _mm256_fmadd_ps(va, bh, acc2h);
        va = _mm256_broadcast_ss(a3 + k);
        acc3l = _mm256_fmadd_ps(va, bl, acc3l);
        acc3h = _mm256_fmadd_ps(va, bh, acc3h);
        va = _mm256_broadcast_ss(a4 + k);
        acc4l = _mm256_fmadd_ps(va, bl, acc4l);
        acc4h = _mm256_fmadd_ps(va, bh, acc4h);
        va = _mm256_broadcast_ss(a5 + k);
        acc5l = _mm256_fmadd_ps(va, bl, acc5l);
        acc5h = _mm256_fmadd_ps(va, bh, acc5h);
      }
    }
#define CE_CLAMP(x) x = _mm256_min_ps(vmax, _mm256_max_ps(vmin, x))
    CE_CLAMP(acc0l); CE_CLAMP(acc0h); CE_CLAMP(acc1l); CE_CLAMP(acc1h);
    CE_CLAMP(acc2l); CE_CLAMP(acc2h); CE_CLAMP(acc3l); CE_CLAMP(acc3h);
    CE_CLAMP(acc4l); CE_CLAMP(acc4h); CE_CLAMP(acc5l); CE_CLAMP(acc5h);
#undef CE_CLAMP
    if (nc >= 16) {
      // Highest row first: aliased rows (mr < 6) end with row 0's correct value either way.
      _mm256_storeu_ps(c5, acc5l); _mm256_storeu_ps(c5 + 8, acc5h);
      _mm256_storeu_ps(c4, acc4l); _mm256_storeu_ps(c4 + 8, acc4h);
      _mm256_storeu_ps(c3, acc3l); _mm256_storeu_ps(c3 + 8, acc3h);
      _mm256_storeu_ps(c2, acc2l); _mm256_storeu_ps(c2 + 8, acc2h);
      _mm256_storeu_ps(c1, acc1l); _mm256_storeu_ps(c1 + 8, acc1h);
      _mm256_storeu_ps(c0, acc0l); _mm256_storeu_ps(c0 + 8, acc0h);
      nc -= 16;
      if (nc == 0) return;
      c0 += cn_stride; c1 += cn_stride; c2 += cn_stride;
      c3 += cn_stride; c4 += cn_stride; c5 += cn_stride;
    } else {
      store_tail(c5, acc5l, acc5h, nc);
      store_tail(c4, acc4l, acc4h, nc);
      store_tail(c3, acc3l, acc3h, nc);
      store_tail(c2, acc2l, acc2h, nc);
      store_tail(c1, acc1l, acc1h, nc);
      store_tail(c0, acc0l, acc0h, nc);
      return;
    }
  }
}

}  // namespace

void f32_igemm_6x16__fma3(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          size_t a_offset, const float* zero, const ClampParams* params,
                          const void* prefetch, size_t prefetch_lines) {
  // Without the weight-stream hint, a loop with no stream code (see gemm-avx512f.h).
  if (prefetch_lines != 0)
    igemm<true>(mr, nc, kc, ks, a, w, c, cm_stride, cn_stride, a_offset, zero, params, prefetch,
                prefetch_lines);
  else
    igemm<false>(mr, nc, kc, ks, a, w, c, cm_stride, cn_stride, a_offset, zero, params, nullptr, 0);
}

}  // namespace ce::native
