// hardswish(x) = x * (min(max(x + 3, 0), 6) / 6); NaN propagates, no overflow for large x.
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vhswish__scalar(size_t n, const float* x, float* y, const ClampParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    float r = v + 3.0f;
    r = r < 0.0f ? 0.0f : r;
    r = r > 6.0f ? 6.0f : r;
    y[i] = v * (r * (1.0f / 6.0f));
  }
}

}  // namespace ce::native
