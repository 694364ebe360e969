// Portable Winograd tile transforms straight from the tables of winograd.h (no
// factorisation), so they double as an independent check of the factorised AVX2 kernels;
// shared by the f32-wino*-scalar.cpp files. Contracts as in winograd.h.
#pragma once
#include <algorithm>
#include <cstddef>

#include "native/winograd/winograd.h"

namespace ce::native::wino_scalar {

// V = B^T d B of an A x A window.
template <size_t A>
void input_tile(const float (&bt)[A][A], size_t channels, const float* in, size_t row_stride,
                size_t pixel_stride, size_t y0, size_t y1, size_t x0, size_t x1, float* v,
                size_t v_stride) {
  const size_t padded = (channels + 7) / 8 * 8;
  for (size_t c = 0; c < padded; ++c) {
    float d[A][A] = {};
    if (c < channels)
      for (size_t y = y0; y < y1; ++y)
        for (size_t x = x0; x < x1; ++x)
          d[y][x] = in[(y - y0) * row_stride + (x - x0) * pixel_stride + c];
    float t[A][A];  // B^T d
    for (size_t i = 0; i < A; ++i)
      for (size_t x = 0; x < A; ++x) {
        float s = 0.0f;
        for (size_t y = 0; y < A; ++y) s += bt[i][y] * d[y][x];
        t[i][x] = s;
      }
    for (size_t i = 0; i < A; ++i)
      for (size_t j = 0; j < A; ++j) {
        float s = 0.0f;
        for (size_t x = 0; x < A; ++x) s += t[i][x] * bt[j][x];
        v[(i * A + j) * v_stride + c] = s;
      }
  }
}

// Y = A^T M A of an M x M output tile with bias, residual and clamp.
template <size_t M, size_t A>
void output_tile(const float (&at)[M][A], size_t channels, const float* m, size_t m_stride,
                 float* out, size_t row_stride, size_t pixel_stride, size_t rows, size_t cols,
                 const WinoOutputParams* p) {
  for (size_t c = 0; c < channels; ++c) {
    float t[M][A];  // A^T M
    for (size_t i = 0; i < M; ++i)
      for (size_t x = 0; x < A; ++x) {
        float s = 0.0f;
        for (size_t y = 0; y < A; ++y) s += at[i][y] * m[(y * A + x) * m_stride + c];
        t[i][x] = s;
      }
    for (size_t i = 0; i < rows; ++i)
      for (size_t j = 0; j < cols; ++j) {
        float s = 0.0f;
        for (size_t x = 0; x < A; ++x) s += t[i][x] * at[j][x];
        s += p->bias[c];
        if (p->res) s += p->res[i * p->res_row_stride + j * p->res_pixel_stride + c];
        out[i * row_stride + j * pixel_stride + c] = std::min(std::max(s, p->clamp.min), p->clamp.max);
      }
  }
}

// 1D F(M, 9 - M) on the 8 points of kWinoPoints8: y = A^T m, A^T the points' powers 0..M-1
// (row M - 1 also the inf column), with bias, residual and clamp.
template <size_t M>
void output_1d(size_t channels, const float* m, size_t ms, float* out, size_t ps, size_t cols,
               const WinoOutputParams* p) {
  float at[M][8] = {};
  for (size_t j = 0; j < 7; ++j) {
    float pw = 1.0f;
    for (size_t i = 0; i < M; ++i, pw *= kWinoPoints8[j]) at[i][j] = pw;
  }
  at[M - 1][7] = 1.0f;
  for (size_t c = 0; c < channels; ++c)
    for (size_t j = 0; j < cols; ++j) {
      float s = 0.0f;
      for (size_t u = 0; u < 8; ++u) s += at[j][u] * m[u * ms + c];
      s += p->bias[c];
      if (p->res) s += p->res[j * p->res_pixel_stride + c];
      out[j * ps + c] = std::min(std::max(s, p->clamp.min), p->clamp.max);
    }
}

}  // namespace ce::native::wino_scalar
