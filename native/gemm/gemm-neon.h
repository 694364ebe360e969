// The MR x (4 * NV) NEON panel microkernels (GEMM, gemm.h; IGEMM, igemm.h), instantiated by the
// f32-gemm-<MR>x<NR>[-prfm]-neon.cpp and f32-igemm-<MR>x<NR>-neon.cpp files: MR * NV q-register
// accumulators. The main loop takes 4 k per step: one 128-bit load of each A row feeds 4 fmla
// by lane (vfmaq_laneq_f32) per W vector, so a step is MR + 4 NV loads for 4 MR NV fmla.
// Tails of k use fmla by element; tails of columns are written (and, accumulating, read) lane
// by lane. The -prfm variants prefetch the next tile's rows; the GEMMs take the weight-stream
// hint (gemm-prefetch.h).
#pragma once
#include <arm_neon.h>

#include <cstddef>

#include "native/gemm/gemm-prefetch.h"
#include "native/gemm/gemm.h"
#include "native/gemm/igemm.h"
#include "native/simd/neon-tail.h"

#if defined(__GNUC__) && !defined(__clang__)
#define CE_NEON_UNSCHEDULED __attribute__((optimize("no-schedule-insns")))
#define CE_NEON_INLINE __attribute__((always_inline)) inline
#else
#define CE_NEON_UNSCHEDULED
#define CE_NEON_INLINE inline
#endif

namespace ce::native::gemm_neon {

using neon::load_tail;
using neon::store_tail;

template <size_t MR, size_t NV>
using Acc = float32x4_t[MR][NV];

template <size_t MR, size_t NV>
inline void init_bias(Acc<MR, NV>& acc, const float* w) {
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) {
    const float32x4_t b = vld1q_f32(w + 4 * v);
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) acc[i][v] = b;
  }
}

// Columns [0, nc) of rows cr (nc < 4 NV: lane-wise past the last whole vector; zero past nc).
template <size_t MR, size_t NV>
inline void load_c(Acc<MR, NV>& acc, float* const (&cr)[MR], size_t nc) {
  constexpr size_t NR = 4 * NV;
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) {
    const size_t lo = 4 * v;
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i)
      acc[i][v] = nc >= NR || nc >= lo + 4 ? vld1q_f32(cr[i] + lo)
                  : nc > lo               ? load_tail(cr[i] + lo, nc - lo)
                                          : vdupq_n_f32(0.0f);
  }
}

template <int L, size_t MR, size_t NV>
inline void lane_step(Acc<MR, NV>& acc, const float32x4_t (&va)[MR], const float* w) {
  float32x4_t b[NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) b[v] = vld1q_f32(w + 4 * v);
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) acc[i][v] = vfmaq_laneq_f32(acc[i][v], b[v], va[i], L);
}

// acc += A[MR x kc] W[kc x 4 NV] (rows of A at ar, W rows WS floats apart from w); returns the
// end of those W rows.
// stream (when given) steps once per iteration: kc / 4 + kc % 4 per call.
template <size_t MR, size_t NV, size_t WS = 4 * NV>
inline const float* accumulate_k(Acc<MR, NV>& acc, const float* const (&ar)[MR], size_t kc,
                                 const float* w, StreamPrefetch* stream = nullptr) {
  size_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    if (stream) stream->step();
    float32x4_t va[MR];
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) va[i] = vld1q_f32(ar[i] + k);
    lane_step<0>(acc, va, w);
    lane_step<1>(acc, va, w + WS);
    lane_step<2>(acc, va, w + 2 * WS);
    lane_step<3>(acc, va, w + 3 * WS);
    w += 4 * WS;
  }
  for (; k < kc; ++k, w += WS) {
    if (stream) stream->step();
    float32x4_t b[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) b[v] = vld1q_f32(w + 4 * v);
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) {
      const float a = ar[i][k];
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) acc[i][v] = vfmaq_n_f32(acc[i][v], b[v], a);
    }
  }
  return w;
}

// Clamps and writes columns [0, min(nc, NR)) of rows cr, highest row first: rows aliasing row
// mr - 1 end with its value either way.
template <size_t MR, size_t NV>
inline void store_c(Acc<MR, NV>& acc, float* const (&cr)[MR], size_t nc,
                    const ClampParams* params) {
  constexpr size_t NR = 4 * NV;
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) acc[i][v] = vminq_f32(vmax, vmaxq_f32(vmin, acc[i][v]));
  if (nc >= NR) {
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) vst1q_f32(cr[MR - 1 - r] + 4 * v, acc[MR - 1 - r][v]);
    return;
  }
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
    const size_t i = MR - 1 - r;
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) {
      if (nc >= 4 * v + 4)
        vst1q_f32(cr[i] + 4 * v, acc[i][v]);
      else if (nc > 4 * v)
        store_tail(cr[i] + 4 * v, acc[i][v], nc - 4 * v);
    }
  }
}

template <size_t MR, size_t NV, bool Prefetch = false>
CE_NEON_INLINE void gemm(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         bool accumulate, const ClampParams* params, const void* prefetch,
                         size_t prefetch_lines) {
  constexpr size_t NR = 4 * NV;
  const float* ar[MR];
  float* cr[MR];
  ar[0] = a;
  cr[0] = c;
#pragma GCC unroll 8
  for (size_t i = 1; i < MR; ++i) {
    ar[i] = i < mr ? ar[i - 1] + a_stride : ar[i - 1];
    cr[i] = i < mr ? cr[i - 1] + cm_stride : cr[i - 1];
  }
  NextTilePrefetch<MR> pf(Prefetch && mr == MR, nc, NR, kc, a, a_stride, c, cm_stride);
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + NR - 1) / NR * (kc / 4 + kc % 4));
  for (;;) {
    if (Prefetch) pf.before_panel(cn_stride);
    Acc<MR, NV> acc;
    if (accumulate)
      load_c(acc, cr, nc);
    else
      init_bias(acc, w);
    w = accumulate_k(acc, ar, kc, w + NR, prefetch_lines ? &stream : nullptr);
    store_c(acc, cr, nc, params);
    if (nc <= NR) return;
    nc -= NR;
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) cr[i] += cn_stride;
  }
}

template <size_t MR, size_t NV>
CE_NEON_INLINE void igemm(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                  const float* w, float* c, size_t cm_stride, size_t cn_stride, size_t a_offset,
                  const float* zero, const ClampParams* params, const void* prefetch,
                  size_t prefetch_lines) {
  constexpr size_t NR = 4 * NV;
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + NR - 1) / NR * ks * (kc / 4 + kc % 4));
  float* cr[MR];
  cr[0] = c;
#pragma GCC unroll 8
  for (size_t i = 1; i < MR; ++i) cr[i] = i < mr ? cr[i - 1] + cm_stride : cr[i - 1];
  for (;;) {
    Acc<MR, NV> acc;
    init_bias(acc, w);
    w += NR;
    for (size_t t = 0; t < ks; ++t) {
      const float* ar[MR];
#pragma GCC unroll 8
      for (size_t i = 0; i < MR; ++i) {
        const float* p = a[t * MR + i];
        ar[i] = p != zero ? p + a_offset : p;
      }
      w = accumulate_k(acc, ar, kc, w, prefetch_lines ? &stream : nullptr);
    }
    store_c(acc, cr, nc, params);
    if (nc <= NR) return;
    nc -= NR;
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) cr[i] += cn_stride;
  }
}

// 1 x NR (gemm.h, mr == 1): K in 4 quarters, each with its own accumulators and W stream (see
// gemm-1xn-fma3.h), 4 NV independent chains.
template <size_t NV>
inline void gemm_1xn(size_t nc, size_t kc, const float* a, const float* w, float* c,
                     size_t cn_stride, bool accumulate, const ClampParams* params) {
  constexpr size_t NR = 4 * NV;
  const size_t q = kc / 4;
  float* cr[1] = {c};
  for (;;) {
    Acc<1, NV> acc0;
    if (accumulate)
      load_c(acc0, cr, nc);
    else
      init_bias(acc0, w);
    w += NR;
    float32x4_t acc[3][NV];
#pragma GCC unroll 3
    for (size_t u = 0; u < 3; ++u)
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) acc[u][v] = vdupq_n_f32(0.0f);
    const float* ws[4] = {w, w + q * NR, w + 2 * q * NR, w + 3 * q * NR};
    for (size_t k = 0; k < q; ++k) {
#pragma GCC unroll 4
      for (size_t u = 0; u < 4; ++u) {
        const float av = a[u * q + k];
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; ++v) {
          float32x4_t& s = u == 0 ? acc0[0][v] : acc[u - 1][v];
          s = vfmaq_n_f32(s, vld1q_f32(ws[u] + 4 * v), av);
        }
        ws[u] += NR;
      }
    }
    w = ws[3];
    for (size_t k = 4 * q; k < kc; ++k, w += NR) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v)
        acc0[0][v] = vfmaq_n_f32(acc0[0][v], vld1q_f32(w + 4 * v), a[k]);
    }
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v)
      acc0[0][v] = vaddq_f32(vaddq_f32(acc0[0][v], acc[0][v]), vaddq_f32(acc[1][v], acc[2][v]));
    store_c(acc0, cr, nc, params);
    if (nc <= NR) return;
    nc -= NR;
    cr[0] += cn_stride;
  }
}

// The same kernels compiled without GCC's pre-allocation scheduler (gemm and igemm inline into
// these, their helpers into them). For the 8-wide tiles GCC 12's scheduler hoists the W loads
// of all 4 lanes above the fmla and runs out of q registers: 8 vector movs per 64 fmla in the
// 8x8 GEMM loop, 10 in the IGEMM's, none without it; the 12-wide loops are clean with the
// scheduler and gain movs without it. Each kernel file calls the better form.
template <size_t MR, size_t NV, bool Prefetch = false, class... Args>
CE_NEON_UNSCHEDULED void gemm_unscheduled(Args... args) {
  gemm<MR, NV, Prefetch>(args...);
}

template <size_t MR, size_t NV, class... Args>
CE_NEON_UNSCHEDULED void igemm_unscheduled(Args... args) {
  igemm<MR, NV>(args...);
}

}  // namespace ce::native::gemm_neon
