// Channel shuffle of one pixel, any number of groups m: y[i * m + g] = x[g * n + i].
#include "native/elementwise/elementwise.h"

namespace ce::native {

void x32_zip_xm__scalar(size_t n, size_t m, const float* x, float* y) {
  for (size_t g = 0; g < m; ++g) {
    const float* xg = x + g * n;
    float* yg = y + g;
    for (size_t i = 0; i < n; ++i) yg[i * m] = xg[i];
  }
}

}  // namespace ce::native
