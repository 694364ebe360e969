#include "engine/indirection.h"

#include <algorithm>

namespace ce {

std::vector<const float*> conv_indirection(const ConvShape& s, size_t mr, const float* zero) {
  const size_t ks = s.taps();
  const size_t m_total = s.out[0] * s.out[1] * s.out[2];
  const size_t tiles = (m_total + mr - 1) / mr;
  std::vector<const float*> ind(tiles * ks * mr);
  const int64_t ps = s.in_ps();
  // Per tap t = (kd, kh, kw), tap-major: its step along each axis.
  std::vector<int64_t> step(3 * ks);
  for (size_t t = 0; t < ks; ++t) {
    const int64_t k[3] = {static_cast<int64_t>(t / (s.kernel[2] * s.kernel[1])),
                          static_cast<int64_t>(t / s.kernel[2] % s.kernel[1]),
                          static_cast<int64_t>(t % s.kernel[2])};
    for (int a = 0; a < 3; ++a) step[3 * t + a] = conv_tap_step(s, a, k[a]);
  }
  const uint64_t D = s.in[0], H = s.in[1], W = s.in[2];
  for (size_t m = 0; m < tiles * mr; ++m) {
    const int64_t mm = std::min<int64_t>(m, m_total - 1);
    const int64_t d0 = conv_window_start(s, 0, mm / (s.out[2] * s.out[1])),
                  h0 = conv_window_start(s, 1, (mm / s.out[2]) % s.out[1]),
                  w0 = conv_window_start(s, 2, mm % s.out[2]);
    const float** row = ind.data() + (m / mr) * ks * mr + m % mr;  // tap t at row[t * mr]
    for (size_t t = 0; t < ks; ++t) {
      const int64_t id = d0 + step[3 * t], ih = h0 + step[3 * t + 1], iw = w0 + step[3 * t + 2];
      // conv_tap_input: unsigned compares also refuse negative coordinates
      const bool inside = uint64_t(id) < D && uint64_t(ih) < H && uint64_t(iw) < W;
      row[t * mr] = inside ? indirection_offset(((id * s.in[1] + ih) * s.in[2] + iw) * ps) : zero;
    }
  }
  return ind;
}

}  // namespace ce
