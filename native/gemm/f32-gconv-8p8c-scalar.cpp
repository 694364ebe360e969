#include <algorithm>

#include "native/gemm/gconv.h"

namespace ce::native {

void f32_gconv_8p8c__scalar(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                            const float* const* a, size_t a_offset, const float* zero,
                            const float* w, float* c, size_t cm_stride, size_t in_valid,
                            const ClampParams* params) {
  constexpr size_t MR = 8;
  const size_t win = 8 * cin_g / cout_g;
  for (size_t b = 0; b * 8 < nc; ++b, w += 8 * (1 + ks * cin_g)) {
    const size_t lanes = std::min<size_t>(8, nc - b * 8);
    for (size_t p = 0; p < mr; ++p)
      for (size_t l = 0; l < lanes; ++l) {
        float acc = w[l];
        const size_t ch = (l / cout_g) * cin_g;
        for (size_t t = 0; t < ks; ++t) {
          const float* x = a[t * MR + p];
          if (x == zero) continue;
          x += a_offset + b * win + ch;
          for (size_t i = 0; i < cin_g; ++i) acc += w[8 + (t * cin_g + i) * 8 + l] * x[i];
        }
        c[p * cm_stride + b * 8 + l] = std::min(std::max(acc, params->min), params->max);
      }
  }
  (void)in_valid;
}

}  // namespace ce::native
