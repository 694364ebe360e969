#include <algorithm>

#include "native/gemm/igemm.h"

namespace ce::native {

void f32_igemm_4x8__scalar(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                           const float* w, float* c, size_t cm_stride, size_t cn_stride,
                           size_t a_offset, const float* zero, const ClampParams* params,
                           const void*, size_t) {
  constexpr size_t MR = 4, NR = 8;
  for (;;) {
    float acc[MR][NR];
    for (size_t i = 0; i < MR; ++i)
      for (size_t j = 0; j < NR; ++j) acc[i][j] = w[j];
    w += NR;
    const float* const* ap = a;
    for (size_t t = 0; t < ks; ++t, ap += MR) {
      const float* rows[MR];
      for (size_t i = 0; i < MR; ++i) rows[i] = ap[i] == zero ? zero : ap[i] + a_offset;
      for (size_t k = 0; k < kc; ++k, w += NR)
        for (size_t i = 0; i < MR; ++i) {
          const float av = rows[i][k];
          for (size_t j = 0; j < NR; ++j) acc[i][j] += av * w[j];
        }
    }
    const size_t n = std::min(nc, NR);
    for (size_t i = 0; i < mr; ++i)
      for (size_t j = 0; j < n; ++j)
        c[i * cm_stride + j] = std::min(std::max(acc[i][j], params->min), params->max);
    if (nc <= NR) return;
    nc -= NR;
    c += cn_stride;
  }
}

}  // namespace ce::native
