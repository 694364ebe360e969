// GridSample gather, portable: 4 channels per step with the taps inner, scalar tail.
#include <cstring>

#include "native/gridsample/gridsample.h"

namespace ce::native {

void f32_gridsample_blend__scalar(size_t n, size_t taps, size_t c, const float* const* ptr,
                                  const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, ptr += taps, coef += taps, out += out_stride) {
    if (taps == 1) {
      std::memcpy(out, ptr[0], c * sizeof(float));
      continue;
    }
    size_t k = 0;
    for (; k + 4 <= c; k += 4) {
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
      for (size_t t = 0; t < taps; ++t) {
        const float w = coef[t];
        const float* p = ptr[t] + k;
        a0 += w * p[0], a1 += w * p[1], a2 += w * p[2], a3 += w * p[3];
      }
      out[k] = a0, out[k + 1] = a1, out[k + 2] = a2, out[k + 3] = a3;
    }
    for (; k < c; ++k) {
      float a = 0.0f;
      for (size_t t = 0; t < taps; ++t) a += coef[t] * ptr[t][k];
      out[k] = a;
    }
  }
}

}  // namespace ce::native
