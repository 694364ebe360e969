// Locally connected conv, one position, portable: 1 output channel x up to 4 images per step.
#include <algorithm>

#include "native/local/local.h"

namespace ce::native {

void f32_local_dot_1x4__scalar(size_t n, size_t nc, size_t kc, const float* const* a,
                               const float* w, size_t w_stride, const float* bias, float* c,
                               size_t cm_stride, const ClampParams* params) {
  for (size_t o = 0; o < nc; ++o, w += w_stride)
    for (size_t i = 0; i < n; i += 4) {
      const size_t imgs = std::min<size_t>(4, n - i);
      float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (size_t k = 0; k < kc; ++k) {
        const float wv = w[k];
        for (size_t j = 0; j < imgs; ++j) acc[j] += wv * a[i + j][k];
      }
      for (size_t j = 0; j < imgs; ++j)
        c[(i + j) * cm_stride + o] = std::min(std::max(bias[o] + acc[j], params->min), params->max);
    }
}

}  // namespace ce::native
