#include "engine/steps_conv.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "engine/arith.h"
#include "engine/buffer.h"
#include "engine/strided.h"

namespace ce {

namespace {

class ConvStep final : public Step {
 public:
  ConvStep(std::unique_ptr<ConvOp> op, const TRef& in, const TRef& out, const TRef* res)
      : op_(std::move(op)), in_(in), out_(out), has_res_(res != nullptr) {
    require_cl(in, "conv input");
    require_cl(out, "conv output");
    if (res) {
      require_cl(*res, "conv residual");
      res_ = *res;
      reads.push_back(*res);
    }
    reads.push_back(in);
    writes.push_back(out);
    algorithm = op_->algorithm();
    flops = 2.0 * static_cast<double>(op_->shape().macs()) * in.shape[0];
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    if (has_res_) {
      const TensorView rv = channels_last_view(res_, b.base[res_.buf]);
      op_->forward(iv, ov, pool, &rv);
    } else {
      op_->forward(iv, ov, pool);
    }
  }

  // Public: BandChainStep and fuse_conv_bands (below) take the step apart.
  std::unique_ptr<ConvOp> op_;
  TRef in_, out_, res_;
  bool has_res_;
};

// A step whose work another step does (the second and third conv of a fused chain): it keeps
// its place, so the plan's steps still match the compiled model's, and does nothing.
class FusedAwayStep final : public Step {
 public:
  void run(const RunBuffers&, ThreadPool&) const override {}
};

// The bands of the expanded and the depthwise output together within this many bytes per
// thread (half of Zen 4's 1 MB L2). Chains fuse when the expanded tensor of one image is at
// least kMinFuseBytes. Measured on Zen 4, 1 thread, paired medians of fused / unfused
// (MobileNetV2 blocks, 3x3 depthwise): 16->96->24 at 112x112 s2 (4.8 MB) 0.77, 16->96->16 at
// 112x112 (4.8 MB) 0.55, 24->144->24 at 56x56 (1.8 MB) 0.94, 24->144->32 at 56x56 s2 0.94,
// 32->192->32 at 28x28 (0.6 MB) 0.97, 96->576->96 at 14x14 (0.45 MB) 1.00. Depthwise ->
// pointwise pairs (+ residual) fuse when the depthwise output is kMinFusePairBytes or more:
// 32 ch at 112x112 (1.6 MB) 0.98, 128 ch at 56x56 0.95, 96 ch at 56x56 0.98, 256 ch at 28x28
// (0.8 MB) 0.98.
// Each band runs the 1x1 convs over only a few rows, so their weights are read once per band:
// chains and pairs fuse only while the 1x1 weights together are at most kMaxFuseWeightBytes
// (they stay in L2 beside the bands). Measured on Zen 4, 1 thread, timm legacy_xception's
// chains, fused / unfused (per-step profile medians): 64->128->128 at 147x147 (96 KB of
// weights) 0.94; 128->256->256 at 74x74 (384 KB) 1.04; 256->728->728 at 37x37 (2.8 MB) 1.02;
// 728->728->728 at 19x19 (4.1 MB) 1.08. The whole model 173 -> 165 ms with this limit.
constexpr int64_t kBandBytes = 384 * 1024;
constexpr int64_t kMinFuseBytes = 512 * 1024;
constexpr int64_t kMinFusePairBytes = 512 * 1024;
constexpr int64_t kMaxFuseWeightBytes = 256 * 1024;

int64_t pointwise_weight_bytes(const ConvShape& s) {
  return 4 * s.c_out * s.cin_g() * s.taps();
}

// Pointwise expand -> depthwise -> pointwise project (MobileNet's inverted residual, or any
// depthwise between two 1x1 convs) in bands of output rows: per band, the expand conv fills
// the input rows the depthwise conv needs (keeping the rows the previous band already has),
// the depthwise conv writes the band's rows, the project conv reads them; the expanded and
// depthwise tensors never leave the thread's band buffers (L2). Each thread takes a strip of
// consecutive bands of one image, so only strip boundaries recompute expanded rows. Without
// an expand conv (a == nullptr: a depthwise -> pointwise pair) the depthwise conv reads its
// input tensor directly.
class BandChainStep final : public Step {
 public:
  BandChainStep(std::unique_ptr<ConvStep> a, std::unique_ptr<ConvStep> b, std::unique_ptr<ConvStep> c)
      : a_(std::move(a)), b_(std::move(b)), c_(std::move(c)) {
    const ConvStep& first = a_ ? *a_ : *b_;
    name = first.name;
    op = first.op;
    algorithm = first.algorithm + (a_ ? " (bands: + depthwise + gemm)" : " (bands: + gemm)");
    flops = first.flops;
    reads = first.reads;
    if (c_->has_res_) reads.push_back(c_->res_);
    writes = c_->writes;
    const ConvShape& d = b_->op_->shape();
    ch_ = d.c_in;
    H_ = d.in[1];
    W_ = d.in[2];
    OH_ = d.out[1];
    OW_ = d.out[2];
    sh_ = d.stride[1];
    pt_ = d.pad_begin[1];
    span_ = (d.kernel[1] - 1) * d.dilation[1] + 1;
    const int64_t row_bytes = 4 * ch_ * ((a_ ? sh_ * W_ : 0) + OW_);
    const int64_t fixed = a_ ? 4 * ch_ * W_ * (span_ - sh_) : 0;
    rows_ = std::clamp<int64_t>((kBandBytes - fixed) / row_bytes, 1, OH_);
  }

  void run(const RunBuffers& bufs, ThreadPool& pool) const override {
    const TRef& in = a_ ? a_->in_ : b_->in_;
    const TensorView x = channels_last_view(in, bufs.base[in.buf]);
    const TensorView y = channels_last_view(c_->out_, bufs.base[c_->out_.buf]);
    TensorView r;
    if (c_->has_res_) r = channels_last_view(c_->res_, bufs.base[c_->res_.buf]);
    // Each image splits into strips of equal row counts (bands of rows_ within a strip), as
    // many as make the images x strips items a multiple of the threads: splitting by whole
    // bands left 2 threads 3:2 or 2:1 shares on MobileNetV2's chains (1.77x scaling, Zen 4).
    const int64_t T = pool.num_threads();
    const int64_t strips = std::min<int64_t>(OH_, T / std::gcd<int64_t>(x.n, T));
    pool.parallel_for_2d(x.n, strips, [&](size_t n, size_t st) {
      run_strip(x, y, c_->has_res_ ? &r : nullptr, n, OH_ * st / strips,
                OH_ * (st + 1) / strips, pool);
    });
  }

 private:
  void run_strip(const TensorView& x, const TensorView& y, const TensorView* r, int64_t n,
                 int64_t y_begin, int64_t y_end, ThreadPool& pool) const {
    static thread_local Buffer abuf, bbuf;  // 64-byte aligned: the zmm depthwise path needs it
    if (a_) abuf.resize(((rows_ - 1) * sh_ + span_) * W_ * ch_);
    bbuf.resize(rows_ * OW_ * ch_);
    int64_t have0 = 0, have1 = 0;  // input rows of the depthwise conv now in abuf
    for (int64_t y0 = y_begin; y0 < y_end; y0 += rows_) {
      const int64_t y1 = std::min(y_end, y0 + rows_);
      const TensorView bout{bbuf.data(), 1, 1, y1 - y0, OW_, ch_, 0};
      if (!a_) {
        TensorView xin = x;
        xin.data = x.pixel(n, 0, 0, 0);
        xin.n = 1;
        b_->op_->run_band(xin, 0, bout, y0, pool);
      } else {
        expand_and_filter(x, n, y0, y1, abuf, &have0, &have1, bout, pool);
      }
      TensorView yout = y;
      yout.data = y.pixel(n, 0, y0, 0);
      yout.n = 1;
      yout.h = y1 - y0;
      if (r) {
        TensorView rr = *r;
        rr.data = r->pixel(n, 0, y0, 0);
        rr.n = 1;
        rr.h = y1 - y0;
        c_->op_->run_view(bout, yout, &rr, pool);
      } else {
        c_->op_->run_view(bout, yout, nullptr, pool);
      }
    }
  }

  // Output rows y0 .. y1 - 1 of the depthwise conv into bout, from the rows of the expand
  // conv it needs; abuf holds the expand conv's rows have0 .. have1 - 1 (the previous band's),
  // of which those still needed move to its front.
  void expand_and_filter(const TensorView& x, int64_t n, int64_t y0, int64_t y1,
                         Buffer& abuf, int64_t* have0, int64_t* have1,
                         const TensorView& bout, ThreadPool& pool) const {
    const int64_t lo = std::max<int64_t>(0, y0 * sh_ - pt_);
    const int64_t hi = std::min(H_, (y1 - 1) * sh_ - pt_ + span_);
    const int64_t row = W_ * ch_;
    int64_t keep = 0;
    if (lo < *have1 && lo >= *have0) {
      keep = *have1 - lo;
      std::copy(abuf.begin() + (lo - *have0) * row, abuf.begin() + (*have1 - *have0) * row,
                abuf.begin());
    }
    if (hi > lo + keep) {
      TensorView xin = x;
      xin.data = x.pixel(n, 0, lo + keep, 0);
      xin.n = 1;
      xin.h = hi - lo - keep;
      const TensorView aout{abuf.data() + keep * row, 1, 1, hi - lo - keep, W_, ch_, 0};
      a_->op_->run_view(xin, aout, nullptr, pool);
    }
    *have0 = lo;
    *have1 = hi;
    const TensorView ain{abuf.data(), 1, 1, hi - lo, W_, ch_, 0};
    b_->op_->run_band(ain, lo, bout, y0, pool);
  }

  std::unique_ptr<ConvStep> a_, b_, c_;  // a_ may be null
  int64_t ch_, H_, W_, OH_, OW_, sh_, pt_, span_, rows_;
};

bool same_ref(const TRef& a, const TRef& b) {
  if (a.buf != b.buf || a.offset != b.offset || a.rank != b.rank) return false;
  for (int i = 0; i < a.rank; ++i)
    if (a.shape[i] != b.shape[i] || a.strides[i] != b.strides[i]) return false;
  return true;
}

bool overlap(const TRef& a, const TRef& b) {
  if (a.buf != b.buf) return false;
  int64_t alo, ahi, blo, bhi;
  a.extent(&alo, &ahi);
  b.extent(&blo, &bhi);
  return alo < bhi && blo < ahi;
}

// Whether every element of r was written by one of steps i+1 .. j-1 (a tensor produced after
// step i, in memory a later step reuses): the same view, or a contiguous write around it.
bool produced_between(const std::vector<std::unique_ptr<Step>>& steps, size_t i, size_t j,
                      const TRef& r) {
  int64_t lo, hi;
  r.extent(&lo, &hi);
  for (size_t k = i + 1; k < j; ++k)
    for (const TRef& w : steps[k]->writes) {
      if (w.buf != r.buf) continue;
      if (same_ref(w, r)) return true;
      int64_t wlo, whi;
      w.extent(&wlo, &whi);
      if (w.numel() == whi - wlo && wlo <= lo && whi >= hi) return true;
    }
  return false;
}

// Whether the arena tensor t, written by step i, is read by no step after i other than `user`.
// Later steps reuse its memory for other tensors: a read that overlaps t counts only if the
// elements it reads were not produced after step i.
bool read_only_by(const std::vector<std::unique_ptr<Step>>& steps, size_t i, const TRef& t,
                  size_t user) {
  for (size_t j = i + 1; j < steps.size(); ++j) {
    if (j == user) continue;
    for (const TRef& r : steps[j]->reads)
      if (overlap(r, t) && !produced_between(steps, i, j, r)) return false;
  }
  return true;
}



class DeformStep final : public Step {
 public:
  DeformStep(std::unique_ptr<DeformConvOp> op, const TRef& in, const TRef& off, const TRef* mask,
             const TRef& out)
      : op_(std::move(op)), in_(in), off_(off), out_(out), has_mask_(mask != nullptr) {
    require_cl(in, "deform input");
    require_cl(off, "deform offset");
    require_cl(out, "deform output");
    reads = {in, off};
    if (mask) {
      require_cl(*mask, "deform mask");
      mask_ = *mask;
      reads.push_back(*mask);
    }
    writes.push_back(out);
    algorithm = "deform_im2col_gemm";
    const DeformShape& s = op_->shape();
    flops = 2.0 * s.out[0] * s.out[1] * s.c_out * s.cin_g() * s.taps() * in.shape[0];
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView fv = channels_last_view(off_, b.base[off_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    if (has_mask_) {
      const TensorView mv = channels_last_view(mask_, b.base[mask_.buf]);
      op_->forward(iv, fv, &mv, ov, pool);
    } else {
      op_->forward(iv, fv, nullptr, ov, pool);
    }
  }

 private:
  std::unique_ptr<DeformConvOp> op_;
  TRef in_, off_, mask_, out_;
  bool has_mask_;
};

}  // namespace

void fuse_conv_bands(std::vector<std::unique_ptr<Step>>& steps) {
  auto away = [](const Step& s, const char* algo) {
    auto f = std::make_unique<FusedAwayStep>();
    f->name = s.name;
    f->op = s.op;
    f->algorithm = algo;
    f->flops = s.flops;
    return f;
  };
  // The residual of the last conv is read band by band while the output is written: it is the
  // output itself (the gemm saves each tile's rows first) or elsewhere.
  auto residual_fits = [](const ConvStep& c) {
    return !c.has_res_ || !overlap(c.out_, c.res_) || same_ref(c.out_, c.res_);
  };
  for (size_t i = 0; i + 2 < steps.size(); ++i) {
    auto* a = dynamic_cast<ConvStep*>(steps[i].get());
    auto* b = dynamic_cast<ConvStep*>(steps[i + 1].get());
    auto* c = dynamic_cast<ConvStep*>(steps[i + 2].get());
    if (!a || !b || !c || a->has_res_ || b->has_res_) continue;
    if (!a->op_->runs_view() || !b->op_->runs_bands() || !c->op_->runs_view()) continue;
    if (!same_ref(a->out_, b->in_) || !same_ref(b->out_, c->in_)) continue;
    if (a->out_.buf != 0 || b->out_.buf != 0) continue;
    if (overlap(c->out_, a->in_) || !residual_fits(*c)) continue;
    if (!read_only_by(steps, i, a->out_, i + 1) || !read_only_by(steps, i + 1, b->out_, i + 2))
      continue;
    const ConvShape& d = b->op_->shape();
    if (4 * d.c_in * d.in[1] * d.in[2] < kMinFuseBytes) continue;
    if (pointwise_weight_bytes(a->op_->shape()) + pointwise_weight_bytes(c->op_->shape()) >
        kMaxFuseWeightBytes)
      continue;
    std::unique_ptr<Step> fb = away(*b, "depthwise (in the bands of the step before)");
    std::unique_ptr<Step> fc = away(*c, "gemm (in the bands of the step two before)");
    std::unique_ptr<ConvStep> pa(static_cast<ConvStep*>(steps[i].release()));
    std::unique_ptr<ConvStep> pb(static_cast<ConvStep*>(steps[i + 1].release()));
    std::unique_ptr<ConvStep> pc(static_cast<ConvStep*>(steps[i + 2].release()));
    steps[i] = std::make_unique<BandChainStep>(std::move(pa), std::move(pb), std::move(pc));
    steps[i + 1] = std::move(fb);
    steps[i + 2] = std::move(fc);
    i += 2;
  }
  // Depthwise -> pointwise pairs left over (no expand conv before them).
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    auto* b = dynamic_cast<ConvStep*>(steps[i].get());
    auto* c = dynamic_cast<ConvStep*>(steps[i + 1].get());
    if (!b || !c || b->has_res_ || !b->op_->runs_bands() || !c->op_->runs_view() ||
        !same_ref(b->out_, c->in_) || b->out_.buf != 0)
      continue;
    if (overlap(c->out_, b->in_) || !residual_fits(*c) || !read_only_by(steps, i, b->out_, i + 1))
      continue;
    const ConvShape& d = b->op_->shape();
    if (4 * d.c_out * d.out[1] * d.out[2] < kMinFusePairBytes) continue;
    if (pointwise_weight_bytes(c->op_->shape()) > kMaxFuseWeightBytes) continue;
    std::unique_ptr<Step> fc = away(*c, "gemm (in the bands of the step before)");
    std::unique_ptr<ConvStep> pb(static_cast<ConvStep*>(steps[i].release()));
    std::unique_ptr<ConvStep> pc(static_cast<ConvStep*>(steps[i + 1].release()));
    steps[i] = std::make_unique<BandChainStep>(nullptr, std::move(pb), std::move(pc));
    steps[i + 1] = std::move(fc);
    i += 1;
  }
}

std::unique_ptr<Step> make_conv_step(std::unique_ptr<ConvOp> op, const TRef& in, const TRef& out,
                                     const TRef* residual) {
  return std::make_unique<ConvStep>(std::move(op), in, out, residual);
}

std::unique_ptr<Step> make_deform_step(std::unique_ptr<DeformConvOp> op, const TRef& in,
                                       const TRef& offset, const TRef* mask, const TRef& out) {
  return std::make_unique<DeformStep>(std::move(op), in, offset, mask, out);
}

std::unique_ptr<Step> make_local_conv_step(std::unique_ptr<LocalConvOp> op, const TRef& in,
                                           const TRef& out) {
  const LocalConvShape& s = op->shape();
  const double fl = 2.0 * s.positions() * s.c_out * s.c_in * s.taps() * in.shape[0];
  return std::make_unique<ViewStep<LocalConvOp>>(std::move(op), in, out, "local", fl);
}

}  // namespace ce
