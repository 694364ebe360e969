// x / (1 + |x|): 2 roundings, <= 1.5 ulp; +-inf give NaN (inf / inf, as torch).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vsoftsign__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::softsign(v); });
}

}  // namespace ce::native
