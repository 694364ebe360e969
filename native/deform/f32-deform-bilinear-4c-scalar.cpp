// Bilinear gather over channels, portable: 4 channels per step, scalar tail.
#include "native/deform/bilinear.h"

namespace ce::native {

void f32_deform_bilinear_4c__scalar(size_t n, size_t c, const float* const* corner,
                                    const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, corner += 4, coef += 4, out += out_stride) {
    const float* p0 = corner[0];
    const float* p1 = corner[1];
    const float* p2 = corner[2];
    const float* p3 = corner[3];
    const float w0 = coef[0], w1 = coef[1], w2 = coef[2], w3 = coef[3];
    size_t k = 0;
    for (; k + 4 <= c; k += 4)
      for (size_t j = k; j < k + 4; ++j) out[j] = w0 * p0[j] + w1 * p1[j] + w2 * p2[j] + w3 * p3[j];
    for (; k < c; ++k) out[k] = w0 * p0[k] + w1 * p1[k] + w2 * p2[k] + w3 * p3[k];
  }
}

}  // namespace ce::native
