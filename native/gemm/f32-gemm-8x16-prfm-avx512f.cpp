#include "native/gemm/gemm-avx512f.h"

namespace ce::native {

void f32_gemm_8x16_prfm__avx512f(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          bool accumulate, const ClampParams* params, const void* prefetch,
                          size_t prefetch_lines) {
  gemm_avx512f<8, 1, true>(mr, nc, kc, a, a_stride, w, c, cm_stride, cn_stride, accumulate,
                           params, prefetch, prefetch_lines);
}

}  // namespace ce::native
