// Portable depthwise row kernel: any kh x kw, stride, dilation and channel multiplier. The
// fallback for every AVX2 row kernel (3x3s1, 3x3s2, 5x5s1, 7x7s1, 5x5, kxk). Channels in
// blocks of 8 with 4 output pixels per pass, so the compiler can keep the sums in registers.
#include <algorithm>

#include "native/dwconv/dwconv.h"

namespace ce::native {

namespace {

inline float clampf(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

// Input channel (relative to the row pointers) of lane i of the block starting at channel c.
inline size_t in_channel(const DwParams* p, size_t c, size_t i) {
  if (p->mult == nullptr) return c + i;
  const int32_t* e = p->mult + (c / 8) * kDwMultEntry;
  return static_cast<size_t>(e[16] + e[i]);
}

}  // namespace

void f32_dwconv_kxk__scalar(size_t channels, size_t pixels, const float* const* rows,
                            size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                            float* out, size_t out_step, const DwParams* params) {
  constexpr size_t P = 4;
  const size_t taps = kh * kw;
  const float lo = params->min, hi = params->max;
  for (size_t c = 0; c < channels; c += 8) {
    const size_t nc = std::min<size_t>(8, channels - c);
    const float* wt = w + (c / kDwTile) * kDwTile * (1 + taps) + (c % kDwTile);
    size_t ic[8];
    for (size_t i = 0; i < nc; ++i) ic[i] = in_channel(params, c, i);
    for (size_t x0 = 0; x0 < pixels; x0 += P) {
      const size_t np = std::min(P, pixels - x0);
      float acc[P][8];
      for (size_t p = 0; p < P; ++p)
        for (size_t i = 0; i < 8; ++i) acc[p][i] = wt[i];
      const float* wp = wt + kDwTile;
      for (size_t ky = 0; ky < kh; ++ky)
        for (size_t kx = 0; kx < kw; ++kx, wp += kDwTile)
          for (size_t p = 0; p < np; ++p) {
            const float* src = rows[ky] + (x0 + p) * in_step + kx * in_dil;
            for (size_t i = 0; i < nc; ++i) acc[p][i] += src[ic[i]] * wp[i];
          }
      for (size_t p = 0; p < np; ++p)
        for (size_t i = 0; i < nc; ++i)
          out[(x0 + p) * out_step + c + i] = clampf(acc[p][i], lo, hi);
    }
  }
}

}  // namespace ce::native
