#include "engine/stem_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/indirection.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

// Per calling thread: the W-padded input copy (grow-only, so repeated calls do not fault in
// fresh pages).
Buffer& padded_scratch() {
  static thread_local Buffer b;
  return b;
}

class IGemmRowsConv final : public ConvOp {
 public:
  IGemmRowsConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(igemm_kernel(s.c_out)) {
    const size_t MR = k_.mr;
    const int64_t C = s.c_in, KD = s.kernel[0], KH = s.kernel[1], KW = s.kernel[2];
    kc_ = KW * C;
    ks_ = KD * KH;
    cout_ = s.c_out;
    const PanelLayout L{k_.nr, k_.kr, ks_, kc_};
    block_ = L.block_floats();
    packed_.resize(L.floats(cout_));
    pack_conv_row_weights(packed_.data(), L, cout_, C, KW, weight, bias);
    packed_.share();
    zero_.assign(kc_ + 16, 0.0f);

    copy_ = s.pad_begin[2] > 0 || s.pad_end[2] > 0 || s.in_ps() != C;
    wp_ = s.in[2] + s.pad_begin[2] + s.pad_end[2];
    // Pixel stride of the source rows: the padded copy is compact; otherwise the input itself.
    const int64_t row_w = copy_ ? wp_ : s.in[2];
    image_floats_ = s.in[0] * s.in[1] * row_w * C;

    m_ = s.out[0] * s.out[1] * s.out[2];
    mtiles_ = ceil_div(m_, MR);
    // The rows' pointers are those of a conv with one tap per row over the source rows
    // (padded coordinates: the copy holds the W padding, no copy means there is none).
    ConvShape rows = s;
    rows.kernel[2] = 1;
    rows.pad_begin[2] = rows.pad_end[2] = 0;
    rows.in[2] = row_w;
    rows.in_pixel_stride = C;
    ind_ = conv_indirection(rows, MR, zero_.data());

    // Output channels per task: whole pixels up to 128 channels. Splitting the stem's 64 into
    // 16-channel tasks (weights in L1) was 7% slower: each output line is then written in four
    // passes, long after it left the cache.
    nc_tile_ = cout_ <= 128 ? cout_ : 64;
  }

  const char* algorithm() const override { return "igemm_rows"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    const bool pass = epilogue_.needs_pass(res != nullptr);
    const native::ClampParams* params = epilogue_.kernel_params(res != nullptr);

    const size_t N = in.n;
    const float* src = in.data;
    size_t img_stride = in.image_stride();
    if (copy_) {
      Buffer& buf = padded_scratch();
      if (buf.size() < N * image_floats_) {
        buf.clear();
        buf.shrink_to_fit();
        buf.resize(N * image_floats_);
      }
      float* dst = buf.data();
      const int64_t C = s.c_in, W = s.in[2], pl = s.pad_begin[2], pr = s.pad_end[2];
      const int64_t ps = in.ps();
      const size_t rows = N * s.in[0] * s.in[1];
      const size_t per = std::max<size_t>(1, rows / (8 * pool.num_threads()));
      pool.parallel_for(ceil_div(rows, per), [&](size_t task) {
        const size_t r1 = std::min(rows, (task + 1) * per);
        for (size_t r = task * per; r < r1; ++r) {
          const float* x = in.data + r * W * ps;
          float* y = dst + r * wp_ * C;
          std::memset(y, 0, pl * C * sizeof(float));
          if (ps == C) {
            std::memcpy(y + pl * C, x, W * C * sizeof(float));
          } else {
            for (int64_t i = 0; i < W; ++i)
              std::memcpy(y + (pl + i) * C, x + i * ps, C * sizeof(float));
          }
          std::memset(y + (pl + W) * C, 0, pr * C * sizeof(float));
        }
      });
      src = dst;
      img_stride = image_floats_;
    }

    const size_t MR = k_.mr, NR = k_.nr;
    const size_t n_chunks = ceil_div(cout_, nc_tile_);
    const size_t tiles = N * n_chunks * mtiles_;
    const size_t target = 8 * static_cast<size_t>(pool.num_threads());
    const size_t per_chunk = std::clamp<size_t>(tiles / target, 1, 16);
    const size_t m_chunks = ceil_div(mtiles_, per_chunk);
    const size_t base = addr_in_floats(src);
    const int64_t out_ps = out.ps();
    pool.parallel_for_3d(N, m_chunks, n_chunks, [&](size_t n, size_t mc, size_t nch) {
      const size_t a_offset = base + n * img_stride;
      const size_t oc0 = nch * nc_tile_;
      const size_t nc = std::min(nc_tile_, cout_ - oc0);
      const float* w = packed_.data() + (oc0 / NR) * block_;
      const size_t tile_end = std::min(mtiles_, (mc + 1) * per_chunk);
      for (size_t tile = mc * per_chunk; tile < tile_end; ++tile) {
        const size_t m0 = tile * MR;
        const size_t mr = std::min<size_t>(MR, m_ - m0);
        float* c = out.data + n * out.image_stride() + m0 * out_ps + oc0;
        k_.fn(mr, nc, kc_, ks_, ind_.data() + tile * ks_ * MR, w, c, out_ps, NR, a_offset,
              zero_.data(), params, nullptr, 0);
        if (pass)
          epilogue_.apply(c, mr, nc, out_ps, residual_at(res, n, m0, oc0), res ? res->ps() : 0);
      }
    });
  }

 private:
  IGemmKernel k_;
  bool copy_ = false;
  int64_t wp_ = 0;
  size_t image_floats_ = 0;
  size_t kc_, ks_, cout_, block_, m_, mtiles_, nc_tile_;
  PackedWeights packed_;  // 64-byte aligned: weight loads never straddle cache lines
  std::vector<float> zero_;
  std::vector<const float*> ind_;
};

}  // namespace

bool igemm_rows_applies(const ConvShape& s) {
  return !s.transposed && s.groups == 1 && s.dilation[2] == 1 && s.c_in >= 1 && s.c_out >= 1;
}

std::unique_ptr<ConvOp> make_igemm_rows_conv(const ConvShape& s, const float* weight,
                                             const float* bias, const Activation& act) {
  if (!igemm_rows_applies(s))
    throw std::invalid_argument("igemm_rows does not apply to " + s.describe());
  return std::make_unique<IGemmRowsConv>(s, weight, bias, act);
}

}  // namespace ce
