#include "engine/squeeze_excite.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/arith.h"
#include "engine/conv.h"
#include "engine/dispatch.h"
#include "engine/pool.h"
#include "engine/strided.h"

namespace ce {

namespace {

ConvShape linear_shape(int64_t c_in, int64_t c_out, int64_t rows) {
  ConvShape s;
  s.c_in = c_in, s.c_out = c_out;
  s.in[2] = rows;
  s.infer_output();
  return s;
}

class SqueezeExciteStep final : public Step {
 public:
  SqueezeExciteStep(int64_t c, int64_t mid, const float* w1, const float* b1, const float* w2,
                    const float* b2, const Activation& act, const Activation& gate, const TRef& in,
                    const TRef& out)
      : c_(c), mid_(mid), zeros_(c, 0.0f), in_(in), out_(out),
        scale_(elementwise_kernels().scaleshift), pool_kernels_(pool_kernels()) {
    require_cl(in, "squeeze-excite input");
    require_cl(out, "squeeze-excite output");
    if (in.shape[1] != c || out.shape[1] != c)
      throw std::invalid_argument("squeeze-excite: channel count differs from the weights");
    // Both linears are 1x1 convs on a (1, 1, N) "image" of the N images' channel means, so
    // they run on the dispatched GEMM kernels (a scalar loop here was ~25 us of serial time
    // per 576-channel block of MobileNetV3 at 2 threads, Zen 4).
    fc1_ = make_conv(linear_shape(c, mid, in.shape[0]), w1, b1, act, "gemm");
    fc2_ = make_conv(linear_shape(mid, c, in.shape[0]), w2, b2, gate, "gemm");
    reads.push_back(in);
    writes.push_back(out);
    algorithm = "fused";
    const double pixels = static_cast<double>(in.numel()) / c;
    flops = in.shape[0] * (4.0 * c * mid) + 2.0 * pixels * c;
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    const size_t C = c_, P = iv.pixels();
    std::vector<float> mean(iv.n * C), gate(iv.n * C), h(iv.n * mid_);
    // The mean as partial sums over 8 pixel ranges (a count that does not depend on the threads,
    // so neither does the rounding): each thread then reads the pixels it wrote in the step
    // before (split the same way), where a split by channels read half from the other core's.
    global_average(iv, mean.data(), C, pool, pool_kernels_, 8);
    auto rows = [&](float* data, int64_t ch) {
      TensorView v;
      v.data = data, v.w = iv.n, v.c = ch;
      return v;
    };
    fc1_->forward(rows(mean.data(), C), rows(h.data(), mid_), pool);
    fc2_->forward(rows(h.data(), mid_), rows(gate.data(), C), pool);
    const native::ClampParams none{-INFINITY, INFINITY};
    // ~64 KiB of input per work item, in a multiple of the thread count of items per image.
    const size_t T = static_cast<size_t>(pool.num_threads());
    const size_t parts = round_up(ceil_div(P, std::max<size_t>(1, 16384 / C)), T);
    const size_t per = ceil_div(P, parts);
    pool.parallel_for_2d(iv.n, (P + per - 1) / per, [&](size_t n, size_t t) {
      const size_t p0 = t * per;
      scale_(std::min(per, P - p0), C, iv.data + n * iv.image_stride() + p0 * iv.ps(), iv.ps(),
             gate.data() + n * C, zeros_.data(), ov.data + n * ov.image_stride() + p0 * ov.ps(),
             ov.ps(), &none);
    });
  }

 private:
  int64_t c_, mid_;
  std::vector<float> zeros_;
  std::unique_ptr<ConvOp> fc1_, fc2_;
  TRef in_, out_;
  native::VScaleShiftFn scale_;
  PoolKernels pool_kernels_;
};

}  // namespace

std::unique_ptr<Step> make_squeeze_excite_step(int64_t c, int64_t mid, const float* w1,
                                               const float* b1, const float* w2, const float* b2,
                                               const Activation& act, const Activation& gate,
                                               const TRef& in, const TRef& out) {
  return std::make_unique<SqueezeExciteStep>(c, mid, w1, b1, w2, b2, act, gate, in, out);
}

}  // namespace ce
