// max(a, b), NaN when either is NaN (fmax), b one value for every element.
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vmaxc__neon(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  neon::map2<true>(n, a, b, y, [&](float32x4_t u, float32x4_t v) { return vmaxq_f32(u, v); });
}

}  // namespace ce::native
