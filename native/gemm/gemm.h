// GEMM microkernels for pointwise convolution on channels-innermost tensors (no indirection):
//   C[mr x nc] = clamp(init + A[mr x kc] * W)
//
//   a     row i at a + i * a_stride (floats): input pixels, so a_stride is the pixel stride.
//   w     NR-wide panels, each: NR init values (the bias), then kc rows of NR weights; panels
//         follow one another. Channels past nc are zero padded.
//   c     row i at c + i * cm_stride; successive NR panels at + cn_stride (floats).
//   accumulate  when true the accumulators start from C instead of the panel's init values
//         (a later block of K; its init values are not read but still occupy NR floats).
//   params  clamp applied before storing ([-inf, inf] on all but the last block of K).
// Rows i >= mr alias row mr - 1 (reads and writes), so the drivers need not pad M.
// 1 <= mr <= MR, nc >= 1, cn_stride >= NR (the engine passes NR). A kernel reads kc floats of
// each A row, whole panels of W and (accumulate) C[i][j] for i < mr, j < nc, and writes only
// those elements of C: nothing past any of them needs to exist (tests/c/gemm_microkernel_tester.h
// checks this against guard pages).
// The -prfm variants, when mr == MR, also prefetch the next MR rows of A (kc floats each, from
// a + MR * a_stride) and of C (from c + MR * cm_stride), spread over the panels; prefetches
// never fault, so the rows past the end of A and C need not exist.
// prefetch, prefetch_lines  a hint: the driver's next call group reads these 64-byte lines
//         (its weights, which come from DRAM when a network's weights exceed L3); the MR-row
//         kernels spread the prefetches evenly over their k steps (gemm-prefetch.h), so the
//         lines arrive while this call computes. Prefetches never fault; 0 lines: none.
// The 1xNR kernels take mr == 1 only (a_stride and cm_stride unused) and ignore the hint, as
// the scalar kernel does.
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using GemmFn = void (*)(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                        const float* w, float* c, size_t cm_stride, size_t cn_stride,
                        bool accumulate, const ClampParams* params, const void* prefetch,
                        size_t prefetch_lines);

#define CE_DECLARE_GEMM(name)                                                                   \
  void name(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride, const float* w,  \
            float* c, size_t cm_stride, size_t cn_stride, bool accumulate,                     \
            const ClampParams* params, const void* prefetch, size_t prefetch_lines);

CE_DECLARE_GEMM(f32_gemm_6x16__fma3)
CE_DECLARE_GEMM(f32_gemm_4x24__fma3)
CE_DECLARE_GEMM(f32_gemm_6x16_prfm__fma3)
CE_DECLARE_GEMM(f32_gemm_4x24_prfm__fma3)
CE_DECLARE_GEMM(f32_gemm_1x16__fma3)
CE_DECLARE_GEMM(f32_gemm_1x24__fma3)
CE_DECLARE_GEMM(f32_gemm_6x32__avx512f)
CE_DECLARE_GEMM(f32_gemm_6x32_prfm__avx512f)
CE_DECLARE_GEMM(f32_gemm_8x16__avx512f)
CE_DECLARE_GEMM(f32_gemm_8x16_prfm__avx512f)
CE_DECLARE_GEMM(f32_gemm_1x32__avx512f)
CE_DECLARE_GEMM(f32_gemm_1x16__avx512f)
CE_DECLARE_GEMM(f32_gemm_8x24__avx512f)
CE_DECLARE_GEMM(f32_gemm_8x24_prfm__avx512f)
CE_DECLARE_GEMM(f32_gemm_6x40__avx512f)
CE_DECLARE_GEMM(f32_gemm_6x40_prfm__avx512f)
CE_DECLARE_GEMM(f32_gemm_1x24__avx512f)
CE_DECLARE_GEMM(f32_gemm_1x40__avx512f)
CE_DECLARE_GEMM(f32_gemm_6x48__avx512f)
CE_DECLARE_GEMM(f32_gemm_6x48_prfm__avx512f)
CE_DECLARE_GEMM(f32_gemm_1x48__avx512f)
CE_DECLARE_GEMM(f32_gemm_8x8__neon)
CE_DECLARE_GEMM(f32_gemm_8x8_prfm__neon)
CE_DECLARE_GEMM(f32_gemm_6x12__neon)
CE_DECLARE_GEMM(f32_gemm_6x12_prfm__neon)
CE_DECLARE_GEMM(f32_gemm_1x8__neon)
CE_DECLARE_GEMM(f32_gemm_1x12__neon)
CE_DECLARE_GEMM(f32_gemm_4x8__scalar)
#undef CE_DECLARE_GEMM

}  // namespace ce::native
