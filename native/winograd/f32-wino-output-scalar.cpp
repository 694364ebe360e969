// Portable output transforms Y = A^T M A with bias, residual and clamp, from the tables.
#include <algorithm>

#include "native/winograd/winograd.h"

namespace ce::native {

namespace {

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

}  // namespace

void f32_wino_f23_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                                 size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  output_tile<2, 4>(kWinoAT2, channels, m, ms, out, rs, ps, rows, cols, p);
}
void f32_wino_f43_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                                 size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  output_tile<4, 6>(kWinoAT4, channels, m, ms, out, rs, ps, rows, cols, p);
}
void f32_wino_f63_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                                 size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  output_tile<6, 8>(kWinoAT6, channels, m, ms, out, rs, ps, rows, cols, p);
}

void f32_wino_f54_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                                 size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  output_tile<5, 8>(kWinoAT5, channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
