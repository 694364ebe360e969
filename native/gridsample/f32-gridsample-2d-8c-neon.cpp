// GridSample row, 2-D, c <= 8 channels, linear / nearest, zeros / border padding: coordinates,
// weights and pixel indices of 4 samples per step in q lanes, then per sample its taps' c
// channels as one or two vectors (lane-wise tails). No FMA contraction: the pixel coordinate
// must round as onnxruntime's (nearest picks depend on its last bit) and the blend adds each
// rounded product as the scalar kernel does, so the file is compiled with fp-contract off.
#pragma GCC optimize("fp-contract=off")
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "native/gridsample/gridsample.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

namespace {

// Pixel coordinates of 4 normalised grid values along an axis of `size`, clamped to
// [-4, size + 3] (beyond, every tap reads zeros or the edge pixel); NaN lanes clear `ok`.
inline float32x4_t coordinate(float32x4_t g, int64_t size, bool align, uint32x4_t& ok) {
  const float32x4_t one = vdupq_n_f32(1.0f), half = vdupq_n_f32(0.5f);
  float32x4_t x;
  if (align)  // (g + 1) / 2 * (size - 1)
    x = vmulq_f32(vmulq_f32(vaddq_f32(g, one), half), vdupq_n_f32(static_cast<float>(size - 1)));
  else        // ((g + 1) * size - 1) / 2
    x = vmulq_f32(
        vsubq_f32(vmulq_f32(vaddq_f32(g, one), vdupq_n_f32(static_cast<float>(size))), one), half);
  ok = vandq_u32(ok, vceqq_f32(x, x));
  x = vmaxq_f32(x, vdupq_n_f32(-4.0f));
  return vminq_f32(x, vdupq_n_f32(static_cast<float>(size) + 3.0f));
}

// The c <= 8 floats at p as two vectors (zeros past c).
inline void load_pixel(const float* p, size_t c, float32x4_t& lo, float32x4_t& hi) {
  if (c >= 4) {
    lo = vld1q_f32(p);
    hi = c == 8 ? vld1q_f32(p + 4) : c > 4 ? neon::load_tail(p + 4, c - 4) : vdupq_n_f32(0.0f);
  } else {
    lo = neon::load_tail(p, c);
    hi = vdupq_n_f32(0.0f);
  }
}

inline void store_pixel(float* p, size_t c, float32x4_t lo, float32x4_t hi) {
  if (c >= 4) {
    vst1q_f32(p, lo);
    if (c == 8) vst1q_f32(p + 4, hi);
    else if (c > 4) neon::store_tail(p + 4, hi, c - 4);
  } else {
    neon::store_tail(p, lo, c);
  }
}

}  // namespace

void f32_gridsample_2d_8c__neon(const GridRow2d& r) {
  alignas(16) float gx[4], gy[4], wt[4][4];
  alignas(16) int32_t ix[4], iy[4];
  alignas(16) uint32_t valid[4];
  const float32x4_t nan = vdupq_n_f32(std::nanf(""));
  for (size_t s0 = 0; s0 < r.n; s0 += 4) {
    const size_t m = std::min<size_t>(r.n - s0, 4);
    for (size_t i = 0; i < 4; ++i) {
      const float* gp = r.g + static_cast<int64_t>(s0 + (i < m ? i : 0)) * r.g_step;
      gx[i] = gp[0];
      gy[i] = gp[r.g_coord];
    }
    uint32x4_t ok = vdupq_n_u32(~0u);
    const float32x4_t x = coordinate(vld1q_f32(gx), r.w, r.align, ok);
    const float32x4_t y = coordinate(vld1q_f32(gy), r.h, r.align, ok);
    vst1q_u32(valid, ok);
    if (r.linear) {
      const float32x4_t fx = vrndmq_f32(x), fy = vrndmq_f32(y);
      const float32x4_t tx = vsubq_f32(x, fx), ty = vsubq_f32(y, fy);
      const float32x4_t one = vdupq_n_f32(1.0f);
      const float32x4_t ux = vsubq_f32(one, tx), uy = vsubq_f32(one, ty);
      vst1q_f32(wt[0], vmulq_f32(uy, ux));
      vst1q_f32(wt[1], vmulq_f32(uy, tx));
      vst1q_f32(wt[2], vmulq_f32(ty, ux));
      vst1q_f32(wt[3], vmulq_f32(ty, tx));
      vst1q_s32(ix, vcvtq_s32_f32(fx));
      vst1q_s32(iy, vcvtq_s32_f32(fy));
    } else {  // round half to even
      vst1q_s32(ix, vcvtq_s32_f32(vrndnq_f32(x)));
      vst1q_s32(iy, vcvtq_s32_f32(vrndnq_f32(y)));
    }
    for (size_t i = 0; i < m; ++i) {
      float* o = r.out + static_cast<int64_t>(s0 + i) * r.out_ps;
      if (!valid[i]) {
        store_pixel(o, r.c, nan, nan);
        continue;
      }
      float32x4_t acc_lo = vdupq_n_f32(0.0f), acc_hi = acc_lo;
      const int taps = r.linear ? 2 : 1;
      for (int a = 0; a < taps; ++a)
        for (int b = 0; b < taps; ++b) {
          int64_t yy = iy[i] + a, xx = ix[i] + b;
          if (r.border) {
            yy = std::clamp<int64_t>(yy, 0, r.h - 1), xx = std::clamp<int64_t>(xx, 0, r.w - 1);
          } else if (yy < 0 || yy >= r.h || xx < 0 || xx >= r.w) {
            continue;  // reads zeros
          }
          float32x4_t lo, hi;
          load_pixel(r.img + (yy * r.w + xx) * r.ps, r.c, lo, hi);
          if (!r.linear) {
            acc_lo = lo, acc_hi = hi;
            continue;
          }
          const float w = wt[2 * a + b][i];
          acc_lo = vaddq_f32(acc_lo, vmulq_n_f32(lo, w));
          acc_hi = vaddq_f32(acc_hi, vmulq_n_f32(hi, w));
        }
      store_pixel(o, r.c, acc_lo, acc_hi);
    }
  }
}

}  // namespace ce::native
