// Per-column block moments merged into running statistics (portable twin of
// f32-vmoments-8c-avx2).
#include "native/norm/norm.h"

namespace ce::native {

void f32_vmoments__scalar(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                          float* mean, float* m2) {
  if (rows == 0) return;
  for (size_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (size_t r = 0; r < rows; ++r) s += x[r * stride + i];
    const double mb = s / rows;
    double q = 0.0;
    for (size_t r = 0; r < rows; ++r) {
      const double d = x[r * stride + i] - mb;
      q += d * d;
    }
    if (seen) {
      const double na = static_cast<double>(seen), nb = static_cast<double>(rows), t = na + nb;
      const double d = mb - mean[i];
      mean[i] = static_cast<float>(mean[i] + d * nb / t);
      m2[i] = static_cast<float>(m2[i] + q + d * d * na * nb / t);
    } else {
      mean[i] = static_cast<float>(mb);
      m2[i] = static_cast<float>(q);
    }
  }
}

}  // namespace ce::native
