// Max pooling of output pixels, each over a clipped (dilated) window, 16 channels per step, then 4,
// then a lane-wise tail. fmax returns a NaN operand (the new pixel's first, as the scalar kernel
// keeps the last NaN it meets), so NaN propagates with no mask.
#include <cmath>

#include "native/pool/pool-neon.h"
#include "native/pool/pool.h"

namespace ce::native {

void f32_maxpool_16c__neon(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float* out, size_t out_step, const ClampParams* params) {
  const float32x4_t lo = vdupq_n_f32(params->min), hi = vdupq_n_f32(params->max);
  for (; pixels != 0; --pixels, in += in_step, out += out_step)
    neon::window_16c(
        kh, kw, channels, in, row_stride, col_stride, vdupq_n_f32(-INFINITY),
        [](float32x4_t acc, float32x4_t v) { return vmaxq_f32(v, acc); },
        [&](float32x4_t acc) { return neon::clamp(acc, lo, hi); }, out);
}

}  // namespace ce::native
