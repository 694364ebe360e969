// 2D transpose in 16x16 blocks; a block cut by the last rows or columns is read and written
// with masks (rows past the end load as zero, only its valid rows and columns are stored).
#include <immintrin.h>

#include "native/layout/transpose.h"
#include "native/simd/avx512.h"

namespace ce::native {

namespace {

// r[k] = row k of a 16x16 block in, column k out: 4x4 transposes within each 128-bit lane
// (unpack, shuffle), then the 4x4 grid of lanes (two rounds of shuffle_f32x4).
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // u[4g + q], lane L: column 4L + q of rows 4g..4g+3
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
    const __m512 w0 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
    r[q] = _mm512_shuffle_f32x4(v0, w0, 0x88);
    r[4 + q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
    r[12 + q] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
  }
}

// One block of nr <= 16 rows x nc <= 16 columns.
template <bool kFull>
inline void block(size_t nr, size_t nc, const float* s, size_t src_stride, float* d,
                  size_t dst_stride) {
  const __mmask16 cols = avx512::tail_mask(nc), rows = avx512::tail_mask(nr);
  __m512 r[16];
#pragma GCC unroll 16
  for (size_t k = 0; k < 16; ++k)
    r[k] = kFull ? _mm512_loadu_ps(s + k * src_stride)
                 : k < nr ? _mm512_maskz_loadu_ps(cols, s + k * src_stride) : _mm512_setzero_ps();
  transpose16(r);
#pragma GCC unroll 16
  for (size_t k = 0; k < 16; ++k) {
    if (kFull)
      _mm512_storeu_ps(d + k * dst_stride, r[k]);
    else if (k < nc)
      _mm512_mask_storeu_ps(d + k * dst_stride, rows, r[k]);
  }
}

}  // namespace

void f32_transpose_16x16__avx512f(size_t rows, size_t cols, const float* src, size_t src_stride,
                                  float* dst, size_t dst_stride) {
  for (size_t i = 0; i < rows; i += 16) {
    const size_t nr = rows - i < 16 ? rows - i : 16;
    size_t j = 0;
    if (nr == 16)
      for (; j + 16 <= cols; j += 16)
        block<true>(16, 16, src + i * src_stride + j, src_stride, dst + j * dst_stride + i, dst_stride);
    for (; j < cols; j += 16)
      block<false>(nr, cols - j < 16 ? cols - j : 16, src + i * src_stride + j, src_stride,
                   dst + j * dst_stride + i, dst_stride);
  }
}

}  // namespace ce::native
