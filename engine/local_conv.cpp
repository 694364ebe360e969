#include "engine/local_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <utility>
#include <sstream>
#include <stdexcept>

#include "engine/conv.h"
#include "engine/dispatch.h"
#include "engine/packing.h"

namespace ce {

void LocalConvShape::infer_output() {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("local_conv2d: " + what + " (" + describe() + ")");
  };
  if (c_in < 1 || c_out < 1) fail("channel counts must be >= 1");
  const std::string window_error = infer_window();
  if (!window_error.empty()) fail(window_error);
}

std::string LocalConvShape::describe() const {
  std::ostringstream os;
  os << "c_in=" << c_in << " c_out=" << c_out << " " << describe_window();
  return os.str();
}

LocalConvOp::LocalConvOp(const LocalConvShape& s, const float* weight, const float* bias,
                         const Activation& act, bool copy_weights)
    : shape_(s), clamp_(act.clamp()), weight_(weight) {
  shape_.infer_output();
  const size_t P = shape_.positions(), CO = shape_.c_out;
  if (copy_weights) {
    const size_t n = P * CO * shape_.c_in * shape_.taps();
    owned_.resize(n);
    std::copy(weight, weight + n, owned_.data());
    owned_.share();
    weight_ = std::as_const(owned_).data();
  }
  bias_.assign(P * CO, 0.0f);
  if (bias) pack_transposed(bias_.data(), bias, CO, P);
}

void LocalConvOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  const LocalConvShape& s = shape_;
  if (in.d != 1 || in.h != s.in[0] || in.w != s.in[1] || in.c != s.c_in || out.n != in.n ||
      out.d != 1 || out.h != s.out[0] || out.w != s.out[1] || out.c != s.c_out)
    throw std::invalid_argument("local_conv2d: tensor views do not match " + s.describe());
  const LocalConvKernel& k = local_conv_kernel();
  const size_t N = in.n, P = s.positions(), C = s.c_in, K = s.taps(), CO = s.c_out;
  const size_t kc = C * K;
  const int64_t in_ps = in.ps(), out_ps = out.ps();
  const size_t in_is = in.image_stride(), out_is = out.image_stride();
  // Positions per work item: about 8 items per thread, each at least ~64K multiply-adds.
  const size_t per_pos = std::max<size_t>(1, N * kc * CO);
  const size_t by_threads = ceil_div(P, 8 * static_cast<size_t>(pool.num_threads()));
  const size_t chunk = std::max<size_t>(1, std::min(by_threads, ceil_div(65536, per_pos)));
  pool.parallel_for(ceil_div(P, chunk), [&](size_t item) {
    thread_local std::vector<float> patches;
    thread_local std::vector<const float*> rows;
    patches.resize(N * kc);
    rows.resize(N);
    for (size_t i = 0; i < N; ++i) rows[i] = patches.data() + i * kc;
    const size_t p1 = std::min(P, (item + 1) * chunk);
    for (size_t p = item * chunk; p < p1; ++p) {
      const int64_t y = p / s.out[1], x = p % s.out[1];
      // Input patches in the weights' (c_in, kh, kw) order; padding taps are zeros.
      for (size_t t = 0; t < K; ++t) {
        const int64_t iy = y * s.stride[0] - s.pad_begin[0] + (t / s.kernel[1]) * s.dilation[0];
        const int64_t ix = x * s.stride[1] - s.pad_begin[1] + (t % s.kernel[1]) * s.dilation[1];
        const bool inside = iy >= 0 && iy < s.in[0] && ix >= 0 && ix < s.in[1];
        for (size_t i = 0; i < N; ++i) {
          float* dst = patches.data() + i * kc + t;
          if (!inside) {
            for (size_t c = 0; c < C; ++c) dst[c * K] = 0.0f;
            continue;
          }
          const float* src = in.data + i * in_is + (iy * s.in[1] + ix) * in_ps;
          for (size_t c = 0; c < C; ++c) dst[c * K] = src[c];
        }
      }
      k.fn(N, CO, kc, rows.data(), weight_ + p * CO * kc, kc, bias_.data() + p * CO,
           out.data + p * out_ps, out_is, &clamp_);
    }
  });
}

}  // namespace ce
