// Portable 1D transforms on the 8 points of kWinoPoints8, straight from the tables: the input
// from kWinoBT6, the output from the points' powers (so they also check the AVX2 factorisation).
#include <algorithm>

#include "native/winograd/winograd.h"

namespace ce::native {

void f32_wino1d_a8_input__scalar(size_t channels, const float* in, size_t, size_t ps, size_t y0,
                                 size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  const size_t padded = (channels + 7) / 8 * 8;
  const bool empty = y0 >= y1 || x0 >= x1;
  for (size_t c = 0; c < padded; ++c) {
    float d[8] = {};
    if (c < channels && !empty)
      for (size_t u = x0; u < x1; ++u) d[u] = in[(u - x0) * ps + c];
    for (size_t i = 0; i < 8; ++i) {
      float s = 0.0f;
      for (size_t u = 0; u < 8; ++u) s += kWinoBT6[i][u] * d[u];
      v[i * vs + c] = s;
    }
  }
}

namespace {
template <size_t M>
void output1d(size_t channels, const float* m, size_t ms, float* out, size_t ps, size_t cols,
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
}  // namespace

#define CE_WINO1D_OUTPUT(M)                                                                     \
  void f32_wino1d_m##M##_output__scalar(size_t channels, const float* m, size_t ms, float* out, \
                                        size_t, size_t ps, size_t, size_t cols,                \
                                        const WinoOutputParams* p) {                           \
    output1d<M>(channels, m, ms, out, ps, cols, p);                                            \
  }
CE_WINO1D_OUTPUT(2)
CE_WINO1D_OUTPUT(3)
CE_WINO1D_OUTPUT(4)
CE_WINO1D_OUTPUT(5)
CE_WINO1D_OUTPUT(6)
#undef CE_WINO1D_OUTPUT

}  // namespace ce::native
