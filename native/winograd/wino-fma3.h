// Two-pass Winograd tile transforms over 8-channel vectors, shared by the f32-wino-*-fma3.cpp
// files (include only from -fma3.cpp files). A variant supplies its 1D transform as a functor:
//   In::tr(const __m256 d[alpha], __m256 r[alpha])   r = B^T d
//   Out::tr(const __m256 m[alpha], __m256 y[m])      y = A^T m
// The first pass transforms the window's columns into a stack tile, the second its rows.
#pragma once
#include <immintrin.h>

#include <cstddef>

#include "native/simd/avx2.h"
#include "native/winograd/winograd.h"

namespace ce::native::wino {

template <bool kTail>
inline __m256 load8(const float* p, __m256i mask) {
  return kTail ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

template <size_t A, bool kTail, class In>
inline void input_8c(const float* in, size_t rs, size_t ps, size_t y0, size_t y1, size_t x0,
                     size_t x1, float* v, size_t vs, __m256i mask) {
  __m256 t[A][A];
  const __m256 zero = _mm256_setzero_ps();
  for (size_t x = 0; x < A; ++x) {
    if (x < x0 || x >= x1) {
      for (size_t i = 0; i < A; ++i) t[i][x] = zero;
      continue;
    }
    __m256 d[A], r[A];
    for (size_t y = 0; y < A; ++y)
      d[y] = y >= y0 && y < y1 ? load8<kTail>(in + (y - y0) * rs + (x - x0) * ps, mask) : zero;
    In::tr(d, r);
    for (size_t i = 0; i < A; ++i) t[i][x] = r[i];
  }
  for (size_t i = 0; i < A; ++i) {
    __m256 r[A];
    In::tr(t[i], r);
    for (size_t j = 0; j < A; ++j) _mm256_storeu_ps(v + (i * A + j) * vs, r[j]);
  }
}

template <size_t A, class In>
inline void input(size_t channels, const float* in, size_t rs, size_t ps, size_t y0, size_t y1,
                  size_t x0, size_t x1, float* v, size_t vs) {
  if (y0 >= y1 || x0 >= x1) {  // the whole window is padding
    const size_t padded = (channels + 7) / 8 * 8;
    for (size_t p = 0; p < A * A; ++p)
      for (size_t c = 0; c < padded; c += 8) _mm256_storeu_ps(v + p * vs + c, _mm256_setzero_ps());
    return;
  }
  const __m256i ones = _mm256_set1_epi32(-1);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8)
    input_8c<A, false, In>(in + c, rs, ps, y0, y1, x0, x1, v + c, vs, ones);
  if (c < channels)
    input_8c<A, true, In>(in + c, rs, ps, y0, y1, x0, x1, v + c, vs,
                          avx2::tail_mask(channels - c));
}

template <size_t M, size_t A, bool kTail, class Out>
inline void output_8c(const float* m, size_t ms, float* out, size_t rs, size_t ps, size_t rows,
                      size_t cols, const WinoOutputParams* p, size_t c, __m256i mask, size_t nc) {
  __m256 t[M][A];
  for (size_t x = 0; x < A; ++x) {
    __m256 col[A], y[M];
    for (size_t i = 0; i < A; ++i) col[i] = load8<kTail>(m + (i * A + x) * ms + c, mask);
    Out::tr(col, y);
    for (size_t i = 0; i < M; ++i) t[i][x] = y[i];
  }
  const __m256 bias = load8<kTail>(p->bias + c, mask);
  const __m256 vmin = _mm256_set1_ps(p->clamp.min), vmax = _mm256_set1_ps(p->clamp.max);
  for (size_t i = 0; i < rows; ++i) {
    __m256 y[M];
    Out::tr(t[i], y);
    float* o = out + i * rs + c;
    const float* r = p->res ? p->res + i * p->res_row_stride + c : nullptr;
    for (size_t j = 0; j < cols; ++j) {
      __m256 v = _mm256_add_ps(y[j], bias);
      if (r) v = _mm256_add_ps(v, load8<kTail>(r + j * p->res_pixel_stride, mask));
      v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
      if (kTail)
        avx2::store_partial(o + j * ps, v, nc);
      else
        _mm256_storeu_ps(o + j * ps, v);
    }
  }
}

template <size_t M, size_t A, class Out>
inline void output(size_t channels, const float* m, size_t ms, float* out, size_t rs, size_t ps,
                   size_t rows, size_t cols, const WinoOutputParams* p) {
  const __m256i ones = _mm256_set1_epi32(-1);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8)
    output_8c<M, A, false, Out>(m, ms, out, rs, ps, rows, cols, p, c, ones, 8);
  if (c < channels)
    output_8c<M, A, true, Out>(m, ms, out, rs, ps, rows, cols, p, c, avx2::tail_mask(channels - c),
                               channels - c);
}

// 1D transforms (alpha points along one axis, see winograd.h): window element u in [x0, x1) read
// at in + (u - x0) * ps, position u written at v + u * vs; output j < cols written at
// out + j * ps.
template <size_t A, bool kTail, class In>
inline void input1d_8c(const float* in, size_t ps, size_t x0, size_t x1, float* v, size_t vs,
                       __m256i mask) {
  __m256 d[A], r[A];
  for (size_t u = 0; u < A; ++u)
    d[u] = u >= x0 && u < x1 ? load8<kTail>(in + (u - x0) * ps, mask) : _mm256_setzero_ps();
  In::tr(d, r);
  for (size_t u = 0; u < A; ++u) _mm256_storeu_ps(v + u * vs, r[u]);
}

template <size_t A, class In>
inline void input1d(size_t channels, const float* in, size_t ps, size_t y0, size_t y1, size_t x0,
                    size_t x1, float* v, size_t vs) {
  if (y0 >= y1 || x0 >= x1) {
    const size_t padded = (channels + 7) / 8 * 8;
    for (size_t p = 0; p < A; ++p)
      for (size_t c = 0; c < padded; c += 8) _mm256_storeu_ps(v + p * vs + c, _mm256_setzero_ps());
    return;
  }
  const __m256i ones = _mm256_set1_epi32(-1);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) input1d_8c<A, false, In>(in + c, ps, x0, x1, v + c, vs, ones);
  if (c < channels)
    input1d_8c<A, true, In>(in + c, ps, x0, x1, v + c, vs, avx2::tail_mask(channels - c));
}

template <size_t M, size_t A, bool kTail, class Out>
inline void output1d_8c(const float* m, size_t ms, float* out, size_t ps, size_t cols,
                        const WinoOutputParams* p, size_t c, __m256i mask, size_t nc) {
  __m256 col[A], y[M];
  for (size_t i = 0; i < A; ++i) col[i] = load8<kTail>(m + i * ms + c, mask);
  Out::tr(col, y);
  const __m256 bias = load8<kTail>(p->bias + c, mask);
  const __m256 vmin = _mm256_set1_ps(p->clamp.min), vmax = _mm256_set1_ps(p->clamp.max);
  const float* r = p->res ? p->res + c : nullptr;
  for (size_t j = 0; j < cols; ++j) {
    __m256 v = _mm256_add_ps(y[j], bias);
    if (r) v = _mm256_add_ps(v, load8<kTail>(r + j * p->res_pixel_stride, mask));
    v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
    if (kTail)
      avx2::store_partial(out + j * ps + c, v, nc);
    else
      _mm256_storeu_ps(out + j * ps + c, v);
  }
}

template <size_t M, size_t A, class Out>
inline void output1d(size_t channels, const float* m, size_t ms, float* out, size_t ps,
                     size_t cols, const WinoOutputParams* p) {
  const __m256i ones = _mm256_set1_epi32(-1);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) output1d_8c<M, A, false, Out>(m, ms, out, ps, cols, p, c, ones, 8);
  if (c < channels)
    output1d_8c<M, A, true, Out>(m, ms, out, ps, cols, p, c, avx2::tail_mask(channels - c),
                                 channels - c);
}

inline __m256 k(float v) { return _mm256_set1_ps(v); }
inline __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m256 sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
// a * b + c and c - a * b
inline __m256 fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256 fnma(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }

// B^T of the 8 points {0, +-1, +-2, +-1/2, inf} (kWinoBT6), factorised: shared by every
// F(m, 9 - m) on those points (2D F(6,3), and the 1D kernels of any length).
struct BT8 {
  static inline void tr(const __m256* d, __m256* r) {
    r[0] = fma(k(5.25f), sub(d[4], d[2]), sub(d[0], d[6]));
    r[7] = fma(k(5.25f), sub(d[3], d[5]), sub(d[7], d[1]));
    const __m256 t1 = fnma(k(4.25f), d[4], add(d[2], d[6]));
    const __m256 t2 = fnma(k(4.25f), d[3], add(d[1], d[5]));
    r[1] = add(t1, t2);
    r[2] = sub(t1, t2);
    const __m256 t3 = fma(k(0.25f), d[2], fnma(k(1.25f), d[4], d[6]));   // d6 + d2/4 - 5/4 d4
    const __m256 t4 = fma(k(0.5f), d[1], fnma(k(2.5f), d[3], add(d[5], d[5])));  // d1/2 - 5/2 d3 + 2 d5
    r[3] = add(t3, t4);
    r[4] = sub(t3, t4);
    const __m256 t5 = fma(k(4), fnma(k(1.25f), d[4], d[2]), d[6]);        // d6 + 4 d2 - 5 d4
    const __m256 t6 = fma(k(2), d[1], fnma(k(2.5f), d[3], _mm256_mul_ps(k(0.5f), d[5])));  // 2 d1 - 5/2 d3 + d5/2
    r[5] = add(t5, t6);
    r[6] = sub(t5, t6);
  }
};

// A^T (M x 8) of the same points: row i holds their i-th powers, row M - 1 also the inf term.
// Pairs (p, -p) share a sum (even rows) or a difference (odd rows).
template <size_t M>
struct AT8 {
  static_assert(M >= 2 && M <= 7, "F(M, 9 - M)");
  static inline void tr(const __m256* m, __m256* y) {
    const __m256 a = add(m[1], m[2]), b = sub(m[1], m[2]);
    const __m256 c = add(m[3], m[4]), d = sub(m[3], m[4]);
    const __m256 e = add(m[5], m[6]), f = sub(m[5], m[6]);
    y[0] = add(add(m[0], a), add(c, e));
    float p2 = 1.0f, ph = 1.0f;  // 2^i and 2^-i
    for (size_t i = 1; i < M; ++i) {
      p2 *= 2.0f;
      ph *= 0.5f;
      y[i] = i % 2 == 0 ? fma(k(p2), c, fma(k(ph), e, a)) : fma(k(p2), d, fma(k(ph), f, b));
    }
    y[M - 1] = add(y[M - 1], m[7]);
  }
};

}  // namespace ce::native::wino
