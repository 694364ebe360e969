// sigmoid(x) = 1 / (1 + exp(-x)), 4 lanes: exp(-|x|) by rr2-p5 (neon-common.h, the constants and
// FMA order of avx2-common.h), one division: the error bound of f32-vsigmoid-avx2.cpp (max
// relative error 2.63e-7). Below -87.33 the result is 0; +-inf give 1 / 0; NaN propagates.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vsigmoid__neon(size_t n, const float* x, float* y, const ClampParams*) {
  neon::map(n, x, y, [](float32x4_t v) { return neon::sigmoid(v); });
}

}  // namespace ce::native
