#include "bench/gemm_tiles/candidates.h"
#include "native/gemm/gemm-avx512f.h"

namespace ce::bench {

namespace {
template <size_t MR, size_t NV, size_t NH = 0>
void k(size_t mr, size_t nc, size_t kc, const float* a, size_t as, const float* w, float* c,
       size_t cms, size_t cns, bool acc, const native::ClampParams* p) {
  native::gemm_avx512f<MR, NV, true, NH>(mr, nc, kc, a, as, w, c, cms, cns, acc, p);
}
}  // namespace

std::vector<Candidate> avx512f_candidates() {
  return {{"7x16-avx512f", k<7, 1>, 7, 16},   {"8x16-avx512f", k<8, 1>, 8, 16},
          {"12x16-avx512f", k<12, 1>, 12, 16}, {"14x16-avx512f", k<14, 1>, 14, 16},
          {"6x32-avx512f", k<6, 2>, 6, 32},   {"8x32-avx512f", k<8, 2>, 8, 32},
          {"12x32-avx512f", k<12, 2>, 12, 32}, {"14x32-avx512f", k<14, 2>, 14, 32},
          {"4x48-avx512f", k<4, 3>, 4, 48},   {"6x48-avx512f", k<6, 3>, 6, 48},
          {"6x64-avx512f", k<6, 4>, 6, 64},   {"8x24-avx512f", k<8, 1, 1>, 8, 24},
          {"10x24-avx512f", k<10, 1, 1>, 10, 24}, {"12x24-avx512f", k<12, 1, 1>, 12, 24},
          {"6x40-avx512f", k<6, 2, 1>, 6, 40}};
}

}  // namespace ce::bench
