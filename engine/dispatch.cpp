#include "engine/dispatch.h"

namespace ce {

const IGemmKernel& igemm_kernel(Isa isa) {
  static const IGemmKernel avx2{native::f32_igemm_6x16__fma3, 6, 16, "f32-igemm-6x16-fma3"};
  static const IGemmKernel scalar{native::f32_igemm_4x8__scalar, 4, 8, "f32-igemm-4x8-scalar"};
  return isa == Isa::kAvx2 ? avx2 : scalar;
}

const DwConvKernels& dwconv_kernels(Isa isa) {
  static const DwConvKernels avx2{
      native::f32_dwconv_3x3s1_8c__fma3, native::f32_dwconv_3x3s2_8c__fma3,
      native::f32_dwconv_5x5s1_8c8p__fma3, native::f32_dwconv_7x7s1_8c8p__fma3,
      native::f32_dwconv_5x5_8c8p__fma3, native::f32_dwconv_kxk_8c8p__fma3,
      native::f32_dwconv_ind_32c__fma3, "f32-dwconv-fma3"};
  static const DwConvKernels scalar{
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_ind__scalar, "f32-dwconv-scalar"};
  return isa == Isa::kAvx2 ? avx2 : scalar;
}

const DeformBilinearKernel& deform_bilinear_kernel(Isa isa) {
  static const DeformBilinearKernel avx2{native::f32_deform_bilinear_c16__fma3,
                                         "f32-deform-bilinear-c16-fma3"};
  static const DeformBilinearKernel scalar{native::f32_deform_bilinear_c4__scalar,
                                           "f32-deform-bilinear-c4-scalar"};
  return isa == Isa::kAvx2 ? avx2 : scalar;
}

const LocalConvKernel& local_conv_kernel(Isa isa) {
  static const LocalConvKernel avx2{native::f32_local_dot_1x4__fma3, "f32-local-dot-1x4-fma3"};
  static const LocalConvKernel scalar{native::f32_local_dot_1x4__scalar, "f32-local-dot-1x4-scalar"};
  return isa == Isa::kAvx2 ? avx2 : scalar;
}

}  // namespace ce
