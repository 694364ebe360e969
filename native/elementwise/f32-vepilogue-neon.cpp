// Conv output epilogue, 4 lanes: y = clamp(f(y + r)), one loop per activation kind (the switch
// stays out of the loop), the formulas of f32-vepilogue-avx2.cpp from neon-math.h (same error
// bounds): sigmoid-based kinds as f32-vsigmoid-neon.cpp, tanh(x) = 2 sigmoid(2x) - 1 (absolute
// error below 1e-7).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

namespace {

// noinline: one function per activation kind, compiled on its own; the activations capture
// their constants by value (through a reference they are reloaded after every store to y).
template <bool kClamp, class F>
__attribute__((noinline)) void run_rows(size_t rows, size_t cols, float* y, size_t ys,
                                        const float* r, size_t rs, const EpilogueParams* p,
                                        const F& f) {
  const float32x4_t vmin = vdupq_n_f32(p->min), vmax = vdupq_n_f32(p->max);
  auto step = [=](float32x4_t v) { return kClamp ? vminq_f32(vmax, vmaxq_f32(vmin, f(v))) : f(v); };
  for (size_t i = 0; i < rows; ++i, y += ys, r += r ? rs : 0) {
    if (!r) {
      neon::map(cols, y, y, step);
      continue;
    }
    size_t n = cols;
    float* yy = y;
    const float* rr = r;
    for (; n >= 8; n -= 8, yy += 8, rr += 8) {
      const float32x4_t a = step(vaddq_f32(vld1q_f32(yy), vld1q_f32(rr)));
      const float32x4_t b = step(vaddq_f32(vld1q_f32(yy + 4), vld1q_f32(rr + 4)));
      vst1q_f32(yy, a);
      vst1q_f32(yy + 4, b);
    }
    if (n >= 4) {
      vst1q_f32(yy, step(vaddq_f32(vld1q_f32(yy), vld1q_f32(rr))));
      n -= 4, yy += 4, rr += 4;
    }
    if (n)
      neon::store_tail(
          yy, step(vaddq_f32(neon::load_tail(yy, n), neon::load_tail(rr, n))), n);
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

void f32_vepilogue__neon(size_t rows, size_t cols, float* y, size_t ys, const float* r,
                         size_t rs, const EpilogueParams* p) {
  const float32x4_t vzero = vdupq_n_f32(0.0f), vone = vdupq_n_f32(1.0f);
  const float32x4_t valpha = vdupq_n_f32(p->alpha), vbeta = vdupq_n_f32(p->beta);
  switch (p->kind) {
    case 1: {
      const float32x4_t vthree = vdupq_n_f32(3.0f), vsix = vdupq_n_f32(6.0f),
                        vsixth = vdupq_n_f32(1.0f / 6.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](float32x4_t v) {
        const float32x4_t t = vminq_f32(vsix, vmaxq_f32(vzero, vaddq_f32(v, vthree)));
        return vmulq_f32(v, vmulq_f32(t, vsixth));
      });
    }
    case 2:
      return run(rows, cols, y, ys, r, rs, p, [=](float32x4_t v) {
        return vminq_f32(vone, vmaxq_f32(vzero, vfmaq_f32(vbeta, v, valpha)));
      });
    case 3: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::sigmoid(v); });
    case 4:
      return run(rows, cols, y, ys, r, rs, p,
                 [](float32x4_t v) { return vmulq_f32(v, neon::sigmoid(v)); });
    case 5: {
      const float32x4_t vtwo = vdupq_n_f32(2.0f), vminus_one = vdupq_n_f32(-1.0f);
      return run(rows, cols, y, ys, r, rs, p, [=](float32x4_t v) {
        return vfmaq_f32(vminus_one, vtwo, neon::sigmoid(vaddq_f32(v, v)));
      });
    }
    case 6:
      return run(rows, cols, y, ys, r, rs, p, [=](float32x4_t v) { return neon::prelu(v, valpha); });
    case 7: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::gelu(v); });
    case 8: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::gelu_tanh(v); });
    case 9: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::mish(v); });
    case 10: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::softplus(v); });
    case 11:
    case 12:
    case 13: {
      const float a = p->alpha, b = p->kind == 12 ? p->beta : 1.0f;
      const float32x4_t va = vdupq_n_f32(p->kind == 12 ? a * b : a), vb = vdupq_n_f32(b),
                        vg = vdupq_n_f32(p->kind == 13 ? 1.0f / a : 1.0f);
      return run(rows, cols, y, ys, r, rs, p,
                 [=](float32x4_t v) { return neon::elu(v, va, vb, vg); });
    }
    case 14: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return neon::softsign(v); });
    case 15:
      return run(rows, cols, y, ys, r, rs, p,
                 [=](float32x4_t v) { return neon::threshold(v, valpha); });
    default: return run(rows, cols, y, ys, r, rs, p, [](float32x4_t v) { return v; });
  }
}

}  // namespace ce::native
