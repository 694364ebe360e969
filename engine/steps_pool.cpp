#include "engine/steps_pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/rules.h"
#include "engine/strided.h"

namespace ce {

namespace {

enum class WindowKind { kMax, kAverage, kLp };

class WindowPoolStep final : public Step {
 public:
  // p: LpPool's exponent (kLp only)
  WindowPoolStep(WindowKind kind, int64_t p, const int64_t* k, const int64_t* s, const int64_t* d,
                 const int64_t* pb, const int64_t* pe, bool ceil_mode, bool cip, const TRef& in,
                 const TRef& out)
      : kind_(kind), cip_(cip), p_(static_cast<double>(p)), in_(in), out_(out) {
    if (kind == WindowKind::kLp && (p < 1 || p > 64))
      throw std::invalid_argument("LpPool: p must be in [1, 64], got " + std::to_string(p));
    require_cl(in, "pool input");
    require_cl(out, "pool output");
    const TensorView iv = channels_last_view(in, nullptr), ov = channels_last_view(out, nullptr);
    const int64_t in_sz[3] = {iv.d, iv.h, iv.w}, out_sz[3] = {ov.d, ov.h, ov.w};
    if (ov.n != iv.n || ov.c != iv.c)
      throw std::invalid_argument("pool: output batch and channels must be the input's");
    for (int i = 0; i < 3; ++i) {
      k_[i] = k[i], s_[i] = s[i], d_[i] = d[i], pb_[i] = pb[i], pe_[i] = pe[i];
      if (k[i] < 1 || s[i] < 1 || d[i] < 1 || pb[i] < 0 || pe[i] < 0)
        throw std::invalid_argument("pool: kernel, stride, dilation must be >= 1 and pads >= 0");
      const int64_t o = rules::window_output(in_sz[i], k[i], s[i], d[i], pb[i], pe[i], ceil_mode);
      if (o < 1 || o != out_sz[i])
        throw std::invalid_argument(
            "pool: spatial axis " + std::to_string(i) + " of the output has size " +
            std::to_string(out_sz[i]) + ", the window gives " + std::to_string(o) + " (input " +
            std::to_string(in_sz[i]) + ", kernel " + std::to_string(k[i]) + ", stride " +
            std::to_string(s[i]) + ", dilation " + std::to_string(d[i]) + ", pads " +
            std::to_string(pb[i]) + ", " + std::to_string(pe[i]) + ")");
    }
    reads.push_back(in);
    writes.push_back(out);
    algorithm = kind == WindowKind::kLp ? "window-lp" : "window";
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    const TensorView ov = channels_last_view(out_, b.base[out_.buf]);
    const int64_t in_sz[3] = {iv.d, iv.h, iv.w};
    const int64_t C = iv.c;
    pool.parallel_for_2d(ov.n * ov.d, ov.h, [&](size_t nd, size_t oy) {
      const int64_t n = nd / ov.d, oz = nd % ov.d;
      std::vector<double> acc(C);
      for (int64_t ox = 0; ox < ov.w; ++ox) {
        float* dst = ov.pixel(n, oz, oy, ox);
        const int64_t o[3] = {oz, static_cast<int64_t>(oy), ox};
        rules::TapRange in_taps[3];
        double padded = 1.0;  // up to 2^31 taps per axis in a hostile file: no int64 product
        for (int a = 0; a < 3; ++a) {
          const int64_t start = o[a] * s_[a] - pb_[a];
          in_taps[a] = rules::taps_within(start, k_[a], d_[a], 0, in_sz[a]);
          padded *= static_cast<double>(
              rules::taps_within(start, k_[a], d_[a], -pb_[a], in_sz[a] + pe_[a]).count());
        }
        const int64_t valid = in_taps[0].count() * in_taps[1].count() * in_taps[2].count();
        const bool max = kind_ == WindowKind::kMax;
        std::fill(acc.begin(), acc.end(), max ? -std::numeric_limits<double>::infinity() : 0.0);
        for (int64_t tz = in_taps[0].first; tz < in_taps[0].last; ++tz) {
          const int64_t z = oz * s_[0] - pb_[0] + tz * d_[0];
          for (int64_t ty = in_taps[1].first; ty < in_taps[1].last; ++ty) {
            const int64_t y = static_cast<int64_t>(oy) * s_[1] - pb_[1] + ty * d_[1];
            for (int64_t tx = in_taps[2].first; tx < in_taps[2].last; ++tx) {
              const int64_t x = ox * s_[2] - pb_[2] + tx * d_[2];
              const float* src = iv.pixel(n, z, y, x);
              if (max) {  // a NaN stays (as in torch)
                for (int64_t c = 0; c < C; ++c)
                  if (src[c] > acc[c] || src[c] != src[c]) acc[c] = src[c];
              } else if (kind_ == WindowKind::kAverage) {
                for (int64_t c = 0; c < C; ++c) acc[c] += src[c];
              } else if (p_ == 2.0) {
                for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(src[c]) * src[c];
              } else {
                for (int64_t c = 0; c < C; ++c) acc[c] += std::pow(std::fabs(double{src[c]}), p_);
              }
            }
          }
        }
        if (max) {
          for (int64_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c]);
        } else if (kind_ == WindowKind::kLp) {  // (sum over the window of |x|^p)^(1/p)
          for (int64_t c = 0; c < C; ++c)
            dst[c] = static_cast<float>(p_ == 2.0 ? std::sqrt(acc[c]) : std::pow(acc[c], 1.0 / p_));
        } else {
          const double div = cip_ ? padded : static_cast<double>(valid);
          const double inv = div > 0 ? 1.0 / div : 0.0;
          for (int64_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c] * inv);
        }
      }
    });
  }

 private:
  WindowKind kind_;
  bool cip_;
  double p_;
  int64_t k_[3], s_[3], d_[3], pb_[3], pe_[3];
  TRef in_, out_;
};

class GlobalPoolStep final : public Step {
 public:
  GlobalPoolStep(bool max, const TRef& in, const TRef& out)
      : max_(max), in_(in), out_(out), pool_kernels_(pool_kernels()) {
    require_cl(in, "global pool input");
    if (out.rank != in.rank || out.shape[0] != in.shape[0] || out.shape[1] != in.shape[1] ||
        out.numel() != in.shape[0] * in.shape[1])
      throw std::invalid_argument("global pool: output must be (n, c, 1, ...)");
    reads.push_back(in);
    writes.push_back(out);
    algorithm = "global";
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(in_, b.base[in_.buf]);
    float* out = b.at(out_);
    const int64_t C = iv.c, P = iv.pixels(), cs = out_.strides[1];
    if (!max_ && cs == 1) {
      global_average(iv, out, out_.strides[0], pool, pool_kernels_);
      return;
    }
    const int64_t blocks = (C + 63) / 64;
    pool.parallel_for_2d(iv.n, blocks, [&](size_t n, size_t blk) {
      const int64_t c0 = blk * 64, c1 = std::min<int64_t>(C, c0 + 64);
      float acc[64];
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] = max_ ? -INFINITY : 0.0f;
      const float* img = iv.data + n * iv.image_stride();
      for (int64_t p = 0; p < P; ++p) {
        const float* src = img + p * iv.ps();
        if (max_) {  // a NaN stays (as in MaxPool and torch)
          for (int64_t c = c0; c < c1; ++c)
            if (src[c] > acc[c - c0] || src[c] != src[c]) acc[c - c0] = src[c];
        } else {
          for (int64_t c = c0; c < c1; ++c) acc[c - c0] += src[c];
        }
      }
      float* dst = out + n * out_.strides[0];
      const float inv = 1.0f / static_cast<float>(P);
      for (int64_t c = c0; c < c1; ++c) dst[c * cs] = max_ ? acc[c - c0] : acc[c - c0] * inv;
    });
  }

 private:
  bool max_;
  TRef in_, out_;
  PoolKernels pool_kernels_;
};

}  // namespace

std::unique_ptr<Step> make_pool2d_step(std::unique_ptr<Pool2dOp> op, const TRef& in, const TRef& out) {
  return std::make_unique<ViewStep<Pool2dOp>>(std::move(op), in, out, "pool2d", 0.0);
}

std::unique_ptr<Step> make_window_pool_step(bool max, const int64_t kernel[3], const int64_t stride[3],
                                            const int64_t dilation[3], const int64_t pad_begin[3],
                                            const int64_t pad_end[3], bool ceil_mode,
                                            bool count_include_pad, const TRef& in,
                                            const TRef& out) {
  return std::make_unique<WindowPoolStep>(max ? WindowKind::kMax : WindowKind::kAverage, 0,
                                          kernel, stride, dilation, pad_begin, pad_end, ceil_mode,
                                          count_include_pad, in, out);
}

std::unique_ptr<Step> make_lp_pool_step(int64_t p, const int64_t kernel[3], const int64_t stride[3],
                                        const int64_t dilation[3], const int64_t pad_begin[3],
                                        const int64_t pad_end[3], bool ceil_mode, const TRef& in,
                                        const TRef& out) {
  return std::make_unique<WindowPoolStep>(WindowKind::kLp, p, kernel, stride, dilation, pad_begin,
                                          pad_end, ceil_mode, false, in, out);
}

std::unique_ptr<Step> make_global_pool_step(bool max, const TRef& in, const TRef& out) {
  return std::make_unique<GlobalPoolStep>(max, in, out);
}

}  // namespace ce
