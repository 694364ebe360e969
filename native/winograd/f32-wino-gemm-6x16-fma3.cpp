// The transformed-domain GEMM of Winograd: C[mr x nc] = A[mr x kc] B, one position at a time.
// Unlike the IGEMM kernel (which always computes 6 rows) each row count 1..6 has its own loop,
// so the last, partial block of tiles costs what it computes (F(4,3) on 14x14: 16 tiles, 11%
// fewer FMAs; F(6,3): 9 tiles, 25%).
#include <immintrin.h>

#include "native/gemm/gemm-prefetch.h"
#include "native/winograd/winograd.h"

namespace ce::native {

namespace {

// Accumulators are named variables (if constexpr per row): GCC kept an array of __m256 on the
// stack and stored it on every k step (2.5x slower).
template <int R, bool Stream>
void rows_of(size_t nc, size_t kc, const float* a, size_t a_stride, const float* w,
             size_t w_stride, float* c, size_t c_stride, const void* prefetch,
             size_t prefetch_lines) {
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + 15) / 16 * kc);
  const float* a0 = a;
  const float* a1 = a0 + (R > 1 ? a_stride : 0);
  const float* a2 = a1 + (R > 2 ? a_stride : 0);
  const float* a3 = a2 + (R > 3 ? a_stride : 0);
  const float* a4 = a3 + (R > 4 ? a_stride : 0);
  const float* a5 = a4 + (R > 5 ? a_stride : 0);
  for (;;) {
    __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0;
    __m256 l3 = l0, h3 = l0, l4 = l0, h4 = l0, l5 = l0, h5 = l0;
    const float* b = w;
    for (size_t k = 0; k < kc; ++k, b += 16) {
      const __m256 bl = _mm256_load_ps(b), bh = _mm256_load_ps(b + 8);
      if constexpr (Stream) stream.step();
      __m256 va = _mm256_broadcast_ss(a0 + k);
      l0 = _mm256_fmadd_ps(va, bl, l0);
      h0 = _mm256_fmadd_ps(va, bh, h0);
      if constexpr (R > 1) {
        va = _mm256_broadcast_ss(a1 + k);
        l1 = _mm256_fmadd_ps(va, bl, l1);
        h1 = _mm256_fmadd_ps(va, bh, h1);
      }
      if constexpr (R > 2) {
        va = _mm256_broadcast_ss(a2 + k);
        l2 = _mm256_fmadd_ps(va, bl, l2);
        h2 = _mm256_fmadd_ps(va, bh, h2);
      }
      if constexpr (R > 3) {
        va = _mm256_broadcast_ss(a3 + k);
        l3 = _mm256_fmadd_ps(va, bl, l3);
        h3 = _mm256_fmadd_ps(va, bh, h3);
      }
      if constexpr (R > 4) {
        va = _mm256_broadcast_ss(a4 + k);
        l4 = _mm256_fmadd_ps(va, bl, l4);
        h4 = _mm256_fmadd_ps(va, bh, h4);
      }
      if constexpr (R > 5) {
        va = _mm256_broadcast_ss(a5 + k);
        l5 = _mm256_fmadd_ps(va, bl, l5);
        h5 = _mm256_fmadd_ps(va, bh, h5);
      }
    }
    _mm256_storeu_ps(c, l0);
    _mm256_storeu_ps(c + 8, h0);
    if constexpr (R > 1) _mm256_storeu_ps(c + c_stride, l1), _mm256_storeu_ps(c + c_stride + 8, h1);
    if constexpr (R > 2) _mm256_storeu_ps(c + 2 * c_stride, l2), _mm256_storeu_ps(c + 2 * c_stride + 8, h2);
    if constexpr (R > 3) _mm256_storeu_ps(c + 3 * c_stride, l3), _mm256_storeu_ps(c + 3 * c_stride + 8, h3);
    if constexpr (R > 4) _mm256_storeu_ps(c + 4 * c_stride, l4), _mm256_storeu_ps(c + 4 * c_stride + 8, h4);
    if constexpr (R > 5) _mm256_storeu_ps(c + 5 * c_stride, l5), _mm256_storeu_ps(c + 5 * c_stride + 8, h5);
    if (nc <= 16) return;
    nc -= 16;
    c += 16;
    w += w_stride;
  }
}

// Without the weight-stream hint, a loop with no stream code (native/gemm/gemm-avx512f.h).
template <int R>
void rows_16(size_t nc, size_t kc, const float* a, size_t a_stride, const float* w,
             size_t w_stride, float* c, size_t c_stride, const void* prefetch,
             size_t prefetch_lines) {
  if (prefetch_lines != 0)
    rows_of<R, true>(nc, kc, a, a_stride, w, w_stride, c, c_stride, prefetch, prefetch_lines);
  else
    rows_of<R, false>(nc, kc, a, a_stride, w, w_stride, c, c_stride, nullptr, 0);
}

}  // namespace

void f32_wino_gemm_6x16__fma3(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                              const float* w, size_t w_stride, float* c, size_t c_stride,
                              const void* prefetch, size_t prefetch_lines) {
  with_wino_rows(mr, [&](auto r) {
    constexpr auto R = static_cast<int>(decltype(r)::value);
    rows_16<R>(nc, kc, a, a_stride, w, w_stride, c, c_stride, prefetch, prefetch_lines);
  });
}

}  // namespace ce::native
