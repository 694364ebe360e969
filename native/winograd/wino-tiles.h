// Two-pass Winograd tile transforms over channel vectors, written once for every vector width:
// a traits struct V (wino-fma3.h: Ymm, 8 lanes; wino-avx512f.h: Zmm, 16 lanes with opmask
// tails; wino-neon.h: Q2, 8 lanes in two q registers) supplies the vector type, loads, stores
// and arithmetic. Include only through those headers. A variant supplies its 1D transform as a class template over V:
//   In::template tr<V>(const T d[alpha], T r[alpha])   r = B^T d
//   Out::template tr<V>(const T m[alpha], T y[m])      y = A^T m
// The first pass transforms the window's columns into a stack tile, the second its rows.
// Traits:  T, Mask, kLanes; zero(), k(float), add, sub, mul, fma (a b + c), fnma (c - a b),
//   min, max; all() and tail(n) masks (n < kLanes lanes); load<kTail>(p, mask) (zero past a
//   tail); store(p, v); store_padded(p, v, n): lanes [0, round_up(n, 8)), the input
//   contract's zero-filled channels; store_tail(p, v, mask, n): lanes [0, n). Traits of more
//   than 8 lanes also name Half, the traits of 8 lanes that run tails of 8 or fewer channels.
#pragma once
#include <cstddef>
#include <type_traits>

#include "native/winograd/winograd.h"

namespace ce::native::wino {

template <class W>
struct Of {
  using type = W;
};

// Calls f(Of<W>, kTail, c, mask, n) for each step of channels: whole V vectors, then the tail
// (V::Half's 8 lanes when it has 8 or fewer channels).
template <class V, class F>
inline void channel_steps(size_t channels, F&& f) {
  constexpr size_t L = V::kLanes;
  size_t c = 0;
  for (; c + L <= channels; c += L) f(Of<V>{}, std::false_type{}, c, V::all(), L);
  if (c == channels) return;
  const size_t n = channels - c;
  if constexpr (L > 8) {
    using H = typename V::Half;
    if (n <= 8) return f(Of<H>{}, std::true_type{}, c, H::tail(n), n);
  }
  f(Of<V>{}, std::true_type{}, c, V::tail(n), n);
}

template <class V, size_t A, bool kTail, class In>
inline void input_tile(const float* in, size_t rs, size_t ps, size_t y0, size_t y1, size_t x0,
                       size_t x1, float* v, size_t vs, typename V::Mask mask, size_t n) {
  using T = typename V::T;
  T t[A][A];
  const T zero = V::zero();
  for (size_t x = 0; x < A; ++x) {
    if (x < x0 || x >= x1) {
      for (size_t i = 0; i < A; ++i) t[i][x] = zero;
      continue;
    }
    T d[A], r[A];
    for (size_t y = 0; y < A; ++y)
      d[y] = y >= y0 && y < y1 ? V::template load<kTail>(in + (y - y0) * rs + (x - x0) * ps, mask)
                               : zero;
    In::template tr<V>(d, r);
    for (size_t i = 0; i < A; ++i) t[i][x] = r[i];
  }
  for (size_t i = 0; i < A; ++i) {
    T r[A];
    In::template tr<V>(t[i], r);
    for (size_t j = 0; j < A; ++j) {
      if (kTail)
        V::store_padded(v + (i * A + j) * vs, r[j], n);
      else
        V::store(v + (i * A + j) * vs, r[j]);
    }
  }
}

// Zeros for channels [0, round_up(channels, 8)) of `positions` positions.
template <class V>
inline void zero_positions(size_t channels, size_t positions, float* v, size_t vs) {
  const size_t padded = (channels + 7) / 8 * 8;
  for (size_t p = 0; p < positions; ++p) {
    size_t c = 0;
    for (; c + V::kLanes <= padded; c += V::kLanes) V::store(v + p * vs + c, V::zero());
    if (c < padded) V::store_padded(v + p * vs + c, V::zero(), padded - c);
  }
}

template <class V, size_t A, class In>
inline void input(size_t channels, const float* in, size_t rs, size_t ps, size_t y0, size_t y1,
                  size_t x0, size_t x1, float* v, size_t vs) {
  if (y0 >= y1 || x0 >= x1) return zero_positions<V>(channels, A * A, v, vs);
  channel_steps<V>(channels, [&](auto w, auto tail, size_t c, auto mask, size_t n) {
    using W = typename decltype(w)::type;
    input_tile<W, A, decltype(tail)::value, In>(in + c, rs, ps, y0, y1, x0, x1, v + c, vs,
                                                  mask, n);
  });
}

// clamp(y + bias + residual) of one output pixel; the bound first, so NaN passes.
template <class V, bool kTail>
inline void finish(typename V::T y, typename V::T bias, const float* r, typename V::T vmin,
                   typename V::T vmax, float* o, typename V::Mask mask, size_t n) {
  typename V::T v = V::add(y, bias);
  if (r) v = V::add(v, V::template load<kTail>(r, mask));
  v = V::min(vmax, V::max(vmin, v));
  if (kTail)
    V::store_tail(o, v, mask, n);
  else
    V::store(o, v);
}

template <class V, size_t M, size_t A, bool kTail, class Out>
inline void output_tile(const float* m, size_t ms, float* out, size_t rs, size_t ps, size_t rows,
                        size_t cols, const WinoOutputParams* p, size_t c, typename V::Mask mask,
                        size_t nc) {
  using T = typename V::T;
  T t[M][A];
  for (size_t x = 0; x < A; ++x) {
    T col[A], y[M];
    for (size_t i = 0; i < A; ++i) col[i] = V::template load<kTail>(m + (i * A + x) * ms + c, mask);
    Out::template tr<V>(col, y);
    for (size_t i = 0; i < M; ++i) t[i][x] = y[i];
  }
  const T bias = V::template load<kTail>(p->bias + c, mask);
  const T vmin = V::k(p->clamp.min), vmax = V::k(p->clamp.max);
  for (size_t i = 0; i < rows; ++i) {
    T y[M];
    Out::template tr<V>(t[i], y);
    float* o = out + i * rs + c;
    const float* r = p->res ? p->res + i * p->res_row_stride + c : nullptr;
    for (size_t j = 0; j < cols; ++j)
      finish<V, kTail>(y[j], bias, r ? r + j * p->res_pixel_stride : nullptr, vmin, vmax,
                       o + j * ps, mask, nc);
  }
}

template <class V, size_t M, size_t A, class Out>
inline void output(size_t channels, const float* m, size_t ms, float* out, size_t rs, size_t ps,
                   size_t rows, size_t cols, const WinoOutputParams* p) {
  channel_steps<V>(channels, [&](auto w, auto tail, size_t c, auto mask, size_t n) {
    using W = typename decltype(w)::type;
    output_tile<W, M, A, decltype(tail)::value, Out>(m, ms, out, rs, ps, rows, cols, p, c,
                                                       mask, n);
  });
}

// 1D transforms (alpha points along one axis, see winograd.h): window element u in [x0, x1) read
// at in + (u - x0) * ps, position u written at v + u * vs; output j < cols written at
// out + j * ps.
template <class V, size_t A, bool kTail, class In>
inline void input1d_tile(const float* in, size_t ps, size_t x0, size_t x1, float* v, size_t vs,
                         typename V::Mask mask, size_t n) {
  typename V::T d[A], r[A];
  for (size_t u = 0; u < A; ++u)
    d[u] = u >= x0 && u < x1 ? V::template load<kTail>(in + (u - x0) * ps, mask) : V::zero();
  In::template tr<V>(d, r);
  for (size_t u = 0; u < A; ++u) {
    if (kTail)
      V::store_padded(v + u * vs, r[u], n);
    else
      V::store(v + u * vs, r[u]);
  }
}

template <class V, size_t A, class In>
inline void input1d(size_t channels, const float* in, size_t ps, size_t y0, size_t y1, size_t x0,
                    size_t x1, float* v, size_t vs) {
  if (y0 >= y1 || x0 >= x1) return zero_positions<V>(channels, A, v, vs);
  channel_steps<V>(channels, [&](auto w, auto tail, size_t c, auto mask, size_t n) {
    using W = typename decltype(w)::type;
    input1d_tile<W, A, decltype(tail)::value, In>(in + c, ps, x0, x1, v + c, vs, mask, n);
  });
}

template <class V, size_t M, size_t A, bool kTail, class Out>
inline void output1d_tile(const float* m, size_t ms, float* out, size_t ps, size_t cols,
                          const WinoOutputParams* p, size_t c, typename V::Mask mask, size_t nc) {
  using T = typename V::T;
  T col[A], y[M];
  for (size_t i = 0; i < A; ++i) col[i] = V::template load<kTail>(m + i * ms + c, mask);
  Out::template tr<V>(col, y);
  const T bias = V::template load<kTail>(p->bias + c, mask);
  const T vmin = V::k(p->clamp.min), vmax = V::k(p->clamp.max);
  const float* r = p->res ? p->res + c : nullptr;
  for (size_t j = 0; j < cols; ++j)
    finish<V, kTail>(y[j], bias, r ? r + j * p->res_pixel_stride : nullptr, vmin, vmax,
                     out + j * ps + c, mask, nc);
}

template <class V, size_t M, size_t A, class Out>
inline void output1d(size_t channels, const float* m, size_t ms, float* out, size_t ps,
                     size_t cols, const WinoOutputParams* p) {
  channel_steps<V>(channels, [&](auto w, auto tail, size_t c, auto mask, size_t n) {
    using W = typename decltype(w)::type;
    output1d_tile<W, M, A, decltype(tail)::value, Out>(m, ms, out, ps, cols, p, c, mask, n);
  });
}

// B^T of F(2,3) (kWinoBT2).
struct BT4 {
  template <class V>
  static inline void tr(const typename V::T* d, typename V::T* r) {
    r[0] = V::sub(d[0], d[2]);
    r[1] = V::add(d[1], d[2]);
    r[2] = V::sub(d[2], d[1]);
    r[3] = V::sub(d[1], d[3]);
  }
};

// A^T of F(2,3) (kWinoAT2).
struct AT4 {
  template <class V>
  static inline void tr(const typename V::T* m, typename V::T* y) {
    y[0] = V::add(V::add(m[0], m[1]), m[2]);
    y[1] = V::sub(V::sub(m[1], m[2]), m[3]);
  }
};

// B^T rows of F(4,3), factorised (see kWinoBT4).
struct BT6 {
  template <class V>
  static inline void tr(const typename V::T* d, typename V::T* r) {
    using T = typename V::T;
    r[0] = V::fma(V::k(4), d[0], V::fnma(V::k(5), d[2], d[4]));
    r[1] = V::fnma(V::k(4), V::add(d[1], d[2]), V::add(d[3], d[4]));
    r[2] = V::fma(V::k(4), V::sub(d[1], d[2]), V::sub(d[4], d[3]));
    const T a = V::sub(d[3], d[1]), b = V::sub(d[4], d[2]);
    r[3] = V::fma(V::k(2), a, b);
    r[4] = V::fnma(V::k(2), a, b);
    r[5] = V::fma(V::k(4), d[1], V::fnma(V::k(5), d[3], d[5]));
  }
};

// A^T rows of F(4,3), factorised (see kWinoAT4).
struct AT6 {
  template <class V>
  static inline void tr(const typename V::T* m, typename V::T* y) {
    using T = typename V::T;
    const T a = V::add(m[1], m[2]), b = V::sub(m[1], m[2]);
    const T c = V::add(m[3], m[4]), d = V::sub(m[3], m[4]);
    y[0] = V::add(V::add(m[0], a), c);
    y[1] = V::fma(V::k(2), d, b);
    y[2] = V::fma(V::k(4), c, a);
    y[3] = V::add(V::fma(V::k(8), d, b), m[5]);
  }
};

// B^T of the 8 points {0, +-1, +-2, +-1/2, inf} (kWinoBT6), factorised: shared by every
// F(m, 9 - m) on those points (2D F(6,3), and the 1D kernels of any length).
struct BT8 {
  template <class V>
  static inline void tr(const typename V::T* d, typename V::T* r) {
    using T = typename V::T;
    r[0] = V::fma(V::k(5.25f), V::sub(d[4], d[2]), V::sub(d[0], d[6]));
    r[7] = V::fma(V::k(5.25f), V::sub(d[3], d[5]), V::sub(d[7], d[1]));
    const T t1 = V::fnma(V::k(4.25f), d[4], V::add(d[2], d[6]));
    const T t2 = V::fnma(V::k(4.25f), d[3], V::add(d[1], d[5]));
    r[1] = V::add(t1, t2);
    r[2] = V::sub(t1, t2);
    // d6 + d2/4 - 5/4 d4 and d1/2 - 5/2 d3 + 2 d5
    const T t3 = V::fma(V::k(0.25f), d[2], V::fnma(V::k(1.25f), d[4], d[6]));
    const T t4 = V::fma(V::k(0.5f), d[1], V::fnma(V::k(2.5f), d[3], V::add(d[5], d[5])));
    r[3] = V::add(t3, t4);
    r[4] = V::sub(t3, t4);
    // d6 + 4 d2 - 5 d4 and 2 d1 - 5/2 d3 + d5/2
    const T t5 = V::fma(V::k(4), V::fnma(V::k(1.25f), d[4], d[2]), d[6]);
    const T t6 = V::fma(V::k(2), d[1], V::fnma(V::k(2.5f), d[3], V::mul(V::k(0.5f), d[5])));
    r[5] = V::add(t5, t6);
    r[6] = V::sub(t5, t6);
  }
};

// A^T (M x 8) of the same points: row i holds their i-th powers, row M - 1 also the inf term.
// Pairs (p, -p) share a sum (even rows) or a difference (odd rows).
template <size_t M>
struct AT8 {
  static_assert(M >= 2 && M <= 7, "F(M, 9 - M)");
  template <class V>
  static inline void tr(const typename V::T* m, typename V::T* y) {
    using T = typename V::T;
    const T a = V::add(m[1], m[2]), b = V::sub(m[1], m[2]);
    const T c = V::add(m[3], m[4]), d = V::sub(m[3], m[4]);
    const T e = V::add(m[5], m[6]), f = V::sub(m[5], m[6]);
    y[0] = V::add(V::add(m[0], a), V::add(c, e));
    float p2 = 1.0f, ph = 1.0f;  // 2^i and 2^-i
    for (size_t i = 1; i < M; ++i) {
      p2 *= 2.0f;
      ph *= 0.5f;
      y[i] = i % 2 == 0 ? V::fma(V::k(p2), c, V::fma(V::k(ph), e, a))
                        : V::fma(V::k(p2), d, V::fma(V::k(ph), f, b));
    }
    y[M - 1] = V::add(y[M - 1], m[7]);
  }
};

}  // namespace ce::native::wino
