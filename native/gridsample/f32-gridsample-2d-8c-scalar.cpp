// GridSample row, 2-D, c <= 8 channels, linear / nearest, zeros / border padding: portable.
// No FMA contraction (GCC contracts by default where the target has FMA, as aarch64 does): the
// pixel coordinate rounds as onnxruntime's and on x86-64, and the NEON twin gives the same bits.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>

#include "native/gridsample/gridsample.h"

namespace ce::native {

namespace {

// The pixel coordinate as onnxruntime computes it, clamped to [-4, size + 3] (beyond, every
// tap reads zeros or the edge pixel); NaN stays NaN.
inline float coordinate(float g, int64_t size, bool align) {
  const float x = align ? (g + 1.0f) / 2.0f * static_cast<float>(size - 1)
                        : ((g + 1.0f) * static_cast<float>(size) - 1.0f) / 2.0f;
  return x != x ? x : std::min(std::max(x, -4.0f), static_cast<float>(size) + 3.0f);
}

inline float round_even(float x) {  // |x| < 2^23 here
  const float f = std::floor(x), d = x - f;
  return d > 0.5f || (d == 0.5f && (static_cast<int32_t>(f) & 1)) ? f + 1.0f : f;
}

}  // namespace

void f32_gridsample_2d_8c__scalar(const GridRow2d& r) {
  const float nan = std::nanf("");
  for (size_t s = 0; s < r.n; ++s) {
    const float* gp = r.g + static_cast<int64_t>(s) * r.g_step;
    const float x = coordinate(gp[0], r.w, r.align), y = coordinate(gp[r.g_coord], r.h, r.align);
    float* o = r.out + static_cast<int64_t>(s) * r.out_ps;
    if (x != x || y != y) {
      for (size_t k = 0; k < r.c; ++k) o[k] = nan;
      continue;
    }
    int64_t ix[2], iy[2];
    float wx[2] = {1.0f, 0.0f}, wy[2] = {1.0f, 0.0f};
    int taps = 1;
    if (r.linear) {
      const float fx = std::floor(x), fy = std::floor(y);
      ix[0] = static_cast<int64_t>(fx), iy[0] = static_cast<int64_t>(fy);
      wx[1] = x - fx, wy[1] = y - fy;
      wx[0] = 1.0f - wx[1], wy[0] = 1.0f - wy[1];
      taps = 2;
    } else {
      ix[0] = static_cast<int64_t>(round_even(x)), iy[0] = static_cast<int64_t>(round_even(y));
    }
    ix[1] = ix[0] + 1, iy[1] = iy[0] + 1;
    if (!r.linear) {
      int64_t yy = iy[0], xx = ix[0];
      if (r.border)
        yy = std::clamp<int64_t>(yy, 0, r.h - 1), xx = std::clamp<int64_t>(xx, 0, r.w - 1);
      const bool in = yy >= 0 && yy < r.h && xx >= 0 && xx < r.w;
      for (size_t k = 0; k < r.c; ++k) o[k] = in ? r.img[(yy * r.w + xx) * r.ps + k] : 0.0f;
      continue;
    }
    float acc[8] = {};
    for (int a = 0; a < taps; ++a)
      for (int b = 0; b < taps; ++b) {
        int64_t yy = iy[a], xx = ix[b];
        if (r.border) {
          yy = std::clamp<int64_t>(yy, 0, r.h - 1), xx = std::clamp<int64_t>(xx, 0, r.w - 1);
        } else if (yy < 0 || yy >= r.h || xx < 0 || xx >= r.w) {
          continue;  // reads zeros
        }
        const float w = wy[a] * wx[b];
        const float* p = r.img + (yy * r.w + xx) * r.ps;
        for (size_t k = 0; k < r.c; ++k) acc[k] += w * p[k];
      }
    for (size_t k = 0; k < r.c; ++k) o[k] = acc[k];
  }
}

}  // namespace ce::native
