// Builders of the core steps: convolutions, pooling, resize, shuffle, batch norm,
// squeeze-excite and the generic element-wise steps. Argument lists are positional (the order
// the planner writes them, python/convengine/_graph/planner.py).
#include <cmath>

#include "engine/elementwise.h"
#include "engine/matmul.h"
#include "engine/plan_builder.h"
#include "engine/resize.h"
#include "engine/rules.h"
#include "engine/squeeze_excite.h"
#include "engine/steps_conv.h"
#include "engine/steps_data.h"
#include "engine/steps_math.h"
#include "engine/steps_pool.h"
#include "engine/strided.h"

namespace ce {

namespace {

using Vec = std::vector<int64_t>;

Vec dims_of(const TRef& r) { return Vec(r.shape, r.shape + r.rank); }

void set_axes(int64_t* dst, const Vec& v, size_t n, const char* name) {
  if (v.size() != n)
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(n) + " entries");
  for (size_t i = 0; i < n; ++i) dst[i] = v[i];
}

template <class Shape>
void set_window_2d(Shape& s, const Vec& stride, const Vec& pad_begin, const Vec& pad_end,
                   const Vec& dilation) {
  set_axes(s.stride, stride, 2, "stride");
  set_axes(s.pad_begin, pad_begin, 2, "pad_begin");
  set_axes(s.pad_end, pad_end, 2, "pad_end");
  set_axes(s.dilation, dilation, 2, "dilation");
}

Activation activation(const StepArgs& a, size_t kind, size_t alpha, size_t beta, size_t lo, size_t hi) {
  Activation act;
  act.kind = parse_act_kind(a.s(kind));
  act.alpha = a.f(alpha);
  act.beta = a.f(beta);
  act.min = lo ? a.f(lo) : -INFINITY;
  act.max = hi ? a.f(hi) : INFINITY;
  return act;
}

void expect_count(const StepArgs& a, const ArrayArg& arr, int64_t n, const char* what) {
  if (arr.count() != n) a.fail(std::string(what) + " must have " + std::to_string(n) + " entries");
}

// x, y, residual?, weight, bias?, groups, stride, dilation, pad_begin, pad_end, output_padding,
// transposed, algorithm, activation, alpha, beta, clip_min, clip_max
std::unique_ptr<Step> build_conv(const StepArgs& a) {
  const TRef& in = a.ref(0);
  const TRef& out = a.ref(1);
  const TRef* res = a.opt_ref(2);
  const ArrayArg& w = a.array(3);
  const ArrayArg* b = a.opt_array(4);
  const bool transposed = a.b(11);
  if (in.rank < 3 || in.rank > 5 || static_cast<int>(w.shape.size()) != in.rank)
    a.fail("input and weight ranks must match (3-5)");
  ConvShape s = make_conv_shape(dims_of(in), w.shape, a.i(5), transposed, a.ints(6), a.ints(7),
                                a.ints(8), a.ints(9), a.ints(10),
                                b ? (b->shape.size() == 1 ? b->shape[0] : -2) : -1);
  s.in_pixel_stride = channels_last_view(in, nullptr).ps();
  s.infer_output();
  for (int i = 0; i < s.ndim; ++i)
    if (out.rank != in.rank || out.shape[2 + i] != s.out[3 - s.ndim + i] || out.shape[1] != s.c_out ||
        out.shape[0] != in.shape[0])
      a.fail("planned output shape differs from the convolution's");
  auto op = make_conv(s, w.f32(), b ? b->f32() : nullptr, activation(a, 13, 14, 15, 16, 17), a.s(12));
  auto step = make_conv_step(std::move(op), in, out, res);
  step->op = transposed ? "ConvTranspose" : "Conv";
  return step;
}

// x, offset, mask?, y, weight, bias?, stride, pad_begin, pad_end, dilation, groups, offset_groups
std::unique_ptr<Step> build_deform(const StepArgs& a) {
  const TRef &in = a.ref(0), &off = a.ref(1), &out = a.ref(3);
  const ArrayArg& w = a.array(4);
  const ArrayArg* b = a.opt_array(5);
  if (in.rank != 4 || w.shape.size() != 4) a.fail("DeformConv is 2D");
  DeformShape s;
  s.c_in = in.shape[1];
  s.c_out = w.shape[0];
  s.groups = a.i(10);
  s.offset_groups = a.i(11);
  s.in[0] = in.shape[2], s.in[1] = in.shape[3];
  s.kernel[0] = w.shape[2], s.kernel[1] = w.shape[3];
  set_window_2d(s, a.ints(6), a.ints(7), a.ints(8), a.ints(9));
  s.infer_output();
  if (s.groups < 1 || w.shape[1] * s.groups != s.c_in) a.fail("weight does not match the input");
  if (b && (b->shape.size() != 1 || b->shape[0] != s.c_out)) a.fail("bias must have shape (c_out,)");
  auto op = std::make_unique<DeformConvOp>(s, w.f32(), b ? b->f32() : nullptr, Activation{});
  auto step = make_deform_step(std::move(op), in, off, a.opt_ref(2), out);
  step->op = "DeformConv";
  return step;
}

// x, y, weight, bias?, kernel, stride, pad_begin, pad_end, dilation
std::unique_ptr<Step> build_local(const StepArgs& a) {
  const TRef &in = a.ref(0), &out = a.ref(1);
  const ArrayArg& w = a.array(2);
  const ArrayArg* b = a.opt_array(3);
  if (in.rank != 4 || out.rank != 4) a.fail("LocalConv is 2D");
  LocalConvShape s;
  s.c_in = in.shape[1];
  s.c_out = out.shape[1];
  s.in[0] = in.shape[2], s.in[1] = in.shape[3];
  set_axes(s.kernel, a.ints(4), 2, "kernel");
  set_window_2d(s, a.ints(5), a.ints(6), a.ints(7), a.ints(8));
  s.infer_output();
  const Vec want = {s.out[0], s.out[1], s.c_out, s.c_in, s.kernel[0], s.kernel[1]};
  if (w.shape != want) a.fail("LocalConv weight shape mismatch");
  if (b) expect_count(a, *b, s.c_out * s.out[0] * s.out[1], "LocalConv bias (c_out, out_h, out_w)");
  auto op = std::make_unique<LocalConvOp>(s, w.f32(), b ? b->f32() : nullptr, Activation{}, true);
  auto step = make_local_conv_step(std::move(op), in, out);
  step->op = "LocalConv";
  return step;
}

// The 2-D kernel applies when the pads are at most half the effective kernel, average pooling
// has no dilation and counts padding only without pads, and its output size is the planned one;
// otherwise the n-d window pool runs.
bool pool2d_fits(bool max, const Vec& k, const Vec& st, const Vec& d, const Vec& pb, const Vec& pe,
                 bool ceil_mode, bool cip, const TRef& in, const TRef& out) {
  if (in.rank != 4 || out.rank != 4 || k.size() != 2 || st.size() != 2 || d.size() != 2 ||
      pb.size() != 2 || pe.size() != 2 || in.shape[1] < 1)
    return false;
  bool pads = false;
  for (int i = 0; i < 2; ++i) {
    if (k[i] < 1 || st[i] < 1 || d[i] < 1 || pb[i] < 0 || pe[i] < 0 || in.shape[2 + i] < 1 ||
        !rules::pool_pads_fit(k[i], d[i], pb[i], pe[i]) || (!max && d[i] != 1))
      return false;
    pads = pads || pb[i] || pe[i];
  }
  if (!max && cip && pads) return false;
  PoolShape s;
  s.kind = max ? PoolKind::kMax : PoolKind::kAverage;
  s.channels = in.shape[1];
  s.in[0] = in.shape[2], s.in[1] = in.shape[3];
  for (int i = 0; i < 2; ++i)
    s.kernel[i] = k[i], s.stride[i] = st[i], s.dilation[i] = d[i], s.pad_begin[i] = pb[i], s.pad_end[i] = pe[i];
  s.ceil_mode = ceil_mode;
  s.count_include_pad = cip;
  s.infer_output();
  return s.out[0] == out.shape[2] && s.out[1] == out.shape[3];
}

// Window parameters of 1-3 spatial axes, checked and widened to 3 (missing leading axes: a
// unit window).
struct Window3 {
  int64_t k[3], s[3], d[3], pb[3], pe[3];
};
Window3 window3(const StepArgs& a, const Vec& k, const Vec& st, const Vec& d, const Vec& pb,
                const Vec& pe) {
  constexpr int64_t kBig = int64_t{1} << 31;
  for (const Vec* v : {&k, &st, &d})
    for (int64_t x : *v)
      if (x < 1 || x > kBig) a.fail("kernel, stride and dilation must be in [1, 2^31]");
  for (const Vec* v : {&pb, &pe})
    for (int64_t x : *v)
      if (x < 0 || x > kBig) a.fail("pads must be in [0, 2^31]");
  const size_t n = k.size();
  if (n < 1 || n > 3) a.fail("pooling has 1-3 spatial axes");
  if (st.size() != n || d.size() != n || pb.size() != n || pe.size() != n)
    a.fail("kernel, stride, dilation and pads must have one entry per spatial axis");
  Window3 w;
  for (size_t i = 0; i < 3; ++i) {
    const bool lead = i < 3 - n;
    const size_t j = i - (3 - n);
    w.k[i] = lead ? 1 : k[j];
    w.s[i] = lead ? 1 : st[j];
    w.d[i] = lead ? 1 : d[j];
    w.pb[i] = lead ? 0 : pb[j];
    w.pe[i] = lead ? 0 : pe[j];
  }
  return w;
}

// x, y, max, kernel, stride, dilation, pad_begin, pad_end, ceil_mode, count_include_pad
// (per-axis lists of the spatial rank, 1-3)
std::unique_ptr<Step> build_pool(const StepArgs& a) {
  const TRef &in = a.ref(0), &out = a.ref(1);
  const bool max = a.b(2), ceil_mode = a.b(8), cip = a.b(9);
  const Vec k = a.ints(3), st = a.ints(4), d = a.ints(5), pb = a.ints(6), pe = a.ints(7);
  const Window3 w = window3(a, k, st, d, pb, pe);
  std::unique_ptr<Step> step;
  if (pool2d_fits(max, k, st, d, pb, pe, ceil_mode, cip, in, out)) {
    PoolShape s;
    s.kind = max ? PoolKind::kMax : PoolKind::kAverage;
    s.channels = in.shape[1];
    s.in[0] = in.shape[2], s.in[1] = in.shape[3];
    set_axes(s.kernel, k, 2, "kernel");
    set_window_2d(s, st, pb, pe, d);
    s.ceil_mode = ceil_mode;
    s.count_include_pad = cip;
    s.infer_output();
    step = make_pool2d_step(std::make_unique<Pool2dOp>(s), in, out);
  } else {
    step = make_window_pool_step(max, w.k, w.s, w.d, w.pb, w.pe, ceil_mode, cip, in, out);
  }
  step->op = max ? "MaxPool" : "AveragePool";
  return step;
}

// x, y, p, kernel, stride, dilation, pad_begin, pad_end, ceil_mode (LpPool; GlobalLpPool is
// its window over the whole input)
std::unique_ptr<Step> build_lp_pool(const StepArgs& a) {
  const Window3 w = window3(a, a.ints(3), a.ints(4), a.ints(5), a.ints(6), a.ints(7));
  auto step = make_lp_pool_step(a.i(2), w.k, w.s, w.d, w.pb, w.pe, a.b(8), a.ref(0), a.ref(1));
  step->op = "LpPool";
  return step;
}

std::unique_ptr<Step> build_global_pool(const StepArgs& a) {
  const bool max = a.b(2);
  auto step = make_global_pool_step(max, a.ref(0), a.ref(1));
  step->op = max ? "GlobalMaxPool" : "GlobalAveragePool";
  return step;
}

std::unique_ptr<Step> resize_step(const StepArgs& a, ResizeMode mode, Resize2dOp::Axis h, Resize2dOp::Axis w) {
  const TRef &in = a.ref(0), &out = a.ref(1);
  if (in.rank != 4 || out.rank != 4) a.fail("resize needs a 4D tensor");
  ResizeShape s;
  s.mode = mode;
  s.channels = in.shape[1];
  s.in[0] = in.shape[2], s.in[1] = in.shape[3];
  s.out[0] = out.shape[2], s.out[1] = out.shape[3];
  auto step = std::make_unique<ViewStep<Resize2dOp>>(
      std::make_unique<Resize2dOp>(s, std::move(h), std::move(w)), in, out, "resize2d", 0.0);
  step->op = "Resize";
  return step;
}

// x, y, linear, i0h, i1h, l0h, l1h, i0w, i1w, l0w, l1w
std::unique_ptr<Step> build_resize(const StepArgs& a) {
  return resize_step(a, a.b(2) ? ResizeMode::kBilinear : ResizeMode::kNearest,
                     {a.ints(3), a.ints(4), a.floats(5), a.floats(6), {}, {}},
                     {a.ints(7), a.ints(8), a.floats(9), a.floats(10), {}, {}});
}

// x, y, ih, wh, iw, ww: per axis 4 source indices and weights per output index (4 o + k)
std::unique_ptr<Step> build_resize_cubic(const StepArgs& a) {
  return resize_step(a, ResizeMode::kCubic, {{}, {}, {}, {}, a.ints(2), a.floats(3)},
                     {{}, {}, {}, {}, a.ints(4), a.floats(5)});
}

std::unique_ptr<Step> build_shuffle(const StepArgs& a) {
  const TRef& in = a.ref(0);
  if (in.rank < 2) a.fail("ChannelShuffle needs (N, C, ...)");
  auto step = std::make_unique<ViewStep<ChannelShuffleOp>>(
      std::make_unique<ChannelShuffleOp>(in.shape[1], a.i(2)), in, a.ref(1), "zip", 0.0);
  step->op = "ChannelShuffle";
  return step;
}

// x, y, mean, var, scale, bias, epsilon
std::unique_ptr<Step> build_batchnorm(const StepArgs& a) {
  const TRef& in = a.ref(0);
  const int64_t c = in.rank > 1 ? in.shape[1] : 0;
  const ArrayArg *m = &a.array(2), *v = &a.array(3), *g = &a.array(4), *b = &a.array(5);
  for (const ArrayArg* p : {m, v, g, b}) expect_count(a, *p, c, "batch norm parameters");
  auto op = std::make_unique<BatchNormOp>(c, m->f32(), v->f32(), g->f32(), b->f32(), a.d(6));
  auto step =
      std::make_unique<ViewStep<BatchNormOp>>(std::move(op), in, a.ref(1), "scaleshift", 0.0);
  step->op = "BatchNormalization";
  return step;
}

// x, y, w1, b1, w2, b2, activation, alpha, beta, clip_min, clip_max, gate, gate_alpha, gate_beta
std::unique_ptr<Step> build_squeeze_excite(const StepArgs& a) {
  const ArrayArg &w1 = a.array(2), &b1 = a.array(3), &w2 = a.array(4), &b2 = a.array(5);
  const Vec &s1 = w1.shape, &s2 = w2.shape;
  if (s1.size() != 2 || s2.size() != 2 || s1[0] != s2[1] || s1[1] != s2[0] ||
      b1.count() != s1[0] || b2.count() != s2[0])
    a.fail("squeeze-excite weights must be (mid, C), (mid), (C, mid), (C)");
  auto step = make_squeeze_excite_step(s1[1], s1[0], w1.f32(), b1.f32(), w2.f32(), b2.f32(),
                                       activation(a, 6, 7, 8, 9, 10), activation(a, 11, 12, 13, 0, 0),
                                       a.ref(0), a.ref(1));
  step->op = "SqueezeExcite";
  return step;
}

// kind (Add, Sub, Mul, Div), a, b, y
std::unique_ptr<Step> build_binary(const StepArgs& a) {
  const std::string& kind = a.s(0);
  BinaryKind k;
  if (kind == "Add") k = BinaryKind::kAdd;
  else if (kind == "Sub") k = BinaryKind::kSub;
  else if (kind == "Mul") k = BinaryKind::kMul;
  else if (kind == "Div") k = BinaryKind::kDiv;
  else a.fail("unknown binary op " + kind);
  auto step = make_binary_step(k, a.ref(1), a.ref(2), a.ref(3));
  step->op = kind;
  return step;
}

// op, x, y, activation, alpha, beta, clip_min, clip_max
std::unique_ptr<Step> build_unary(const StepArgs& a) {
  auto step = make_unary_step(activation(a, 3, 4, 5, 6, 7), a.ref(1), a.ref(2));
  step->op = a.s(0);
  return step;
}

// op, src, dst
std::unique_ptr<Step> build_copy(const StepArgs& a) {
  auto step = make_copy_step(a.ref(1), a.ref(2));
  step->op = a.s(0);
  return step;
}

// op, dst, value
std::unique_ptr<Step> build_fill(const StepArgs& a) {
  auto step = make_fill_step(a.f(2), a.ref(1));
  step->op = a.s(0);
  return step;
}

std::unique_ptr<Step> build_softmax(const StepArgs& a) {
  auto step = make_softmax_step(static_cast<int>(a.i(2)), a.ref(0), a.ref(1));
  step->op = "Softmax";
  return step;
}

std::unique_ptr<Step> build_matmul(const StepArgs& a) {
  auto step = make_matmul_step(a.ref(0), a.ref(1), a.ref(2));
  step->op = "MatMul";
  return step;
}

}  // namespace

void add_core_builders(BuilderTable& t) {
  t["add_conv"] = {18, build_conv};
  t["add_deform"] = {12, build_deform};
  t["add_local"] = {9, build_local};
  t["add_pool"] = {10, build_pool};
  t["add_lp_pool"] = {9, build_lp_pool};
  t["add_global_pool"] = {3, build_global_pool};
  t["add_resize"] = {11, build_resize};
  t["add_resize_cubic"] = {6, build_resize_cubic};
  t["add_shuffle"] = {3, build_shuffle};
  t["add_batchnorm"] = {7, build_batchnorm};
  t["add_squeeze_excite"] = {14, build_squeeze_excite};
  t["add_binary"] = {4, build_binary};
  t["add_unary"] = {8, build_unary};
  t["add_copy"] = {3, build_copy};
  t["add_fill"] = {3, build_fill};
  t["add_softmax"] = {3, build_softmax};
  t["add_matmul"] = {3, build_matmul};
}

}  // namespace ce
