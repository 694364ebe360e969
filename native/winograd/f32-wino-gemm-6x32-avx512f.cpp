// The transformed-domain GEMM of Winograd (winograd.h) with zmm vectors: two 16-column blocks
// of B per pass (blocks j and j + 1, w_stride apart), 2 * mr accumulators, so the driver's
// 6 x 16 tile and packing serve it unchanged; an odd last block runs alone. Each row count
// has its own instantiation, as in the -fma3 kernel.
#include <immintrin.h>

#include "native/gemm/gemm-prefetch.h"
#include "native/winograd/winograd.h"

namespace ce::native {

namespace {

template <size_t R, size_t NB, bool Stream>
inline void pass(size_t kc, const float* a, size_t a_stride, const float* w, size_t w_stride,
                 float* c, size_t c_stride, StreamPrefetch& stream) {
  __m512 acc[R][NB];
#pragma GCC unroll 6
  for (size_t i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (size_t j = 0; j < NB; ++j) acc[i][j] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; ++k) {
    __m512 b[NB];
#pragma GCC unroll 2
    for (size_t j = 0; j < NB; ++j) b[j] = _mm512_loadu_ps(w + j * w_stride + 16 * k);
    if constexpr (Stream) stream.step();
#pragma GCC unroll 6
    for (size_t i = 0; i < R; ++i) {
      const __m512 va = _mm512_set1_ps(a[i * a_stride + k]);
#pragma GCC unroll 2
      for (size_t j = 0; j < NB; ++j) acc[i][j] = _mm512_fmadd_ps(va, b[j], acc[i][j]);
    }
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (size_t j = 0; j < NB; ++j) _mm512_storeu_ps(c + i * c_stride + 16 * j, acc[i][j]);
}

template <size_t R, bool Stream>
void rows_of(size_t nc, size_t kc, const float* a, size_t a_stride, const float* w,
             size_t w_stride, float* c, size_t c_stride, const void* prefetch,
             size_t prefetch_lines) {
  size_t blocks = (nc + 15) / 16;
  StreamPrefetch stream(prefetch, prefetch_lines, (blocks + 1) / 2 * kc);
  for (; blocks >= 2; blocks -= 2, w += 2 * w_stride, c += 32)
    pass<R, 2, Stream>(kc, a, a_stride, w, w_stride, c, c_stride, stream);
  if (blocks) pass<R, 1, Stream>(kc, a, a_stride, w, w_stride, c, c_stride, stream);
}

// Without the weight-stream hint, a loop with no stream code (native/gemm/gemm-avx512f.h).
template <size_t R>
void rows(size_t nc, size_t kc, const float* a, size_t a_stride, const float* w, size_t w_stride,
          float* c, size_t c_stride, const void* prefetch, size_t prefetch_lines) {
  if (prefetch_lines != 0)
    rows_of<R, true>(nc, kc, a, a_stride, w, w_stride, c, c_stride, prefetch, prefetch_lines);
  else
    rows_of<R, false>(nc, kc, a, a_stride, w, w_stride, c, c_stride, nullptr, 0);
}

}  // namespace

void f32_wino_gemm_6x32__avx512f(size_t mr, size_t nc, size_t kc, const float* a,
                                 size_t a_stride, const float* w, size_t w_stride, float* c,
                                 size_t c_stride, const void* prefetch, size_t prefetch_lines) {
  with_wino_rows(mr, [&](auto r) {
    constexpr auto R = decltype(r)::value;
    rows<R>(nc, kc, a, a_stride, w, w_stride, c, c_stride, prefetch, prefetch_lines);
  });
}

}  // namespace ce::native
