#include "engine/indirection.h"

#include <algorithm>

namespace ce {

std::vector<const float*> conv_indirection(const ConvShape& s, size_t mr, const float* zero) {
  const size_t ks = s.taps();
  const size_t m_total = s.out[0] * s.out[1] * s.out[2];
  const size_t tiles = (m_total + mr - 1) / mr;
  std::vector<const float*> ind(tiles * ks * mr);
  for (size_t m = 0; m < tiles * mr; ++m) {
    const int64_t mm = std::min<int64_t>(m, m_total - 1);
    const int64_t ow = mm % s.out[2], oh = (mm / s.out[2]) % s.out[1],
                  od = mm / (s.out[2] * s.out[1]);
    for (size_t t = 0; t < ks; ++t) {
      const int64_t kw = t % s.kernel[2], kh = (t / s.kernel[2]) % s.kernel[1],
                    kd = t / (s.kernel[2] * s.kernel[1]);
      const int64_t off = conv_tap_input(s, od, oh, ow, kd, kh, kw);
      ind[(m / mr) * ks * mr + t * mr + m % mr] = off < 0 ? zero : indirection_offset(off);
    }
  }
  return ind;
}

}  // namespace ce
