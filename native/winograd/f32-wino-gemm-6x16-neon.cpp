// The transformed-domain GEMM of Winograd (winograd.h) on the GEMM's fmla-by-lane steps
// (native/gemm/gemm-neon.h), one loop per row count: R x 16 for R <= 5 (4 R accumulators, at
// most 29 q registers with R A rows and 4 W vectors); 6 rows as two 6 x 8 halves (12
// accumulators each; a whole 6 x 16 block would need 34 registers).
#include "native/gemm/gemm-neon.h"
#include "native/winograd/winograd.h"

namespace ce::native {

namespace {

template <size_t R, size_t NV>
CE_NEON_INLINE void block(size_t kc, const float* const (&ar)[R], const float* w, float* c,
                  size_t c_stride, StreamPrefetch* stream) {
  gemm_neon::Acc<R, NV> acc;
#pragma GCC unroll 8
  for (size_t i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) acc[i][v] = vdupq_n_f32(0.0f);
  gemm_neon::accumulate_k<R, NV, kWinoGemmNr>(acc, ar, kc, w, stream);
#pragma GCC unroll 8
  for (size_t i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) vst1q_f32(c + i * c_stride + 4 * v, acc[i][v]);
}

// Without the pre-allocation scheduler (gemm-neon.h): 6 x 8 went from 6 vector movs per 48 fmla
// to none, 5 x 16 from 3 spills to 4 movs per 80 fmla.
template <size_t R>
CE_NEON_UNSCHEDULED void rows(size_t nc, size_t kc, const float* a, size_t a_stride,
                              const float* w, size_t w_stride, float* c, size_t c_stride,
                              const void* prefetch, size_t prefetch_lines) {
  // One stream step per accumulate_k iteration of a block (6 rows: of its first half).
  StreamPrefetch stream(prefetch, prefetch_lines,
                        (nc + kWinoGemmNr - 1) / kWinoGemmNr * (kc / 4 + kc % 4));
  const float* ar[R];
#pragma GCC unroll 8
  for (size_t i = 0; i < R; ++i) ar[i] = a + i * a_stride;
  for (;; nc -= kWinoGemmNr, c += kWinoGemmNr, w += w_stride) {
    if constexpr (R == 6) {
      block<R, 2>(kc, ar, w, c, c_stride, prefetch_lines ? &stream : nullptr);
      block<R, 2>(kc, ar, w + 8, c + 8, c_stride, nullptr);
    } else {
      block<R, 4>(kc, ar, w, c, c_stride, prefetch_lines ? &stream : nullptr);
    }
    if (nc <= kWinoGemmNr) return;
  }
}

}  // namespace

void f32_wino_gemm_6x16__neon(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                              const float* w, size_t w_stride, float* c, size_t c_stride,
                              const void* prefetch, size_t prefetch_lines) {
  with_wino_rows(mr, [&](auto r) {
    constexpr auto R = decltype(r)::value;
    rows<R>(nc, kc, a, a_stride, w, w_stride, c, c_stride, prefetch, prefetch_lines);
  });
}

}  // namespace ce::native
