// Conv output epilogue, 16 lanes: y = clamp(f(y + r)), masked tails. The activations of
// f32-vepilogue-avx2.cpp computed the same way (avx512-math.h mirrors avx2-math.h), so the
// results are those of the AVX2 epilogue; tanh(x) = 2 sigmoid(2x) - 1.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

namespace {

// noinline: one function per activation kind, compiled on its own (as in the AVX2 epilogue).
template <bool kClamp, class F>
__attribute__((noinline)) void run_rows(size_t rows, size_t cols, float* y, size_t ys,
                                        const float* r, size_t rs, const EpilogueParams* p,
                                        const F& f) {
  const __m512 vmin = _mm512_set1_ps(p->min), vmax = _mm512_set1_ps(p->max);
  auto step = [=](__m512 v) {
    return kClamp ? _mm512_min_ps(vmax, _mm512_max_ps(vmin, f(v))) : f(v);
  };
  const __mmask16 m = avx512::tail_mask(cols % 16);
  for (size_t i = 0; i < rows; ++i, y += ys, r += r ? rs : 0) {
    if (r) {
      size_t n = cols;
      float* yy = y;
      const float* rr = r;
      for (; n >= 16; n -= 16, yy += 16, rr += 16)
        _mm512_storeu_ps(yy, step(_mm512_add_ps(_mm512_loadu_ps(yy), _mm512_loadu_ps(rr))));
      if (n)
        _mm512_mask_storeu_ps(
            yy, m, step(_mm512_add_ps(_mm512_maskz_loadu_ps(m, yy), _mm512_maskz_loadu_ps(m, rr))));
    } else {
      avx512::map(cols, y, y, step);
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

void f32_vepilogue__avx512f(size_t rows, size_t cols, float* y, size_t ys, const float* r,
                            size_t rs, const EpilogueParams* p) {
  using avx512::splat;
  const __m512 vzero = _mm512_setzero_ps(), vone = splat(1.0f);
  const __m512 valpha = splat(p->alpha), vbeta = splat(p->beta);
  switch (p->kind) {
    case 1: {
      const __m512 vthree = splat(3.0f), vsix = splat(6.0f), vsixth = splat(1.0f / 6.0f);
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) {
        const __m512 t = _mm512_min_ps(vsix, _mm512_max_ps(vzero, _mm512_add_ps(v, vthree)));
        return _mm512_mul_ps(v, _mm512_mul_ps(t, vsixth));
      });
    }
    case 2:
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) {
        return _mm512_min_ps(vone, _mm512_max_ps(vzero, _mm512_fmadd_ps(v, valpha, vbeta)));
      });
    case 3: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::sigmoid(v); });
    case 4:
      return run(rows, cols, y, ys, r, rs, p,
                 [](__m512 v) { return _mm512_mul_ps(v, avx512::sigmoid(v)); });
    case 5: {
      const __m512 vtwo = splat(2.0f);
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) {
        return _mm512_fmsub_ps(vtwo, avx512::sigmoid(_mm512_add_ps(v, v)), vone);
      });
    }
    case 6:
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) { return avx512::prelu(v, valpha); });
    case 7: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::gelu(v); });
    case 8: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::gelu_tanh(v); });
    case 9: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::mish(v); });
    case 10: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::softplus(v); });
    case 11:
    case 12:
    case 13: {
      const float a = p->alpha, b = p->kind == 12 ? p->beta : 1.0f;
      const __m512 va = splat(p->kind == 12 ? a * b : a), vb = splat(b),
                   vg = splat(p->kind == 13 ? 1.0f / a : 1.0f);
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) { return avx512::elu(v, va, vb, vg); });
    }
    case 14: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::softsign(v); });
    case 15:
      return run(rows, cols, y, ys, r, rs, p, [&](__m512 v) { return avx512::threshold(v, valpha); });
    default: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return v; });
  }
}

}  // namespace ce::native
