#include "engine/group_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/indirection.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

class GroupConv final : public ConvOp {
 public:
  GroupConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(gconv_kernel()) {
    cin_g_ = s.cin_g();
    cout_g_ = s.cout_g();
    ks_ = s.taps();
    const size_t NR = k_.nr;
    win_ = NR * cin_g_ / cout_g_;
    // Blocks of NR output channels over all groups: per tap and group-local input channel i,
    // lane l holds output channel NR b + l.
    const PanelLayout L{NR, 1, ks_, cin_g_};
    nblocks_ = L.blocks(s.c_out);
    block_ = L.block_floats();
    packed_.resize(L.floats(s.c_out));
    pack_conv_weights(packed_.data(), L, 1, s.c_out, weight, ks_, nullptr, bias);
    packed_.share();
    zero_.assign(16, 0.0f);
    m_ = s.out[0] * s.out[1] * s.out[2];
    mtiles_ = ceil_div(m_, k_.mr);
    ind_ = conv_indirection(s, k_.mr, zero_.data());
  }

  const char* algorithm() const override { return "group"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    const size_t MR = k_.mr, NR = k_.nr;
    const size_t threads = pool.num_threads();
    // Channel chunks only when pixel tiles alone give the threads too few tasks.
    size_t chunk_blocks = nblocks_;
    while (chunk_blocks > 1 && in.n * mtiles_ * ceil_div(nblocks_, chunk_blocks) < 4 * threads)
      chunk_blocks = ceil_div(chunk_blocks, 2);
    const size_t c_chunks = ceil_div(nblocks_, chunk_blocks);
    const size_t per_chunk =
        threads == 1 ? mtiles_ : std::clamp<size_t>(in.n * c_chunks * mtiles_ / (8 * threads), 1, 16);
    const size_t m_chunks = ceil_div(mtiles_, per_chunk);
    const size_t base = addr_in_floats(in.data);
    const size_t out_ps = out.ps();
    const bool pass = epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* params = epilogue_.kernel_params(res != nullptr);
    // A residual stored in the output itself is saved per tile before the kernel overwrites it.
    const bool save_res = res && views_overlap(*res, out);
    pool.parallel_for_3d(in.n, m_chunks, c_chunks, [&](size_t n, size_t mc, size_t cc) {
      const size_t b0 = cc * chunk_blocks;
      const size_t nc = std::min<size_t>(chunk_blocks * NR, s.c_out - b0 * NR);
      const size_t a_offset = base + n * in.image_stride() + b0 * win_;
      const size_t in_valid = s.c_in - b0 * win_;
      const float* w = packed_.data() + b0 * block_;
      std::vector<float> saved(save_res ? MR * nc : 0);
      const size_t t_end = std::min(mtiles_, (mc + 1) * per_chunk);
      for (size_t t = mc * per_chunk; t < t_end; ++t) {
        const size_t m0 = t * MR, mr = std::min(MR, m_ - m0);
        float* c = out.data + n * out.image_stride() + m0 * out_ps + b0 * NR;
        const float* r = residual_at(res, n, m0, b0 * NR);
        size_t r_stride = res ? res->ps() : 0;
        if (save_res) {
          for (size_t i = 0; i < mr; ++i) std::copy(r + i * r_stride, r + i * r_stride + nc, &saved[i * nc]);
          r = saved.data();
          r_stride = nc;
        }
        k_.fn(mr, nc, ks_, cin_g_, cout_g_, ind_.data() + t * ks_ * MR, a_offset, zero_.data(), w, c,
              out_ps, in_valid, params);
        if (pass) epilogue_.apply(c, mr, nc, out_ps, r, r_stride);
      }
    });
  }

  GConvKernel k_;
  size_t cin_g_, cout_g_, ks_, win_, nblocks_, block_, m_, mtiles_;
  PackedWeights packed_;  // 64-byte aligned: weight loads never straddle cache lines
  std::vector<float> zero_;
  std::vector<const float*> ind_;
};

}  // namespace

bool group_applies(const ConvShape& s) {
  if (s.transposed) return false;
  const int64_t cg = s.cout_g();
  return (cg == 1 || cg == 2 || cg == 4 || cg == 8) && s.cin_g() <= cg;
}

std::unique_ptr<ConvOp> make_group_conv(const ConvShape& s, const float* weight, const float* bias,
                                        const Activation& act) {
  return std::make_unique<GroupConv>(s, weight, bias, act);
}

}  // namespace ce
