// Layer norm of contiguous rows (portable twin of f32-layernorm-rows-avx2).
#include <cmath>

#include "native/norm/norm.h"
#include "native/reduce/reduce.h"

namespace ce::native {

void f32_layernorm_rows__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                                size_t y_stride, const float* gamma, const float* beta, float eps,
                                float* mean, float* rstd) {
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    const float m = f32_rreduce__scalar(ReduceOp::kSum, n, x, 0.0f) / static_cast<float>(n);
    const float q = f32_rreduce__scalar(ReduceOp::kSumSquare, n, x, m);
    const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(q) / n + eps));
    for (size_t i = 0; i < n; ++i) {
      float t = (x[i] - m) * rs;
      if (gamma) t *= gamma[i];
      if (beta) t += beta[i];
      y[i] = t;
    }
    if (mean) mean[r] = m;
    if (rstd) rstd[r] = rs;
  }
}

}  // namespace ce::native
