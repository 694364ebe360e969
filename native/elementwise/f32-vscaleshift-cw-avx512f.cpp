// Channels-first affine map: plane j (`pixels` contiguous floats) becomes
// clamp(x * scale[j] + shift[j]) (batch norm on NCHW data). 64 floats per step, 16, masked tail.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift_cw__avx512f(size_t planes, size_t pixels, const float* x, const float* scale,
                                 const float* shift, float* y, const ClampParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  for (size_t j = 0; j < planes; ++j, x += pixels, y += pixels) {
    const __m512 vs = _mm512_set1_ps(scale[j]), vb = _mm512_set1_ps(shift[j]);
    avx512::map(pixels, x, y, [&](__m512 v) {
      return _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_fmadd_ps(v, vs, vb)));
    });
  }
}

}  // namespace ce::native
