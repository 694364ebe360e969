// Channels-first affine map: plane j (`pixels` contiguous floats) becomes
// clamp(x * scale[j] + shift[j]) (batch norm on NCHW data). 32 floats per step, 8, masked tail.
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift_cw__avx2(size_t planes, size_t pixels, const float* x, const float* scale,
                              const float* shift, float* y, const ClampParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  for (size_t j = 0; j < planes; ++j, x += pixels, y += pixels) {
    const __m256 vs = _mm256_set1_ps(scale[j]), vb = _mm256_set1_ps(shift[j]);
    avx2::map(pixels, x, y, [&](__m256 v) {
      return _mm256_min_ps(vmax, _mm256_max_ps(vmin, _mm256_fmadd_ps(v, vs, vb)));
    });
  }
}

}  // namespace ce::native
