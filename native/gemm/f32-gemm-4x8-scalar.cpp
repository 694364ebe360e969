#include <algorithm>

#include "native/gemm/gemm.h"

namespace ce::native {

void f32_gemm_4x8__scalar(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          bool accumulate, const ClampParams* params, const void*, size_t) {
  constexpr size_t MR = 4, NR = 8;
  for (;;) {
    const size_t n = std::min(nc, NR);
    float acc[MR][NR];
    for (size_t i = 0; i < MR; ++i)
      for (size_t j = 0; j < NR; ++j)
        acc[i][j] = !accumulate ? w[j] : (i < mr && j < n ? c[i * cm_stride + j] : 0.0f);
    w += NR;
    for (size_t k = 0; k < kc; ++k, w += NR)
      for (size_t i = 0; i < MR; ++i) {
        const float av = a[std::min(i, mr - 1) * a_stride + k];
        for (size_t j = 0; j < NR; ++j) acc[i][j] += av * w[j];
      }
    for (size_t i = 0; i < mr; ++i)
      for (size_t j = 0; j < n; ++j)
        c[i * cm_stride + j] = std::min(std::max(acc[i][j], params->min), params->max);
    if (nc <= NR) return;
    nc -= NR;
    c += cn_stride;
  }
}

}  // namespace ce::native
