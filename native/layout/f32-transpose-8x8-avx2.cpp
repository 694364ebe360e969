#include <immintrin.h>

#include <type_traits>

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

// Three rows into packed 3-float pixels (an RGB image's planes to channels-last): output
// vector k of each 8 pixels holds floats 8k .. 8k + 7, float g being channel g % 3 of pixel
// g / 3, so one lane permute per row by the same index and two blends make it (9 permutes per
// 8 pixels, where the 8x8 transpose takes 24 shuffles and 8 partial stores: 38 -> 14 us for
// 3 x 224 x 224 on Zen 4, a 600 KB memcpy taking 12).
void transpose_3_packed(size_t cols, const float* src, size_t src_stride, float* dst) {
  const float *a = src, *b = src + src_stride, *c = src + 2 * src_stride;
  const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2);
  const __m256i i1 = _mm256_setr_epi32(2, 3, 3, 3, 4, 4, 4, 5);
  const __m256i i2 = _mm256_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7);
  size_t j = 0;
  for (; j + 8 <= cols; j += 8, dst += 24) {
    const __m256 va = _mm256_loadu_ps(a + j), vb = _mm256_loadu_ps(b + j), vc = _mm256_loadu_ps(c + j);
    auto out = [&](__m256i idx, auto bmask, auto cmask) {
      const __m256 ab = _mm256_blend_ps(_mm256_permutevar8x32_ps(va, idx),
                                        _mm256_permutevar8x32_ps(vb, idx), decltype(bmask)::value);
      return _mm256_blend_ps(ab, _mm256_permutevar8x32_ps(vc, idx), decltype(cmask)::value);
    };
    // Blend masks: bit e set where float 8k + e is channel 1 (b) or channel 2 (c).
    _mm256_storeu_ps(dst, out(i0, std::integral_constant<int, 0x92>(), std::integral_constant<int, 0x24>()));
    _mm256_storeu_ps(dst + 8, out(i1, std::integral_constant<int, 0x24>(), std::integral_constant<int, 0x49>()));
    _mm256_storeu_ps(dst + 16, out(i2, std::integral_constant<int, 0x49>(), std::integral_constant<int, 0x92>()));
  }
  for (; j < cols; ++j, dst += 3) {
    dst[0] = a[j];
    dst[1] = b[j];
    dst[2] = c[j];
  }
}

}  // namespace

void f32_transpose__avx2(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                         size_t dst_stride) {
  if (rows == 3 && dst_stride == 3) {
    transpose_3_packed(cols, src, src_stride, dst);
    return;
  }
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
