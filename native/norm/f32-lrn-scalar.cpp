// Local response normalisation across each pixel's channels (portable twin of f32-lrn-avx2).
#include <cmath>
#include <cstring>

#include "native/norm/norm.h"

namespace ce::native {

void f32_lrn__scalar(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                     size_t y_stride, const LrnParams* p, float* scratch) {
  const size_t size = p->lo + p->hi + 1;
  std::memset(scratch, 0, (p->lo + c + p->hi + 8) * sizeof(float));
  float* sq = scratch + p->lo;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    for (size_t i = 0; i < c; ++i) sq[i] = x[i] * x[i];
    for (size_t i = 0; i < c; ++i) {
      float s = 0.0f;
      for (size_t j = 0; j < size; ++j) s += scratch[i + j];
      y[i] = x[i] * std::pow(p->bias + p->alpha_over_size * s, -p->beta);
    }
  }
}

}  // namespace ce::native
