// Weight packing for every microkernel family: each routine reads weights in their framework
// layout (torch / ONNX) and writes the layout a kernel family reads, given the kernel's layout
// parameters (NR, KR, ...) rather than constants, so kernels of other tiles pack through the
// same code. Every routine writes the whole packed region once (zeros where no weight maps),
// so the destination need not be initialised. Ops pack once, at construction.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "engine/arith.h"
#include "engine/thread_pool.h"

namespace ce {

// A group's packed weights above this (the L2 of Zen 4 / Zen 5) do not stay in L2 from one task
// to the next, and in a network whose weights exceed L3 they come from DRAM on every run: the
// GEMM, IGEMM and Winograd drivers then pass their kernels the weight-stream hint (the next
// task's or call group's weights, native/gemm/gemm-prefetch.h), and the IGEMM reads each panel
// once. Below it the hint cost MobileNetV2 ~1-3% at 2 threads on Zen 5 and saved nothing.
constexpr size_t kStreamedWeightBytes = 1 << 20;

// The weights of a driver's next call group (`floats` from `next`), cut into equal shares of
// 64-byte lines over this group's `calls` kernel calls: call i passes at(i) and lines(i) as the
// kernel's hint. Default: no hint.
class WeightStream {
 public:
  WeightStream() = default;
  WeightStream(const float* next, size_t floats, size_t calls)
      : next_(reinterpret_cast<const char*>(next)),
        lines_(floats * sizeof(float) / 64),
        share_(ceil_div(lines_, calls < 1 ? 1 : calls)) {}
  const void* at(size_t call) const { return next_ + 64 * skip(call); }
  size_t lines(size_t call) const { return std::min(share_, lines_ - skip(call)); }

 private:
  size_t skip(size_t call) const { return std::min(lines_, call * share_); }
  const char* next_ = nullptr;
  size_t lines_ = 0, share_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Panel layout: GEMM (native/gemm/gemm.h), IGEMM (igemm.h), tiny-group conv (gconv.h, nr 8)
// and depthwise (native/dwconv/dwconv.h, nr 16, kc 1) kernels.
//
// Output channels are cut into blocks of nr; block b (channels b nr .. b nr + nr - 1, zero past
// the last channel) holds nr floats
//   [0, nr)                          the init values: bias, zero without one
// then, for each of ks taps t, kcp = round_up(kc, kr) reduction indices k (zero past kc) in
// groups of kr, element (channel j, tap t, k) at
//   nr + (t kcp + k - k mod kr) nr + j kr + k mod kr
// so with kr = 1 the k-th row of tap t is nr consecutive floats at nr (1 + t kc + k).
// A block is nr (1 + ks kcp) floats and blocks follow one another.
struct PanelLayout {
  size_t nr = 1;  // output channels per block
  size_t kr = 1;  // reduction indices stored together per channel
  size_t ks = 1;  // taps
  size_t kc = 1;  // reduction indices per tap

  size_t kc_padded() const { return round_up(kc, kr); }
  size_t block_floats() const { return nr * (1 + ks * kc_padded()); }
  size_t blocks(size_t cout) const { return ceil_div(cout, nr); }
  size_t floats(size_t cout) const { return blocks(cout) * block_floats(); }
  // Offset of (channel j of its block, tap t, reduction index k) from the block's start.
  size_t index(size_t j, size_t t, size_t k) const {
    return nr + (t * kc_padded() + k - k % kr) * nr + j * kr + k % kr;
  }
};

// Packs `cout` output channels into L.blocks(cout) blocks at dst: init value bias[oc] (0 when
// bias is null) and weight get(oc, t, k) for tap t < L.ks, reduction index k < L.kc. Writes
// the blocks in order, every float once.
template <class Get>
void pack_panels(float* dst, const PanelLayout& L, size_t cout, const float* bias, const Get& get) {
  const size_t nr = L.nr, kr = L.kr, kcp = L.kc_padded();
  float* p = dst;
  for (size_t oc0 = 0; oc0 < cout; oc0 += nr) {
    const size_t nb = cout - oc0 < nr ? cout - oc0 : nr;  // channels in this block
    for (size_t j = 0; j < nr; ++j) *p++ = j < nb && bias ? bias[oc0 + j] : 0.0f;
    for (size_t t = 0; t < L.ks; ++t) {
      if (kr == 1) {
        for (size_t k = 0; k < L.kc; ++k, p += nr) {
          for (size_t j = 0; j < nb; ++j) p[j] = get(oc0 + j, t, k);
          for (size_t j = nb; j < nr; ++j) p[j] = 0.0f;
        }
        continue;
      }
      for (size_t k0 = 0; k0 < kcp; k0 += kr)
        for (size_t j = 0; j < nr; ++j)
          for (size_t r = 0; r < kr; ++r)
            *p++ = j < nb && k0 + r < L.kc ? get(oc0 + j, t, k0 + r) : 0.0f;
    }
  }
}

// Conv weights (c_out, c_in / groups, taps_total) (torch / ONNX; taps_total = kd kh kw) in
// panels per group: group g's L.blocks(cout_g) blocks start at g L.floats(cout_g), L.kc is
// c_in / groups, and tap t of a block is kernel tap taps[t] (taps == nullptr: tap t; L.ks
// taps either way). IGEMM, deformable, tiny-group (groups 1 over all of c_out, nr 8) and
// depthwise (groups 1, kc 1) kernels.
void pack_conv_weights(float* dst, const PanelLayout& L, size_t groups, size_t cout_g,
                       const float* weight, size_t taps_total, const int64_t* taps,
                       const float* bias);

// Transposed-conv weights (c_in, c_out / groups, taps_total) in panels per group, as
// pack_conv_weights (the IGEMM of one output phase of a transposed conv).
void pack_deconv_weights(float* dst, const PanelLayout& L, size_t groups, size_t cout_g,
                         const float* weight, size_t taps_total, const int64_t* taps,
                         const float* bias);

// Conv weights (c_out, c_in, kd, kh, kw), groups 1, with whole kernel rows as reduction: tap
// t = kd kh + kh is a kernel row, reduction index k = kx c_in + ic (L.ks = kd kh,
// L.kc = kw c_in): the IGEMM over kernel rows of engine/stem_conv.cpp.
void pack_conv_row_weights(float* dst, const PanelLayout& L, size_t cout, size_t c_in, size_t kw,
                           const float* weight, const float* bias);

// 1x1 conv weights (c_out, K) of group g, reduction indices [k0, k0 + L.kc) (one block of K;
// L.ks = 1) in panels; the init values are the bias only for the first block (k0 == 0),
// zero otherwise: a GEMM that accumulates later K blocks into C reads no bias.
void pack_gemm_weights(float* dst, const PanelLayout& L, size_t cout_g, size_t K, size_t k0,
                       const float* weight_g, const float* bias_g);

// ---------------------------------------------------------------------------------------------
// Winograd filters U (engine/winograd_conv.cpp, transformed-domain GEMM of
// native/winograd/winograd.h): per (group g, position p, block b of nr output channels) kc rows
// of nr floats, row ic = input channel (zero past cin_g), column j = output channel b nr + j
// (zero past cout_g); no init values. Block (g, p, b) starts at ((g P + p) B + b) nr kc,
// P = positions, B = ceil(cout_g / nr).
struct WinogradLayout {
  size_t nr = 16;        // GEMM panel width
  size_t kc = 0;         // rows per block: c_in / groups rounded up to the input transform's tile
  size_t positions = 0;  // alpha^2 (2D) or alpha (1D)

  size_t blocks(size_t cout_g) const { return ceil_div(cout_g, nr); }
  size_t block_floats() const { return nr * kc; }
  size_t floats(size_t groups, size_t cout_g) const {
    return groups * positions * blocks(cout_g) * block_floats();
  }
};

// U = G g G^T of every r x r filter of the conv weights (c_out, c_in / groups, r, r), G the
// alpha x r filter matrix (row-major, double; alpha^2 = L.positions), computed in double and
// rounded once; on `pool`, one task per (group, block of nr output channels).
void pack_winograd_filters_2d(float* dst, const WinogradLayout& L, size_t groups, size_t cout_g,
                              size_t cin_g, size_t r, const double* G, const float* weight,
                              ThreadPool& pool);
// U = G g of every length-r filter (c_out, c_in / groups, r), G alpha x r (alpha = L.positions).
void pack_winograd_filters_1d(float* dst, const WinogradLayout& L, size_t groups, size_t cout_g,
                              size_t cin_g, size_t r, const double* G, const float* weight);

// ---------------------------------------------------------------------------------------------
// dst (cols x rows) = src (rows x cols) transposed, both row-major: weights read as columns
// (squeeze-excite's linears as axpy sweeps over rows, the locally connected conv's bias per
// position).
void pack_transposed(float* dst, const float* src, size_t rows, size_t cols);

}  // namespace ce
