// floor / ceil / round-half-to-even / sign, portable (nearbyint rounds to even in the default
// rounding mode, which the engine never changes).
#include <cmath>

#include "native/round/round.h"

namespace ce::native {

void f32_vround__scalar(size_t n, const float* x, float* y, RoundMode mode) {
  switch (mode) {
    case RoundMode::kFloor:
      for (size_t i = 0; i < n; ++i) y[i] = std::floor(x[i]);
      return;
    case RoundMode::kCeil:
      for (size_t i = 0; i < n; ++i) y[i] = std::ceil(x[i]);
      return;
    case RoundMode::kNearestEven:
      for (size_t i = 0; i < n; ++i) y[i] = std::nearbyint(x[i]);
      return;
    case RoundMode::kSign:
      for (size_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v == v ? 0.0f : v;
      }
      return;
  }
}

}  // namespace ce::native
