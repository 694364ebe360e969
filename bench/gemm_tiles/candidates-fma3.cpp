#include "bench/gemm_tiles/candidates.h"
#include "native/gemm/gemm-fma3.h"

namespace ce::bench {

namespace {
template <size_t MR, size_t NV>
void k(size_t mr, size_t nc, size_t kc, const float* a, size_t as, const float* w, float* c,
       size_t cms, size_t cns, bool acc, const native::ClampParams* p) {
  native::gemm_fma3<MR, NV, true>(mr, nc, kc, a, as, w, c, cms, cns, acc, p);
}
}  // namespace

std::vector<Candidate> fma3_candidates() {
  return {{"6x16-fma3", k<6, 2>, 6, 16}, {"4x24-fma3", k<4, 3>, 4, 24}};
}

}  // namespace ce::bench
