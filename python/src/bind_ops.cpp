// Bindings of the non-convolution ops (element-wise, batch norm, channel shuffle, pooling,
// resize, linear). Thin: arguments were validated in Python (convengine/_functional/ops.py);
// arrays are converted with the GIL held, the engine ops are built and run with it released.
#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/conv.h"
#include "engine/elementwise.h"
#include "engine/pool.h"
#include "engine/resize.h"

namespace ce::bind {

namespace {

// (N, C, P) channels-innermost view with all spatial axes flattened into w.
TensorView flat_nhwc(float* data, const std::vector<int64_t>& nchw_shape) {
  TensorView v;
  v.data = data;
  v.n = nchw_shape[0];
  v.c = nchw_shape[1];
  for (size_t i = 2; i < nchw_shape.size(); ++i) v.w *= nchw_shape[i];
  return v;
}

size_t numel(const std::vector<int64_t>& s) {
  size_t n = 1;
  for (int64_t d : s) n *= static_cast<size_t>(d);
  return n;
}

void require_rank(const FloatArray& x, int rank, const char* op) {
  if (x.ndim() != rank)
    throw py::value_error(std::string(op) + ": input must have " + std::to_string(rank) +
                          " dimensions, got " + std::to_string(x.ndim()));
}

void require_vec(const FloatArray& a, int64_t n, const char* name) {
  if (a.ndim() != 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(n) + ",)");
}

// y = f(x) element-wise; `out` is a float32 C-contiguous writable array of x's size, possibly
// the very array x refers to (in-place).
void unary(const std::string& kind, const FloatArray& x, py::array out, float lo, float hi) {
  if (!out.dtype().is(py::dtype::of<float>()) || !(out.flags() & py::array::c_style) ||
      !out.writeable())
    throw py::value_error("out must be a writable C-contiguous float32 array");
  if (static_cast<size_t>(out.size()) != static_cast<size_t>(x.size()))
    throw py::value_error("out must have as many elements as x");
  const float* src = x.data();
  float* dst = static_cast<float*>(out.mutable_data());
  const size_t n = x.size();
  py::gil_scoped_release nogil;
  UnaryOp op(parse_unary_kind(kind), lo, hi);
  op.forward_flat(src, dst, n, ThreadPool::global());
}

// layout "nchw" runs the engine op's channels-first variant on the NCHW array (no transposes;
// the functional API's path), "nhwc" converts and runs the channels-innermost op (the graph
// runtime's path; tests reach it here).
bool use_nhwc(const std::string& layout) {
  if (layout != "nchw" && layout != "nhwc")
    throw py::value_error("layout must be 'nchw' or 'nhwc', got '" + layout + "'");
  return layout == "nhwc";
}

py::array_t<float> batch_norm(const FloatArray& x, const FloatArray& mean, const FloatArray& var,
                              std::optional<FloatArray> weight, std::optional<FloatArray> bias,
                              double eps, const std::string& layout) {
  const auto s = shape_of(x);
  if (s.size() < 2) throw py::value_error("batch_norm: input must have at least 2 dimensions");
  const int64_t c = s[1];
  require_vec(mean, c, "running_mean");
  require_vec(var, c, "running_var");
  if (weight) require_vec(*weight, c, "weight");
  if (bias) require_vec(*bias, c, "bias");
  const float* mp = mean.data();
  const float* vp = var.data();
  const float* wp = weight ? weight->data() : nullptr;
  const float* bp = bias ? bias->data() : nullptr;
  if (!use_nhwc(layout)) {
    py::array_t<float> out(s);
    const float* src = x.data();
    float* dst = out.mutable_data();
    py::gil_scoped_release nogil;
    BatchNormOp op(c, mp, vp, wp, bp, eps);
    op.forward_nchw(src, dst, s[0], flat_nhwc(nullptr, s).w, ThreadPool::global());
    return out;
  }
  auto buf = to_nhwc(x);
  {
    py::gil_scoped_release nogil;
    BatchNormOp op(c, mp, vp, wp, bp, eps);
    const TensorView v = flat_nhwc(buf.data(), s);
    op.forward(v, v, ThreadPool::global());
  }
  return from_nhwc(buf, s);
}

py::array_t<float> channel_shuffle(const FloatArray& x, int64_t groups, const std::string& layout) {
  const auto s = shape_of(x);
  if (s.size() < 2) throw py::value_error("channel_shuffle: input must have at least 2 dimensions");
  if (!use_nhwc(layout)) {
    py::array_t<float> out(s);
    const float* src = x.data();
    float* dst = out.mutable_data();
    py::gil_scoped_release nogil;
    ChannelShuffleOp op(s[1], groups);
    op.forward_nchw(src, dst, s[0], flat_nhwc(nullptr, s).w, ThreadPool::global());
    return out;
  }
  auto in = to_nhwc(x);
  Buffer out(in.size());
  {
    py::gil_scoped_release nogil;
    ChannelShuffleOp op(s[1], groups);
    op.forward(flat_nhwc(in.data(), s), flat_nhwc(out.data(), s), ThreadPool::global());
  }
  return from_nhwc(out, s);
}

py::array_t<float> pool2d(const FloatArray& x, bool is_max, std::vector<int64_t> kernel,
                          std::vector<int64_t> stride, std::vector<int64_t> padding,
                          std::vector<int64_t> dilation, bool ceil_mode, bool count_include_pad,
                          int64_t divisor_override) {
  require_rank(x, 4, is_max ? "max_pool2d" : "avg_pool2d");
  const auto s = shape_of(x);
  PoolShape ps;
  ps.kind = is_max ? PoolKind::kMax : PoolKind::kAverage;
  ps.channels = s[1];
  ps.in[0] = s[2];
  ps.in[1] = s[3];
  for (int i = 0; i < 2; ++i) {
    ps.kernel[i] = kernel.at(i);
    ps.stride[i] = stride.at(i);
    ps.pad_begin[i] = ps.pad_end[i] = padding.at(i);
    ps.dilation[i] = dilation.at(i);
  }
  ps.ceil_mode = ceil_mode;
  ps.count_include_pad = count_include_pad;
  ps.divisor_override = divisor_override;
  ps.infer_output();
  const std::vector<int64_t> os = {s[0], s[1], ps.out[0], ps.out[1]};
  auto in = to_nhwc(x);
  Buffer out(numel(os));
  {
    py::gil_scoped_release nogil;
    Pool2dOp op(ps);
    op.forward(nhwc_view(in.data(), s), nhwc_view(out.data(), os), ThreadPool::global());
  }
  return from_nhwc(out, os);
}

py::array_t<float> adaptive_avg_pool2d(const FloatArray& x, int64_t out_h, int64_t out_w,
                                       const std::string& layout) {
  require_rank(x, 4, "adaptive_avg_pool2d");
  const auto s = shape_of(x);
  const std::vector<int64_t> os = {s[0], s[1], out_h, out_w};
  if (!use_nhwc(layout) && out_h == 1 && out_w == 1) {  // global pool: one reduction per plane
    py::array_t<float> out(os);
    const float* src = x.data();
    float* dst = out.mutable_data();
    py::gil_scoped_release nogil;
    AdaptiveAvgPool2dOp op(s[1], s[2], s[3], 1, 1);
    op.forward_nchw(src, dst, s[0], ThreadPool::global());
    return out;
  }
  auto in = to_nhwc(x);
  Buffer out(numel(os));
  {
    py::gil_scoped_release nogil;
    AdaptiveAvgPool2dOp op(s[1], s[2], s[3], out_h, out_w);
    op.forward(nhwc_view(in.data(), s), nhwc_view(out.data(), os), ThreadPool::global());
  }
  return from_nhwc(out, os);
}

py::array_t<float> interpolate(const FloatArray& x, int64_t out_h, int64_t out_w,
                               const std::string& mode, bool align_corners, double scale_h,
                               double scale_w) {
  require_rank(x, 4, "interpolate");
  const auto s = shape_of(x);
  ResizeShape rs;
  rs.mode = parse_resize_mode(mode);
  rs.align_corners = align_corners;
  rs.channels = s[1];
  rs.in[0] = s[2];
  rs.in[1] = s[3];
  rs.out[0] = out_h;
  rs.out[1] = out_w;
  rs.scale_factor[0] = scale_h;
  rs.scale_factor[1] = scale_w;
  const std::vector<int64_t> os = {s[0], s[1], out_h, out_w};
  auto in = to_nhwc(x);
  Buffer out(numel(os));
  {
    py::gil_scoped_release nogil;
    Resize2dOp op(rs);
    op.forward(nhwc_view(in.data(), s), nhwc_view(out.data(), os), ThreadPool::global());
  }
  return from_nhwc(out, os);
}

// input (rows, in_features) row-major is already channels-innermost: a 1x1 convolution over
// `rows` pixels (n = 1, h = 1, w = rows), which runs the packed GEMM kernel.
py::array_t<float> linear(const FloatArray& x, const FloatArray& w, std::optional<FloatArray> b) {
  if (x.ndim() != 2 || w.ndim() != 2) throw py::value_error("linear: input and weight must be 2D");
  const int64_t rows = x.shape(0), in_f = x.shape(1), out_f = w.shape(0);
  if (w.shape(1) != in_f)
    throw py::value_error("linear: weight.shape[1] must equal in_features");
  if (b) require_vec(*b, out_f, "bias");
  ConvShape cs;
  cs.ndim = 1;
  cs.c_in = in_f;
  cs.c_out = out_f;
  cs.in[2] = rows;
  cs.infer_output();
  py::array_t<float> out(std::vector<int64_t>{rows, out_f});
  const float* xp = x.data();
  const float* wp = w.data();
  const float* bp = b ? b->data() : nullptr;
  float* op = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    auto conv = make_conv(cs, wp, bp, Activation{});
    TensorView iv, ov;
    iv.data = const_cast<float*>(xp);
    iv.w = rows;
    iv.c = in_f;
    ov.data = op;
    ov.w = rows;
    ov.c = out_f;
    conv->forward(iv, ov, ThreadPool::global());
  }
  return out;
}

}  // namespace

void bind_ops(py::module_& m) {
  m.def("unary", &unary, py::arg("kind"), py::arg("x"), py::arg("out"),
        py::arg("lo") = -INFINITY, py::arg("hi") = INFINITY,
        "out = f(x) element-wise for kind in relu, relu6, clamp, hardswish, hardsigmoid, sigmoid, "
        "silu; out may be x itself");
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("mean"), py::arg("var"),
        py::arg("weight"), py::arg("bias"), py::arg("eps"), py::arg("layout") = "nchw");
  m.def("channel_shuffle", &channel_shuffle, py::arg("x"), py::arg("groups"),
        py::arg("layout") = "nchw");
  m.def("pool2d", &pool2d, py::arg("x"), py::arg("is_max"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"),
        py::arg("count_include_pad"), py::arg("divisor_override"));
  m.def("adaptive_avg_pool2d", &adaptive_avg_pool2d, py::arg("x"), py::arg("out_h"),
        py::arg("out_w"), py::arg("layout") = "nchw",
        "layout 'nchw' runs the 1x1 (global) case on the NCHW planes directly; every other case, "
        "and layout 'nhwc', converts to channels-innermost and runs the engine op");
  m.def("interpolate", &interpolate, py::arg("x"), py::arg("out_h"), py::arg("out_w"),
        py::arg("mode"), py::arg("align_corners"), py::arg("scale_h"), py::arg("scale_w"));
  m.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias"));
}

}  // namespace ce::bind
