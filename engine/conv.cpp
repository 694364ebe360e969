#include "engine/conv.h"

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>

#include "engine/depthwise.h"
#include "engine/gemm_conv.h"
#include "engine/group_conv.h"
#include "engine/igemm_conv.h"
#include "engine/rules.h"
#include "engine/stem_conv.h"
#include "engine/winograd_conv.h"

namespace ce {

int64_t ConvShape::macs() const {
  const int64_t out_pixels = out[0] * out[1] * out[2];
  const int64_t in_pixels = in[0] * in[1] * in[2];
  // Transposed conv: every input pixel meets every tap once.
  const int64_t pixels = transposed ? in_pixels : out_pixels;
  const int64_t per_pixel = transposed ? c_in * cout_g() : c_out * cin_g();
  return pixels * per_pixel * taps();
}

void ConvShape::infer_output() {
  // Sizes beyond 2^31 are refused so that no size arithmetic below can overflow.
  constexpr int64_t kBig = int64_t{1} << 31;
  auto fail = [&](const char* what) {
    throw std::invalid_argument(std::string("convolution ") + what + ": " + describe());
  };
  if (c_in < 1 || c_out < 1 || groups < 1 || c_in > kBig || c_out > kBig)
    fail("channels and groups must be >= 1");
  for (int i = 0; i < 3; ++i) {
    if (in[i] < 1 || kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1 || in[i] > kBig ||
        kernel[i] > kBig || stride[i] > kBig || dilation[i] > kBig)
      fail("sizes, strides and dilations must be in [1, 2^31]");
    if (pad_begin[i] < 0 || pad_end[i] < 0 || output_padding[i] < 0 || pad_begin[i] > kBig ||
        pad_end[i] > kBig || output_padding[i] > kBig)
      fail("pads must be in [0, 2^31]");
    if (i < 3 - ndim && (in[i] != 1 || kernel[i] != 1 || stride[i] != 1 || dilation[i] != 1 ||
                         pad_begin[i] || pad_end[i] || output_padding[i]))
      fail("has a window on an axis the input does not have");
  }
  for (int i = 0; i < 3; ++i) {
    out[i] = transposed ? rules::transposed_output(in[i], kernel[i], stride[i], dilation[i],
                                                   pad_begin[i], pad_end[i], output_padding[i])
                        : rules::window_output(in[i], kernel[i], stride[i], dilation[i],
                                               pad_begin[i], pad_end[i]);
    if (out[i] < 1) throw std::invalid_argument("convolution output size is below 1: " + describe());
  }
}

std::string ConvShape::describe() const {
  std::ostringstream os;
  auto dims = [&](const int64_t* v) {
    os << "(";
    for (int i = 3 - ndim; i < 3; ++i) os << v[i] << (i < 2 ? "," : "");
    os << ")";
  };
  os << (transposed ? "conv_transpose" : "conv") << ndim << "d c_in=" << c_in << " c_out=" << c_out
     << " groups=" << groups << " in=";
  dims(in);
  os << " kernel=";
  dims(kernel);
  os << " stride=";
  dims(stride);
  os << " dilation=";
  dims(dilation);
  os << " pads=";
  dims(pad_begin);
  dims(pad_end);
  return os.str();
}

std::string Window2d::infer_window() {
  for (int i = 0; i < 2; ++i) {
    constexpr int64_t kBig = int64_t{1} << 31;  // no size arithmetic can overflow below it
    if (in[i] < 1 || kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1 || pad_begin[i] < 0 ||
        pad_end[i] < 0 || in[i] > kBig || kernel[i] > kBig || stride[i] > kBig ||
        dilation[i] > kBig || pad_begin[i] > kBig || pad_end[i] > kBig)
      return "sizes, strides and dilations must be in [1, 2^31] and pads in [0, 2^31]";
    out[i] =
        rules::window_output(in[i], kernel[i], stride[i], dilation[i], pad_begin[i], pad_end[i]);
    if (out[i] < 1) return "output size is below 1";
  }
  return {};
}

std::string Window2d::describe_window() const {
  std::ostringstream os;
  os << "in=(" << in[0] << "," << in[1] << ") kernel=(" << kernel[0] << "," << kernel[1]
     << ") stride=(" << stride[0] << "," << stride[1] << ") dilation=(" << dilation[0] << ","
     << dilation[1] << ") pads=(" << pad_begin[0] << "," << pad_begin[1] << ")(" << pad_end[0]
     << "," << pad_end[1] << ")";
  return os.str();
}

void ConvOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool,
                     const TensorView* residual) const {
  const ConvShape& s = shape_;
  if (in.c != s.c_in || out.c != s.c_out || in.n != out.n || in.d != s.in[0] || in.h != s.in[1] ||
      in.w != s.in[2] || out.d != s.out[0] || out.h != s.out[1] || out.w != s.out[2])
    throw std::invalid_argument("tensor shapes do not match the convolution: " + s.describe());
  if (in.ps() != s.in_ps())
    throw std::invalid_argument("input pixel stride differs from the one the conv was planned for");
  if (in.ps() < in.c || out.ps() < out.c)
    throw std::invalid_argument("pixel stride is below the channel count");
  if (reinterpret_cast<uintptr_t>(in.data) % sizeof(float) != 0)
    throw std::invalid_argument("input data is not 4-byte aligned");
  if (residual && (residual->n != out.n || residual->d != out.d || residual->h != out.h ||
                   residual->w != out.w || residual->c != out.c || residual->ps() < residual->c))
    throw std::invalid_argument("residual shape differs from the convolution output: " + s.describe());
  run(in, out, residual, pool);
}

namespace {
int winograd_tile(const std::string& algo) {  // m of "winograd_f<m>", or 0
  return algo == "winograd_f2" ? 2 : algo == "winograd_f4" ? 4 : algo == "winograd_f6" ? 6 : 0;
}
}  // namespace

std::vector<std::string> conv_algorithm_names() {
  return {"igemm", "depthwise", "igemm_rows", "gemm", "group", "winograd_f2", "winograd_f4", "winograd_f6",
          "winograd1d", "winograd_s2", "igemm_pruned"};
}

bool conv_algorithm_applies(const std::string& algo, const ConvShape& s) {
  if (algo == "igemm") return true;
  if (algo == "depthwise") return depthwise_applies(s);
  if (algo == "igemm_rows") return igemm_rows_applies(s);
  if (algo == "gemm") return gemm_applies(s);
  if (algo == "group") return group_applies(s);
  if (winograd_tile(algo)) return winograd_applies(s);
  if (algo == "winograd1d") return winograd1d_applies(s);
  if (algo == "winograd_s2") return winograd_s2_applies(s);
  if (algo == "igemm_pruned") return !s.transposed;
  return false;
}

std::string select_conv_algorithm(const ConvShape& s, bool fast) {
  // A single input channel with groups 1 is also "depthwise" (multiplier c_out), but from 16
  // outputs on the GEMM paths are faster (1 -> 32, 7x7 s2 at 64x64: 0.17 vs 0.04 ms).
  if (depthwise_applies(s) && !(s.groups == 1 && s.c_out >= 16)) return "depthwise";
  if (s.groups > 1 && group_applies(s)) return "group";
  if (gemm_applies(s)) return "gemm";
  // Winograd only where its cost model (engine/winograd_conv.cpp) is 15% below igemm's.
  // F(4x4, 3x3), F(6x6, 3x3) and the 8-point variants (winograd1d, winograd_s2) lose 3-4 bits
  // against direct summation (docs/ARCHITECTURE.md), which deep ill-conditioned nets amplify:
  // timm inception_v4 (random weights, BN statistics from data) differed from torch by 2.5e-3
  // of its largest output with them and by 5.0e-4 without (onnxruntime: 4.1e-4); vovnet39a
  // 1.7e-4 against 2.0e-5 (onnxruntime 1.4e-5). They are chosen only when asked for ("fast");
  // F(2x2, 3x3) is more accurate than direct summation and always allowed.
  int best_m = 0;
  double best = 0.85;
  for (int m : {2, 4, 6}) {
    if (m > 2 && !fast) continue;
    const double c = winograd_relative_cost(s, m);
    if (c < best) best = c, best_m = m;
  }
  // Taps that read only padding: pruned when they are a quarter or more of the products and
  // the rest costs less than the best Winograd variant.
  const double useful = s.transposed ? 1.0 : pruned_tap_fraction(s);
  if (useful <= 0.75 && useful < (best_m ? best : 1.0)) return "igemm_pruned";
  if (best_m) return "winograd_f" + std::to_string(best_m);
  if (fast && winograd1d_relative_cost(s) < 0.85) return "winograd1d";
  if (fast && winograd_s2_relative_cost(s) < 0.85) return "winograd_s2";
  // Row pointers pay off while a tap holds few input channels: ResNet stem (3 -> 64, 7x7 s2)
  // 2.95 -> 2.67 ms; at c_in 16 (C3D 3x3x3) and 64 (3x3) plain igemm was 2-4% faster. With a
  // stride and rows of up to 5 taps, plain igemm again: the MobileNet stems (3 -> 16/24/32,
  // 3x3 s2 at 224) 3-10% faster, 5x5 s2 1-3% (Zen 4, avx512 and avx2 kernels).
  if (igemm_rows_applies(s) && s.kernel[2] > 1 && s.c_in < 8 &&
      !(s.stride[2] > 1 && s.kernel[2] <= 5))
    return "igemm_rows";
  return "igemm";
}

std::unique_ptr<ConvOp> make_conv(const ConvShape& s, const float* weight, const float* bias,
                                  const Activation& act, const std::string& algorithm) {
  const bool automatic = algorithm == "auto" || algorithm == "fast";
  const std::string algo = automatic ? select_conv_algorithm(s, algorithm == "fast") : algorithm;
  if (!conv_algorithm_applies(algo, s))
    throw std::invalid_argument("algorithm '" + algo + "' does not apply to " + s.describe());
  if (algo == "depthwise") return make_depthwise_conv(s, weight, bias, act);
  if (algo == "igemm_rows") return make_igemm_rows_conv(s, weight, bias, act);
  if (algo == "gemm") return make_gemm_conv(s, weight, bias, act);
  if (algo == "group") return make_group_conv(s, weight, bias, act);
  if (const int m = winograd_tile(algo)) return make_winograd_conv(s, m, weight, bias, act);
  if (algo == "winograd1d") return make_winograd1d_conv(s, weight, bias, act);
  if (algo == "winograd_s2") return make_winograd_s2_conv(s, weight, bias, act);
  if (algo == "igemm_pruned") return make_igemm_pruned_conv(s, weight, bias, act);
  if (s.transposed) return make_igemm_deconv(s, weight, bias, act);
  return make_igemm_conv(s, weight, bias, act);
}

namespace {
void set_axes(int64_t* dst, const std::vector<int64_t>& v, const char* name) {
  if (v.size() != 3) throw std::invalid_argument(std::string(name) + " must have 3 entries (d, h, w)");
  for (int i = 0; i < 3; ++i) dst[i] = v[i];
}
}  // namespace

ConvShape make_conv_shape(const std::vector<int64_t>& input_shape, const std::vector<int64_t>& ws,
                          int64_t groups, bool transposed, const std::vector<int64_t>& stride,
                          const std::vector<int64_t>& dilation, const std::vector<int64_t>& pad_begin,
                          const std::vector<int64_t>& pad_end,
                          const std::vector<int64_t>& output_padding, int64_t bias_len) {
  const int ndim = static_cast<int>(input_shape.size()) - 2;
  if (ndim < 1 || ndim > 3 || static_cast<int>(ws.size()) != ndim + 2)
    throw std::invalid_argument("input and weight must have rank 3, 4 or 5, and the same rank");
  ConvShape s;
  s.ndim = ndim;
  s.groups = groups;
  s.transposed = transposed;
  s.c_in = input_shape[1];
  s.c_out = transposed ? ws[1] * groups : ws[0];
  for (int i = 0; i < ndim; ++i) {
    s.in[3 - ndim + i] = input_shape[2 + i];
    s.kernel[3 - ndim + i] = ws[2 + i];
  }
  set_axes(s.stride, stride, "stride");
  set_axes(s.dilation, dilation, "dilation");
  set_axes(s.pad_begin, pad_begin, "pad_begin");
  set_axes(s.pad_end, pad_end, "pad_end");
  set_axes(s.output_padding, output_padding, "output_padding");
  if (groups < 1 || s.c_in % groups || s.c_out % groups)
    throw std::invalid_argument("channels are not divisible by groups");
  if ((transposed ? ws[0] : ws[1] * groups) != s.c_in)
    throw std::invalid_argument("weight shape does not match the input channels");
  if (bias_len != -1 && bias_len != s.c_out) throw std::invalid_argument("bias must have shape (c_out,)");
  return s;
}

}  // namespace ce
