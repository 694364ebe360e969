#include "native/gemm/gemm-neon.h"

namespace ce::native {

void f32_gemm_1x12__neon(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         bool accumulate, const ClampParams* params, const void*, size_t) {
  (void)mr, (void)a_stride, (void)cm_stride;
  gemm_neon::gemm_1xn<3>(nc, kc, a, w, c, cn_stride, accumulate, params);
}

}  // namespace ce::native
