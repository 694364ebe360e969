// NEON helpers shared by the depthwise *-neon.cpp kernels (aarch64).
//
// A strip is NQ q registers of 4 output channels (V<NQ>). With multiplier 1 a strip loads NQ
// consecutive q registers of input; its last q may be partial (1..3 lanes, loaded and stored
// lane-wise, never touching memory past the channels). With a multiplier >= 2 a strip is (half
// of) one 8-channel block of the multiplier table (dwconv.h): its inputs are the 4 channels
// base..base+3, one 128-bit load (lane-wise near the end of the pixel), spread to the output
// lanes by a TBL per q register.
#pragma once
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "native/dwconv/dwconv.h"
#include "native/simd/neon-tail.h"

namespace ce::native::dwn {

template <int NQ>
struct V {
  float32x4_t q[NQ];
};

template <int NQ>
inline V<NQ> load(const float* p) {
  V<NQ> v;
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) v.q[i] = vld1q_f32(p + 4 * i);
  return v;
}

template <int NQ>
inline V<NQ> dup(float32x4_t x) {
  V<NQ> v;
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) v.q[i] = x;
  return v;
}

// acc + x * w
template <int NQ>
inline V<NQ> fma(V<NQ> acc, const V<NQ>& x, const V<NQ>& w) {
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) acc.q[i] = vfmaq_f32(acc.q[i], x.q[i], w.q[i]);
  return acc;
}

template <int NQ>
inline V<NQ> mul(const V<NQ>& x, const V<NQ>& w) {
  V<NQ> r;
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) r.q[i] = vmulq_f32(x.q[i], w.q[i]);
  return r;
}

template <int NQ>
inline V<NQ> add(V<NQ> a, const V<NQ>& b) {
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) a.q[i] = vaddq_f32(a.q[i], b.q[i]);
  return a;
}

template <int NQ>
inline V<NQ> clamp(V<NQ> v, float32x4_t vmin, float32x4_t vmax) {
#pragma GCC unroll 4
  for (int i = 0; i < NQ; ++i) v.q[i] = vminq_f32(vmaxq_f32(v.q[i], vmin), vmax);
  return v;
}

using neon::load_tail;
using neon::store_tail;

// How a strip reads its inputs:
//   kFull      multiplier 1, NQ whole q registers
//   kTail      multiplier 1, the last q holds n_in (1..3) channels
//   kMult      multiplier >= 2, channels base..base+3 inside the pixel: vld1q + TBL per q
//   kMultTail  multiplier >= 2, only n_in (1..3) channels from base exist: lane-wise load + TBL
enum LoadMode { kFull, kTail, kMult, kMultTail };

template <int NQ_, int kMode_>
struct Cfg {
  static constexpr int NQ = NQ_;
  static constexpr int kMode = kMode_;
};

struct Lanes {
  size_t n_in = 4;     // kTail, kMultTail: lanes of the partial load
  size_t n_out = 4;    // lanes stored from the last q (1..4)
  uint8x16_t idx[2];   // kMult, kMultTail: TBL byte indices of each q
};

template <int NQ, int kMode>
inline V<NQ> load_in(const float* p, const Lanes& l) {
  V<NQ> v;
  if constexpr (kMode == kFull) {
    v = load<NQ>(p);
  } else if constexpr (kMode == kTail) {
#pragma GCC unroll 4
    for (int i = 0; i + 1 < NQ; ++i) v.q[i] = vld1q_f32(p + 4 * i);
    v.q[NQ - 1] = load_tail(p + 4 * (NQ - 1), l.n_in);
  } else {
    const uint8x16_t x =
        vreinterpretq_u8_f32(kMode == kMult ? vld1q_f32(p) : load_tail(p, l.n_in));
#pragma GCC unroll 2
    for (int i = 0; i < NQ; ++i) v.q[i] = vreinterpretq_f32_u8(vqtbl1q_u8(x, l.idx[i]));
  }
  return v;
}

template <int NQ, int kMode>
inline void store_out(float* p, const V<NQ>& v, const Lanes& l) {
#pragma GCC unroll 4
  for (int i = 0; i + 1 < NQ; ++i) vst1q_f32(p + 4 * i, v.q[i]);
  float* last = p + 4 * (NQ - 1);
  if constexpr (kMode == kFull) vst1q_f32(last, v.q[NQ - 1]);
  else if constexpr (kMode == kTail) store_tail(last, v.q[NQ - 1], l.n_out);
  else if (l.n_out == 4) vst1q_f32(last, v.q[NQ - 1]);
  else store_tail(last, v.q[NQ - 1], l.n_out);
}

// TBL indices moving input lane perm[i] (0..3) to lane i: bytes 4 perm[i] .. 4 perm[i] + 3.
inline uint8x16_t lane_bytes(const int32_t* perm) {
  const uint32x4_t p = vreinterpretq_u32_s32(vld1q_s32(perm));
  return vreinterpretq_u8_u32(vmlaq_n_u32(vdupq_n_u32(0x03020100u), p, 0x04040404u));
}

// Calls g(std::integral_constant<int, nq>{}) for a run-time nq in 1..NQ.
template <int NQ, class G>
inline void with_nq(size_t nq, G&& g) {
  if constexpr (NQ > 1) {
    if (nq < NQ) return with_nq<NQ - 1>(nq, g);
  }
  g(std::integral_constant<int, NQ>{});
}

// Runs f(Cfg<nq, mode>{}, c, off, lanes) for each strip of output channels c.. (4 NQ channels
// with multiplier 1; 4 min(NQ, 2) with a multiplier, one table block or half of one), where off
// is the input channel its loads start at (c for multiplier 1, the block's base otherwise).
template <int NQ, class F>
inline void for_each_strip(size_t channels, const DwParams* params, F&& f) {
  Lanes l;
  l.idx[0] = l.idx[1] = vdupq_n_u8(0);
  if (params->mult == nullptr) {
    size_t c = 0;
    for (; c + 4 * NQ <= channels; c += 4 * NQ) f(Cfg<NQ, kFull>{}, c, c, l);
    const size_t r = channels - c;
    if (r == 0) return;
    l.n_in = l.n_out = r % 4 ? r % 4 : 4;
    with_nq<NQ>((r + 3) / 4, [&](auto nq) {
      if (r % 4) f(Cfg<decltype(nq)::value, kTail>{}, c, c, l);
      else f(Cfg<decltype(nq)::value, kFull>{}, c, c, l);
    });
    return;
  }
  constexpr int NM = NQ < 2 ? NQ : 2;
  for (size_t c = 0; c < channels; c += 4 * NM) {
    const size_t nc = channels - c < 4 * NM ? channels - c : 4 * NM;
    const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
    const size_t half = (c % 8) / 4;
    l.idx[0] = lane_bytes(e + 4 * half);
    if (NM == 2) l.idx[1] = lane_bytes(e + 4);
    l.n_in = (e[8] != 0) + (e[9] != 0) + (e[10] != 0) + (e[11] != 0);
    const size_t nq = (nc + 3) / 4;
    l.n_out = nc - 4 * (nq - 1);
    const size_t base = static_cast<size_t>(e[16]);
    with_nq<NM>(nq, [&](auto q) {
      constexpr int kq = decltype(q)::value;
      if (e[17]) f(Cfg<kq, kMult>{}, c, base, l);
      else f(Cfg<kq, kMultTail>{}, c, base, l);
    });
  }
}

// The N taps of a packed weight block (wt: its bias), tap t at wt + 16 (1 + t).
template <int NQ, int N>
inline void load_taps(const float* wt, V<NQ> (&w)[N]) {
#pragma GCC unroll 16
  for (int t = 0; t < N; ++t) w[t] = load<NQ>(wt + kDwTile * (1 + t));
}

// Packed weights of channel c (a multiple of 4) for a kernel of `taps` taps: the bias block;
// tap t is at + 16 * (1 + t).
inline const float* tile_weights(const float* w, size_t c, size_t taps) {
  return w + (c / kDwTile) * kDwTile * (1 + taps) + (c % kDwTile);
}

// A 3x3 row kernel on strips of 4 channels: Strip::run<NQ, kMode>(lanes, pixels, a, b, d, dil,
// wt, o, out_step, vmin, vmax) per strip, a/b/d its first input in kernel rows 0-2.
template <class Strip>
inline void row3x3(size_t channels, size_t pixels, const float* const* rows, size_t dil,
                   const float* w, float* out, size_t out_step, const DwParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min);
  const float32x4_t vmax = vdupq_n_f32(params->max);
  for_each_strip<1>(channels, params, [&](auto cfg, size_t c, size_t off, const Lanes& l) {
    using C = decltype(cfg);
    Strip::template run<C::NQ, C::kMode>(l, pixels, rows[0] + off, rows[1] + off, rows[2] + off,
                                         dil, tile_weights(w, c, 9), out + c, out_step, vmin,
                                         vmax);
  });
}

}  // namespace ce::native::dwn
