#include "engine/plan_steps.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/epilogue.h"
#include "engine/strided.h"

namespace ce {

namespace {

// ---------------------------------------------------------------------------------------------

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

// One-input, one-output engine operator on channels-last views.
template <class Op>
class ViewStep final : public Step {
 public:
  ViewStep(std::unique_ptr<Op> op, const TRef& in, const TRef& out, const char* algo, double fl)
      : op_(std::move(op)), in_(in), out_(out) {
    require_cl(in, "input");
    require_cl(out, "output");
    reads.push_back(in);
    writes.push_back(out);
    algorithm = algo;
    flops = fl;
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    op_->forward(channels_last_view(in_, b.base[in_.buf]), channels_last_view(out_, b.base[out_.buf]),
                 pool);
  }

 private:
  std::unique_ptr<Op> op_;
  TRef in_, out_;
};

class WindowPoolStep final : public Step {
 public:
  WindowPoolStep(bool max, const int64_t* k, const int64_t* s, const int64_t* d, const int64_t* pb,
                 const int64_t* pe, bool cip, const TRef& in, const TRef& out)
      : max_(max), cip_(cip), in_(in), out_(out) {
    require_cl(in, "pool input");
    require_cl(out, "pool output");
    for (int i = 0; i < 3; ++i) {
      k_[i] = k[i], s_[i] = s[i], d_[i] = d[i], pb_[i] = pb[i], pe_[i] = pe[i];
      if (k[i] < 1 || s[i] < 1 || d[i] < 1 || pb[i] < 0 || pe[i] < 0)
        throw std::invalid_argument("pool: kernel, stride, dilation must be >= 1 and pads >= 0");
    }
    reads.push_back(in);
    writes.push_back(out);
    algorithm = "window";
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
        int64_t valid = 0, padded = 1;
        for (int a = 0; a < 3; ++a) {
          const int64_t start = o[a] * s_[a] - pb_[a];
          int64_t cnt = 0;
          for (int64_t t = 0; t < k_[a]; ++t) {
            const int64_t p = start + t * d_[a];
            if (p >= -pb_[a] && p < in_sz[a] + pe_[a]) ++cnt;
          }
          padded *= cnt;
        }
        if (max_) std::fill(acc.begin(), acc.end(), -std::numeric_limits<double>::infinity());
        else std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t tz = 0; tz < k_[0]; ++tz) {
          const int64_t z = oz * s_[0] - pb_[0] + tz * d_[0];
          if (z < 0 || z >= iv.d) continue;
          for (int64_t ty = 0; ty < k_[1]; ++ty) {
            const int64_t y = static_cast<int64_t>(oy) * s_[1] - pb_[1] + ty * d_[1];
            if (y < 0 || y >= iv.h) continue;
            for (int64_t tx = 0; tx < k_[2]; ++tx) {
              const int64_t x = ox * s_[2] - pb_[2] + tx * d_[2];
              if (x < 0 || x >= iv.w) continue;
              ++valid;
              const float* src = iv.pixel(n, z, y, x);
              if (max_)
                for (int64_t c = 0; c < C; ++c) acc[c] = std::max<double>(acc[c], src[c]);
              else
                for (int64_t c = 0; c < C; ++c) acc[c] += src[c];
            }
          }
        }
        if (max_) {
          for (int64_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c]);
        } else {
          const int64_t div = cip_ ? padded : valid;
          const double inv = div > 0 ? 1.0 / div : 0.0;
          for (int64_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c] * inv);
        }
      }
    });
  }

 private:
  bool max_, cip_;
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
    for (int64_t m = 0; m < mid; ++m)
      for (int64_t j = 0; j < c; ++j) {
        w1t_[j * mid + m] = w1[m * c + j];
        w2t_[m * c + j] = w2[j * mid + m];
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


class BinaryStep final : public StridedBinaryStep {
 public:
  BinaryStep(BinaryKind k, const TRef& a, const TRef& b, const TRef& out)
      : StridedBinaryStep(a, b, out), kind_(k) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    switch (kind_) {
      case BinaryKind::kAdd: return map_elements(rb, pool, [](float x, float y) { return x + y; });
      case BinaryKind::kSub: return map_elements(rb, pool, [](float x, float y) { return x - y; });
      case BinaryKind::kMul: return map_elements(rb, pool, [](float x, float y) { return x * y; });
      case BinaryKind::kDiv: return map_elements(rb, pool, [](float x, float y) { return x / y; });
    }
  }

 private:
  BinaryKind kind_;
};

class UnaryStep final : public StridedUnaryStep {
 public:
  UnaryStep(const Activation& act, const TRef& x, const TRef& out)
      : StridedUnaryStep(x, out), ep_(act) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    map_rows(rb, pool, [&](const float* x, float* y, int64_t n) {
      if (x != y) std::memmove(y, x, n * sizeof(float));  // a hostile file may overlap them
      ep_.apply(y, 1, n, 0, nullptr, 0);
    });
  }

 private:
  Epilogue ep_;
};

class CopyStep final : public Step {
 public:
  CopyStep(const TRef& src, const TRef& dst) : src_(src), dst_(dst) {
    require_same_shape(src, dst, "copy source");
    reads = {src};
    writes = {dst};
    algorithm = "strided";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    float* d = rb.at(dst_);
    const float* s = rb.at(src_);
    // Channels-first <-> channels-last (per image, a (C, P) <-> (P, C) transpose): the
    // blocked transpose kernel. Axes after merging: (N, C, P) or (C, P) when N == 1.
    const TRef* ops[2] = {&dst_, &src_};
    const Iter<2> it = make_iter<2>(dst_.shape, dst_.rank, ops);
    if (it.rank == 2 || it.rank == 3) {
      const int o = it.rank - 2;  // index of the first of the two transposed axes
      const int64_t A = it.shape[o], Bn = it.shape[o + 1];
      const int64_t batch = it.rank == 3 ? it.shape[0] : 1;
      const bool packed = it.rank == 2 || (it.st[0][0] == A * Bn && it.st[1][0] == A * Bn);
      const int64_t *ds = it.st[0] + o, *ss = it.st[1] + o;
      if (packed && ds[1] == 1 && ds[0] == Bn && ss[0] == 1 && ss[1] == A) {
        transpose_batch(s, d, batch, Bn, A, pool);  // src (Bn, A) -> dst (A, Bn)
        return;
      }
      if (packed && ss[1] == 1 && ss[0] == Bn && ds[0] == 1 && ds[1] == A) {
        transpose_batch(s, d, batch, A, Bn, pool);  // src (A, Bn) -> dst (Bn, A)
        return;
      }
    }
    float* const base[2] = {d, const_cast<float*>(s)};
    for_rows<2>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* st) {
      if (st[0] == 1 && st[1] == 1) {
        std::memmove(p[0], p[1], n * sizeof(float));
      } else {
        for (int64_t i = 0; i < n; ++i) p[0][i * st[0]] = p[1][i * st[1]];
      }
    });
  }

 private:
  // src is (batch, rows, cols) contiguous, dst (batch, cols, rows) contiguous.
  static void transpose_batch(const float* src, float* dst, int64_t batch, int64_t rows,
                              int64_t cols, ThreadPool& pool) {
    const native::TransposeFn fn = transpose_kernel();
    constexpr int64_t B = 64;
    const int64_t rb = (rows + B - 1) / B, cb = (cols + B - 1) / B;
    auto body = [&](size_t i) {
      const int64_t n = i / (rb * cb), r = (i / cb) % rb, c = i % cb;
      const int64_t r0 = r * B, c0 = c * B;
      fn(std::min(B, rows - r0), std::min(B, cols - c0), src + n * rows * cols + r0 * cols + c0,
         cols, dst + n * rows * cols + c0 * rows + r0, rows);
    };
    if (batch * rows * cols < kParallelElements) {
      for (int64_t i = 0; i < batch * rb * cb; ++i) body(i);
    } else {
      pool.parallel_for(batch * rb * cb, body);
    }
  }
  TRef src_, dst_;
};

class FillStep final : public Step {
 public:
  FillStep(float v, const TRef& dst) : v_(v), dst_(dst) {
    writes = {dst};
    algorithm = "strided";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TRef* ops[1] = {&dst_};
    const Iter<1> it = make_iter<1>(dst_.shape, dst_.rank, ops);
    float* const base[1] = {rb.at(dst_)};
    for_rows<1>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      for (int64_t i = 0; i < n; ++i) p[0][i * s[0]] = v_;
    });
  }

 private:
  float v_;
  TRef dst_;
};

class SoftmaxStep final : public Step {
 public:
  SoftmaxStep(int axis, const TRef& x, const TRef& out) : axis_(axis), x_(x), out_(out) {
    require_same_shape(x, out, "softmax input");
    if (axis < 0 || axis >= x.rank) throw std::invalid_argument("softmax: axis out of range");
    reads = {x};
    writes = {out};
    algorithm = "strided";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const int64_t len = x_.shape[axis_], sx = x_.strides[axis_], so = out_.strides[axis_];
    for_slices(axis_, x_, rb.at(x_), out_, rb.at(out_), pool, [&](const float* x, float* o) {
      float m = -INFINITY;
      for (int64_t j = 0; j < len; ++j) m = std::max(m, x[j * sx]);
      double sum = 0.0;
      for (int64_t j = 0; j < len; ++j) {
        const float e = std::exp(x[j * sx] - m);
        o[j * so] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < len; ++j) o[j * so] *= inv;
    });
  }

 private:
  int axis_;
  TRef x_, out_;
};

class MatMulStep final : public Step {
 public:
  MatMulStep(const TRef& a, const TRef& b, const TRef& out) : a_(a), b_(b), out_(out) {
    const int r = out.rank;
    if (r < 2 || a.rank != r || b.rank != r)
      throw std::invalid_argument("matmul: operands must have the output's rank (>= 2)");
    for (int i = 0; i < r - 2; ++i)
      if (a.shape[i] != out.shape[i] || b.shape[i] != out.shape[i])
        throw std::invalid_argument("matmul: batch shapes differ from the output");
    if (a.shape[r - 2] != out.shape[r - 2] || b.shape[r - 1] != out.shape[r - 1] ||
        a.shape[r - 1] != b.shape[r - 2])
      throw std::invalid_argument("matmul: inner dimensions do not match");
    reads = {a, b};
    writes = {out};
    algorithm = "strided";
    flops = 2.0 * out.numel() * a.shape[r - 1];
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const int r = out_.rank;
    const int64_t M = out_.shape[r - 2], N = out_.shape[r - 1], K = a_.shape[r - 1];
    int64_t batch = 1;
    for (int i = 0; i < r - 2; ++i) batch *= out_.shape[i];
    const float* A = rb.at(a_);
    const float* Bm = rb.at(b_);
    float* O = rb.at(out_);
    pool.parallel_for_2d(batch, M, [&](size_t bi, size_t m) {
      int64_t rem = bi, ao = 0, bo = 0, oo = 0;
      for (int i = r - 3; i >= 0; --i) {
        const int64_t k = rem % out_.shape[i];
        rem /= out_.shape[i];
        ao += k * a_.strides[i], bo += k * b_.strides[i], oo += k * out_.strides[i];
      }
      std::vector<double> acc(N, 0.0);
      const float* arow = A + ao + m * a_.strides[r - 2];
      for (int64_t k = 0; k < K; ++k) {
        const double av = arow[k * a_.strides[r - 1]];
        const float* brow = Bm + bo + k * b_.strides[r - 2];
        for (int64_t n = 0; n < N; ++n) acc[n] += av * brow[n * b_.strides[r - 1]];
      }
      float* orow = O + oo + m * out_.strides[r - 2];
      for (int64_t n = 0; n < N; ++n) orow[n * out_.strides[r - 1]] = static_cast<float>(acc[n]);
    });
  }

 private:
  TRef a_, b_, out_;
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

std::unique_ptr<Step> make_pool2d_step(std::unique_ptr<Pool2dOp> op, const TRef& in, const TRef& out) {
  return std::make_unique<ViewStep<Pool2dOp>>(std::move(op), in, out, "pool2d", 0.0);
}

std::unique_ptr<Step> make_resize_step(std::unique_ptr<Resize2dOp> op, const TRef& in, const TRef& out) {
  return std::make_unique<ViewStep<Resize2dOp>>(std::move(op), in, out, "resize2d", 0.0);
}

std::unique_ptr<Step> make_shuffle_step(std::unique_ptr<ChannelShuffleOp> op, const TRef& in,
                                        const TRef& out) {
  return std::make_unique<ViewStep<ChannelShuffleOp>>(std::move(op), in, out, "zip", 0.0);
}

std::unique_ptr<Step> make_batchnorm_step(std::unique_ptr<BatchNormOp> op, const TRef& in,
                                          const TRef& out) {
  return std::make_unique<ViewStep<BatchNormOp>>(std::move(op), in, out, "scaleshift", 0.0);
}

std::unique_ptr<Step> make_window_pool_step(bool max, const int64_t kernel[3], const int64_t stride[3],
                                            const int64_t dilation[3], const int64_t pad_begin[3],
                                            const int64_t pad_end[3], bool count_include_pad,
                                            const TRef& in, const TRef& out) {
  return std::make_unique<WindowPoolStep>(max, kernel, stride, dilation, pad_begin, pad_end,
                                          count_include_pad, in, out);
}

std::unique_ptr<Step> make_global_pool_step(bool max, const TRef& in, const TRef& out) {
  return std::make_unique<GlobalPoolStep>(max, in, out);
}

std::unique_ptr<Step> make_squeeze_excite_step(int64_t c, int64_t mid, const float* w1,
                                               const float* b1, const float* w2, const float* b2,
                                               const Activation& act, const Activation& gate,
                                               const TRef& in, const TRef& out) {
  return std::make_unique<SqueezeExciteStep>(c, mid, w1, b1, w2, b2, act, gate, in, out);
}

std::unique_ptr<Step> make_binary_step(BinaryKind kind, const TRef& a, const TRef& b, const TRef& out) {
  return std::make_unique<BinaryStep>(kind, a, b, out);
}

std::unique_ptr<Step> make_unary_step(const Activation& act, const TRef& x, const TRef& out) {
  return std::make_unique<UnaryStep>(act, x, out);
}

std::unique_ptr<Step> make_copy_step(const TRef& src, const TRef& dst) {
  return std::make_unique<CopyStep>(src, dst);
}

std::unique_ptr<Step> make_fill_step(float value, const TRef& dst) {
  return std::make_unique<FillStep>(value, dst);
}

std::unique_ptr<Step> make_softmax_step(int axis, const TRef& x, const TRef& out) {
  return std::make_unique<SoftmaxStep>(axis, x, out);
}

std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out) {
  return std::make_unique<MatMulStep>(a, b, out);
}

}  // namespace ce
