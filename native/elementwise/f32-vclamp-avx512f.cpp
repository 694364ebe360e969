// y = min(max(x, params->min), params->max) (ReLU, ReLU6, any clamp), 16 lanes; NaN propagates.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vclamp__avx512f(size_t n, const float* x, float* y, const ClampParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  // max_ps/min_ps return their second operand when either is NaN, so x goes second.
  avx512::map(n, x, y, [&](__m512 v) { return _mm512_min_ps(vmax, _mm512_max_ps(vmin, v)); });
}

}  // namespace ce::native
