#include "native/gemm/gemm-1xn-fma3.h"

namespace ce::native {

void f32_gemm_1x24__fma3(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         bool accumulate, const ClampParams* params, const void*, size_t) {
  (void)mr, (void)a_stride, (void)cm_stride;
  gemm_1xn_fma3<3>(nc, kc, a, w, c, cn_stride, accumulate, params);
}

}  // namespace ce::native
