// Global average pooling of channels-first planes: out[j] = scale * sum of the `pixels`
// contiguous floats of plane j (four partial sums per plane).
#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool_cw__scalar(size_t planes, size_t pixels, const float* in, float scale,
                             float* out) {
  for (size_t j = 0; j < planes; ++j, in += pixels) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    size_t p = 0;
    for (; p + 4 <= pixels; p += 4) {
      s0 += in[p];
      s1 += in[p + 1];
      s2 += in[p + 2];
      s3 += in[p + 3];
    }
    for (; p < pixels; ++p) s0 += in[p];
    out[j] = ((s0 + s1) + (s2 + s3)) * scale;
  }
}

}  // namespace ce::native
