// Conv output epilogue, 8 lanes: y = clamp(f(y + r)). One loop per activation kind so the
// switch stays out of the loop; sigmoid-based kinds as in f32-vsigmoid-avx2.cpp, and
// tanh(x) = 2 sigmoid(2x) - 1 (absolute error below 1e-7; relative error grows near 0); gelu,
// mish, softplus, the elu family, softsign and thresholded relu as in avx2-math.h.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

namespace {

// noinline: one function per activation kind, compiled on its own (inlined into the one
// switch, gelu's loop ran 25% slower than the same loop in f32-vgelu-avx2.cpp, Zen 4). The
// activations capture their constants by value: through a reference the compiler must assume
// the stores to y may change them and reloads them every step.
template <bool kClamp, class F>
__attribute__((noinline)) void run_rows(size_t rows, size_t cols, float* y, size_t ys, const float* r, size_t rs,
              const EpilogueParams* p, const F& f) {
  const __m256 vmin = _mm256_set1_ps(p->min), vmax = _mm256_set1_ps(p->max);
  auto step = [=](__m256 v) {
    return kClamp ? _mm256_min_ps(vmax, _mm256_max_ps(vmin, f(v))) : f(v);
  };
  const __m256i m = avx2::tail_mask(cols % 8);
  for (size_t i = 0; i < rows; ++i, y += ys, r += r ? rs : 0) {
    size_t n = cols;
    float* yy = y;
    if (r) {
      const float* rr = r;
      for (; n >= 8; n -= 8, yy += 8, rr += 8)
        _mm256_storeu_ps(yy, step(_mm256_add_ps(_mm256_loadu_ps(yy), _mm256_loadu_ps(rr))));
      if (n)
        _mm256_maskstore_ps(yy, m, step(_mm256_add_ps(_mm256_maskload_ps(yy, m), _mm256_maskload_ps(rr, m))));
    } else {
      avx2::map(n, yy, yy, step);
    }
  }
}

// Without a clamp (both bounds infinite) the min / max are left out.
template <class F>
void run(size_t rows, size_t cols, float* y, size_t ys, const float* r, size_t rs,
         const EpilogueParams* p, const F& f) {
  if (ys == cols && (!r || rs == cols)) cols *= rows, rows = 1;  // one row: fewer tails
  if (p->min == -INFINITY && p->max == INFINITY)
    run_rows<false>(rows, cols, y, ys, r, rs, p, f);
  else
    run_rows<true>(rows, cols, y, ys, r, rs, p, f);
}

}  // namespace

void f32_vepilogue__avx2(size_t rows, size_t cols, float* y, size_t ys, const float* r,
                         size_t rs, const EpilogueParams* p) {
  const __m256 vzero = _mm256_setzero_ps(), vone = _mm256_set1_ps(1.0f);
  const __m256 valpha = _mm256_set1_ps(p->alpha), vbeta = _mm256_set1_ps(p->beta);
  switch (p->kind) {
    case 1: {
      const __m256 vthree = _mm256_set1_ps(3.0f), vsix = _mm256_set1_ps(6.0f),
                   vsixth = _mm256_set1_ps(1.0f / 6.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) {
        const __m256 t = _mm256_min_ps(vsix, _mm256_max_ps(vzero, _mm256_add_ps(v, vthree)));
        return _mm256_mul_ps(v, _mm256_mul_ps(t, vsixth));
      });
    }
    case 2:
      return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) {
        return _mm256_min_ps(vone, _mm256_max_ps(vzero, _mm256_fmadd_ps(v, valpha, vbeta)));
      });
    case 3: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::sigmoid(v); });
    case 4: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return _mm256_mul_ps(v, avx2::sigmoid(v)); });
    case 5: {
      const __m256 vtwo = _mm256_set1_ps(2.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) {
        return _mm256_fmsub_ps(vtwo, avx2::sigmoid(_mm256_add_ps(v, v)), vone);
      });
    }
    case 6:
      return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) {
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, valpha), v);
      });
    case 7: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::gelu(v); });
    case 8: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::gelu_tanh(v); });
    case 9: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::mish(v); });
    case 10: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::softplus(v); });
    case 11:
    case 12:
    case 13: {
      const float a = p->alpha, b = p->kind == 12 ? p->beta : 1.0f;
      const __m256 va = _mm256_set1_ps(p->kind == 12 ? a * b : a), vb = _mm256_set1_ps(b),
                   vg = _mm256_set1_ps(p->kind == 13 ? 1.0f / a : 1.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) { return avx2::elu(v, va, vb, vg); });
    }
    case 14: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return avx2::softsign(v); });
    case 15: return run(rows, cols, y, ys, r, rs, p, [=](__m256 v) { return avx2::threshold(v, valpha); });
    default: return run(rows, cols, y, ys, r, rs, p, [](__m256 v) { return v; });
  }
}

}  // namespace ce::native
