// log(x), denormal inputs exact, neon::log (max relative error 8.1e-8).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vlog__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::log(v); });
}

}  // namespace ce::native
