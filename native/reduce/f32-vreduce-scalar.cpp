// acc[i] (+)= x[r * stride + i] over rows (portable twin of f32-vreduce-32c-avx2).
#include <cmath>

#include "native/reduce/reduce.h"

namespace ce::native {

void f32_vreduce__scalar(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                         const float* shift, float* acc) {
  for (size_t i = 0; i < n; ++i) {
    const float s = shift ? shift[i] : 0.0f;
    const float* p = x + i;
    float a = acc[i];
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kSumAbs:
      case ReduceOp::kSumSquare:
      case ReduceOp::kSumExp: {
        double t = 0.0;
        for (size_t r = 0; r < rows; ++r) {
          const float v = p[r * stride];
          t += op == ReduceOp::kSum ? v : op == ReduceOp::kSumAbs ? std::fabs(v)
             : op == ReduceOp::kSumSquare ? (v - s) * (v - s) : std::exp(v - s);
        }
        a = static_cast<float>(a + t);
        break;
      }
      case ReduceOp::kMax:
        for (size_t r = 0; r < rows && a == a; ++r) {
          const float v = p[r * stride];
          if (v != v || v > a) a = v;
        }
        break;
      case ReduceOp::kMin:
        for (size_t r = 0; r < rows && a == a; ++r) {
          const float v = p[r * stride];
          if (v != v || v < a) a = v;
        }
        break;
      case ReduceOp::kProd:
        for (size_t r = 0; r < rows; ++r) a *= p[r * stride];
        break;
    }
    acc[i] = a;
  }
}

}  // namespace ce::native
