// y[r][c] = clamp(x[r][c] * scale[c] + shift[c]) on channels-innermost rows.
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift__scalar(size_t rows, size_t channels, const float* x, size_t x_stride,
                             const float* scale, const float* shift, float* y, size_t y_stride,
                             const ClampParams* params) {
  const float lo = params->min, hi = params->max;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    for (size_t c = 0; c < channels; ++c) {
      float v = x[c] * scale[c] + shift[c];
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      y[c] = v;
    }
  }
}

}  // namespace ce::native
