// Portable transformed-domain GEMM, same contract as f32-wino-gemm-6x16-fma3.
#include <algorithm>

#include "native/winograd/winograd.h"

namespace ce::native {

void f32_wino_gemm_6x16__scalar(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                                const float* w, size_t w_stride, float* c, size_t c_stride,
                                const void*, size_t) {
  for (size_t j0 = 0; j0 < nc; j0 += kWinoGemmNr, w += w_stride) {
    for (size_t i = 0; i < mr; ++i) {
      float acc[kWinoGemmNr] = {};
      for (size_t k = 0; k < kc; ++k) {
        const float av = a[i * a_stride + k];
        for (size_t j = 0; j < kWinoGemmNr; ++j) acc[j] += av * w[k * kWinoGemmNr + j];
      }
      std::copy(acc, acc + kWinoGemmNr, c + i * c_stride + j0);
    }
  }
}

}  // namespace ce::native
