// Softmax of contiguous rows: the row's max, e = exp(x - max) (the C library's expf) summed
// in double, y = e * (1 / sum). A NaN or +inf in a row, or a row of -inf only, makes every
// output of the row NaN (x - max is NaN there, and so is the sum).
#include "native/norm/norm.h"

#include <algorithm>
#include <cmath>

namespace ce::native {

void f32_softmax_rows__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride) {
  if (n == 0) return;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
      y[i] = std::exp(x[i] - m);
      sum += y[i];
    }
    const float s = static_cast<float>(1.0 / sum);
    for (size_t i = 0; i < n; ++i) y[i] *= s;
  }
}

}  // namespace ce::native
