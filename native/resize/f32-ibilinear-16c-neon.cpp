// Bilinear interpolation of one output row, 16 channels per step, then 4, then a lane-wise
// tail; the weights stay in d registers and multiply by element (fmul / fmla by lane).
#include <arm_neon.h>

#include "native/resize/resize.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

void f32_ibilinear_16c__neon(size_t pixels, size_t channels, const float* const* in,
                             const float* wx, float h0, float h1, float* out, size_t out_stride) {
  const float32x2_t vh = vset_lane_f32(h1, vdup_n_f32(h0), 1);
  for (size_t p = 0; p < pixels; ++p, in += 4, wx += 2, out += out_stride) {
    const float* tl = in[0];
    const float* tr = in[1];
    const float* bl = in[2];
    const float* br = in[3];
    const float32x2_t vw = vld1_f32(wx);
    auto blend = [&](float32x4_t a, float32x4_t b, float32x4_t c, float32x4_t d) {
      const float32x4_t top = vfmaq_lane_f32(vmulq_lane_f32(a, vw, 0), b, vw, 1);
      const float32x4_t bot = vfmaq_lane_f32(vmulq_lane_f32(c, vw, 0), d, vw, 1);
      return vfmaq_lane_f32(vmulq_lane_f32(top, vh, 0), bot, vh, 1);
    };
    auto at = [&](size_t c) {
      return blend(vld1q_f32(tl + c), vld1q_f32(tr + c), vld1q_f32(bl + c), vld1q_f32(br + c));
    };
    size_t c = 0;
    for (; c + 16 <= channels; c += 16) {
      const float32x4_t v0 = at(c), v1 = at(c + 4), v2 = at(c + 8), v3 = at(c + 12);
      vst1q_f32(out + c, v0);
      vst1q_f32(out + c + 4, v1);
      vst1q_f32(out + c + 8, v2);
      vst1q_f32(out + c + 12, v3);
    }
    for (; c + 4 <= channels; c += 4) vst1q_f32(out + c, at(c));
    if (c < channels) {
      const size_t n = channels - c;
      neon::store_tail(out + c,
                       blend(neon::load_tail(tl + c, n), neon::load_tail(tr + c, n),
                             neon::load_tail(bl + c, n), neon::load_tail(br + c, n)),
                       n);
    }
  }
}

}  // namespace ce::native
