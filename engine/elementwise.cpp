#include "engine/elementwise.h"
#include "engine/arith.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ce {

namespace {

// Floats per parallel work item: 64 KiB in + 64 KiB out, a few microseconds of streaming.
constexpr size_t kChunk = 16384;


// Runs f(row_begin, row_end) over `rows` rows of `width` floats in chunks of about kChunk floats.
template <class F>
void for_row_chunks(size_t rows, size_t width, ThreadPool& pool, const F& f) {
  const size_t per = std::max<size_t>(1, kChunk / std::max<size_t>(width, 1));
  pool.parallel_for(ceil_div(rows, per), [&](size_t t) {
    const size_t r0 = t * per;
    f(r0, std::min(rows, r0 + per));
  });
}

}  // namespace

void check_view(const char* op, const char* which, const TensorView& v, int64_t c, int64_t h,
                int64_t w) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(std::string(op) + ": " + which + " " + what);
  };
  if (!v.data) fail("has no data");
  if (v.n < 1 || v.d < 1 || v.h < 1 || v.w < 1 || v.c < 1) fail("has an empty dimension");
  if (v.ps() < v.c) fail("pixel_stride " + std::to_string(v.ps()) + " < channels " + std::to_string(v.c));
  if (v.c != c) fail("has " + std::to_string(v.c) + " channels, expected " + std::to_string(c));
  if (h >= 0 && (v.d != 1 || v.h != h || v.w != w))
    fail("spatial size is (" + std::to_string(v.d) + ", " + std::to_string(v.h) + ", " +
         std::to_string(v.w) + "), expected (1, " + std::to_string(h) + ", " + std::to_string(w) + ")");
}

// ---------------------------------------------------------------------------------------------
// UnaryOp

UnaryKind parse_unary_kind(const std::string& name) {
  static const std::pair<const char*, UnaryKind> table[] = {
      {"relu", UnaryKind::kRelu},           {"relu6", UnaryKind::kRelu6},
      {"clamp", UnaryKind::kClamp},         {"hardswish", UnaryKind::kHardswish},
      {"hardsigmoid", UnaryKind::kHardsigmoid}, {"sigmoid", UnaryKind::kSigmoid},
      {"silu", UnaryKind::kSilu}};
  for (const auto& [n, k] : table)
    if (name == n) return k;
  throw std::invalid_argument("unknown element-wise op '" + name + "'");
}

const char* unary_kind_name(UnaryKind kind) {
  switch (kind) {
    case UnaryKind::kRelu: return "relu";
    case UnaryKind::kRelu6: return "relu6";
    case UnaryKind::kClamp: return "clamp";
    case UnaryKind::kHardswish: return "hardswish";
    case UnaryKind::kHardsigmoid: return "hardsigmoid";
    case UnaryKind::kSigmoid: return "sigmoid";
    case UnaryKind::kSilu: return "silu";
  }
  return "?";
}

UnaryOp::UnaryOp(UnaryKind kind, float lo, float hi) : kind_(kind) {
  const ElementwiseKernels& k = elementwise_kernels();
  params_ = {-INFINITY, INFINITY};
  switch (kind) {
    case UnaryKind::kRelu: fn_ = k.clamp; params_ = {0.0f, INFINITY}; break;
    case UnaryKind::kRelu6: fn_ = k.clamp; params_ = {0.0f, 6.0f}; break;
    case UnaryKind::kClamp:
      if (!(lo <= hi)) throw std::invalid_argument("clamp: min must be <= max");
      fn_ = k.clamp;
      params_ = {lo, hi};
      break;
    case UnaryKind::kHardswish: fn_ = k.hswish; break;
    case UnaryKind::kHardsigmoid: fn_ = k.hsigmoid; break;
    case UnaryKind::kSigmoid: fn_ = k.sigmoid; break;
    case UnaryKind::kSilu: fn_ = k.silu; break;
    default: throw std::invalid_argument("unknown element-wise op");
  }
}

void UnaryOp::forward_flat(const float* x, float* y, size_t n, ThreadPool& pool) const {
  pool.parallel_for(ceil_div(n, kChunk), [&](size_t t) {
    const size_t i = t * kChunk;
    fn_(std::min(kChunk, n - i), x + i, y + i, &params_);
  });
}

void UnaryOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  const char* name = unary_kind_name(kind_);
  check_view(name, "input", in, in.c);
  check_view(name, "output", out, in.c);
  if (out.n != in.n || out.d != in.d || out.h != in.h || out.w != in.w)
    throw std::invalid_argument(std::string(name) + ": output shape differs from the input shape");
  const size_t rows = in.n * in.pixels(), c = in.c;
  if (in.ps() == in.c && out.ps() == out.c) {
    forward_flat(in.data, out.data, rows * c, pool);
    return;
  }
  const size_t ips = in.ps(), ops = out.ps();
  for_row_chunks(rows, c, pool, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) fn_(c, in.data + r * ips, out.data + r * ops, &params_);
  });
}

// ---------------------------------------------------------------------------------------------
// BatchNormOp

BatchNormOp::BatchNormOp(int64_t channels, const float* mean, const float* var,
                         const float* weight, const float* bias, double eps,
                         const Activation& act)
    : fn_(elementwise_kernels().scaleshift),
      fn_cw_(elementwise_kernels().scaleshift_cw),
      params_(act.clamp()) {
  if (channels < 1) throw std::invalid_argument("batch_norm: channels must be >= 1");
  if (!mean || !var) throw std::invalid_argument("batch_norm: running mean and var are required");
  scale_.resize(channels);
  shift_.resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double s = (weight ? weight[c] : 1.0) / std::sqrt(static_cast<double>(var[c]) + eps);
    scale_[c] = static_cast<float>(s);
    shift_[c] = static_cast<float>((bias ? bias[c] : 0.0) - mean[c] * s);
  }
}

void BatchNormOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  const int64_t c = channels();
  check_view("batch_norm", "input", in, c);
  check_view("batch_norm", "output", out, c);
  if (out.n != in.n || out.pixels() != in.pixels())
    throw std::invalid_argument("batch_norm: output shape differs from the input shape");
  const size_t rows = in.n * in.pixels(), ips = in.ps(), ops = out.ps();
  for_row_chunks(rows, c, pool, [&](size_t r0, size_t r1) {
    fn_(r1 - r0, c, in.data + r0 * ips, ips, scale_.data(), shift_.data(), out.data + r0 * ops,
        ops, &params_);
  });
}

void BatchNormOp::forward_nchw(const float* in, float* out, int64_t n, int64_t pixels,
                               ThreadPool& pool) const {
  if (!in || !out || n < 1 || pixels < 1) throw std::invalid_argument("batch_norm: empty input");
  const size_t c = channels(), per = std::max<size_t>(1, kChunk / pixels);
  const size_t chunks = ceil_div(c, per);
  pool.parallel_for_2d(n, chunks, [&](size_t b, size_t t) {
    const size_t c0 = t * per, off = (b * c + c0) * pixels;
    fn_cw_(std::min(per, c - c0), pixels, in + off, scale_.data() + c0, shift_.data() + c0,
           out + off, &params_);
  });
}

// ---------------------------------------------------------------------------------------------
// ChannelShuffleOp

ChannelShuffleOp::ChannelShuffleOp(int64_t channels, int64_t groups)
    : channels_(channels), groups_(groups) {
  if (channels < 1 || groups < 1 || channels % groups)
    throw std::invalid_argument("channel_shuffle: channels (" + std::to_string(channels) +
                                ") must be a positive multiple of groups (" +
                                std::to_string(groups) + ")");
  fn_ = zip_kernel(groups);
}

void ChannelShuffleOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  check_view("channel_shuffle", "input", in, channels_);
  check_view("channel_shuffle", "output", out, channels_);
  if (out.n != in.n || out.pixels() != in.pixels())
    throw std::invalid_argument("channel_shuffle: output shape differs from the input shape");
  const size_t rows = in.n * in.pixels(), ips = in.ps(), ops = out.ps();
  const size_t n = channels_ / groups_, m = groups_;
  if (m == 1 || n == 1) {  // the identity permutation: a plain copy
    for_row_chunks(rows, channels_, pool, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r)
        std::copy_n(in.data + r * ips, channels_, out.data + r * ops);
    });
    return;
  }
  for_row_chunks(rows, channels_, pool, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) fn_(n, m, in.data + r * ips, out.data + r * ops);
  });
}

void ChannelShuffleOp::forward_nchw(const float* in, float* out, int64_t n, int64_t pixels,
                                    ThreadPool& pool) const {
  if (!in || !out || n < 1 || pixels < 1)
    throw std::invalid_argument("channel_shuffle: empty input");
  const size_t per_group = channels_ / groups_, planes = n * channels_;
  const size_t per = std::max<size_t>(1, kChunk / pixels);
  pool.parallel_for(ceil_div(planes, per), [&](size_t t) {
    const size_t j1 = std::min(planes, (t + 1) * per);
    for (size_t j = t * per; j < j1; ++j) {  // output plane j = (b, i * groups + g)
      const size_t b = j / channels_, k = j % channels_;
      const size_t src = b * channels_ + (k % groups_) * per_group + k / groups_;
      std::copy_n(in + src * pixels, pixels, out + j * pixels);
    }
  });
}

}  // namespace ce
