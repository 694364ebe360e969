// Winograd F(m x m, 3 x 3) convolution transforms (Lavin & Gray), m in {2, 4, 6}; the tile's
// input window is alpha x alpha, alpha = m + 2, and the transformed domain has alpha^2 positions
// p = i * alpha + j.
//   input   V = B^T d B   (these kernels, per tile, vectorised over channels)
//   filter  U = G g G^T   (engine/winograd_conv.cpp, in double, once at construction)
//   GEMM    M[p] = V[p] x U[p] over input channels, per position p
//   output  Y = A^T M A   (these kernels, with bias, residual add and clamp fused)
// Interpolation points (the rows of A^T are their powers; inf is the last row/column):
//   F(2,3) {0, 1, -1, inf}
//   F(4,3) {0, 1, -1, 2, -2, inf}
//   F(6,3) {0, 1, -1, 2, -2, 1/2, -1/2, inf}: the accurate set (Barabasz et al., "Error
//          analysis and improving the accuracy of Winograd convolution").
// Each table set reproduces a float64 direct 3x3 correlation of a random tile to < 3e-14.
#pragma once
#include <cstddef>
#include <type_traits>

#include "native/params.h"

namespace ce::native {

// Row-major B^T (alpha x alpha), G (alpha x 3), A^T (m x alpha).
constexpr float kWinoBT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr double kWinoG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr float kWinoAT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

constexpr float kWinoBT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                  {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
constexpr double kWinoG4[6][3] = {{1.0 / 4, 0, 0},
                                  {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                  {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                  {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                  {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                  {0, 0, 1}};
constexpr float kWinoAT4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

constexpr float kWinoBT6[8][8] = {{1, 0, -5.25f, 0, 5.25f, 0, -1, 0},
                                  {0, 1, 1, -4.25f, -4.25f, 1, 1, 0},
                                  {0, -1, 1, 4.25f, -4.25f, -1, 1, 0},
                                  {0, 0.5f, 0.25f, -2.5f, -1.25f, 2, 1, 0},
                                  {0, -0.5f, 0.25f, 2.5f, -1.25f, -2, 1, 0},
                                  {0, 2, 4, -2.5f, -5, 0.5f, 1, 0},
                                  {0, -2, 4, 2.5f, -5, -0.5f, 1, 0},
                                  {0, -1, 0, 5.25f, 0, -5.25f, 0, 1}};
constexpr double kWinoG6[8][3] = {{1, 0, 0},
                                  {-2.0 / 9, -2.0 / 9, -2.0 / 9},
                                  {-2.0 / 9, 2.0 / 9, -2.0 / 9},
                                  {1.0 / 90, 1.0 / 45, 2.0 / 45},
                                  {1.0 / 90, -1.0 / 45, 2.0 / 45},
                                  {32.0 / 45, 16.0 / 45, 8.0 / 45},
                                  {32.0 / 45, -16.0 / 45, 8.0 / 45},
                                  {0, 0, 1}};
constexpr float kWinoAT6[6][8] = {{1, 1, 1, 1, 1, 1, 1, 0},
                                  {0, 1, -1, 2, -2, 0.5f, -0.5f, 0},
                                  {0, 1, 1, 4, 4, 0.25f, 0.25f, 0},
                                  {0, 1, -1, 8, -8, 0.125f, -0.125f, 0},
                                  {0, 1, 1, 16, 16, 0.0625f, 0.0625f, 0},
                                  {0, 1, -1, 32, -32, 0.03125f, -0.03125f, 1}};

// 1D F(m, r), r = 9 - m in 3..7 (kernels 1 x r, r x 1 and 1D convs): the same 8 points, so
// the same B^T (kWinoBT6) for every r. A^T (m x 8) holds the points' powers 0..m-1 (row m - 1
// also the inf column); G (8 x r) is G[j][k] = kWinoGScale8[j] * p_j^k, inf row e_{r-1}.
constexpr float kWinoPoints8[7] = {0, 1, -1, 2, -2, 0.5f, -0.5f};
constexpr double kWinoGScale8[7] = {1, -2.0 / 9, -2.0 / 9, 1.0 / 90, 1.0 / 90, 32.0 / 45, 32.0 / 45};

// 2D F(5 x 5, 4 x 4) on the same 8 points (input transform: F(6,3)'s; G from kWinoGScale8):
// used for 7x7 stride-2 convs after a space-to-depth split (engine/winograd_conv.cpp).
constexpr float kWinoAT5[5][8] = {{1, 1, 1, 1, 1, 1, 1, 0},
                                  {0, 1, -1, 2, -2, 0.5f, -0.5f, 0},
                                  {0, 1, 1, 4, 4, 0.25f, 0.25f, 0},
                                  {0, 1, -1, 8, -8, 0.125f, -0.125f, 0},
                                  {0, 1, 1, 16, 16, 0.0625f, 0.0625f, 1}};

// Input transform of one tile, `channels` channels. Window element (y, x) with y in [y0, y1)
// and x in [x0, x1) is read at in + (y - y0) * row_stride + (x - x0) * pixel_stride + c
// (floats); the rest of the window is zero padding (y0 == y1 or x0 == x1: all padding, `in` is
// not read). Channel c of position p is written at v[p * v_stride + c] for every
// c < round_up(channels, 8); channels past `channels` are written as zero.
using WinoInputFn = void (*)(size_t channels, const float* in, size_t row_stride,
                             size_t pixel_stride, size_t y0, size_t y1, size_t x0, size_t x1,
                             float* v, size_t v_stride);

// Output transform of one tile, `channels` channels: channel c of position p is read at
// m[p * m_stride + c]. Output pixel (i, j), i < rows <= m, j < cols <= m, is written at
// out + i * row_stride + j * pixel_stride as clamp(Y[i][j] + bias[c] + residual), the residual
// (when res != nullptr) read at res + i * res_row_stride + j * res_pixel_stride.
struct WinoOutputParams {
  const float* bias;
  const float* res;
  size_t res_row_stride, res_pixel_stride;
  ClampParams clamp;
};
using WinoOutputFn = void (*)(size_t channels, const float* m, size_t m_stride, float* out,
                              size_t row_stride, size_t pixel_stride, size_t rows, size_t cols,
                              const WinoOutputParams* params);

// Transformed-domain GEMM: C[mr x nc] = A[mr x kc] B, mr <= 6. Row i of A at a + i * a_stride;
// B packed in blocks of kWinoGemmNr columns (zero past nc), block j at w + j * w_stride holding
// kc rows of kWinoGemmNr floats (32-byte aligned); row i of C at c + i * c_stride. C is written
// in whole blocks: round_up(nc, kWinoGemmNr) columns per row (masked stores are microcoded on
// AMD Zen and cost 2.4x on 8 output channels). prefetch, prefetch_lines: the weight-stream
// hint of the GEMM kernels (native/gemm/gemm.h; the scalar kernel ignores it).
constexpr size_t kWinoGemmMr = 6, kWinoGemmNr = 16;

// The Winograd GEMM kernels' row dispatch: f(std::integral_constant<size_t, R>()) for R = mr
// (each row count 1..6 has its own loop; mr > 6 runs 6).
template <class F>
inline void with_wino_rows(size_t mr, F&& f) {
  switch (mr) {
    case 1: return f(std::integral_constant<size_t, 1>());
    case 2: return f(std::integral_constant<size_t, 2>());
    case 3: return f(std::integral_constant<size_t, 3>());
    case 4: return f(std::integral_constant<size_t, 4>());
    case 5: return f(std::integral_constant<size_t, 5>());
    default: return f(std::integral_constant<size_t, 6>());
  }
}
using WinoGemmFn = void (*)(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                            const float* w, size_t w_stride, float* c, size_t c_stride,
                            const void* prefetch, size_t prefetch_lines);
void f32_wino_gemm_6x16__fma3(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                              const float* w, size_t w_stride, float* c, size_t c_stride,
                              const void* prefetch, size_t prefetch_lines);
// Two blocks per pass with zmm vectors; same contract and packing (the name's 32 is the pass).
void f32_wino_gemm_6x32__avx512f(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                                 const float* w, size_t w_stride, float* c, size_t c_stride,
                                 const void* prefetch, size_t prefetch_lines);
// Same contract and packing: R x 16 per pass for R <= 5 rows, two 6 x 8 halves for 6.
void f32_wino_gemm_6x16__neon(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                              const float* w, size_t w_stride, float* c, size_t c_stride,
                              const void* prefetch, size_t prefetch_lines);
void f32_wino_gemm_6x16__scalar(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                                const float* w, size_t w_stride, float* c, size_t c_stride,
                                const void* prefetch, size_t prefetch_lines);

// 1D kernels share the 2D signatures: a window is x in [x0, x1) of 8 elements at pixel_stride
// (y0 == y1: all padding; row_stride unused); output j < cols at out + j * pixel_stride (rows
// and row strides unused), positions p < 8 at p * v_stride / m_stride.
void f32_wino1d_a8_input__fma3(size_t, const float*, size_t, size_t, size_t, size_t, size_t,
                               size_t, float*, size_t);
void f32_wino1d_a8_input__scalar(size_t, const float*, size_t, size_t, size_t, size_t, size_t,
                                 size_t, float*, size_t);
void f32_wino1d_a8_input__avx512f(size_t, const float*, size_t, size_t, size_t, size_t, size_t,
                                  size_t, float*, size_t);
void f32_wino1d_a8_input__neon(size_t, const float*, size_t, size_t, size_t, size_t, size_t,
                               size_t, float*, size_t);
// f<m><r>: F(m, r), m = 9 - r outputs per tile.
#define CE_WINO1D_DECLARE(FMR)                                                                  \
  void f32_wino1d_##FMR##_output__fma3(size_t, const float*, size_t, float*, size_t, size_t,    \
                                       size_t, size_t, const WinoOutputParams*);               \
  void f32_wino1d_##FMR##_output__scalar(size_t, const float*, size_t, float*, size_t, size_t,  \
                                         size_t, size_t, const WinoOutputParams*);              \
  void f32_wino1d_##FMR##_output__avx512f(size_t, const float*, size_t, float*, size_t, size_t, \
                                          size_t, size_t, const WinoOutputParams*);           \
  void f32_wino1d_##FMR##_output__neon(size_t, const float*, size_t, float*, size_t, size_t,    \
                                       size_t, size_t, const WinoOutputParams*);
CE_WINO1D_DECLARE(f27)
CE_WINO1D_DECLARE(f36)
CE_WINO1D_DECLARE(f45)
CE_WINO1D_DECLARE(f54)
CE_WINO1D_DECLARE(f63)
#undef CE_WINO1D_DECLARE

#define CE_WINO_DECLARE(name)                                                                   \
  void f32_wino_##name##_input__fma3(size_t, const float*, size_t, size_t, size_t, size_t,     \
                                     size_t, size_t, float*, size_t);                          \
  void f32_wino_##name##_output__fma3(size_t, const float*, size_t, float*, size_t, size_t,    \
                                      size_t, size_t, const WinoOutputParams*);                \
  void f32_wino_##name##_input__scalar(size_t, const float*, size_t, size_t, size_t, size_t,   \
                                       size_t, size_t, float*, size_t);                        \
  void f32_wino_##name##_output__scalar(size_t, const float*, size_t, float*, size_t, size_t,  \
                                        size_t, size_t, const WinoOutputParams*);              \
  void f32_wino_##name##_input__avx512f(size_t, const float*, size_t, size_t, size_t, size_t,  \
                                        size_t, size_t, float*, size_t);                       \
  void f32_wino_##name##_output__avx512f(size_t, const float*, size_t, float*, size_t, size_t, \
                                         size_t, size_t, const WinoOutputParams*);            \
  void f32_wino_##name##_input__neon(size_t, const float*, size_t, size_t, size_t, size_t,     \
                                     size_t, size_t, float*, size_t);                          \
  void f32_wino_##name##_output__neon(size_t, const float*, size_t, float*, size_t, size_t,    \
                                      size_t, size_t, const WinoOutputParams*);
CE_WINO_DECLARE(f23)
CE_WINO_DECLARE(f43)
CE_WINO_DECLARE(f63)
#undef CE_WINO_DECLARE
void f32_wino_f54_output__fma3(size_t, const float*, size_t, float*, size_t, size_t, size_t,
                               size_t, const WinoOutputParams*);
void f32_wino_f54_output__scalar(size_t, const float*, size_t, float*, size_t, size_t, size_t,
                                 size_t, const WinoOutputParams*);
void f32_wino_f54_output__avx512f(size_t, const float*, size_t, float*, size_t, size_t, size_t,
                                  size_t, const WinoOutputParams*);
void f32_wino_f54_output__neon(size_t, const float*, size_t, float*, size_t, size_t, size_t,
                               size_t, const WinoOutputParams*);

}  // namespace ce::native
