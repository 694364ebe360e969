#include "native/gemm/gemm-1xn-avx512f.h"

namespace ce::native {

void f32_gemm_1x48__avx512f(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          bool accumulate, const ClampParams* params, const void*, size_t) {
  gemm_1xn_avx512f<3, 0>(nc, kc, a, w, c, cn_stride, accumulate, params);
}

}  // namespace ce::native
