// Average pooling of output pixels, each scale * the sum over a clipped window, 16 channels per
// step, then 4, then a lane-wise tail (each lane sums in the scalar kernel's order).
#include "native/pool/pool-neon.h"
#include "native/pool/pool.h"

namespace ce::native {

void f32_avgpool_16c__neon(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float scale, float* out, size_t out_step, const ClampParams* params) {
  const float32x4_t lo = vdupq_n_f32(params->min), hi = vdupq_n_f32(params->max);
  const float32x4_t vscale = vdupq_n_f32(scale);
  for (; pixels != 0; --pixels, in += in_step, out += out_step)
    neon::window_16c(
        kh, kw, channels, in, row_stride, col_stride, vdupq_n_f32(0.0f),
        [](float32x4_t acc, float32x4_t v) { return vaddq_f32(acc, v); },
        [&](float32x4_t acc) { return neon::clamp(vmulq_f32(acc, vscale), lo, hi); }, out);
}

}  // namespace ce::native
