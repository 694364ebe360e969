// Normalisation microkernels (engine/steps_nn.cpp). Counts and strides in floats; kernels do
// not allocate and do not thread.
//
//   layernorm_rows: each of `rows` rows of n contiguous floats normalised by its own mean and
//       variance, y = (x - mean) / sqrt(var + eps) * gamma[i] + beta[i] (gamma / beta null: 1 / 0).
//       Two passes over the row for the statistics (sum, then sum of (x - mean)^2: no
//       E[x^2] - E[x]^2 cancellation), a third writes y: the row stays in L1 between them, so
//       memory sees one read and one write. mean / rstd (optional) get each row's statistics.
//   vmoments: per column i < n of a block of `rows` rows (row stride `stride`): the block's
//       mean and sum of squared deviations (two passes over the block, in cache), merged into
//       the running mean[i] / m2[i] of the `seen` rows before (Chan et al.'s pairwise update).
//   vnorm: y[r][i] = (x[r][i] - m) * s * g + b where m and s (the statistics) are scalars or
//       per-column arrays (ms_vec), g and b scalars or per-column arrays (g_vec, b_vec) or null
//       (1, 0).
//   softmax_rows: each of `rows` rows of n contiguous floats through softmax: the row's max m,
//       e = exp(x - m) stored and summed in one pass, y = e / sum; y may be x. A NaN or +inf
//       in a row, or a row of -inf only, makes the whole row NaN (through x - m and the sum);
//       -inf among finite values is a term of 0.
//   lrn: each row is a pixel's c channels; y[i] = x[i] / (bias + alpha / size * sum of x[j]^2
//       over j in [i - lo, i + hi] within the row)^beta. scratch: lo + c + hi + 8 floats.
#pragma once
#include <cstddef>

namespace ce::native {

using SoftmaxRowsFn = void (*)(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                               size_t y_stride);
void f32_softmax_rows__avx512f(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                               size_t y_stride);
void f32_softmax_rows__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                            size_t y_stride);
void f32_softmax_rows__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                            size_t y_stride);
void f32_softmax_rows__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride);

using LayerNormRowsFn = void (*)(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                                 size_t y_stride, const float* gamma, const float* beta, float eps,
                                 float* mean, float* rstd);
void f32_layernorm_rows__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride, const float* gamma, const float* beta, float eps,
                              float* mean, float* rstd);
void f32_layernorm_rows__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride, const float* gamma, const float* beta, float eps,
                              float* mean, float* rstd);
void f32_layernorm_rows__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                                size_t y_stride, const float* gamma, const float* beta, float eps,
                                float* mean, float* rstd);

using VMomentsFn = void (*)(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                            float* mean, float* m2);
void f32_vmoments_8c__avx2(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                           float* mean, float* m2);
void f32_vmoments_4c__neon(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                           float* mean, float* m2);
void f32_vmoments__scalar(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                          float* mean, float* m2);

struct NormAffine {
  const float* m;
  const float* s;
  const float* g;  // may be null
  const float* b;  // may be null
  bool ms_vec, g_vec, b_vec;
};
using VNormFn = void (*)(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                         size_t y_stride, const NormAffine* p);
void f32_vnorm_32c__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                        size_t y_stride, const NormAffine* p);
void f32_vnorm_16c__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                         size_t y_stride, const NormAffine* p);
void f32_vnorm__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                       size_t y_stride, const NormAffine* p);

struct LrnParams {
  size_t lo, hi;        // window: channels i - lo .. i + hi
  float alpha_over_size, bias, beta;
};
using LrnFn = void (*)(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                       size_t y_stride, const LrnParams* p, float* scratch);
void f32_lrn__avx2(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                   size_t y_stride, const LrnParams* p, float* scratch);
void f32_lrn__neon(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                   size_t y_stride, const LrnParams* p, float* scratch);
void f32_lrn__scalar(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                     size_t y_stride, const LrnParams* p, float* scratch);

}  // namespace ce::native
