// Portable depthwise through an indirection buffer (border pixels): any kernel, stride,
// dilation, padding and channel multiplier. Fallback of f32-dwconv-ind-32c-fma3.
#include <algorithm>

#include "native/dwconv/dwconv.h"

namespace ce::native {

void f32_dwconv_ind__scalar(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                            const float* w, float* out, size_t out_step, const DwParams* params) {
  const float lo = params->min, hi = params->max;
  for (size_t x = 0; x < pixels; ++x, taps += ks, out += out_step) {
    for (size_t c = 0; c < channels; c += 8) {
      const size_t nc = std::min<size_t>(8, channels - c);
      const float* wt = w + (c / kDwTile) * kDwTile * (1 + ks) + (c % kDwTile);
      size_t ic[8];
      for (size_t i = 0; i < nc; ++i) {
        if (params->mult == nullptr) {
          ic[i] = c + i;
        } else {
          const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
          ic[i] = static_cast<size_t>(e[16] + e[i]);
        }
      }
      float acc[8];
      for (size_t i = 0; i < 8; ++i) acc[i] = wt[i];
      for (size_t t = 0; t < ks; ++t) {
        const float* src = taps[t];
        const float* wp = wt + kDwTile * (1 + t);
        for (size_t i = 0; i < nc; ++i) acc[i] += src[ic[i]] * wp[i];
      }
      for (size_t i = 0; i < nc; ++i) out[c + i] = std::min(std::max(acc[i], lo), hi);
    }
  }
}

}  // namespace ce::native
