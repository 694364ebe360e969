// Bilinear interpolation of one output row (see resize.h for the formula).
#include "native/resize/resize.h"

namespace ce::native {

void f32_ibilinear__scalar(size_t pixels, size_t channels, const float* const* in,
                           const float* wx, float h0, float h1, float* out, size_t out_stride) {
  for (size_t p = 0; p < pixels; ++p, in += 4, wx += 2, out += out_stride) {
    const float* tl = in[0];
    const float* tr = in[1];
    const float* bl = in[2];
    const float* br = in[3];
    const float w0 = wx[0], w1 = wx[1];
    for (size_t c = 0; c < channels; ++c) {
      const float top = w0 * tl[c] + w1 * tr[c];
      const float bot = w0 * bl[c] + w1 * br[c];
      out[c] = h0 * top + h1 * bot;
    }
  }
}

}  // namespace ce::native
