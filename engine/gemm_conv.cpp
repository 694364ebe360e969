#include "engine/gemm_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

// K is split into blocks only above kMaxKc. Measured with the 6x16 kernel on Zen 3 (1 thread,
// M-tile-outer loop): M=196 K=2048 N=512 ran at 97.3 GFLOP/s unsplit vs 93.8 with kc=512;
// K=1024 N=256: 97.2 vs 96.0; K=576 N=96: 99.9 vs 97.0 (kc=288). Zen 3's L2 and L3 stream the
// weight panels fast enough that re-reading C costs more than the A rows falling out of L1.
constexpr size_t kMaxKc = 4096;
constexpr size_t kBlockKc = 2048;
// Weight bytes of one task's column chunk (kc x nc): kept within half of Zen 3's 512 KB L2.
constexpr size_t kChunkBytes = 256 * 1024;
// The prefetching kernel is used when A is larger than L2 (it comes from L3 or DRAM) and a tile
// of A feeds at least kPrefetchMinCols columns (about as many cycles per prefetched line).
// Measured on Zen 3, 1 thread, paired medians: 256->256 at 56x56 -6%, 256->64 -12%,
// 128->256 at 112x112 -11%, 512->256 at 56x56 -5%; with few columns or A in L2 the prefetches
// cost more than they save: 96->24 at 112x112 +9%, 32->16 +7%, 576->96 at 14x14 +2%.
// Prefetching C as well gained another 0.5% (256->256 at 56x56) to 4% (128->256 at 112x112).
constexpr size_t kPrefetchMinABytes = 1 << 20;
// Half of Zen 3's L2: see GemmConv::run's column split.
constexpr size_t kColSplitBytes = 512 * 1024;
constexpr size_t kPrefetchMinCols = 48;

class GemmConv final : public ConvOp {
 public:
  GemmConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act) {
    kc_ = s.cin_g();
    cout_g_ = s.cout_g();
    k_ = gemm_kernel(cout_g_);
    const size_t NR = k_.nr;
    npanels_ = ceil_div(cout_g_, NR);
    const size_t nkb = kc_ <= kMaxKc ? 1 : ceil_div(kc_, kBlockKc);
    for (size_t b = 0, k0 = 0; b < nkb; ++b) {
      const size_t kc = (kc_ - k0) / (nkb - b);
      const PanelLayout L{NR, k_.kr, 1, kc};
      kblocks_.push_back({k0, kc, group_stride_, L.block_floats()});
      group_stride_ += L.floats(cout_g_);
      k0 += kc;
    }
    // Per group, per K block: the block's panels (bias only in the first block's).
    packed_.resize(s.groups * group_stride_);
    for (int64_t g = 0; g < s.groups; ++g)
      for (const KBlock& kb : kblocks_)
        pack_gemm_weights(packed_.data() + g * group_stride_ + kb.offset,
                          PanelLayout{NR, k_.kr, 1, kb.kc}, cout_g_, kc_, kb.k0,
                          weight + g * cout_g_ * kc_, bias ? bias + g * cout_g_ : nullptr);
    packed_.share();
    // Column chunk: as many panels as keep the weight chunk within kChunkBytes.
    const size_t max_kc = kblocks_[0].kc;
    chunk_panels_ = std::clamp<size_t>(kChunkBytes / (max_kc * NR * sizeof(float)), 1, npanels_);
  }

  const char* algorithm() const override { return "gemm"; }
  bool runs_view() const override { return shape_.groups == 1 && shape_.ndim == 2; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    if (in.n > 1 && in.pixels() == 1 && s.groups == 1) {
      // One pixel per image: the images are the rows of one GEMM, which reads each weight
      // panel once per tile of MR images instead of once per image.
      TensorView i2 = in, o2 = out, r2;
      i2.pixel_stride = in.ps(), o2.pixel_stride = out.ps();
      i2.h = i2.n, o2.h = o2.n, i2.n = o2.n = 1;
      if (res) r2 = *res, r2.pixel_stride = res->ps(), r2.h = r2.n, r2.n = 1;
      return run(i2, o2, res ? &r2 : nullptr, pool);
    }
    const size_t MR = k_.mr, NR = k_.nr;
    const size_t m = in.pixels();
    const size_t mtiles = ceil_div(m, MR);
    const size_t ng = in.n * s.groups;
    const size_t threads = pool.num_threads();
    // Split columns further while there are too few tasks for the threads (small images).
    size_t chunk_panels = chunk_panels_;
    while (chunk_panels > 1 && ng * mtiles * ceil_div(npanels_, chunk_panels) < 4 * threads)
      chunk_panels = ceil_div(chunk_panels, 2);
    size_t n_chunks = ceil_div(npanels_, chunk_panels);
    // Weights beyond L2, A within it, at least as many columns as rows (the 1x1 convs of the
    // last stages: ShuffleNetV2's 464 -> 1024 at 7x7): the threads split the columns only, in
    // a multiple of the threads of chunks, so each reads its share of the weights once; row
    // chunks made every thread read all of them (Zen 5, 2 threads, weights from L3, 464 ->
    // 1024: 117-211 -> 101-103 us; 320 -> 1280: 95-98 -> 91-92). Not when the panels do not
    // share out within 1/8 (MobileNetV2's 960 -> 160, 5 panels: 40 -> 50 us).
    bool col_split = false;
    if (threads > 1 && ng == 1 && cout_g_ >= m && kc_ * cout_g_ * sizeof(float) > kColSplitBytes &&
        m * kc_ * sizeof(float) <= kColSplitBytes) {
      const size_t cp = ceil_div(npanels_, round_up(std::max(n_chunks, 2 * threads), threads));
      const size_t nc = ceil_div(npanels_, cp);
      if (8 * ceil_div(nc, threads) * cp * threads <= 9 * npanels_)
        col_split = true, chunk_panels = cp, n_chunks = nc;
    }
    const size_t per_chunk =
        threads == 1 || col_split ? mtiles
                                  : std::clamp<size_t>(ng * n_chunks * mtiles / (8 * threads), 1, 16);
    const size_t m_chunks = ceil_div(mtiles, per_chunk);
    const size_t in_ps = in.ps(), out_ps = out.ps();
    const bool pass = epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* last_params = epilogue_.kernel_params(res != nullptr);
    const native::ClampParams no_clamp{-std::numeric_limits<float>::infinity(),
                                       std::numeric_limits<float>::infinity()};
    const size_t nkb = kblocks_.size();
    // A residual stored in the output itself is saved per tile before the kernel overwrites it.
    const bool save_res = res && views_overlap(*res, out);
    const bool prefetch = m * in_ps * sizeof(float) >= kPrefetchMinABytes &&
                          std::min(chunk_panels * NR, cout_g_) >= kPrefetchMinCols;
    const native::GemmFn fn = prefetch ? k_.prfm : k_.fn;
    const size_t tasks = ng * m_chunks * n_chunks;
    pool.parallel_for(tasks, [&](size_t task) {
      const size_t ngi = task / (m_chunks * n_chunks), mc = task / n_chunks % m_chunks;
      const size_t nch = task % n_chunks;
      const size_t n = ngi / s.groups, g = ngi % s.groups;
      const size_t p0 = nch * chunk_panels;
      const size_t oc0 = g * cout_g_ + p0 * NR;
      const size_t nc = std::min(chunk_panels * NR, cout_g_ - p0 * NR);
      const float* a_img = in.data + n * in.image_stride() + g * kc_;
      float* c_img = out.data + n * out.image_stride() + oc0;
      std::vector<float> saved(save_res ? MR * nc : 0);
      const size_t t_begin = mc * per_chunk, t_end = std::min(mtiles, (mc + 1) * per_chunk);
      // The weight chunk of the task after this one (this thread's next, as a rule: the pool
      // hands out contiguous ranges), streamed in over this task's calls (gemm-prefetch.h).
      WeightStream next;
      if (nkb == 1 && task + 1 < tasks && group_stride_ * sizeof(float) > kStreamedWeightBytes) {
        const size_t g2 = (task + 1) / (m_chunks * n_chunks) % s.groups;
        const size_t nch2 = (task + 1) % n_chunks;
        if (g2 != g || nch2 != nch) {
          const KBlock& kb = kblocks_[0];
          const size_t panels = std::min(chunk_panels, npanels_ - nch2 * chunk_panels);
          next = WeightStream(packed_.data() + g2 * group_stride_ + kb.offset +
                                  nch2 * chunk_panels * kb.panel,
                              panels * kb.panel, t_end - t_begin);
        }
      }
      for (size_t t = t_begin; t < t_end; ++t) {
        const size_t m0 = t * MR, mr = std::min(MR, m - m0);
        float* c = c_img + m0 * out_ps;
        const float* r = residual_at(res, n, m0, oc0);
        size_t r_stride = res ? res->ps() : 0;
        if (save_res) {
          for (size_t i = 0; i < mr; ++i) std::copy(r + i * r_stride, r + i * r_stride + nc, &saved[i * nc]);
          r = saved.data();
          r_stride = nc;
        }
        const native::GemmFn tile_fn = mr == 1 ? k_.row : fn;
        for (size_t b = 0; b < nkb; ++b) {
          const KBlock& kb = kblocks_[b];
          const float* w = packed_.data() + g * group_stride_ + kb.offset + p0 * kb.panel;
          tile_fn(mr, nc, kb.kc, a_img + m0 * in_ps + kb.k0, in_ps, w, c, out_ps, NR, b > 0,
                  b + 1 == nkb ? last_params : &no_clamp, next.at(t - t_begin),
                  next.lines(t - t_begin));
        }
        if (pass) epilogue_.apply(c, mr, nc, out_ps, r, r_stride);
      }
    });
  }

 private:
  struct KBlock {
    size_t k0, kc, offset, panel;  // panel: floats per NR-wide panel
  };
  GemmKernel k_;
  size_t kc_, cout_g_, npanels_, chunk_panels_, group_stride_ = 0;
  std::vector<KBlock> kblocks_;
  PackedWeights packed_;  // 64-byte aligned: panel loads never straddle cache lines
};

// A kernel of more than one tap covering the whole unpadded, densely stored input of one group
// (one output pixel per image: VGG's ConvMlp head, 512 -> 4096 7x7 on 7x7): an image's pixels
// in tap order are one GEMM row of taps x c_in, so this runs as the 1x1 GemmConv of that
// many input channels on one-pixel images (whose images are its rows). Against igemm (one
// 6-row tile computed for the single pixel, the weights read once per image): Zen 5, 512 ->
// 1024 7x7 on 7x7 (103 MB from memory), 1 thread, batch 1 3.10-3.32 -> 2.67-2.91 ms, batch 4
// 12.8 -> 3.7 ms; 2 threads, batch 4 6.8 -> 3.0 ms; timm vgg11_bn 0.93x the time at 1 thread.
bool whole_window(const ConvShape& s) {
  if (s.transposed || s.groups != 1 || s.in_ps() != s.c_in || s.taps() == 1) return false;
  for (int i = 0; i < 3; ++i)
    if (s.kernel[i] != s.in[i] || s.pad_begin[i] != 0 || s.pad_end[i] != 0 ||
        (s.kernel[i] > 1 && s.dilation[i] != 1))
      return false;
  return true;
}

class WholeWindowConv final : public ConvOp {
 public:
  WholeWindowConv(const ConvShape& s, const float* weight, const float* bias,
                  const Activation& act)
      : ConvOp(s, act) {
    const int64_t taps = s.taps(), cin = s.c_in;
    ConvShape flat;
    flat.c_in = taps * cin;
    flat.c_out = s.c_out;
    flat.infer_output();
    // (c_out, c_in, taps) -> (c_out, taps, c_in): the order of an NHWC image's floats
    std::vector<float> w(static_cast<size_t>(s.c_out * taps * cin));
    for (int64_t oc = 0; oc < s.c_out; ++oc)
      for (int64_t ic = 0; ic < cin; ++ic)
        for (int64_t t = 0; t < taps; ++t)
          w[(oc * taps + t) * cin + ic] = weight[(oc * cin + ic) * taps + t];
    gemm_ = std::make_unique<GemmConv>(flat, w.data(), bias, act);
  }

  const char* algorithm() const override { return "gemm"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    TensorView flat = in;
    flat.d = flat.h = flat.w = 1;
    flat.c = in.c * in.pixels();
    flat.pixel_stride = 0;
    gemm_->run_view(flat, out, res, pool);
  }

 private:
  std::unique_ptr<GemmConv> gemm_;
};

}  // namespace

bool gemm_applies(const ConvShape& s) {
  if (whole_window(s)) return true;
  if (s.transposed) return false;
  for (int i = 0; i < 3; ++i)
    if (s.kernel[i] != 1 || s.stride[i] != 1 || s.pad_begin[i] != 0 || s.pad_end[i] != 0) return false;
  return true;
}

std::unique_ptr<ConvOp> make_gemm_conv(const ConvShape& s, const float* weight, const float* bias,
                                       const Activation& act) {
  if (whole_window(s)) return std::make_unique<WholeWindowConv>(s, weight, bias, act);
  return std::make_unique<GemmConv>(s, weight, bias, act);
}

}  // namespace ce
