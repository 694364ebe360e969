#include "engine/squeeze_excite.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/arith.h"
#include "engine/conv.h"
#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/pool.h"
#include "engine/shared_weights.h"
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
    const int64_t n = in.shape[0];
    const int64_t img_pixels = in.numel() / std::max<int64_t>(1, n * c);
    if (c >= kMinChunkedChannels && img_pixels <= kMaxChunkedPixels) {
      pack_chunked(w1, b1, w2, b2, act, gate);  // run_chunked
    } else {
      fc1_ = make_conv(linear_shape(c, mid, n), w1, b1, act, "gemm");
      fc2_ = make_conv(linear_shape(mid, c, n), w2, b2, gate, "gemm");
    }
    reads.push_back(in);
    writes.push_back(out);
    algorithm = "fused";
    const double pixels = static_cast<double>(in.numel()) / c;
    flops = in.shape[0] * (4.0 * c * mid) + 2.0 * pixels * c;
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    if (!off1_.empty()) return run_chunked(iv, ov, pool);
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
  // Weight-bound blocks (many channels, few pixels: 576 channels at 7x7 read 660 KB of weights
  // for 110 KB of data) run in two parallel regions over channel chunks instead of four (mean,
  // fc1, fc2, gating): a chunk's mean and its K block of fc1, then (the blocks' sums added in
  // chunk order, so the result does not depend on the threads) a chunk's fc2 columns and its
  // gating. Each thread reads only its chunks' weights. Zen 5, 2 threads, weights from L3
  // (6 blocks in a row), us per block before -> after: 576 (mid 144) at 7x7 9.1 -> 7.0, 1152
  // (48) at 7x7 10.7 -> 7.5, 672 (28) at 14x14 27 -> 12; 1 thread unchanged (chunks of 16
  // channels were 1.1x slower at 240 x 14x14: narrow strided rows). Beyond kMaxChunkedPixels the
  // strided pooling and gating lose (256 channels at 56x56 in chunks of 16: 3x slower at 1
  // thread), so larger images keep the pixel split.
  void pack_chunked(const float* w1, const float* b1, const float* w2, const float* b2,
                    const Activation& act, const Activation& gate) {
    const size_t C = c_, mid = mid_;
    // An even number of chunks (balanced on 2, 4, 8 threads) of ~64 channels, 8 at the least:
    // fewer channels per chunk made the 1-thread time worse (pooling and gating on narrow
    // strided rows), Zen 5: 240 channels at 14x14 in chunks of 16 were 1.1x the time.
    const size_t J = std::clamp<size_t>(2 * ((C + 64) / 128), 2, kMaxChunks);
    const size_t blocks = ceil_div(C, 8);
    for (size_t j = 0; j <= J; ++j) c0_.push_back(std::min(C, blocks * j / J * 8));
    size_t widest = 0;
    for (size_t j = 0; j < J; ++j) widest = std::max(widest, c0_[j + 1] - c0_[j]);
    k1_ = &gemm_kernel(mid);
    k2_ = &gemm_kernel(widest);
    act_ = Epilogue(act), gate_ = Epilogue(gate);
    bias1_.assign(mid, 0.0f);
    if (b1) std::copy(b1, b1 + mid, bias1_.begin());
    // fc1 (mid, C): chunk j is K block [c0, c0 + cc) of all mid columns; fc2 (C, mid): chunk j
    // is output channels [c0, c0 + cc), its panels over K = mid. Chunks follow one another.
    size_t f1 = 0, f2 = 0;
    for (size_t j = 0; j < J; ++j) {
      const size_t cc = c0_[j + 1] - c0_[j];
      off1_.push_back(f1), off2_.push_back(f2);
      f1 += PanelLayout{k1_->nr, k1_->kr, 1, cc}.floats(mid);
      f2 += PanelLayout{k2_->nr, k2_->kr, 1, mid}.floats(cc);
    }
    w1p_.resize(f1), w2p_.resize(f2);
    for (size_t j = 0; j < J; ++j) {
      const size_t c0 = c0_[j], cc = c0_[j + 1] - c0;
      pack_gemm_weights(w1p_.data() + off1_[j], PanelLayout{k1_->nr, k1_->kr, 1, cc}, mid, C, c0,
                        w1, nullptr);
      pack_gemm_weights(w2p_.data() + off2_[j], PanelLayout{k2_->nr, k2_->kr, 1, mid}, cc, mid, 0,
                        w2 + c0 * mid, b2 ? b2 + c0 : nullptr);
    }
    w1p_.share(), w2p_.share();
  }

  // C[rows x nc] = A[rows x kc] W (packed for k), rows in tiles of k.mr.
  static void gemm_rows(const GemmKernel& k, size_t rows, size_t nc, size_t kc, const float* a,
                        size_t a_stride, const float* w, float* c, size_t c_stride,
                        const native::ClampParams* params) {
    for (size_t i = 0; i < rows; i += k.mr) {
      const size_t mr = std::min(k.mr, rows - i);
      (mr == 1 ? k.row : k.fn)(mr, nc, kc, a + i * a_stride, a_stride, w, c + i * c_stride,
                               c_stride, k.nr, false, params, nullptr, 0);
    }
  }

  void run_chunked(const TensorView& iv, const TensorView& ov, ThreadPool& pool) const {
    const size_t N = iv.n, C = c_, mid = mid_, P = iv.pixels(), J = off1_.size();
    std::vector<float> mean(N * C), gate(N * C), partial(J * N * mid), h(N * mid);
    const native::ClampParams none{-INFINITY, INFINITY};
    const float inv = static_cast<float>(1.0 / static_cast<double>(P));
    pool.parallel_for(J, [&](size_t j) {
      const size_t c0 = c0_[j], cc = c0_[j + 1] - c0;
      for (size_t b = 0; b < N; ++b)
        pool_kernels_.gavg(P, cc, iv.data + b * iv.image_stride() + c0, iv.ps(), inv,
                           mean.data() + b * C + c0);
      gemm_rows(*k1_, N, mid, cc, mean.data() + c0, C, w1p_.data() + off1_[j],
                partial.data() + j * N * mid, mid, &none);
    });
    // The chunks' partial sums in chunk order (the same at any thread count), then b1 and act.
    std::copy_n(partial.data(), N * mid, h.data());
    for (size_t j = 1; j < J; ++j)
      for (size_t i = 0; i < N * mid; ++i) h[i] += partial[j * N * mid + i];
    act_.apply(h.data(), N, mid, mid, bias1_.data(), 0);
    pool.parallel_for(J, [&](size_t j) {
      const size_t c0 = c0_[j], cc = c0_[j + 1] - c0;
      gemm_rows(*k2_, N, cc, mid, h.data(), mid, w2p_.data() + off2_[j], gate.data() + c0, C,
                gate_.kernel_params(false));
      if (gate_.needs_pass(false)) gate_.apply(gate.data() + c0, N, cc, C, nullptr, 0);
      for (size_t b = 0; b < N; ++b)
        scale_(P, cc, iv.data + b * iv.image_stride() + c0, iv.ps(), gate.data() + b * C + c0,
               zeros_.data(), ov.data + b * ov.image_stride() + c0, ov.ps(), &none);
    });
  }

  static constexpr int64_t kMinChunkedChannels = 64, kMaxChunkedPixels = 256;
  static constexpr size_t kMaxChunks = 16;
  int64_t c_, mid_;
  std::vector<float> zeros_;
  std::unique_ptr<ConvOp> fc1_, fc2_;
  const GemmKernel *k1_ = nullptr, *k2_ = nullptr;
  PackedWeights w1p_, w2p_;
  std::vector<size_t> c0_, off1_, off2_;  // chunk j: channels [c0_[j], c0_[j + 1])
  std::vector<float> bias1_;
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
