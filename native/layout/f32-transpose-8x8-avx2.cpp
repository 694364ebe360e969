#include <immintrin.h>

#include "native/layout/transpose.h"
#include "native/simd/avx2.h"

namespace ce::native {

namespace {

// r[k] = row k of an 8x8 block in, column k out.
inline void transpose8(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
               t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]),
               t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
               t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Fewer than 8 rows (an image's channel planes to channels-last with C < 8, such as RGB):
// 8 columns at a time, each written as one row of `rows` floats. With dst_stride == rows a
// full-width store may spill into the next rows, which later stores rewrite; the call's last
// rows are stored exactly, so neighbouring blocks (other threads) are never touched.
void transpose_few_rows(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                        size_t dst_stride) {
  const bool spill = dst_stride == rows;
  const size_t width = rows <= 4 ? 4 : 8;  // floats a full-width store writes
  size_t j = 0;
  for (; j + 8 <= cols; j += 8) {
    __m256 r[8];
#pragma GCC unroll 8
    for (size_t k = 0; k < 8; ++k)
      r[k] = k < rows ? _mm256_loadu_ps(src + k * src_stride + j) : _mm256_setzero_ps();
    transpose8(r);
#pragma GCC unroll 8
    for (size_t q = 0; q < 8; ++q) {
      float* d = dst + (j + q) * dst_stride;
      if (spill && (cols - j - q - 1) * rows >= width - rows) {
        if (width == 4)
          _mm_storeu_ps(d, _mm256_castps256_ps128(r[q]));
        else
          _mm256_storeu_ps(d, r[q]);
      } else {
        avx2::store_partial(d, r[q], rows);
      }
    }
  }
  for (; j < cols; ++j)
    for (size_t k = 0; k < rows; ++k) dst[j * dst_stride + k] = src[k * src_stride + j];
}

}  // namespace

void f32_transpose__avx2(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                         size_t dst_stride) {
  if (rows < 8) {
    transpose_few_rows(rows, cols, src, src_stride, dst, dst_stride);
    return;
  }
  size_t i = 0;
  for (; i + 8 <= rows; i += 8) {
    size_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      const float* s = src + i * src_stride + j;
      __m256 r[8];
#pragma GCC unroll 8
      for (size_t k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(s + k * src_stride);
      transpose8(r);
      float* d = dst + j * dst_stride + i;
#pragma GCC unroll 8
      for (size_t k = 0; k < 8; ++k) _mm256_storeu_ps(d + k * dst_stride, r[k]);
    }
    for (; j < cols; ++j)
      for (size_t k = i; k < i + 8; ++k) dst[j * dst_stride + k] = src[k * src_stride + j];
  }
  if (i < rows) transpose_few_rows(rows - i, cols, src + i * src_stride, src_stride, dst + i, dst_stride);
}

}  // namespace ce::native
