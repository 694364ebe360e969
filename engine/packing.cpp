#include "engine/packing.h"

#include <stdexcept>
#include <vector>

namespace ce {

void pack_conv_weights(float* dst, const PanelLayout& L, size_t groups, size_t cout_g,
                       const float* weight, size_t taps_total, const int64_t* taps,
                       const float* bias) {
  const size_t kc = L.kc, group_floats = L.floats(cout_g);
  for (size_t g = 0; g < groups; ++g) {
    const float* wg = weight + g * cout_g * kc * taps_total;
    pack_panels(dst + g * group_floats, L, cout_g, bias ? bias + g * cout_g : nullptr,
                [&](size_t oc, size_t t, size_t ic) {
                  return wg[(oc * kc + ic) * taps_total + (taps ? taps[t] : t)];
                });
  }
}

void pack_deconv_weights(float* dst, const PanelLayout& L, size_t groups, size_t cout_g,
                         const float* weight, size_t taps_total, const int64_t* taps,
                         const float* bias) {
  const size_t kc = L.kc, group_floats = L.floats(cout_g);
  for (size_t g = 0; g < groups; ++g)
    pack_panels(dst + g * group_floats, L, cout_g, bias ? bias + g * cout_g : nullptr,
                [&](size_t oc, size_t t, size_t ic) {
                  return weight[((g * kc + ic) * cout_g + oc) * taps_total + (taps ? taps[t] : t)];
                });
}

void pack_conv_row_weights(float* dst, const PanelLayout& L, size_t cout, size_t c_in, size_t kw,
                           const float* weight, const float* bias) {
  const size_t rows = L.ks;
  pack_panels(dst, L, cout, bias, [&](size_t oc, size_t row, size_t k) {
    const size_t kx = k / c_in, ic = k % c_in;
    return weight[((oc * c_in + ic) * rows + row) * kw + kx];
  });
}

void pack_gemm_weights(float* dst, const PanelLayout& L, size_t cout_g, size_t K, size_t k0,
                       const float* weight_g, const float* bias_g) {
  pack_panels(dst, L, cout_g, k0 == 0 ? bias_g : nullptr,
              [&](size_t oc, size_t, size_t k) { return weight_g[oc * K + k0 + k]; });
}

namespace {

// U = G g G^T of one r x r filter into u[A * A], in double; A and R fixed at compile time
// (resnet50's F(2x2, 3x3) transforms took 50 of its 118 ms load with runtime bounds, Zen 4).
template <size_t A, size_t R>
void transform_2d(const double* G, const float* w, double* u) {
  double gw[A * R];
  for (size_t i = 0; i < A; ++i)
    for (size_t x = 0; x < R; ++x) {
      double t = 0.0;
      for (size_t y = 0; y < R; ++y) t += G[i * R + y] * w[y * R + x];
      gw[i * R + x] = t;
    }
  for (size_t i = 0; i < A; ++i)
    for (size_t j = 0; j < A; ++j) {
      double v = 0.0;
      for (size_t x = 0; x < R; ++x) v += gw[i * R + x] * G[j * R + x];
      u[i * A + j] = v;
    }
}

}  // namespace

void pack_winograd_filters_2d(float* dst, const WinogradLayout& L, size_t groups, size_t cout_g,
                              size_t cin_g, size_t r, const double* G, const float* weight,
                              ThreadPool& pool) {
  const size_t P = L.positions, nr = L.nr, nblocks = L.blocks(cout_g), block = L.block_floats();
  // F(2), F(4), F(6) of 3x3 and winograd_s2's F(5x5, 4x4)
  auto fn = r == 3 && P == 16   ? &transform_2d<4, 3>
            : r == 3 && P == 36 ? &transform_2d<6, 3>
            : r == 3 && P == 64 ? &transform_2d<8, 3>
            : r == 4 && P == 64 ? &transform_2d<8, 4>
                                : nullptr;
  if (!fn) throw std::logic_error("Winograd: no filter transform for this tile");
  // A task per (group, block of nr output channels): for each input channel it fills one
  // nr-float row of every position's block, whole cache lines written by one thread.
  pool.parallel_for(groups * nblocks, [&](size_t task) {
    const size_t g = task / nblocks, b = task % nblocks;
    std::vector<double> u(P);
    for (size_t ic = 0; ic < L.kc; ++ic)
      for (size_t j = 0; j < nr; ++j) {
        const size_t oc = b * nr + j;
        const bool real = ic < cin_g && oc < cout_g;
        if (real) fn(G, weight + ((g * cout_g + oc) * cin_g + ic) * r * r, u.data());
        float* d = dst + (g * P * nblocks + b) * block + ic * nr + j;
        for (size_t p = 0; p < P; ++p)
          d[p * nblocks * block] = real ? static_cast<float>(u[p]) : 0.0f;
      }
  });
}

void pack_winograd_filters_1d(float* dst, const WinogradLayout& L, size_t groups, size_t cout_g,
                              size_t cin_g, size_t r, const double* G, const float* weight) {
  const size_t P = L.positions, nr = L.nr, nblocks = L.blocks(cout_g), block = L.block_floats();
  for (size_t g = 0; g < groups; ++g)
    for (size_t b = 0; b < nblocks; ++b)
      for (size_t ic = 0; ic < L.kc; ++ic)
        for (size_t j = 0; j < nr; ++j) {
          const size_t oc = b * nr + j;
          const bool real = ic < cin_g && oc < cout_g;
          const float* w = weight + ((g * cout_g + oc) * cin_g + ic) * r;
          for (size_t p = 0; p < P; ++p) {
            double u = 0.0;
            if (real)
              for (size_t k = 0; k < r; ++k) u += G[p * r + k] * w[k];
            dst[((g * P + p) * nblocks + b) * block + ic * nr + j] = static_cast<float>(u);
          }
        }
}

void pack_transposed(float* dst, const float* src, size_t rows, size_t cols) {
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
}

}  // namespace ce
