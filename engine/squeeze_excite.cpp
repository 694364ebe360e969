#include "engine/squeeze_excite.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/pool.h"
#include "engine/strided.h"

namespace ce {

namespace {

class SqueezeExciteStep final : public Step {
 public:
  SqueezeExciteStep(int64_t c, int64_t mid, const float* w1, const float* b1, const float* w2,
                    const float* b2, const Activation& act, const Activation& gate, const TRef& in,
                    const TRef& out)
      : c_(c), mid_(mid), w1t_(mid * c), b1_(b1, b1 + mid), w2t_(c * mid), b2_(b2, b2 + c),
        zeros_(c, 0.0f), act_(act), gate_(gate), in_(in), out_(out),
        scale_(elementwise_kernels().scaleshift), pool_kernels_(pool_kernels()) {
    require_cl(in, "squeeze-excite input");
    require_cl(out, "squeeze-excite output");
    if (in.shape[1] != c || out.shape[1] != c)
      throw std::invalid_argument("squeeze-excite: channel count differs from the weights");
    // Both linears run as axpy sweeps over contiguous weight rows: w1t (c, mid), w2t (mid, c).
    pack_transposed(w1t_.data(), w1, mid, c);
    pack_transposed(w2t_.data(), w2, c, mid);
    reads.push_back(in);
    writes.push_back(out);
    algorithm = "fused";
    const double pixels = static_cast<double>(in.numel()) / c;
    flops = in.shape[0] * (4.0 * c * mid) + 2.0 * pixels * c;
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    const size_t C = c_, M = mid_, P = iv.pixels();
    std::vector<float> mean(iv.n * C), gate(iv.n * C), h(M);
    global_average(iv, mean.data(), C, pool, pool_kernels_);
    for (int64_t n = 0; n < iv.n; ++n) {
      const float* x = mean.data() + n * C;
      std::copy(b1_.begin(), b1_.end(), h.begin());
      for (size_t j = 0; j < C; ++j) {
        const float v = x[j];
        const float* w = w1t_.data() + j * M;
        for (size_t m = 0; m < M; ++m) h[m] += v * w[m];
      }
      act_.apply(h.data(), 1, M, 0, nullptr, 0);
      float* g = gate.data() + n * C;
      std::copy(b2_.begin(), b2_.end(), g);
      for (size_t m = 0; m < M; ++m) {
        const float v = h[m];
        const float* w = w2t_.data() + m * C;
        for (size_t j = 0; j < C; ++j) g[j] += v * w[j];
      }
      gate_.apply(g, 1, C, 0, nullptr, 0);
    }
    const native::ClampParams none{-INFINITY, INFINITY};
    const size_t per = std::max<size_t>(1, 16384 / C);  // ~64 KiB of input per work item
    pool.parallel_for_2d(iv.n, (P + per - 1) / per, [&](size_t n, size_t t) {
      const size_t p0 = t * per;
      scale_(std::min(per, P - p0), C, iv.data + n * iv.image_stride() + p0 * iv.ps(), iv.ps(),
             gate.data() + n * C, zeros_.data(), ov.data + n * ov.image_stride() + p0 * ov.ps(),
             ov.ps(), &none);
    });
  }

 private:
  int64_t c_, mid_;
  std::vector<float> w1t_, b1_, w2t_, b2_, zeros_;
  Epilogue act_, gate_;
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
