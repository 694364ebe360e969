// Average pooling of output pixels, each scale * the sum over a clipped window.
#include "native/pool/pool.h"

namespace ce::native {

void f32_avgpool__scalar(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
                         size_t in_step, size_t row_stride, size_t col_stride, float scale,
                         float* out, size_t out_step, const ClampParams* params) {
  for (; pixels != 0; --pixels, in += in_step, out += out_step) {
    for (size_t c = 0; c < channels; ++c) {
      float s = 0.0f;
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) s += *p;
      }
      float v = s * scale;
      v = v < params->min ? params->min : v;
      v = v > params->max ? params->max : v;
      out[c] = v;
    }
  }
}

}  // namespace ce::native
