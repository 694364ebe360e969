// -x (the sign bit flipped).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vneg__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return vnegq_f32(v); });
}

}  // namespace ce::native
