#include "native/gemm/gemm-neon.h"

namespace ce::native {

void f32_igemm_8x8__neon(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         size_t a_offset, const float* zero, const ClampParams* params,
                         const void* prefetch, size_t prefetch_lines) {
  gemm_neon::igemm_unscheduled<8, 2>(mr, nc, kc, ks, a, w, c, cm_stride, cn_stride, a_offset, zero,
                                     params, prefetch, prefetch_lines);
}

}  // namespace ce::native
