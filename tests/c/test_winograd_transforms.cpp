// The Winograd tile transforms (native/winograd/) that engine/dispatch.cpp hands out at each ISA
// level the CPU has (and CONVENGINE_ISA allows), against the scalar kernels (straight from the
// tables of winograd.h), over channel counts around the 8- and 16-channel steps and every
// window clip / output size. Also holds the contracts' bounds: the input transform reads only
// `channels` floats per pixel (the rest of each pixel is NaN, which would reach the zero-filled
// channels) and writes exactly round_up(channels, 8) per position; the output transform writes
// only rows x cols pixels of `channels` floats (the rest of the buffer is a sentinel).
//
//   test_winograd_transforms [-v]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu.h"
#include "engine/dispatch.h"

namespace {

namespace native = ce::native;

constexpr float kSentinel = -12345.0f;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Variant {
  std::string name;
  size_t m, alpha;  // outputs per tile (side), window (side, or points for 1D)
  bool one_d;
  const ce::WinogradKernels& (*get)(ce::Isa);
};

bool g_verbose = false;
std::mt19937 g_rng(1);

float uniform() { return std::uniform_real_distribution<float>(-1.0f, 1.0f)(g_rng); }

// The vector kernels factorise the transforms, the scalar ones sum the tables' products: both
// round differently, by a few ulps of the largest term.
bool close(float a, float b, float scale) { return std::fabs(a - b) <= 1e-5f * scale + 1e-6f; }

// One input-transform case: window [y0, y1) x [x0, x1) of an alpha x alpha (1D: 1 x alpha) tile.
bool input_case(const Variant& v, native::WinoInputFn fn, native::WinoInputFn ref, size_t c,
                size_t y0, size_t y1, size_t x0, size_t x1, std::string* why) {
  const size_t A = v.alpha, rows = v.one_d ? 1 : A, P = v.one_d ? A : A * A;
  const size_t ps = c + 5, rs = A * ps + 3, padded = (c + 7) / 8 * 8, vs = padded + 24;
  std::vector<float> in(rows * rs + 8, kNaN);
  for (size_t y = 0; y < rows; ++y)
    for (size_t x = 0; x < A; ++x)
      for (size_t i = 0; i < c; ++i) in[y * rs + x * ps + i] = uniform();
  std::vector<float> got(P * vs, kSentinel), want(P * vs, kSentinel);
  fn(c, in.data(), rs, ps, y0, y1, x0, x1, got.data(), vs);
  ref(c, in.data(), rs, ps, y0, y1, x0, x1, want.data(), vs);
  float scale = 0.0f;
  for (float w : want) scale = std::max(scale, std::fabs(w));
  for (size_t p = 0; p < P; ++p)
    for (size_t i = 0; i < vs; ++i) {
      const float g = got[p * vs + i], w = want[p * vs + i];
      const bool ok = i >= padded ? g == kSentinel : i >= c ? g == 0.0f : close(g, w, scale);
      if (!ok) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "position %zu channel %zu: got %g, want %g", p, i, g,
                      i >= padded ? kSentinel : i >= c ? 0.0f : w);
        *why = buf;
        return false;
      }
    }
  return true;
}

// One output-transform case: rows x cols outputs, with or without a residual.
bool output_case(const Variant& v, native::WinoOutputFn fn, native::WinoOutputFn ref, size_t c,
                 size_t rows, size_t cols, bool residual, std::string* why) {
  const size_t A = v.alpha, P = v.one_d ? A : A * A, M = v.m;
  const size_t ms = c + 11, ps = c + 3, rs = M * ps + 7;
  std::vector<float> m(P * ms, kNaN), bias(c), res(M * rs + 8, kNaN);
  for (size_t p = 0; p < P; ++p)
    for (size_t i = 0; i < c; ++i) m[p * ms + i] = uniform();
  for (float& b : bias) b = uniform();
  for (size_t y = 0; y < M; ++y)
    for (size_t x = 0; x < M; ++x)
      for (size_t i = 0; i < c; ++i) res[y * rs + x * ps + i] = uniform();
  native::WinoOutputParams params{};
  params.bias = bias.data();
  params.res = residual ? res.data() : nullptr;
  params.res_row_stride = rs;
  params.res_pixel_stride = ps;
  params.clamp = {-3.0f, 3.0f};
  std::vector<float> got(M * rs + 8, kSentinel), want(M * rs + 8, kSentinel);
  fn(c, m.data(), ms, got.data(), rs, ps, rows, cols, &params);
  ref(c, m.data(), ms, want.data(), rs, ps, rows, cols, &params);
  for (size_t k = 0; k < got.size(); ++k) {
    const size_t y = k / rs, x = k % rs / ps, i = k % rs % ps;
    const bool inside = y < rows && x < cols && k % rs < M * ps && i < c;
    const bool ok = inside ? close(got[k], want[k], 100.0f) : got[k] == kSentinel;
    if (!ok) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "pixel (%zu, %zu) channel %zu: got %g, want %g", y, x, i,
                    got[k], inside ? want[k] : kSentinel);
      *why = buf;
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  g_verbose = argc > 1 && std::strcmp(argv[1], "-v") == 0;
  std::vector<Variant> variants = {
      {"F(2,3)", 2, 4, false, [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd_kernels(2, i); }},
      {"F(4,3)", 4, 6, false, [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd_kernels(4, i); }},
      {"F(6,3)", 6, 8, false, [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd_kernels(6, i); }},
      {"F(5x5,4x4)", 5, 8, false, [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd_kernels(5, i); }},
  };
  const ce::WinogradKernels& (*get1d[5])(ce::Isa) = {
      [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd1d_kernels(3, i); },
      [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd1d_kernels(4, i); },
      [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd1d_kernels(5, i); },
      [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd1d_kernels(6, i); },
      [](ce::Isa i) -> const ce::WinogradKernels& { return ce::winograd1d_kernels(7, i); }};
  for (int r = 3; r <= 7; ++r)
    variants.push_back({"1D F(" + std::to_string(9 - r) + "," + std::to_string(r) + ")",
                        static_cast<size_t>(9 - r), 8, true, get1d[r - 3]});

  std::vector<size_t> channels;
  for (size_t c = 1; c <= 41; ++c) channels.push_back(c);
  for (size_t c : {47, 48, 49, 63, 64, 65, 100}) channels.push_back(c);

  int cases = 0, failed = 0;
  for (ce::Isa isa : {ce::Isa::kAvx2, ce::Isa::kAvx512, ce::Isa::kNeon}) {
    const char* level = ce::isa_name(isa);
    if (!ce::cpu_supports(isa) || isa > ce::active_isa()) {
      std::printf("[skip] %s: %s\n", level,
                  !ce::cpu_supports(isa) ? "the CPU lacks it" : "above CONVENGINE_ISA");
      continue;
    }
    for (const Variant& v : variants) {
      const ce::WinogradKernels& k = v.get(isa);
      const ce::WinogradKernels& s = v.get(ce::Isa::kScalar);
      const std::string what = std::string(level) + " " + v.name + " (" + k.name + ")";
      std::string why;
      bool ok = true;
      const size_t A = v.alpha;
      for (size_t c : channels) {
        // Windows: whole, clipped on each side, one row / column, all padding.
        const size_t clips[][4] = {{0, A, 0, A}, {1, A, 0, A - 2}, {0, 2, 3, A}, {A - 1, A, 1, 2},
                                   {2, 2, 0, A}, {0, A, 5, 5}};
        for (const auto& w : clips) {
          const size_t y0 = v.one_d ? 0 : w[0], y1 = v.one_d ? (w[1] > w[0] ? 1 : 0) : w[1];
          ++cases;
          if (ok && !input_case(v, k.input, s.input, c, y0, y1, w[2], w[3], &why)) {
            ok = false;
            why = "input C=" + std::to_string(c) + " window [" + std::to_string(y0) + "," +
                  std::to_string(y1) + ")x[" + std::to_string(w[2]) + "," + std::to_string(w[3]) +
                  "): " + why;
          }
        }
        for (size_t rows = 1; rows <= (v.one_d ? 1 : v.m); ++rows)
          for (size_t cols = 1; cols <= v.m; ++cols)
            for (bool res : {false, true}) {
              ++cases;
              if (ok && !output_case(v, k.output, s.output, c, rows, cols, res, &why)) {
                ok = false;
                why = "output C=" + std::to_string(c) + " " + std::to_string(rows) + "x" +
                      std::to_string(cols) + (res ? " residual" : "") + ": " + why;
              }
            }
      }
      if (!ok) ++failed;
      if (!ok || g_verbose) std::printf("%s %s%s%s\n", ok ? "[ ok ]" : "[FAIL]", what.c_str(),
                                        ok ? "" : ": ", why.c_str());
    }
  }
  std::printf("%d cases, %d kernel pairs failed\n", cases, failed);
  return failed ? 1 : 0;
}
