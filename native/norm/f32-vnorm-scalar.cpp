// y = (x - m) * s * g + b, scalar or per-column operands (portable twin of f32-vnorm-32c-avx2).
#include "native/norm/norm.h"

namespace ce::native {

void f32_vnorm__scalar(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                       size_t y_stride, const NormAffine* p) {
  const size_t ms = p->ms_vec ? 1 : 0, gs = p->g_vec ? 1 : 0, bs = p->b_vec ? 1 : 0;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride)
    for (size_t i = 0; i < n; ++i) {
      const float u = (x[i] - p->m[i * ms]) * p->s[i * ms];
      y[i] = u * (p->g ? p->g[i * gs] : 1.0f) + (p->b ? p->b[i * bs] : 0.0f);
    }
}

}  // namespace ce::native
