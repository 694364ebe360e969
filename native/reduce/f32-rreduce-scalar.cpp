// One value from n contiguous floats (portable twin of f32-rreduce-u32-avx2): sums in double.
#include <cmath>
#include <limits>

#include "native/reduce/reduce.h"

namespace ce::native {

float f32_rreduce__scalar(ReduceOp op, size_t n, const float* x, float shift) {
  double s = 0.0;
  switch (op) {
    case ReduceOp::kSum:
      for (size_t i = 0; i < n; ++i) s += x[i];
      return static_cast<float>(s);
    case ReduceOp::kSumAbs:
      for (size_t i = 0; i < n; ++i) s += std::fabs(x[i]);
      return static_cast<float>(s);
    case ReduceOp::kSumSquare:
      for (size_t i = 0; i < n; ++i) {
        const float d = x[i] - shift;
        s += d * d;
      }
      return static_cast<float>(s);
    case ReduceOp::kSumExp:
      for (size_t i = 0; i < n; ++i) s += std::exp(x[i] - shift);
      return static_cast<float>(s);
    case ReduceOp::kMax:
    case ReduceOp::kMin: {
      const bool mx = op == ReduceOp::kMax;
      float r = mx ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      for (size_t i = 0; i < n; ++i) {
        if (x[i] != x[i]) return x[i];
        if (mx ? x[i] > r : x[i] < r) r = x[i];
      }
      return r;
    }
    case ReduceOp::kProd: {
      double p = 1.0;
      for (size_t i = 0; i < n; ++i) p *= x[i];
      return static_cast<float>(p);
    }
  }
  return 0.0f;
}

}  // namespace ce::native
