// The weight packings of engine/packing.h against the layouts the kernels' contracts describe
// (native/gemm/gemm.h, igemm.h, gconv.h, native/dwconv/dwconv.h, native/winograd/winograd.h),
// written out here independently: every packed float, pads included (the destination starts as
// NaN, so a float a routine leaves unwritten fails).
//
//   test_packing
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include "engine/packing.h"
#include "engine/shared_weights.h"
#include "native/winograd/winograd.h"

namespace {

int g_failed = 0, g_cases = 0;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool same(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
          double tol = 0.0) {
  ++g_cases;
  bool ok = got.size() == want.size();
  size_t bad = 0;
  for (size_t i = 0; ok && i < got.size(); ++i)
    if (!(std::fabs(double(got[i]) - want[i]) <= tol)) ok = false, bad = i;
  if (!ok) {
    ++g_failed;
    if (got.size() != want.size())
      std::printf("[FAIL] %s: %zu floats, want %zu\n", name.c_str(), got.size(), want.size());
    else
      std::printf("[FAIL] %s: float %zu is %.9g, want %.9g\n", name.c_str(), bad, got[bad], want[bad]);
  }
  return ok;
}

std::vector<float> nan_buffer(size_t n) { return std::vector<float>(n, NAN); }

// The panel layout with kr = 1 as gemm.h / igemm.h state it: per block of nr channels, nr
// init values, then ks * kc rows of nr weights (tap-major); zero past cout.
std::vector<float> contract_panels(size_t nr, size_t ks, size_t kc, size_t cout,
                                   const std::vector<float>& bias,  // empty: none
                                   const std::vector<float>& w /* [oc][t][k] */) {
  const size_t blocks = (cout + nr - 1) / nr, block = nr * (1 + ks * kc);
  std::vector<float> p(blocks * block, 0.0f);
  for (size_t oc = 0; oc < cout; ++oc) {
    float* b = p.data() + (oc / nr) * block;
    b[oc % nr] = bias.empty() ? 0.0f : bias[oc];
    for (size_t r = 0; r < ks * kc; ++r) b[nr + r * nr + oc % nr] = w[oc * ks * kc + r];
  }
  return p;
}

void panels() {
  // kr = 1: the kernels' contract, for tiles with tails in every dimension.
  for (size_t nr : {1, 8, 16, 24})
    for (size_t ks : {1, 3})
      for (size_t kc : {1, 5})
        for (size_t cout : {size_t{1}, nr, 2 * nr + 3}) {
          const ce::PanelLayout L{nr, 1, ks, kc};
          const std::vector<float> w = random_floats(cout * ks * kc, 7), bias = random_floats(cout, 8);
          std::vector<float> got = nan_buffer(L.floats(cout));
          ce::pack_panels(got.data(), L, cout, bias.data(),
                          [&](size_t oc, size_t t, size_t k) { return w[(oc * ks + t) * kc + k]; });
          same("panels nr " + std::to_string(nr) + " ks " + std::to_string(ks) + " kc " +
                   std::to_string(kc) + " cout " + std::to_string(cout),
               got, contract_panels(nr, ks, kc, cout, bias, w));
        }
  // kr = 2: kc 3 padded to 4, each channel's pairs of reduction indices together.
  // Weight (oc, t, k) = 100 oc + 10 t + k + 1, bias 0.5 + oc; nr 2, ks 2, 3 channels.
  const ce::PanelLayout L{2, 2, 2, 3};
  std::vector<float> got = nan_buffer(L.floats(3));
  const float bias[3] = {0.5f, 1.5f, 2.5f};
  ce::pack_panels(got.data(), L, 3, bias, [](size_t oc, size_t t, size_t k) {
    return static_cast<float>(100 * oc + 10 * t + k + 1);
  });
  const std::vector<float> want = {
      // block 0: channels 0, 1
      0.5f, 1.5f,
      1, 2, 101, 102,  3, 0, 103, 0,  // tap 0: k (0, 1) of ch 0, of ch 1; k (2, pad)
      11, 12, 111, 112,  13, 0, 113, 0,  // tap 1
      // block 1: channel 2, then zeros
      2.5f, 0,
      201, 202, 0, 0,  203, 0, 0, 0,
      211, 212, 0, 0,  213, 0, 0, 0};
  same("panels kr 2", got, want);
}

void conv_layouts() {
  // Conv (c_out, c_in / g, taps) with a subset of taps, against the contract layout.
  const size_t groups = 3, cin_g = 4, cout_g = 5, taps = 9, nr = 8;
  const int64_t subset[3] = {8, 0, 4};
  const std::vector<float> w = random_floats(groups * cout_g * cin_g * taps, 11);
  const std::vector<float> bias = random_floats(groups * cout_g, 12);
  const ce::PanelLayout L{nr, 1, 3, cin_g};
  std::vector<float> got = nan_buffer(groups * L.floats(cout_g)), want;
  ce::pack_conv_weights(got.data(), L, groups, cout_g, w.data(), taps, subset, bias.data());
  for (size_t g = 0; g < groups; ++g) {
    std::vector<float> wg(cout_g * 3 * cin_g), bg(bias.begin() + g * cout_g, bias.begin() + (g + 1) * cout_g);
    for (size_t oc = 0; oc < cout_g; ++oc)
      for (size_t t = 0; t < 3; ++t)
        for (size_t ic = 0; ic < cin_g; ++ic)
          wg[(oc * 3 + t) * cin_g + ic] = w[(((g * cout_g + oc) * cin_g) + ic) * taps + subset[t]];
    const std::vector<float> p = contract_panels(nr, 3, cin_g, cout_g, bg, wg);
    want.insert(want.end(), p.begin(), p.end());
  }
  same("conv weights, groups and a tap subset", got, want);

  // The transposed conv's (c_in, c_out / g, taps) gives what the same weights in conv order give.
  std::vector<float> wt(w.size());
  for (size_t g = 0; g < groups; ++g)
    for (size_t oc = 0; oc < cout_g; ++oc)
      for (size_t ic = 0; ic < cin_g; ++ic)
        for (size_t t = 0; t < taps; ++t)
          wt[((g * cin_g + ic) * cout_g + oc) * taps + t] = w[((g * cout_g + oc) * cin_g + ic) * taps + t];
  std::vector<float> got_t = nan_buffer(got.size());
  ce::pack_deconv_weights(got_t.data(), L, groups, cout_g, wt.data(), taps, subset, bias.data());
  same("transposed conv weights", got_t, want);

  // Kernel rows (igemm_rows): tap = (kd, kh), reduction index kx c_in + ic.
  const size_t c_in = 3, cout = 10, kd = 2, kh = 3, kw = 4;
  const std::vector<float> wr = random_floats(cout * c_in * kd * kh * kw, 13), br = random_floats(cout, 14);
  const ce::PanelLayout R{16, 1, kd * kh, kw * c_in};
  std::vector<float> got_r = nan_buffer(R.floats(cout)), w_rows(cout * kd * kh * kw * c_in);
  ce::pack_conv_row_weights(got_r.data(), R, cout, c_in, kw, wr.data(), br.data());
  for (size_t oc = 0; oc < cout; ++oc)
    for (size_t row = 0; row < kd * kh; ++row)
      for (size_t kx = 0; kx < kw; ++kx)
        for (size_t ic = 0; ic < c_in; ++ic)
          w_rows[(oc * kd * kh + row) * kw * c_in + kx * c_in + ic] =
              wr[((oc * c_in + ic) * kd * kh + row) * kw + kx];
  same("conv kernel rows", got_r, contract_panels(16, kd * kh, kw * c_in, cout, br, w_rows));

  // 1x1 conv, a later block of K: no bias in its panels.
  const size_t K = 11, k0 = 4, kcb = 5, co = 7;
  const std::vector<float> wg = random_floats(co * K, 15), bg = random_floats(co, 16);
  const ce::PanelLayout G{6, 1, 1, kcb};
  std::vector<float> got_g = nan_buffer(G.floats(co)), w_blk(co * kcb);
  ce::pack_gemm_weights(got_g.data(), G, co, K, k0, wg.data(), bg.data());
  for (size_t oc = 0; oc < co; ++oc)
    for (size_t k = 0; k < kcb; ++k) w_blk[oc * kcb + k] = wg[oc * K + k0 + k];
  same("gemm weights, later K block", got_g, contract_panels(6, 1, kcb, co, {}, w_blk));
  std::vector<float> got_g0 = nan_buffer(G.floats(co)), w_blk0(co * kcb);
  ce::pack_gemm_weights(got_g0.data(), G, co, K, 0, wg.data(), bg.data());
  for (size_t oc = 0; oc < co; ++oc)
    for (size_t k = 0; k < kcb; ++k) w_blk0[oc * kcb + k] = wg[oc * K + k];
  same("gemm weights, first K block", got_g0, contract_panels(6, 1, kcb, co, bg, w_blk0));
}

void winograd() {
  // F(2x2, 3x3): U = G g G^T per (group, position, block), kc rows (zero past cin_g).
  const size_t groups = 2, cin_g = 3, cout_g = 18, kc = 8, P = 16;
  const ce::WinogradLayout L{16, kc, P};
  const std::vector<float> w = random_floats(groups * cout_g * cin_g * 9, 21);
  std::vector<float> got = nan_buffer(L.floats(groups, cout_g));
  ce::ThreadPool pool(1);
  ce::pack_winograd_filters_2d(got.data(), L, groups, cout_g, cin_g, 3, &ce::native::kWinoG2[0][0],
                               w.data(), pool);
  const size_t blocks = (cout_g + 15) / 16;
  std::vector<float> want(got.size(), 0.0f);
  for (size_t g = 0; g < groups; ++g)
    for (size_t oc = 0; oc < cout_g; ++oc)
      for (size_t ic = 0; ic < cin_g; ++ic) {
        const float* f = w.data() + ((g * cout_g + oc) * cin_g + ic) * 9;
        for (size_t i = 0; i < 4; ++i)
          for (size_t j = 0; j < 4; ++j) {
            double u = 0.0;
            for (size_t y = 0; y < 3; ++y)
              for (size_t x = 0; x < 3; ++x)
                u += ce::native::kWinoG2[i][y] * f[y * 3 + x] * ce::native::kWinoG2[j][x];
            const size_t p = i * 4 + j;
            want[((g * P + p) * blocks + oc / 16) * 16 * kc + ic * 16 + oc % 16] = static_cast<float>(u);
          }
      }
  same("winograd F(2,3) filters", got, want, 1e-6);

  // 1D, r = 3 on 8 positions: U = G g.
  const ce::WinogradLayout L1{16, kc, 8};
  const std::vector<double> G1 = [] {
    std::vector<double> G(8 * 3, 0.0);
    for (int j = 0; j < 7; ++j) {
      double pw = ce::native::kWinoGScale8[j];
      for (int k = 0; k < 3; ++k, pw *= ce::native::kWinoPoints8[j]) G[j * 3 + k] = pw;
    }
    G[7 * 3 + 2] = 1.0;
    return G;
  }();
  const std::vector<float> w1 = random_floats(groups * cout_g * cin_g * 3, 22);
  std::vector<float> got1 = nan_buffer(L1.floats(groups, cout_g)), want1(got1.size(), 0.0f);
  ce::pack_winograd_filters_1d(got1.data(), L1, groups, cout_g, cin_g, 3, G1.data(), w1.data());
  for (size_t g = 0; g < groups; ++g)
    for (size_t oc = 0; oc < cout_g; ++oc)
      for (size_t ic = 0; ic < cin_g; ++ic)
        for (size_t p = 0; p < 8; ++p) {
          double u = 0.0;
          for (size_t k = 0; k < 3; ++k) u += G1[p * 3 + k] * w1[((g * cout_g + oc) * cin_g + ic) * 3 + k];
          want1[((g * 8 + p) * blocks + oc / 16) * 16 * kc + ic * 16 + oc % 16] = static_cast<float>(u);
        }
  same("winograd 1D filters", got1, want1, 1e-6);
}

void transposed() {
  const std::vector<float> src = random_floats(3 * 5, 31);
  std::vector<float> got = nan_buffer(15), want(15);
  ce::pack_transposed(got.data(), src.data(), 3, 5);
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 5; ++j) want[j * 3 + i] = src[i * 5 + j];
  same("transposed", got, want);
}

void check(const std::string& name, bool ok) {
  ++g_cases;
  if (!ok) ++g_failed, std::printf("[FAIL] %s\n", name.c_str());
}

ce::Buffer filled(size_t n, uint32_t seed) {
  const std::vector<float> v = random_floats(n, seed);
  return ce::Buffer(v.begin(), v.end());
}

// engine/shared_weights.h: equal bytes give one buffer, any difference another; the store
// forgets a buffer with its last owner.
void shared_store() {
  const ce::SharedWeightsStats s0 = ce::shared_weights_stats();
  auto a = ce::share_weights(filled(1000, 1));
  auto b = ce::share_weights(filled(1000, 1));
  check("shared: equal bytes, one buffer", a == b);
  ce::Buffer c = filled(1000, 1);
  c[999] = std::nextafter(c[999], 2.0f);  // the last float's last bit
  auto cs = ce::share_weights(std::move(c));
  check("shared: one bit apart, two buffers", cs != a && (*cs)[999] != (*a)[999]);
  auto shorter = ce::share_weights(filled(999, 1));
  check("shared: a prefix is another buffer", shorter != a && shorter->size() == 999);
  auto e1 = ce::share_weights(ce::Buffer());
  auto e2 = ce::share_weights(ce::Buffer());
  check("shared: empty buffers", e1 == e2 && e1->empty());
  const ce::SharedWeightsStats s1 = ce::shared_weights_stats();
  check("shared: stats count distinct buffers",
        s1.buffers == s0.buffers + 4 && s1.bytes == s0.bytes + 4 * (1000 + 1000 + 999) &&
            s1.hits == s0.hits + 2 && s1.calls == s0.calls + 6);
  a.reset();
  check("shared: alive while one owner is left", ce::shared_weights_stats().buffers == s1.buffers);
  b.reset();
  cs.reset();
  shorter.reset();
  e1.reset();
  e2.reset();
  const ce::SharedWeightsStats s2 = ce::shared_weights_stats();
  check("shared: released with the last owner", s2.buffers == s0.buffers && s2.bytes == s0.bytes);
  auto again = ce::share_weights(filled(1000, 1));
  check("shared: a released buffer is not found again",
        ce::shared_weights_stats().hits == s2.hits && (*again)[0] == filled(1, 1)[0]);
  ce::PackedWeights p, q;
  p.resize(64);
  q.resize(64);
  for (int i = 0; i < 64; ++i) p.data()[i] = q.data()[i] = float(i);
  const float* own = std::as_const(p).data();
  p.share();
  q.share();
  check("PackedWeights: share() swaps in the store's copy",
        std::as_const(p).data() == std::as_const(q).data() && p.size() == 64 &&
            std::as_const(p).data()[63] == 63.0f && own != nullptr);
  bool threw = false;
  try {
    p.data();
  } catch (const std::logic_error&) {
    threw = true;
  }
  check("PackedWeights: writing after share() throws", threw);
}

}  // namespace

int main() {
  shared_store();
  panels();
  conv_layouts();
  winograd();
  transposed();
  std::printf("%d cases, %d failed\n", g_cases, g_failed);
  return g_failed ? 1 : 0;
}
