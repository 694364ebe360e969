// Global average pooling: out[c] = scale * sum over `rows` pixels of in[r][c].
#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool__scalar(size_t rows, size_t channels, const float* in, size_t in_stride,
                          float scale, float* out) {
  size_t c = 0;
  for (; c + 4 <= channels; c += 4) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    const float* p = in + c;
    for (size_t r = 0; r < rows; ++r, p += in_stride) {
      s0 += p[0];
      s1 += p[1];
      s2 += p[2];
      s3 += p[3];
    }
    out[c] = s0 * scale;
    out[c + 1] = s1 * scale;
    out[c + 2] = s2 * scale;
    out[c + 3] = s3 * scale;
  }
  for (; c < channels; ++c) {
    float s = 0.0f;
    const float* p = in + c;
    for (size_t r = 0; r < rows; ++r, p += in_stride) s += *p;
    out[c] = s * scale;
  }
}

}  // namespace ce::native
