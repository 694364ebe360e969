// Indirect GEMM microkernels: C[mr x nc] = clamp(bias + sum over ks taps of A_tap[mr x kc] * W).
//
//   a     ks * MR row pointers, tap-major: a[t * MR + i] is row i of tap t. Rows i >= mr must
//         still be readable (drivers repeat the last row) but never reach C: a kernel that
//         computes them writes row mr - 1 after them. Every pointer except `zero` (compared by
//         address) is displaced by a_offset floats before use, so one indirection buffer
//         serves every image of a batch and every group. kc floats are read from each.
//   ks    may be 0: C = clamp(bias) (a transposed conv's phase that no tap reaches).
//   w     packed per block of NR output channels: NR biases, then ks * kc rows of NR weights
//         (tap-major, then input channel). Channels past nc are zero padded.
//   c     row i at c + i * cm_stride; successive NR blocks at + cn_stride (floats).
//   zero  a buffer of at least kc zeros, used for padding taps.
//   prefetch, prefetch_lines  the weight-stream hint of the GEMM kernels (gemm.h; the scalar
//         kernel ignores it), spread over the call's ks * kc steps per NR block.
// 1 <= mr <= MR, nc >= 1, cn_stride >= NR (the engine passes NR). Only C[i][j], i < mr, j < nc,
// is written; nothing is read past the packed blocks of W.
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using IGemmFn = void (*)(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         size_t a_offset, const float* zero, const ClampParams* params,
                         const void* prefetch, size_t prefetch_lines);

void f32_igemm_6x16__fma3(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          size_t a_offset, const float* zero, const ClampParams* params,
                          const void* prefetch, size_t prefetch_lines);

void f32_igemm_6x32__avx512f(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                             const float* w, float* c, size_t cm_stride, size_t cn_stride,
                             size_t a_offset, const float* zero, const ClampParams* params,
                             const void* prefetch, size_t prefetch_lines);

void f32_igemm_8x16__avx512f(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                             const float* w, float* c, size_t cm_stride, size_t cn_stride,
                             size_t a_offset, const float* zero, const ClampParams* params,
                             const void* prefetch, size_t prefetch_lines);

void f32_igemm_8x8__neon(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         size_t a_offset, const float* zero, const ClampParams* params,
                         const void* prefetch, size_t prefetch_lines);

void f32_igemm_6x12__neon(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          size_t a_offset, const float* zero, const ClampParams* params,
                          const void* prefetch, size_t prefetch_lines);

void f32_igemm_4x8__scalar(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                           const float* w, float* c, size_t cm_stride, size_t cn_stride,
                           size_t a_offset, const float* zero, const ClampParams* params,
                           const void* prefetch, size_t prefetch_lines);

}  // namespace ce::native
