#include "engine/igemm_conv.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "engine/dispatch.h"

namespace ce {

namespace {


// Packs one group's weights for the taps in `taps` (indices into the full kernel). get(oc, ic, t)
// returns the weight of group-local output channel oc, input channel ic, full-kernel tap t.
template <class Get>
void pack_group(float* dst, size_t nr, int64_t cout_g, int64_t kc, const std::vector<int64_t>& taps,
                const float* bias, Get get) {
  const size_t ks = taps.size();
  const size_t block = nr * (1 + ks * kc);
  for (int64_t oc = 0; oc < cout_g; ++oc) {
    float* b = dst + (oc / nr) * block;
    const size_t j = oc % nr;
    b[j] = bias ? bias[oc] : 0.0f;
    for (size_t tp = 0; tp < ks; ++tp)
      for (int64_t ic = 0; ic < kc; ++ic) b[nr + (tp * kc + ic) * nr + j] = get(oc, ic, taps[tp]);
  }
}

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

class IGemmConv final : public ConvOp {
 public:
  IGemmConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel()) {
    const size_t MR = k_.mr, NR = k_.nr;
    kc_ = s.cin_g();
    ks_ = s.taps();
    cout_g_ = s.cout_g();
    nblocks_ = ceil_div(cout_g_, NR);
    block_ = NR * (1 + ks_ * kc_);
    packed_.assign(s.groups * nblocks_ * block_, 0.0f);
    std::vector<int64_t> all_taps(ks_);
    for (size_t t = 0; t < ks_; ++t) all_taps[t] = t;
    for (int64_t g = 0; g < s.groups; ++g) {
      const float* wg = weight + g * cout_g_ * kc_ * ks_;
      pack_group(packed_.data() + g * nblocks_ * block_, NR, cout_g_, kc_, all_taps,
                 bias ? bias + g * cout_g_ : nullptr,
                 [&](int64_t oc, int64_t ic, int64_t t) { return wg[(oc * kc_ + ic) * ks_ + t]; });
    }
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
              zero_.data(), params);
        if (pass)
          epilogue_.apply(c, mr, nc, out_ps, residual_at(res, n, m0, g * cout_g_ + oc0),
                          res ? res->ps() : 0);
      }
    });
  }

 private:
  IGemmKernel k_;
  size_t kc_, ks_, cout_g_, nblocks_, block_, m_, mtiles_;
  std::vector<float> packed_, zero_;
  std::vector<const float*> ind_;
};

class IGemmDeconv final : public ConvOp {
 public:
  IGemmDeconv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel()) {
    const size_t MR = k_.mr, NR = k_.nr;
    kc_ = s.cin_g();
    cout_g_ = s.cout_g();
    nblocks_ = ceil_div(cout_g_, NR);
    const int64_t ks_full = s.taps();
    zero_.assign(kc_ + 16, 0.0f);
    const int64_t ps = s.in_ps();

    // Per axis and phase r = o mod stride: the taps that reach it and its output count.
    std::vector<std::vector<int64_t>> axis_taps[3];
    std::vector<int64_t> axis_cnt[3];
    for (int a = 0; a < 3; ++a) {
      const int64_t st = s.stride[a];
      axis_taps[a].resize(st);
      axis_cnt[a].resize(st);
      for (int64_t r = 0; r < st; ++r) {
        for (int64_t k = 0; k < s.kernel[a]; ++k) {
          const int64_t num = r + s.pad_begin[a] - k * s.dilation[a];
          if (((num % st) + st) % st == 0) axis_taps[a][r].push_back(k);
        }
        axis_cnt[a][r] = r < s.out[a] ? (s.out[a] - r + st - 1) / st : 0;
      }
    }

    for (int64_t rd = 0; rd < s.stride[0]; ++rd)
      for (int64_t rh = 0; rh < s.stride[1]; ++rh)
        for (int64_t rw = 0; rw < s.stride[2]; ++rw) {
          Phase p;
          p.r[0] = rd; p.r[1] = rh; p.r[2] = rw;
          p.cnt[0] = axis_cnt[0][rd]; p.cnt[1] = axis_cnt[1][rh]; p.cnt[2] = axis_cnt[2][rw];
          if (p.cnt[0] == 0 || p.cnt[1] == 0 || p.cnt[2] == 0) continue;
          const auto &td = axis_taps[0][rd], &th = axis_taps[1][rh], &tw = axis_taps[2][rw];
          std::vector<int64_t> taps;
          for (int64_t kd : td)
            for (int64_t kh : th)
              for (int64_t kw : tw) taps.push_back((kd * s.kernel[1] + kh) * s.kernel[2] + kw);
          p.ks = taps.size();
          p.block = NR * (1 + p.ks * kc_);
          p.packed.assign(s.groups * nblocks_ * p.block, 0.0f);
          for (int64_t g = 0; g < s.groups; ++g)
            pack_group(p.packed.data() + g * nblocks_ * p.block, NR, cout_g_, kc_, taps,
                       bias ? bias + g * cout_g_ : nullptr, [&](int64_t oc, int64_t ic, int64_t t) {
                         return weight[((g * kc_ + ic) * cout_g_ + oc) * ks_full + t];
                       });
          p.wblocks = ceil_div(p.cnt[2], MR);
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
                    const int64_t nd = od + s.pad_begin[0] - kd * s.dilation[0];
                    const int64_t nh = oh + s.pad_begin[1] - kh * s.dilation[1];
                    const int64_t nw = ow + s.pad_begin[2] - kw * s.dilation[2];
                    const int64_t id = nd / s.stride[0], ih = nh / s.stride[1], iw = nw / s.stride[2];
                    const bool inside = nd >= 0 && nh >= 0 && nw >= 0 && id < s.in[0] &&
                                        ih < s.in[1] && iw < s.in[2];
                    p.ind[((row * p.wblocks + wi / MR) * p.ks + tp) * MR + wi % MR] =
                        inside ? indirection_offset(((id * s.in[1] + ih) * s.in[2] + iw) * ps) : zero_.data();
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
              s.stride[2] * out_ps, NR, a_offset, zero_.data(), params);
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
    std::vector<float> packed;
    std::vector<const float*> ind;
  };
  struct Item {
    size_t phase, row;
  };
  IGemmKernel k_;
  size_t kc_, cout_g_, nblocks_;
  std::vector<float> zero_;
  std::vector<Phase> phases_;
  std::vector<Item> items_;
};

}  // namespace

std::vector<const float*> conv_indirection(const ConvShape& s, size_t mr, const float* zero) {
  const size_t ks = s.taps();
  const size_t m_total = s.out[0] * s.out[1] * s.out[2];
  const size_t tiles = (m_total + mr - 1) / mr;
  std::vector<const float*> ind(tiles * ks * mr);
  const int64_t ps = s.in_ps();
  for (size_t m = 0; m < tiles * mr; ++m) {
    const int64_t mm = std::min<int64_t>(m, m_total - 1);
    const int64_t ow = mm % s.out[2], oh = (mm / s.out[2]) % s.out[1], od = mm / (s.out[2] * s.out[1]);
    for (size_t t = 0; t < ks; ++t) {
      const int64_t kw = t % s.kernel[2], kh = (t / s.kernel[2]) % s.kernel[1],
                    kd = t / (s.kernel[2] * s.kernel[1]);
      const int64_t id = od * s.stride[0] - s.pad_begin[0] + kd * s.dilation[0];
      const int64_t ih = oh * s.stride[1] - s.pad_begin[1] + kh * s.dilation[1];
      const int64_t iw = ow * s.stride[2] - s.pad_begin[2] + kw * s.dilation[2];
      const bool inside = id >= 0 && id < s.in[0] && ih >= 0 && ih < s.in[1] && iw >= 0 && iw < s.in[2];
      ind[(m / mr) * ks * mr + t * mr + m % mr] =
          inside ? indirection_offset(((id * s.in[1] + ih) * s.in[2] + iw) * ps) : zero;
    }
  }
  return ind;
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
