#include "engine/steps_conv.h"

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

 private:
  std::unique_ptr<ConvOp> op_;
  TRef in_, out_, res_;
  bool has_res_;
};

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
