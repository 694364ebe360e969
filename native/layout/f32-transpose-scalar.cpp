#include "native/layout/transpose.h"

namespace ce::native {

void f32_transpose__scalar(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                           size_t dst_stride) {
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
}

}  // namespace ce::native
