// Global average pooling: out[c] = scale * sum over `rows` pixels of in[r][c]: the window
// reduction of a rows x 1 window, 16 channels per step, then 4, then a lane-wise tail (each
// lane sums the rows in order, as the scalar kernel).
#include "native/pool/pool-neon.h"
#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool_16c__neon(size_t rows, size_t channels, const float* in, size_t in_stride,
                            float scale, float* out) {
  const float32x4_t vscale = vdupq_n_f32(scale);
  neon::window_16c(
      rows, 1, channels, in, in_stride, 0, vdupq_n_f32(0.0f),
      [](float32x4_t acc, float32x4_t v) { return vaddq_f32(acc, v); },
      [&](float32x4_t acc) { return vmulq_f32(acc, vscale); }, out);
}

}  // namespace ce::native
