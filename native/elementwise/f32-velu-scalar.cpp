// x > 0 ? beta x : alpha expm1(gamma x) in double (Elu, Selu, Celu; scalar-math.h).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_velu__scalar(size_t n, const float* x, float* y, const MathParams* p) {
  const float a = p->alpha, b = p->beta, g = p->gamma;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = scalar::elu(v, a, b, g);
  }
}

}  // namespace ce::native
