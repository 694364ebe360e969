#include "engine/igemm_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/indirection.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

class IGemmConv final : public ConvOp {
 public:
  IGemmConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel(s.cout_g())) {
    const size_t MR = k_.mr;
    kc_ = s.cin_g();
    ks_ = s.taps();
    cout_g_ = s.cout_g();
    const PanelLayout L{k_.nr, k_.kr, ks_, kc_};
    nblocks_ = L.blocks(cout_g_);
    block_ = L.block_floats();
    packed_.resize(s.groups * L.floats(cout_g_));
    pack_conv_weights(packed_.data(), L, s.groups, cout_g_, weight, ks_, nullptr, bias);
    packed_.share();
    zero_.assign(kc_ + 16, 0.0f);

    m_ = s.out[0] * s.out[1] * s.out[2];
    mtiles_ = ceil_div(m_, MR);
    ind_ = conv_indirection(s, MR, zero_.data());
  }

  const char* algorithm() const override { return "igemm"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const bool pass = epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* params = epilogue_.kernel_params(res != nullptr);
    const ConvShape& s = shape_;
    const size_t MR = k_.mr, NR = k_.nr;
    const size_t ng = in.n * s.groups;
    const size_t nc_tile = cout_g_ <= 128 ? cout_g_ : 64;
    const size_t n_chunks = ceil_div(cout_g_, nc_tile);
    const size_t tiles = ng * n_chunks * mtiles_;
    const size_t target = 8 * static_cast<size_t>(pool.num_threads());
    const size_t per_chunk = std::clamp<size_t>(tiles / target, 1, 16);
    const size_t m_chunks = ceil_div(mtiles_, per_chunk);
    const size_t base = addr_in_floats(in.data);
    const int64_t out_ps = out.ps();
    // Weights above kStreamedWeightBytes: one task per (image and group, NR panel) over every
    // tile, so each panel is read once, each call streaming in its share of the next task's
    // panel. Zen 5, 2 threads, 512 -> 512 3x3 s2 at 14x14 (9.4 MB, from DRAM): 791 -> 601 us
    // (tasks of 4 tiles x 64 columns read every panel 3 times, each call pulling 1.2 MB
    // through a 1 MB L2), 557 with the stream; 1x1 s2 1024 -> 2048 at 14x14 527 -> 481.
    if (nblocks_ * block_ * sizeof(float) > kStreamedWeightBytes &&
        ng * nblocks_ >= 2 * static_cast<size_t>(pool.num_threads())) {
      const size_t tasks = ng * nblocks_;
      pool.parallel_for(tasks, [&](size_t task) {
        const size_t ngi = task / nblocks_, b = task % nblocks_;
        const size_t n = ngi / s.groups, g = ngi % s.groups;
        const size_t a_offset = base + n * in.image_stride() + g * kc_;
        const size_t oc0 = b * NR, nc = std::min(NR, cout_g_ - oc0);
        const float* w = packed_.data() + (g * nblocks_ + b) * block_;
        const WeightStream next =
            task + 1 < tasks
                ? WeightStream(packed_.data() + (task + 1) % (s.groups * nblocks_) * block_,
                               block_, mtiles_)
                : WeightStream();
        for (size_t tile = 0; tile < mtiles_; ++tile) {
          const size_t m0 = tile * MR;
          const size_t mr = std::min<size_t>(MR, m_ - m0);
          float* c = out.data + n * out.image_stride() + m0 * out_ps + g * cout_g_ + oc0;
          k_.fn(mr, nc, kc_, ks_, ind_.data() + tile * ks_ * MR, w, c, out_ps, NR, a_offset,
                zero_.data(), params, next.at(tile), next.lines(tile));
          if (pass)
            epilogue_.apply(c, mr, nc, out_ps, residual_at(res, n, m0, g * cout_g_ + oc0),
                            res ? res->ps() : 0);
        }
      });
      return;
    }
    pool.parallel_for_3d(ng, m_chunks, n_chunks, [&](size_t ngi, size_t mc, size_t nch) {
      const size_t n = ngi / s.groups, g = ngi % s.groups;
      const size_t a_offset = base + n * in.image_stride() + g * kc_;
      const size_t oc0 = nch * nc_tile;
      const size_t nc = std::min(nc_tile, cout_g_ - oc0);
      const float* w = packed_.data() + (g * nblocks_ + oc0 / NR) * block_;
      const size_t tile_end = std::min(mtiles_, (mc + 1) * per_chunk);
      for (size_t tile = mc * per_chunk; tile < tile_end; ++tile) {
        const size_t m0 = tile * MR;
        const size_t mr = std::min<size_t>(MR, m_ - m0);
        float* c = out.data + n * out.image_stride() + m0 * out_ps + g * cout_g_ + oc0;
        k_.fn(mr, nc, kc_, ks_, ind_.data() + tile * ks_ * MR, w, c, out_ps, NR, a_offset,
              zero_.data(), params, nullptr, 0);
        if (pass)
          epilogue_.apply(c, mr, nc, out_ps, residual_at(res, n, m0, g * cout_g_ + oc0),
                          res ? res->ps() : 0);
      }
    });
  }

 private:
  IGemmKernel k_;
  size_t kc_, ks_, cout_g_, nblocks_, block_, m_, mtiles_;
  PackedWeights packed_;  // 64-byte aligned: weight loads never straddle cache lines
  std::vector<float> zero_;
  std::vector<const float*> ind_;
};

class IGemmDeconv final : public ConvOp {
 public:
  IGemmDeconv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel(s.cout_g())) {
    const size_t MR = k_.mr, NR = k_.nr;
    kc_ = s.cin_g();
    cout_g_ = s.cout_g();
    nblocks_ = ceil_div(cout_g_, NR);
    const int64_t ks_full = s.taps();
    zero_.assign(kc_ + 16, 0.0f);

    // Per axis, the phases r = o mod stride that a tap reaches (k*dilation - pad = r mod
    // stride), each with its taps in order; at most kernel[a] per axis, whatever the stride.
    // Outputs of the other phases get bias only: run() fills the output with it first.
    std::vector<std::pair<int64_t, std::vector<int64_t>>> axis_phases[3];
    for (int a = 0; a < 3; ++a) {
      const int64_t st = s.stride[a];
      std::map<int64_t, std::vector<int64_t>> taps_of;
      for (int64_t k = 0; k < s.kernel[a]; ++k) {
        const int64_t r = ((k * s.dilation[a] - s.pad_begin[a]) % st + st) % st;
        if (r < s.out[a]) taps_of[r].push_back(k);
      }
      if (static_cast<int64_t>(taps_of.size()) < std::min(st, s.out[a])) fill_ = true;
      axis_phases[a].assign(taps_of.begin(), taps_of.end());
    }
    fill_row_.assign(s.c_out, 0.0f);
    if (bias) std::copy(bias, bias + s.c_out, fill_row_.begin());
    act_row_ = fill_row_;
    if (epilogue_.needs_pass(false)) {
      epilogue_.apply(act_row_.data(), 1, s.c_out, s.c_out, nullptr, 0);
    } else {
      const native::ClampParams* c = epilogue_.kernel_params(false);
      for (float& v : act_row_) v = std::min(std::max(v, c->min), c->max);
    }
    for (const auto& [rd, td] : axis_phases[0])
      for (const auto& [rh, th] : axis_phases[1])
        for (const auto& [rw, tw] : axis_phases[2]) {
          Phase p;
          p.r[0] = rd; p.r[1] = rh; p.r[2] = rw;
          for (int a = 0; a < 3; ++a) p.cnt[a] = (s.out[a] - p.r[a] + s.stride[a] - 1) / s.stride[a];
          std::vector<int64_t> taps;
          for (int64_t kd : td)
            for (int64_t kh : th)
              for (int64_t kw : tw) taps.push_back((kd * s.kernel[1] + kh) * s.kernel[2] + kw);
          p.ks = taps.size();
          const PanelLayout L{NR, k_.kr, p.ks, kc_};
          p.block = L.block_floats();
          p.packed.resize(s.groups * L.floats(cout_g_));
          pack_deconv_weights(p.packed.data(), L, s.groups, cout_g_, weight, ks_full, taps.data(),
                              bias);
          p.packed.share();
          p.wblocks = ceil_div(static_cast<size_t>(p.cnt[2]), MR);
          const size_t rows = p.cnt[0] * p.cnt[1];
          p.ind.resize(rows * p.wblocks * p.ks * MR);
          for (size_t row = 0; row < rows; ++row) {
            const int64_t od = rd + s.stride[0] * (row / p.cnt[1]);
            const int64_t oh = rh + s.stride[1] * (row % p.cnt[1]);
            for (size_t wi = 0; wi < p.wblocks * MR; ++wi) {
              const int64_t ow = rw + s.stride[2] * std::min<int64_t>(wi, p.cnt[2] - 1);
              size_t tp = 0;
              for (int64_t kd : td)
                for (int64_t kh : th)
                  for (int64_t kw : tw) {
                    const int64_t off = deconv_tap_input(s, od, oh, ow, kd, kh, kw);
                    p.ind[((row * p.wblocks + wi / MR) * p.ks + tp) * MR + wi % MR] =
                        off < 0 ? zero_.data() : indirection_offset(off);
                    ++tp;
                  }
            }
            items_.push_back({phases_.size(), row});
          }
          phases_.push_back(std::move(p));
        }
  }

  const char* algorithm() const override { return "igemm"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const bool pass = epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* params = epilogue_.kernel_params(res != nullptr);
    const ConvShape& s = shape_;
    const size_t MR = k_.mr, NR = k_.nr;
    const size_t base = addr_in_floats(in.data);
    const int64_t out_ps = out.ps();
    if (fill_) {
      // Every output gets the bias (through the epilogue); the phases with taps then write theirs.
      constexpr int64_t kRows = 256;
      const int64_t P = out.pixels(), chunks = ceil_div(P, kRows);
      pool.parallel_for_2d(in.n, chunks, [&](size_t n, size_t ch) {
        const int64_t p0 = ch * kRows, rows = std::min(kRows, P - p0);
        float* y = out.data + n * out.image_stride() + p0 * out_ps;
        const float* row = res ? fill_row_.data() : act_row_.data();
        for (int64_t i = 0; i < rows; ++i) std::copy(row, row + s.c_out, y + i * out_ps);
        if (res)
          epilogue_.apply(y, rows, s.c_out, out_ps, res->data + n * res->image_stride() + p0 * res->ps(),
                          res->ps());
      });
    }
    pool.parallel_for_2d(in.n * s.groups, items_.size(), [&](size_t ngi, size_t item) {
      const size_t n = ngi / s.groups, g = ngi % s.groups;
      const Phase& p = phases_[items_[item].phase];
      const size_t row = items_[item].row;
      const int64_t od = p.r[0] + s.stride[0] * (row / p.cnt[1]);
      const int64_t oh = p.r[1] + s.stride[1] * (row % p.cnt[1]);
      const size_t a_offset = base + n * in.image_stride() + g * kc_;
      const float* w = p.packed.data() + g * nblocks_ * p.block;
      float* row_out = out.pixel(n, od, oh, p.r[2]) + g * cout_g_;
      for (size_t wb = 0; wb < p.wblocks; ++wb) {
        const size_t mr = std::min<size_t>(MR, p.cnt[2] - wb * MR);
        float* c = row_out + wb * MR * s.stride[2] * out_ps;
        k_.fn(mr, cout_g_, kc_, p.ks, p.ind.data() + (row * p.wblocks + wb) * p.ks * MR, w, c,
              s.stride[2] * out_ps, NR, a_offset, zero_.data(), params, nullptr, 0);
        if (pass) {
          const int64_t ow = p.r[2] + wb * MR * s.stride[2];
          const float* r = res ? res->pixel(n, od, oh, ow) + g * cout_g_ : nullptr;
          epilogue_.apply(c, mr, cout_g_, s.stride[2] * out_ps, r, res ? s.stride[2] * res->ps() : 0);
        }
      }
    });
  }

 private:
  struct Phase {
    int64_t r[3], cnt[3];
    size_t ks = 0, block = 0, wblocks = 0;
    PackedWeights packed;
    std::vector<const float*> ind;
  };
  struct Item {
    size_t phase, row;
  };
  IGemmKernel k_;
  size_t kc_, cout_g_, nblocks_;
  std::vector<float> zero_;
  bool fill_ = false;                    // some outputs are reached by no tap
  std::vector<float> fill_row_, act_row_;  // bias; bias through the activation and clamp
  std::vector<Phase> phases_;
  std::vector<Item> items_;
};

// A conv whose taps often read only padding (dilated convs on small maps: DeepLab's ASPP, 3x3
// at dilation 12-36 on 14x14) run tap group by tap group. Along each axis, tap k reads inside
// the input for the outputs of one interval, so the outputs a tap reaches form a box; taps with
// the same box form a group, an indirect GEMM over just that box and those taps (no zero
// pointers, no products with padding). The group whose box is the whole output (the centre tap
// of a "same" conv) writes bias + its sum; the others add theirs (through a scratch tile); the
// epilogue runs once at the end. Weights are packed once per group, so they are no larger than
// igemm's: a dilation-24 3x3 conv on 14x14 is one group, a 1x1 conv over every pixel.
class IGemmPrunedConv final : public ConvOp {
 public:
  IGemmPrunedConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel(s.cout_g())) {
    const size_t MR = k_.mr, NR = k_.nr;
    kc_ = s.cin_g();
    cout_g_ = s.cout_g();
    nblocks_ = ceil_div(cout_g_, NR);
    zero_.assign(kc_ + 16, 0.0f);
    const int64_t ks_full = s.taps();
    const int64_t O[3] = {s.out[0], s.out[1], s.out[2]};
    // Groups of taps with equal output boxes, the full-output box first.
    std::vector<std::array<int64_t, 6>> keys;
    std::vector<std::vector<int64_t>> taps;
    for (int64_t t = 0; t < ks_full; ++t) {
      const int64_t k[3] = {t / (s.kernel[1] * s.kernel[2]), t / s.kernel[2] % s.kernel[1],
                            t % s.kernel[2]};
      std::array<int64_t, 6> box;
      bool empty = false;
      for (int a = 0; a < 3; ++a) {
        const Interval v = tap_outputs(s, a, k[a]);
        box[2 * a] = v.lo, box[2 * a + 1] = v.hi;
        empty |= v.lo > v.hi;
      }
      if (empty) continue;
      const size_t gi = std::find(keys.begin(), keys.end(), box) - keys.begin();
      if (gi == keys.size()) keys.push_back(box), taps.emplace_back();
      taps[gi].push_back(t);
    }
    for (size_t gi = 0; gi < keys.size(); ++gi) {
      const auto& b = keys[gi];
      if (b[0] == 0 && b[1] == O[0] - 1 && b[2] == 0 && b[3] == O[1] - 1 && b[4] == 0 &&
          b[5] == O[2] - 1) {
        std::swap(keys[0], keys[gi]);
        std::swap(taps[0], taps[gi]);
        full_ = true;
      }
    }
    // Work is split by blocks of output rows (d, h) of at least 8 MR pixels (a tile never
    // crosses a block: single 14-pixel rows left a third of the tiles 2 pixels wide).
    rows_ = O[0] * O[1];
    row_block_ = std::min<int64_t>(rows_, (8 * int64_t(MR) + O[2] - 1) / O[2]);
    const size_t nrb = ceil_div(rows_, row_block_);
    tiles_.resize(nrb);
    for (size_t gi = 0; gi < keys.size(); ++gi) {
      const auto& b = keys[gi];
      Group g;
      g.ks = taps[gi].size();
      const PanelLayout L{NR, k_.kr, g.ks, kc_};
      g.block = L.block_floats();
      g.packed.resize(s.groups * L.floats(cout_g_));
      pack_conv_weights(g.packed.data(), L, s.groups, cout_g_, weight, ks_full, taps[gi].data(),
                        gi == 0 && full_ ? bias : nullptr);
      g.packed.share();
      for (size_t rb = 0; rb < nrb; ++rb) {
        std::vector<int64_t> pix;
        for (int64_t r = rb * row_block_; r < std::min<int64_t>(rows_, (rb + 1) * row_block_); ++r) {
          const int64_t od = r / O[1], oh = r % O[1];
          if (od < b[0] || od > b[1] || oh < b[2] || oh > b[3]) continue;
          for (int64_t ow = b[4]; ow <= b[5]; ++ow) pix.push_back(r * O[2] + ow);
        }
        for (size_t i = 0; i < pix.size(); i += MR) {
          const size_t mr = std::min(MR, pix.size() - i);
          Tile tile{gi, static_cast<size_t>(pix[i]), mr, ind_.size(), SIZE_MAX};
          bool contiguous = true;
          for (size_t j = 1; j < mr; ++j) contiguous &= pix[i + j] == pix[i] + int64_t(j);
          if (!contiguous || gi > 0 || !full_) {
            tile.rows = pixels_.size();
            pixels_.insert(pixels_.end(), pix.begin() + i, pix.begin() + i + mr);
          }
          for (int64_t t : taps[gi]) {
            const int64_t kd = t / (s.kernel[1] * s.kernel[2]), kh = t / s.kernel[2] % s.kernel[1],
                          kw = t % s.kernel[2];
            for (size_t j = 0; j < MR; ++j) {  // every tap of a group reads inside the input
              const int64_t m = pix[i + std::min(j, mr - 1)];
              const int64_t ow = m % O[2], oh = m / O[2] % O[1], od = m / (O[2] * O[1]);
              ind_.push_back(indirection_offset(conv_tap_input(s, od, oh, ow, kd, kh, kw)));
            }
          }
          tiles_[rb].push_back(tile);
        }
      }
      groups_.push_back(std::move(g));
    }
    bias_.assign(s.c_out, 0.0f);
    if (bias) std::copy(bias, bias + s.c_out, bias_.begin());
  }

  const char* algorithm() const override { return "igemm_pruned"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    const size_t NR = k_.nr;
    // One group writing the whole output: the clamp runs in the kernel as in igemm.
    const bool single = full_ && groups_.size() == 1;
    const bool pass = !single || epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* params =
        single ? epilogue_.kernel_params(res != nullptr) : epilogue_.kernel_params(true);
    const size_t ng = in.n * s.groups;
    const size_t nc_tile = cout_g_ <= 128 ? cout_g_ : 64;
    const size_t n_chunks = ceil_div(cout_g_, nc_tile);
    const size_t base = addr_in_floats(in.data);
    const int64_t out_ps = out.ps(), W = s.out[2];
    pool.parallel_for_3d(ng, tiles_.size(), n_chunks, [&](size_t ngi, size_t rb, size_t nch) {
      const size_t n = ngi / s.groups, g = ngi % s.groups;
      const size_t a_offset = base + n * in.image_stride() + g * kc_;
      const size_t oc0 = nch * nc_tile;
      const size_t nc = std::min(nc_tile, cout_g_ - oc0);
      float* o = out.data + n * out.image_stride() + g * cout_g_ + oc0;
      const int64_t r0 = rb * row_block_, r1 = std::min<int64_t>(rows_, r0 + row_block_);
      if (!full_)  // no group reaches every pixel: start from the bias
        for (int64_t m = r0 * W; m < r1 * W; ++m)
          std::copy_n(bias_.data() + g * cout_g_ + oc0, nc, o + m * out_ps);
      thread_local Buffer scratch;
      const size_t ns = round_up(nc, NR);
      if (scratch.size() < k_.mr * ns) scratch.resize(k_.mr * ns);
      for (const Tile& t : tiles_[rb]) {
        const Group& gr = groups_[t.group];
        const float* w = gr.packed.data() + (g * nblocks_ + oc0 / NR) * gr.block;
        if (t.rows == SIZE_MAX) {
          k_.fn(t.mr, nc, kc_, gr.ks, ind_.data() + t.ind, w, o + t.m0 * out_ps, out_ps, NR,
                a_offset, zero_.data(), params, nullptr, 0);
          continue;
        }
        k_.fn(t.mr, nc, kc_, gr.ks, ind_.data() + t.ind, w, scratch.data(), ns, NR, a_offset,
              zero_.data(), &no_clamp_, nullptr, 0);
        const bool add = t.group > 0 || !full_;
        for (size_t j = 0; j < t.mr; ++j) {
          float* c = o + pixels_[t.rows + j] * out_ps;
          const float* v = scratch.data() + j * ns;
          if (add)
            for (size_t i = 0; i < nc; ++i) c[i] += v[i];
          else
            std::copy_n(v, nc, c);
        }
      }
      if (pass)
        for (int64_t m = r0 * W; m < r1 * W; ++m)
          epilogue_.apply(o + m * out_ps, 1, nc, 0, residual_at(res, n, m, g * cout_g_ + oc0), 0);
    });
  }

 private:
  struct Group {
    size_t ks = 0, block = 0;
    PackedWeights packed;
  };
  struct Tile {
    size_t group, m0, mr, ind;
    size_t rows;  // SIZE_MAX: pixels m0 .. m0 + mr - 1, written in place; else at pixels_[rows]
  };
  IGemmKernel k_;
  size_t kc_, cout_g_, nblocks_;
  bool full_ = false;
  int64_t rows_ = 0, row_block_ = 1;
  native::ClampParams no_clamp_{-INFINITY, INFINITY};
  std::vector<float> zero_, bias_;
  std::vector<Group> groups_;
  std::vector<std::vector<Tile>> tiles_;  // per block of output rows
  std::vector<size_t> pixels_;
  std::vector<const float*> ind_;
};

}  // namespace

Interval tap_outputs(const ConvShape& s, int a, int64_t k) {
  // outputs o with 0 <= o * stride - pad + k * dilation <= in - 1
  const int64_t st = s.stride[a], off = k * s.dilation[a] - s.pad_begin[a];
  const int64_t lo = std::max<int64_t>(0, -floor_div(off, st));
  const int64_t hi = std::min<int64_t>(s.out[a] - 1, floor_div(s.in[a] - 1 - off, st));
  return {lo, hi};
}

double pruned_tap_fraction(const ConvShape& s) {
  if (s.transposed) return 1.0;
  double f = 1.0;
  for (int a = 0; a < 3; ++a) {
    int64_t useful = 0;
    for (int64_t k = 0; k < s.kernel[a]; ++k) {
      const Interval v = tap_outputs(s, a, k);
      useful += std::max<int64_t>(0, v.hi - v.lo + 1);
    }
    f *= double(useful) / double(s.out[a] * s.kernel[a]);
  }
  return f;
}

std::unique_ptr<ConvOp> make_igemm_pruned_conv(const ConvShape& s, const float* weight,
                                               const float* bias, const Activation& act) {
  if (s.transposed) throw std::invalid_argument("igemm_pruned does not apply to " + s.describe());
  return std::make_unique<IGemmPrunedConv>(s, weight, bias, act);
}

std::unique_ptr<ConvOp> make_igemm_conv(const ConvShape& s, const float* weight, const float* bias,
                                        const Activation& act) {
  return std::make_unique<IGemmConv>(s, weight, bias, act);
}

std::unique_ptr<ConvOp> make_igemm_deconv(const ConvShape& s, const float* weight,
                                          const float* bias, const Activation& act) {
  return std::make_unique<IGemmDeconv>(s, weight, bias, act);
}

}  // namespace ce
