// Locally connected conv, one position: 1 output channel x up to 4 images per step, dot
// products vectorised over the reduction (4 lanes, lane-wise tail). One weight row at a time
// keeps the weight reads a single sequential stream; with fewer images the reduction is split
// over more accumulators, so that 8-9 FMA chains are in flight (an A76 keeps 2 fmla x 4 cycles
// of latency busy with 8). One image needs two loads per fmla, so 4 chains keep up with the
// loads (8 accumulators there made GCC spill them).
#include <arm_neon.h>

#include <algorithm>

#include "native/local/local.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

namespace {

constexpr size_t PF = 256;  // software prefetch distance in floats (1 KiB)

// One weight row against R images, the reduction split S ways (R * S accumulators).
template <int R, int S>
void row(size_t kc, const float* w, const float* const* a, float bias, float* c,
         size_t cm_stride, float vmin, float vmax) {
  float32x4_t acc[R][S];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < S; ++j) acc[r][j] = vdupq_n_f32(0.0f);
  size_t k = 0;
  for (; k + 4 * S <= kc; k += 4 * S) {
    // Weights are streamed once: fetch ahead of the hardware prefetcher (past the end of the
    // row is the next row, or the next position's weights, when w_stride == kc).
    for (int j = 0; j < S; j += 4) __builtin_prefetch(w + k + 4 * j + PF);
    float32x4_t vw[S];
    for (int j = 0; j < S; ++j) vw[j] = vld1q_f32(w + k + 4 * j);
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < S; ++j) acc[r][j] = vfmaq_f32(acc[r][j], vw[j], vld1q_f32(a[r] + k + 4 * j));
  }
  for (; k + 4 <= kc; k += 4) {
    const float32x4_t vw = vld1q_f32(w + k);
    for (int r = 0; r < R; ++r) acc[r][0] = vfmaq_f32(acc[r][0], vw, vld1q_f32(a[r] + k));
  }
  if (k < kc) {
    const float32x4_t vw = neon::load_tail(w + k, kc - k);
    for (int r = 0; r < R; ++r)
      acc[r][0] = vfmaq_f32(acc[r][0], vw, neon::load_tail(a[r] + k, kc - k));
  }
  for (int r = 0; r < R; ++r) {
    float32x4_t t = acc[r][0];
    for (int j = 1; j < S; ++j) t = vaddq_f32(t, acc[r][j]);
    c[r * cm_stride] = std::min(std::max(bias + vaddvq_f32(t), vmin), vmax);
  }
}

}  // namespace

void f32_local_dot_1x4__neon(size_t n, size_t nc, size_t kc, const float* const* a,
                             const float* w, size_t w_stride, const float* bias, float* c,
                             size_t cm_stride, const ClampParams* params) {
  const float vmin = params->min, vmax = params->max;
  for (size_t o = 0; o < nc; ++o, w += w_stride) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
      row<4, 2>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax);
    switch (n - i) {
      case 3: row<3, 3>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      case 2: row<2, 4>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      case 1: row<1, 4>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      default: break;
    }
  }
}

}  // namespace ce::native
