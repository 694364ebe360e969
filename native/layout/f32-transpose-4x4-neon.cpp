// 2D transpose in 4x4 blocks: four row loads, two rounds of trn1/trn2 (32-bit, then 64-bit
// lanes), four column stores. Fewer than 4 rows left: the missing rows are zeros and each column
// stores its valid floats lane-wise; a whole transpose of 2 or 3 rows into rows of exactly that
// width (channel planes to RGB pixels) is one interleaving store (st2 / st3) per 4 columns.
#include <arm_neon.h>

#include "native/layout/transpose.h"
#include "native/simd/neon-tail.h"

namespace ce::native {

namespace {

// r[k] = row k of a 4x4 block in, column k out.
inline void transpose4(float32x4_t (&r)[4]) {
  const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);  // a0 b0 a2 b2, a1 b1 a3 b3
  const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);  // c0 d0 c2 d2, c1 d1 c3 d3
  auto lo = [](float32x4_t a, float32x4_t b) {
    return vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
  };
  auto hi = [](float32x4_t a, float32x4_t b) {
    return vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
  };
  r[0] = lo(t0, t2);
  r[1] = lo(t1, t3);
  r[2] = hi(t0, t2);
  r[3] = hi(t1, t3);
}

void transpose_cols(size_t rows, size_t j, size_t cols, const float* src, size_t src_stride,
                    float* dst, size_t dst_stride) {
  for (; j < cols; ++j)
    for (size_t k = 0; k < rows; ++k) dst[j * dst_stride + k] = src[k * src_stride + j];
}

}  // namespace

void f32_transpose_4x4__neon(size_t rows, size_t cols, const float* src, size_t src_stride,
                             float* dst, size_t dst_stride) {
  if ((rows == 2 || rows == 3) && dst_stride == rows) {
    size_t j = 0;
    for (; j + 4 <= cols; j += 4) {
      if (rows == 2) {
        vst2q_f32(dst + j * 2, (float32x4x2_t{{vld1q_f32(src + j), vld1q_f32(src + src_stride + j)}}));
      } else {
        vst3q_f32(dst + j * 3, (float32x4x3_t{{vld1q_f32(src + j), vld1q_f32(src + src_stride + j),
                                               vld1q_f32(src + 2 * src_stride + j)}}));
      }
    }
    transpose_cols(rows, j, cols, src, src_stride, dst, dst_stride);
    return;
  }
  size_t i = 0;
  for (; i + 4 <= rows; i += 4, src += 4 * src_stride, dst += 4) {
    size_t j = 0;
    for (; j + 4 <= cols; j += 4) {
      float32x4_t r[4];
      for (size_t k = 0; k < 4; ++k) r[k] = vld1q_f32(src + k * src_stride + j);
      transpose4(r);
      for (size_t k = 0; k < 4; ++k) vst1q_f32(dst + (j + k) * dst_stride, r[k]);
    }
    transpose_cols(4, j, cols, src, src_stride, dst, dst_stride);
  }
  if (i == rows) return;
  const size_t left = rows - i;
  size_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    float32x4_t r[4];
    for (size_t k = 0; k < 4; ++k)
      r[k] = k < left ? vld1q_f32(src + k * src_stride + j) : vdupq_n_f32(0.0f);
    transpose4(r);
    for (size_t k = 0; k < 4; ++k) neon::store_tail(dst + (j + k) * dst_stride, r[k], left);
  }
  transpose_cols(left, j, cols, src, src_stride, dst, dst_stride);
}

}  // namespace ce::native
