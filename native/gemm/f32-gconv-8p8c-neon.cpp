#include <arm_neon.h>

#include <algorithm>

#include "native/gemm/gconv.h"

namespace ce::native {

namespace {

enum Mode {
  kScalar = 0,  // cout_g in {4, 8}: each q half of a block is one group, fmla by element
  kPairs1 = 1,  // cout_g = 2, cin_g = 1: zip (x0 x0 x1 x1)
  kPairs2 = 2,  // cout_g = 2, cin_g = 2: trn (x0 x0 x2 x2), (x1 x1 x3 x3)
  kLanes = 3,   // cout_g = cin_g = 1: lane l is channel l
};

// Channels [0, min(n, win)) of the window at x (win 4 or 8 channels), zero past them.
inline float32x4x2_t load_window(const float* x, size_t n, size_t win) {
  if (n >= win) return {vld1q_f32(x), win == 8 ? vld1q_f32(x + 4) : vdupq_n_f32(0.0f)};
  float t[8] = {};
  std::copy(x, x + n, t);
  return {vld1q_f32(t), vld1q_f32(t + 4)};
}

inline void store_lanes(float* c, float32x4_t lo, float32x4_t hi, size_t n) {
  if (n >= 4) {
    vst1q_f32(c, lo);
    lo = hi;
    c += 4;
    n -= 4;
  }
  if (n >= 4) return vst1q_f32(c, lo);
  if (n & 2) {
    vst1_f32(c, vget_low_f32(lo));
    if (n & 1) vst1q_lane_f32(c + 2, lo, 2);
  } else if (n & 1) {
    vst1q_lane_f32(c, lo, 0);
  }
}

template <int MODE>
void run_blocks(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                const float* const* a, size_t a_offset, const float* zero, const float* w,
                float* c, size_t cm_stride, size_t in_valid, const ClampParams* params) {
  constexpr size_t MR = 8;
  float* cp[MR];
  cp[0] = c;
  for (size_t p = 1; p < MR; ++p) cp[p] = p < mr ? cp[p - 1] + cm_stride : cp[p - 1];
  const size_t win = 8 * cin_g / cout_g;
  // kScalar: the high half's first input channel in the window (its group's, or the same group).
  const size_t hi_in = cout_g == 4 ? cin_g : 0;
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  for (size_t b = 0, off = 0; b * 8 < nc; ++b, off += win) {
    const size_t lanes = std::min<size_t>(8, nc - b * 8);
    const size_t avail = std::min<size_t>(8, in_valid - off);
    float32x4_t lo[MR], hi[MR];
    const float32x4_t blo = vld1q_f32(w), bhi = vld1q_f32(w + 4);
#pragma GCC unroll 8
    for (size_t p = 0; p < MR; ++p) lo[p] = blo, hi[p] = bhi;
    w += 8;
    for (size_t t = 0; t < ks; ++t, w += 8 * cin_g) {
      const float* xp[MR];
#pragma GCC unroll 8
      for (size_t p = 0; p < MR; ++p) {
        const float* x = a[t * MR + p];
        xp[p] = x == zero ? zero : x + a_offset + off;
      }
      if (MODE == kScalar) {
        // The high half of a last block with one group of 4 is never stored: not read.
        const bool with_hi = cout_g == 8 || lanes > 4;
        for (size_t i = 0; i < cin_g; ++i) {
          const float32x4_t wl = vld1q_f32(w + 8 * i), wh = vld1q_f32(w + 8 * i + 4);
#pragma GCC unroll 8
          for (size_t p = 0; p < MR; ++p) {
            lo[p] = vfmaq_n_f32(lo[p], wl, xp[p][i]);
            if (with_hi) hi[p] = vfmaq_n_f32(hi[p], wh, xp[p][hi_in + i]);
          }
        }
      } else {
        const float32x4_t w0l = vld1q_f32(w), w0h = vld1q_f32(w + 4);
        const float32x4_t w1l = MODE == kPairs2 ? vld1q_f32(w + 8) : w0l;
        const float32x4_t w1h = MODE == kPairs2 ? vld1q_f32(w + 12) : w0h;
#pragma GCC unroll 8
        for (size_t p = 0; p < MR; ++p) {
          const float32x4x2_t v = load_window(xp[p], xp[p] == zero ? 8 : avail, win);
          if (MODE == kLanes) {
            lo[p] = vfmaq_f32(lo[p], v.val[0], w0l);
            hi[p] = vfmaq_f32(hi[p], v.val[1], w0h);
          } else if (MODE == kPairs1) {
            lo[p] = vfmaq_f32(lo[p], vzip1q_f32(v.val[0], v.val[0]), w0l);
            hi[p] = vfmaq_f32(hi[p], vzip2q_f32(v.val[0], v.val[0]), w0h);
          } else {
            lo[p] = vfmaq_f32(lo[p], vtrn1q_f32(v.val[0], v.val[0]), w0l);
            hi[p] = vfmaq_f32(hi[p], vtrn1q_f32(v.val[1], v.val[1]), w0h);
            lo[p] = vfmaq_f32(lo[p], vtrn2q_f32(v.val[0], v.val[0]), w1l);
            hi[p] = vfmaq_f32(hi[p], vtrn2q_f32(v.val[1], v.val[1]), w1h);
          }
        }
      }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      // Highest row first: aliased rows (mr < MR) end with row mr - 1's value.
      const size_t p = MR - 1 - r;
      store_lanes(cp[p] + b * 8, vminq_f32(vmax, vmaxq_f32(vmin, lo[p])),
                  vminq_f32(vmax, vmaxq_f32(vmin, hi[p])), lanes);
    }
  }
}

}  // namespace

void f32_gconv_8p8c__neon(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                          const float* const* a, size_t a_offset, const float* zero,
                          const float* w, float* c, size_t cm_stride, size_t in_valid,
                          const ClampParams* params) {
  if (cout_g >= 4)
    run_blocks<kScalar>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride,
                        in_valid, params);
  else if (cout_g == 2 && cin_g == 2)
    run_blocks<kPairs2>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride,
                        in_valid, params);
  else if (cout_g == 2)
    run_blocks<kPairs1>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride,
                        in_valid, params);
  else
    run_blocks<kLanes>(mr, nc, ks, cin_g, cout_g, a, a_offset, zero, w, c, cm_stride,
                       in_valid, params);
}

}  // namespace ce::native
