// Element-wise microkernels. Each takes pointers and counts (in floats), handles its own tail,
// and may run in place (y == x). Kernels do not allocate and do not thread.
//
//   vunary:     y[i] = f(x[i]) for i < n.  `params` is read only by the clamp kernel (ReLU is
//               [0, inf), ReLU6 [0, 6]); the others ignore it. NaN propagates through all of them.
//   vscaleshift: rows x channels, y[r][c] = clamp(x[r][c] * scale[c] + shift[c]) (batch norm in
//               inference, folded to a per-channel affine map). Row strides in floats.
//   vscaleshift_cw: the same affine map on channels-first planes: plane j (`pixels` contiguous
//               floats) gets y = clamp(x * scale[j] + shift[j]) (batch norm on NCHW data).
//   zip:        channel shuffle of one pixel: y[i * m + g] = x[g * n + i] for g < m, i < n
//               (m groups of n channels; y != x).
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using VUnaryFn = void (*)(size_t n, const float* x, float* y, const ClampParams* params);

void f32_vclamp__avx2(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vclamp__neon(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vclamp__scalar(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhswish__avx2(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhswish__neon(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhswish__scalar(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhsigmoid__avx2(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhsigmoid__neon(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vhsigmoid__scalar(size_t n, const float* x, float* y, const ClampParams* params);
// sigmoid(x) = 1 / (1 + exp(-x)) via exp(-|x|) with range reduction and a degree-5 polynomial
// (two-constant Cody-Waite reduction, "rr2-p5"), then one division. Error bound: see the .cpp.
void f32_vsigmoid__avx512f(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsigmoid__avx2(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsigmoid__neon(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsigmoid__scalar(size_t n, const float* x, float* y, const ClampParams* params);
// silu(x) = x * sigmoid(x), same exp evaluation as vsigmoid.
void f32_vsilu__avx512f(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsilu__avx2(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsilu__neon(size_t n, const float* x, float* y, const ClampParams* params);
void f32_vsilu__scalar(size_t n, const float* x, float* y, const ClampParams* params);

using VScaleShiftFn = void (*)(size_t rows, size_t channels, const float* x, size_t x_stride,
                               const float* scale, const float* shift, float* y, size_t y_stride,
                               const ClampParams* params);

void f32_vscaleshift_32c__avx2(size_t rows, size_t channels, const float* x, size_t x_stride,
                               const float* scale, const float* shift, float* y, size_t y_stride,
                               const ClampParams* params);
void f32_vscaleshift_16c__neon(size_t rows, size_t channels, const float* x, size_t x_stride,
                               const float* scale, const float* shift, float* y, size_t y_stride,
                               const ClampParams* params);
void f32_vscaleshift__scalar(size_t rows, size_t channels, const float* x, size_t x_stride,
                             const float* scale, const float* shift, float* y, size_t y_stride,
                             const ClampParams* params);

using VScaleShiftCwFn = void (*)(size_t planes, size_t pixels, const float* x, const float* scale,
                                 const float* shift, float* y, const ClampParams* params);

void f32_vscaleshift_cw__avx2(size_t planes, size_t pixels, const float* x, const float* scale,
                              const float* shift, float* y, const ClampParams* params);
void f32_vscaleshift_cw__neon(size_t planes, size_t pixels, const float* x, const float* scale,
                              const float* shift, float* y, const ClampParams* params);
void f32_vscaleshift_cw__scalar(size_t planes, size_t pixels, const float* x, const float* scale,
                                const float* shift, float* y, const ClampParams* params);

// y[i][j] = clamp(f(y[i][j] + r[i][j])) for a rows x cols tile, in place (row strides in
// floats); r may be null. See EpilogueParams. One call per tile: the activation's constants
// are set up once, not per row (a 6 x 16 GEMM tile of gelu spent as long on that as on the
// arithmetic).
using VEpilogueFn = void (*)(size_t rows, size_t cols, float* y, size_t y_stride, const float* r,
                             size_t r_stride, const EpilogueParams* params);

void f32_vepilogue__avx512f(size_t rows, size_t cols, float* y, size_t y_stride, const float* r,
                            size_t r_stride, const EpilogueParams* params);
void f32_vepilogue__avx2(size_t rows, size_t cols, float* y, size_t y_stride, const float* r,
                         size_t r_stride, const EpilogueParams* params);
void f32_vepilogue__neon(size_t rows, size_t cols, float* y, size_t y_stride, const float* r,
                         size_t r_stride, const EpilogueParams* params);
void f32_vepilogue__scalar(size_t rows, size_t cols, float* y, size_t y_stride, const float* r,
                           size_t r_stride, const EpilogueParams* params);

using ZipFn = void (*)(size_t n, size_t m, const float* x, float* y);

// m == 2 and m == 4 only (the argument is ignored); the generic kernel takes any m.
void x32_zip_x2__avx2(size_t n, size_t m, const float* x, float* y);
void x32_zip_x4__avx2(size_t n, size_t m, const float* x, float* y);
void x32_zip_x2__neon(size_t n, size_t m, const float* x, float* y);
void x32_zip_x3__neon(size_t n, size_t m, const float* x, float* y);
void x32_zip_x4__neon(size_t n, size_t m, const float* x, float* y);
void x32_zip_xm__scalar(size_t n, size_t m, const float* x, float* y);

}  // namespace ce::native
