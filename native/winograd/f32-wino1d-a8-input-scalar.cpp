// 1D input transform on 8 points, straight from kWinoBT6 (the input transform of every r).
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

}  // namespace ce::native
