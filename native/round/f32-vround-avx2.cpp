// floor / ceil / round-half-to-even by vroundps, sign by two compares; 32 floats per step.
#include "native/elementwise/avx2-common.h"
#include "native/round/round.h"

namespace ce::native {

void f32_vround__avx2(size_t n, const float* x, float* y, RoundMode mode) {
  switch (mode) {
    case RoundMode::kFloor:
      return avx2::map(n, x, y, [](__m256 v) {
        return _mm256_round_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      });
    case RoundMode::kCeil:
      return avx2::map(n, x, y, [](__m256 v) {
        return _mm256_round_ps(v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
      });
    case RoundMode::kNearestEven:
      return avx2::map(n, x, y, [](__m256 v) {
        return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      });
    case RoundMode::kSign: {
      const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
      return avx2::map(n, x, y, [&](__m256 v) {
        const __m256 pos = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), one);
        const __m256 neg = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ), one);
        return _mm256_blendv_ps(_mm256_sub_ps(pos, neg), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      });
    }
  }
}

}  // namespace ce::native
