// Portable input transforms V = B^T d B, straight from the tables (no factorisation), so they
// double as an independent check of the factorised AVX2 kernels.
#include "native/winograd/winograd.h"

namespace ce::native {

namespace {

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

}  // namespace

void f32_wino_f23_input__scalar(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                                size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  input_tile<4>(kWinoBT2, channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}
void f32_wino_f43_input__scalar(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                                size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  input_tile<6>(kWinoBT4, channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}
void f32_wino_f63_input__scalar(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                                size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  input_tile<8>(kWinoBT6, channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}

}  // namespace ce::native
