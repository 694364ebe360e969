// pow(x, alpha) (C semantics) for a constant exponent without a fast path, in double.
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vpowc__scalar(size_t n, const float* x, float* y, const MathParams* p) {
  const double e = p->alpha;
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::pow(static_cast<double>(x[i]), e));
}

}  // namespace ce::native
