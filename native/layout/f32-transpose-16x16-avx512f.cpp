// 2D transpose in 16x16 blocks; a block cut by the last rows or columns is read and written
// with masks (rows past the end load as zero, only its valid rows and columns are stored); a
// last block of up to 8 columns is transposed as two 8x8 blocks side by side.
#include <immintrin.h>

#include "native/layout/transpose.h"
#include "native/simd/avx512.h"

namespace ce::native {

namespace {

// 4x4 transposes within the 128-bit lanes of rows r[4g..4g+3], g < G: lane L of u[4g + q] holds
// element q of lane L of those four rows.
template <int G>
inline void transpose_in_lanes(const __m512* r, __m512* u) {
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const __m512 t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
    const __m512 t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    u[4 * g] = _mm512_shuffle_ps(t0, t2, 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t1, t3, 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t1, t3, 0xEE);
  }
}

// r[k] = row k of a 16x16 block in, column k out: 4x4 transposes within each 128-bit lane,
// then the 4x4 grid of lanes (two rounds of shuffle_f32x4).
inline void transpose16(__m512 (&r)[16]) {
  __m512 u[16];
  transpose_in_lanes<4>(r, u);
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

// 16 full rows x nc <= 8 columns: rows k and k + 8 share a vector (k in the low 256 bits), so
// one pass of 8x8 transposes in both halves gives each output row's 16 floats in one vector
// (half the shuffles of a masked 16x16 block).
inline void block_16x8(size_t nc, const float* s, size_t src_stride, float* d, size_t dst_stride) {
  const __mmask8 cols = static_cast<__mmask8>((1u << nc) - 1u);
  __m512 r[8], u[8];
#pragma GCC unroll 8
  for (size_t k = 0; k < 8; ++k)
    r[k] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(cols, s + k * src_stride)),
                              _mm256_maskz_loadu_ps(cols, s + (k + 8) * src_stride), 1);
  transpose_in_lanes<2>(r, u);
  // u[4g + q], 128-bit lane L: column 4 (L & 1) + q of rows 4g..4g+3 (+8 for L >= 2)
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
  const __m512i hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
#pragma GCC unroll 4
  for (size_t q = 0; q < 4; ++q) {
    if (q < nc) _mm512_storeu_ps(d + q * dst_stride, _mm512_permutex2var_ps(u[q], lo, u[4 + q]));
    if (q + 4 < nc) _mm512_storeu_ps(d + (q + 4) * dst_stride, _mm512_permutex2var_ps(u[q], hi, u[4 + q]));
  }
}

}  // namespace

void f32_transpose_16x16__avx512f(size_t rows, size_t cols, const float* src, size_t src_stride,
                                  float* dst, size_t dst_stride) {
  // Fewer than 8 rows (such as RGB planes to channels-last): the AVX2 kernel's path for few
  // rows, 8 columns at a time (1.3x faster than masked 16x16 blocks for 3 rows, Zen 4).
  if (rows < 8) return f32_transpose__avx2(rows, cols, src, src_stride, dst, dst_stride);
  for (size_t i = 0; i < rows; i += 16) {
    const size_t nr = rows - i < 16 ? rows - i : 16;
    const float* s = src + i * src_stride;
    float* d = dst + i;
    size_t j = 0;
    if (nr == 16) {
      for (; j + 16 <= cols; j += 16) block<true>(16, 16, s + j, src_stride, d + j * dst_stride, dst_stride);
      if (j < cols && cols - j <= 8) {
        block_16x8(cols - j, s + j, src_stride, d + j * dst_stride, dst_stride);
        continue;
      }
    }
    for (; j < cols; j += 16)
      block<false>(nr, cols - j < 16 ? cols - j : 16, s + j, src_stride, d + j * dst_stride, dst_stride);
  }
}

}  // namespace ce::native
