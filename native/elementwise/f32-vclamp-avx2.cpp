// y = min(max(x, params->min), params->max) (ReLU, ReLU6, any clamp); NaN propagates.
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vclamp__avx2(size_t n, const float* x, float* y, const ClampParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  // max_ps/min_ps return their second operand when either is NaN, so x goes second.
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v)); });
}

}  // namespace ce::native
