// Max pooling of output pixels, each over a clipped (dilated) window; NaN propagates as in torch
// (a NaN element wins and stays).
#include <cmath>

#include "native/pool/pool.h"

namespace ce::native {

void f32_maxpool__scalar(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
                         size_t in_step, size_t row_stride, size_t col_stride, float* out,
                         size_t out_step, const ClampParams* params) {
  for (; pixels != 0; --pixels, in += in_step, out += out_step) {
    for (size_t c = 0; c < channels; ++c) {
      float m = -INFINITY;
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) {
          const float v = *p;
          if (v > m || std::isnan(v)) m = v;
        }
      }
      m = m < params->min ? params->min : m;
      m = m > params->max ? params->max : m;
      out[c] = m;
    }
  }
}

}  // namespace ce::native
