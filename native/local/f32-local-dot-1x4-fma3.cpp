// Locally connected conv, one position: 1 output channel x up to 4 images per step, dot
// products vectorised over the reduction (8 lanes, masked tail). One weight row at a time keeps
// the weight reads a single sequential stream; with fewer images the reduction is split over
// more accumulators so that at least four FMA chains are in flight.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <algorithm>
#include <cstdint>

#include "native/local/local.h"

namespace ce::native {

namespace {

constexpr size_t PF = 256;  // software prefetch distance in floats (1 KiB)

using avx2::tail_mask;

// One weight row against R images, the reduction split S ways (R * S accumulators).
template <int R, int S>
void row(size_t kc, const float* w, const float* const* a, float bias, float* c,
         size_t cm_stride, float vmin, float vmax) {
  __m256 acc[R][S];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < S; ++j) acc[r][j] = _mm256_setzero_ps();
  size_t k = 0;
  for (; k + 8 * S <= kc; k += 8 * S) {
    // Weights are streamed once: fetch ahead of the hardware prefetcher (past the end of the
    // row is the next row, or the next position's weights, when w_stride == kc).
    for (int j = 0; j < S; j += 2)
      _mm_prefetch(reinterpret_cast<const char*>(w + k + 8 * j + PF), _MM_HINT_T0);
    for (int j = 0; j < S; ++j) {
      const __m256 vw = _mm256_loadu_ps(w + k + 8 * j);
      for (int r = 0; r < R; ++r)
        acc[r][j] = _mm256_fmadd_ps(vw, _mm256_loadu_ps(a[r] + k + 8 * j), acc[r][j]);
    }
  }
  for (; k + 8 <= kc; k += 8) {
    const __m256 vw = _mm256_loadu_ps(w + k);
    for (int r = 0; r < R; ++r) acc[r][0] = _mm256_fmadd_ps(vw, _mm256_loadu_ps(a[r] + k), acc[r][0]);
  }
  if (k < kc) {
    const __m256i m = tail_mask(kc - k);
    const __m256 vw = _mm256_maskload_ps(w + k, m);
    for (int r = 0; r < R; ++r)
      acc[r][0] = _mm256_fmadd_ps(vw, _mm256_maskload_ps(a[r] + k, m), acc[r][0]);
  }
  for (int r = 0; r < R; ++r) {
    __m256 t = acc[r][0];
    for (int j = 1; j < S; ++j) t = _mm256_add_ps(t, acc[r][j]);
    c[r * cm_stride] = std::min(std::max(bias + avx2::hsum(t), vmin), vmax);
  }
}

}  // namespace

void f32_local_dot_1x4__fma3(size_t n, size_t nc, size_t kc, const float* const* a,
                             const float* w, size_t w_stride, const float* bias, float* c,
                             size_t cm_stride, const ClampParams* params) {
  const float vmin = params->min, vmax = params->max;
  for (size_t o = 0; o < nc; ++o, w += w_stride) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
      row<4, 2>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax);
    switch (n - i) {
      case 3: row<3, 2>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      case 2: row<2, 2>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      case 1: row<1, 4>(kc, w, a + i, bias[o], c + i * cm_stride + o, cm_stride, vmin, vmax); break;
      default: break;
    }
  }
}

}  // namespace ce::native
