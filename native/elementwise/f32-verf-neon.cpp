// erf(x), neon::erf (avx2::erf's rational lane for lane: max relative error 2.5e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_verf__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::erf(v); });
}

}  // namespace ce::native
