#include "engine/dispatch.h"

namespace ce {

const IGemmKernel& igemm_kernel(Isa isa) {
  static const IGemmKernel avx2{native::f32_igemm_6x16__fma3, 6, 16, "f32-igemm-6x16-fma3"};
  static const IGemmKernel scalar{native::f32_igemm_4x8__scalar, 4, 8, "f32-igemm-4x8-scalar"};
  return isa == Isa::kAvx2 ? avx2 : scalar;
}

}  // namespace ce
