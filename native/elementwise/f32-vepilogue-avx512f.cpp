// Conv output epilogue, 16 lanes: y = clamp(f(y + r)), masked tails, for the activations built
// on exp (sigmoid, silu, tanh = 2 sigmoid(2x) - 1, gelu, gelu_tanh, mish, softplus, the elu
// family), computed as in f32-vepilogue-avx2.cpp (avx512-math.h mirrors avx2-math.h), so the
// results are the AVX2 epilogue's; the other kinds call the AVX2 epilogue (below).
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

namespace {

// noinline: one function per activation kind, compiled on its own (as in the AVX2 epilogue).
// The activations capture their constants by value: through a reference the compiler must
// assume the stores to y may change them and reloaded them every step (hardswish ran 1.3x
// slower, Zen 4).
template <bool kClamp, class F>
__attribute__((noinline)) void run_rows(size_t rows, size_t cols, float* y, size_t ys,
                                        const float* r, size_t rs, const EpilogueParams* p,
                                        const F& f) {
  const __m512 vmin = _mm512_set1_ps(p->min), vmax = _mm512_set1_ps(p->max);
  auto step = [=](__m512 v) {
    return kClamp ? _mm512_min_ps(vmax, _mm512_max_ps(vmin, f(v))) : f(v);
  };
  const size_t full = cols & ~size_t{15}, tail = cols & 15;
  for (size_t i = 0; i < rows; ++i) {
    float* yy = y + i * ys;
    if (r) {
      const float* rr = r + i * rs;
      for (size_t c = 0; c < full; c += 16)
        _mm512_storeu_ps(yy + c, step(_mm512_add_ps(_mm512_loadu_ps(yy + c), _mm512_loadu_ps(rr + c))));
    } else {
      avx512::map(full, yy, yy, step);
    }
  }
  if (!tail) return;
  // Tails of up to 8 columns go two rows to a vector (row i in lanes 0-7, row i + 1 in 8-15):
  // on Zen 4 a zmm op costs two ymm ops however many lanes its mask keeps.
  const bool pair = tail <= 8;
  const __mmask16 lo = avx512::tail_mask(tail), hi = pair ? static_cast<__mmask16>(lo << 8) : 0;
  for (size_t i = 0; i < rows; i += pair ? 2 : 1) {
    const __mmask16 h = i + 1 < rows ? hi : 0;
    float* y0 = y + i * ys + full;
    float* y1 = y0 + ys - 8;  // lanes 8.. of this address are row i + 1's tail
    __m512 v = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(lo, y0), h, y1);
    if (r) {
      const float* r0 = r + i * rs + full;
      v = _mm512_add_ps(v, _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(lo, r0), h, r0 + rs - 8));
    }
    v = step(v);
    _mm512_mask_storeu_ps(y0, lo, v);
    _mm512_mask_storeu_ps(y1, h, v);
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
  const __m512 vone = splat(1.0f);
  switch (p->kind) {
    case 3: return run(rows, cols, y, ys, r, rs, p, [](__m512 v) { return avx512::sigmoid(v); });
    case 4:
      return run(rows, cols, y, ys, r, rs, p,
                 [](__m512 v) { return _mm512_mul_ps(v, avx512::sigmoid(v)); });
    case 5: {
      const __m512 vtwo = splat(2.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](__m512 v) {
        return _mm512_fmsub_ps(vtwo, avx512::sigmoid(_mm512_add_ps(v, v)), vone);
      });
    }
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
      return run(rows, cols, y, ys, r, rs, p, [=](__m512 v) { return avx512::elu(v, va, vb, vg); });
    }
    // The memory- or division-bound kinds (none, hardswish, hardsigmoid, leaky relu, softsign,
    // thresholded relu) measured 1.0-1.26x slower in zmm on conv tiles of 72 channels (Zen 4,
    // bench/elementwise_kernels.cpp): they run the AVX2 epilogue.
    default: return f32_vepilogue__avx2(rows, cols, y, ys, r, rs, p);
  }
}

}  // namespace ce::native
