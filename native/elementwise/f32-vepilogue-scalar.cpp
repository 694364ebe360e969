// Conv output epilogue: y = clamp(f(y + r)), the same formulas as f32-vepilogue-avx2.cpp.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/scalar-common.h"
#include "native/elementwise/scalar-math.h"

namespace ce::native {

namespace {

template <class F>
void run(size_t rows, size_t cols, float* y, size_t ys, const float* r, size_t rs,
         const EpilogueParams* p, const F& f) {
  for (size_t i = 0; i < rows; ++i, y += ys, r += r ? rs : 0)
    for (size_t j = 0; j < cols; ++j) {
      float v = f(r ? y[j] + r[j] : y[j]);
      v = v < p->min ? p->min : v;
      y[j] = v > p->max ? p->max : v;
    }
}

}  // namespace

void f32_vepilogue__scalar(size_t rows, size_t cols, float* y, size_t ys, const float* r,
                           size_t rs, const EpilogueParams* p) {
  const float alpha = p->alpha, beta = p->beta;
  switch (p->kind) {
    case 1:
      return run(rows, cols, y, ys, r, rs, p, [](float v) {
        float t = v + 3.0f;
        t = t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t);
        return v * (t * (1.0f / 6.0f));
      });
    case 2:
      return run(rows, cols, y, ys, r, rs, p, [&](float v) {
        const float t = v * alpha + beta;
        return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
      });
    case 3: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::sigmoid(v); });
    case 4: return run(rows, cols, y, ys, r, rs, p, [](float v) { return v * scalar::sigmoid(v); });
    case 5: return run(rows, cols, y, ys, r, rs, p, [](float v) { return 2.0f * scalar::sigmoid(v + v) - 1.0f; });
    case 6: return run(rows, cols, y, ys, r, rs, p, [&](float v) { return v < 0.0f ? v * alpha : v; });
    case 7: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::gelu(v); });
    case 8: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::gelu_tanh(v); });
    case 9: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::mish(v); });
    case 10: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::softplus(v); });
    case 11: return run(rows, cols, y, ys, r, rs, p, [&](float v) { return scalar::elu(v, alpha, 1.0f, 1.0f); });
    case 12:
      return run(rows, cols, y, ys, r, rs, p, [&](float v) { return scalar::elu(v, alpha * beta, beta, 1.0f); });
    case 13:
      return run(rows, cols, y, ys, r, rs, p, [&](float v) { return scalar::elu(v, alpha, 1.0f, 1.0f / alpha); });
    case 14: return run(rows, cols, y, ys, r, rs, p, [](float v) { return scalar::softsign(v); });
    case 15: return run(rows, cols, y, ys, r, rs, p, [&](float v) { return scalar::threshold(v, alpha); });
    default: return run(rows, cols, y, ys, r, rs, p, [](float v) { return v; });
  }
}

}  // namespace ce::native
