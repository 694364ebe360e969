// _native.Plan: the planner (python/convengine/_graph/planner.py) adds steps one by one, then
// finalize(); run() executes the whole plan with the GIL released. A tensor reference is the
// tuple (buffer, offset, shape, strides) in floats (see engine/plan.h). Steps of the core ops are
// methods of PyPlan; the op families in bind_plan_*.cpp register theirs on the same class.
#pragma once
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common.h"
#include "engine/plan.h"
#include "engine/plan_steps.h"

namespace ce::bind {


using Vec = std::vector<int64_t>;
using PyRef = std::tuple<int, int64_t, Vec, Vec>;
using FVec = std::vector<float>;

inline TRef tref(const PyRef& p) {
  TRef r;
  r.buf = std::get<0>(p);
  r.offset = std::get<1>(p);
  const Vec& shape = std::get<2>(p);
  const Vec& strides = std::get<3>(p);
  if (shape.size() != strides.size() || shape.size() > static_cast<size_t>(kMaxRank))
    throw py::value_error("plan: a tensor reference needs equal-length shape and strides (rank <= 8)");
  r.rank = static_cast<int>(shape.size());
  for (int i = 0; i < r.rank; ++i) {
    if (shape[i] < 0) throw py::value_error("plan: negative dimension");
    r.shape[i] = shape[i];
    r.strides[i] = strides[i];
  }
  return r;
}

inline Activation activation(const std::string& kind, float alpha, float beta, float lo, float hi) {
  Activation a;
  a.kind = parse_act_kind(kind);
  a.alpha = alpha;
  a.beta = beta;
  a.min = lo;
  a.max = hi;
  return a;
}

inline int64_t numel(const Vec& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

class PyPlan {
 public:
  PyPlan(std::vector<Vec> ins, std::vector<Vec> outs) : plan_(ins, outs), ins_(ins), outs_(outs) {}

  int64_t add_constant(const FloatArray& a) { return plan_.add_constant(a.data(), a.size()); }

  std::string add_conv(const std::string& name, const PyRef& x, const PyRef& y,
                       std::optional<PyRef> res, const FloatArray& w, std::optional<FloatArray> b,
                       int64_t groups, const Vec& stride, const Vec& dilation, const Vec& pad_begin,
                       const Vec& pad_end, const Vec& output_padding, bool transposed,
                       const std::string& algorithm, const std::string& act, float alpha,
                       float beta, float lo, float hi) {
    const TRef in = tref(x), out = tref(y);
    const auto ws = shape_of(w);
    if (in.rank < 3 || in.rank > 5 || static_cast<int>(ws.size()) != in.rank)
      throw py::value_error(name + ": input and weight ranks must match (3-5)");
    ConvShape s;
    try {
      s = make_conv_shape(Vec(in.shape, in.shape + in.rank), ws, groups, transposed, stride,
                          dilation, pad_begin, pad_end, output_padding,
                          b ? (b->ndim() == 1 ? b->shape(0) : -2) : -1);
    } catch (const py::value_error& e) {
      throw py::value_error(name + ": " + e.what());
    }
    s.in_pixel_stride = channels_last_view(in, nullptr).ps();
    s.infer_output();
    for (int i = 0; i < s.ndim; ++i)
      if (out.rank != in.rank || out.shape[2 + i] != s.out[3 - s.ndim + i] || out.shape[1] != s.c_out ||
          out.shape[0] != in.shape[0])
        throw py::value_error(name + ": planned output shape differs from the convolution's");
    const Activation a = activation(act, alpha, beta, lo, hi);
    const float* wp = w.data();
    const float* bp = b ? b->data() : nullptr;
    std::unique_ptr<ConvOp> op;
    {
      py::gil_scoped_release nogil;
      op = make_conv(s, wp, bp, a, algorithm);
    }
    TRef r;
    if (res) r = tref(*res);
    auto step = make_conv_step(std::move(op), in, out, res ? &r : nullptr);
    return push(std::move(step), name, transposed ? "ConvTranspose" : "Conv");
  }

  void add_deform(const std::string& name, const PyRef& x, const PyRef& offset,
                  std::optional<PyRef> mask, const PyRef& y, const FloatArray& w,
                  std::optional<FloatArray> b, const Vec& stride, const Vec& pad_begin,
                  const Vec& pad_end, const Vec& dilation, int64_t groups, int64_t offset_groups) {
    const TRef in = tref(x), out = tref(y), off = tref(offset);
    const auto ws = shape_of(w);
    if (in.rank != 4 || ws.size() != 4) throw py::value_error(name + ": DeformConv is 2D");
    DeformShape s;
    s.c_in = in.shape[1];
    s.c_out = ws[0];
    s.groups = groups;
    s.offset_groups = offset_groups;
    s.in[0] = in.shape[2], s.in[1] = in.shape[3];
    s.kernel[0] = ws[2], s.kernel[1] = ws[3];
    set_window_2d(s, stride, pad_begin, pad_end, dilation);
    s.infer_output();
    if (ws[1] * groups != s.c_in) throw py::value_error(name + ": weight does not match the input");
    if (b && (b->ndim() != 1 || b->shape(0) != s.c_out))
      throw py::value_error(name + ": bias must have shape (c_out,)");
    auto op = std::make_unique<DeformConvOp>(s, w.data(), b ? b->data() : nullptr, Activation{});
    TRef m;
    if (mask) m = tref(*mask);
    push(make_deform_step(std::move(op), in, off, mask ? &m : nullptr, out), name, "DeformConv");
  }

  void add_local(const std::string& name, const PyRef& x, const PyRef& y, const FloatArray& w,
                 std::optional<FloatArray> b, const Vec& kernel, const Vec& stride,
                 const Vec& pad_begin, const Vec& pad_end, const Vec& dilation) {
    const TRef in = tref(x), out = tref(y);
    if (in.rank != 4) throw py::value_error(name + ": LocalConv is 2D");
    LocalConvShape s;
    s.c_in = in.shape[1];
    s.c_out = out.shape[1];
    s.in[0] = in.shape[2], s.in[1] = in.shape[3];
    set_dims(s.kernel, kernel, 2, "kernel");
    set_window_2d(s, stride, pad_begin, pad_end, dilation);
    s.infer_output();
    const Vec want = {s.out[0], s.out[1], s.c_out, s.c_in, s.kernel[0], s.kernel[1]};
    if (shape_of(w) != want) throw py::value_error(name + ": LocalConv weight shape mismatch");
    if (b && b->size() != s.c_out * s.out[0] * s.out[1])
      throw py::value_error(name + ": LocalConv bias must be (c_out, out_h, out_w)");
    auto op = std::make_unique<LocalConvOp>(s, w.data(), b ? b->data() : nullptr, Activation{}, true);
    push(make_local_conv_step(std::move(op), in, out), name, "LocalConv");
  }

  void add_pool2d(const std::string& name, const PyRef& x, const PyRef& y, bool max,
                  const Vec& kernel, const Vec& stride, const Vec& pad_begin, const Vec& pad_end,
                  const Vec& dilation, bool ceil_mode, bool count_include_pad) {
    const TRef in = tref(x), out = tref(y);
    if (in.rank != 4) throw py::value_error(name + ": pool2d needs a 4D tensor");
    PoolShape s;
    s.kind = max ? PoolKind::kMax : PoolKind::kAverage;
    s.channels = in.shape[1];
    s.in[0] = in.shape[2], s.in[1] = in.shape[3];
    set_dims(s.kernel, kernel, 2, "kernel");
    set_window_2d(s, stride, pad_begin, pad_end, dilation);
    s.ceil_mode = ceil_mode;
    s.count_include_pad = count_include_pad;
    s.infer_output();
    if (s.out[0] != out.shape[2] || s.out[1] != out.shape[3])
      throw py::value_error(name + ": pool2d output size differs from the planned one");
    push(make_pool2d_step(std::make_unique<Pool2dOp>(s), in, out), name, max ? "MaxPool" : "AveragePool");
  }

  void add_window_pool(const std::string& name, const PyRef& x, const PyRef& y, bool max,
                       const Vec& kernel, const Vec& stride, const Vec& dilation,
                       const Vec& pad_begin, const Vec& pad_end, bool count_include_pad) {
    int64_t k[3], s[3], d[3], pb[3], pe[3];
    set_dims(k, kernel, 3, "kernel");
    set_dims(s, stride, 3, "stride");
    set_dims(d, dilation, 3, "dilation");
    set_dims(pb, pad_begin, 3, "pad_begin");
    set_dims(pe, pad_end, 3, "pad_end");
    push(make_window_pool_step(max, k, s, d, pb, pe, count_include_pad, tref(x), tref(y)), name,
         max ? "MaxPool" : "AveragePool");
  }

  void add_global_pool(const std::string& name, const PyRef& x, const PyRef& y, bool max) {
    push(make_global_pool_step(max, tref(x), tref(y)), name,
         max ? "GlobalMaxPool" : "GlobalAveragePool");
  }

  void add_resize(const std::string& name, const PyRef& x, const PyRef& y, bool linear,
                  const Vec& i0h, const Vec& i1h, const FVec& l0h, const FVec& l1h, const Vec& i0w,
                  const Vec& i1w, const FVec& l0w, const FVec& l1w) {
    push_resize(name, x, y, linear ? ResizeMode::kBilinear : ResizeMode::kNearest,
                {i0h, i1h, l0h, l1h}, {i0w, i1w, l0w, l1w});
  }

  // Cubic: per axis, 4 source indices and weights per output index (4 o + k).
  void add_resize_cubic(const std::string& name, const PyRef& x, const PyRef& y, const Vec& ih,
                        const FVec& wh, const Vec& iw, const FVec& ww) {
    push_resize(name, x, y, ResizeMode::kCubic, {{}, {}, {}, {}, ih, wh}, {{}, {}, {}, {}, iw, ww});
  }

  void push_resize(const std::string& name, const PyRef& x, const PyRef& y, ResizeMode mode,
                   Resize2dOp::Axis h, Resize2dOp::Axis w) {
    const TRef in = tref(x), out = tref(y);
    if (in.rank != 4) throw py::value_error(name + ": resize needs a 4D tensor");
    ResizeShape s;
    s.mode = mode;
    s.channels = in.shape[1];
    s.in[0] = in.shape[2], s.in[1] = in.shape[3];
    s.out[0] = out.shape[2], s.out[1] = out.shape[3];
    push(make_resize_step(std::make_unique<Resize2dOp>(s, std::move(h), std::move(w)), in, out), name,
         "Resize");
  }

  void add_shuffle(const std::string& name, const PyRef& x, const PyRef& y, int64_t groups) {
    const TRef in = tref(x);
    push(make_shuffle_step(std::make_unique<ChannelShuffleOp>(in.shape[1], groups), in, tref(y)),
         name, "ChannelShuffle");
  }

  void add_batchnorm(const std::string& name, const PyRef& x, const PyRef& y, const FloatArray& mean,
                     const FloatArray& var, const FloatArray& scale, const FloatArray& bias,
                     double eps) {
    const TRef in = tref(x);
    const int64_t c = in.rank > 1 ? in.shape[1] : 0;
    for (const FloatArray* a : {&mean, &var, &scale, &bias})
      if (a->size() != c) throw py::value_error(name + ": batch norm parameters must have C entries");
    auto op = std::make_unique<BatchNormOp>(c, mean.data(), var.data(), scale.data(), bias.data(), eps);
    push(make_batchnorm_step(std::move(op), in, tref(y)), name, "BatchNormalization");
  }

  void add_squeeze_excite(const std::string& name, const PyRef& x, const PyRef& y,
                          const FloatArray& w1, const FloatArray& b1, const FloatArray& w2,
                          const FloatArray& b2, const std::string& act, float alpha, float beta,
                          float lo, float hi, const std::string& gate, float galpha, float gbeta) {
    const auto s1 = shape_of(w1), s2 = shape_of(w2);
    if (s1.size() != 2 || s2.size() != 2 || s1[0] != s2[1] || s1[1] != s2[0] ||
        b1.size() != s1[0] || b2.size() != s2[0])
      throw py::value_error(name + ": squeeze-excite weights must be (mid, C), (mid), (C, mid), (C)");
    const Activation a = activation(act, alpha, beta, lo, hi);
    const Activation g = activation(gate, galpha, gbeta, -INFINITY, INFINITY);
    push(make_squeeze_excite_step(s1[1], s1[0], w1.data(), b1.data(), w2.data(), b2.data(), a, g,
                                  tref(x), tref(y)),
         name, "SqueezeExcite");
  }

  void add_binary(const std::string& name, const std::string& kind, const PyRef& a, const PyRef& b,
                  const PyRef& y) {
    BinaryKind k;
    if (kind == "Add") k = BinaryKind::kAdd;
    else if (kind == "Sub") k = BinaryKind::kSub;
    else if (kind == "Mul") k = BinaryKind::kMul;
    else if (kind == "Div") k = BinaryKind::kDiv;
    else throw py::value_error("unknown binary op " + kind);
    push(make_binary_step(k, tref(a), tref(b), tref(y)), name, kind);
  }

  void add_unary(const std::string& name, const std::string& op, const PyRef& x, const PyRef& y,
                 const std::string& act, float alpha, float beta, float lo, float hi) {
    push(make_unary_step(activation(act, alpha, beta, lo, hi), tref(x), tref(y)), name, op);
  }

  void add_copy(const std::string& name, const std::string& op, const PyRef& src, const PyRef& dst) {
    push(make_copy_step(tref(src), tref(dst)), name, op);
  }

  void add_fill(const std::string& name, const std::string& op, const PyRef& dst, float value) {
    push(make_fill_step(value, tref(dst)), name, op);
  }

  void add_softmax(const std::string& name, const PyRef& x, const PyRef& y, int axis) {
    push(make_softmax_step(axis, tref(x), tref(y)), name, "Softmax");
  }

  void add_matmul(const std::string& name, const PyRef& a, const PyRef& b, const PyRef& y) {
    push(make_matmul_step(tref(a), tref(b), tref(y)), name, "MatMul");
  }

  void finalize(int64_t arena_floats) { plan_.finalize(arena_floats); }

  std::vector<py::array_t<float>> run(const std::vector<FloatArray>& inputs) const {
    return execute(inputs, nullptr);
  }

  std::tuple<std::vector<py::array_t<float>>, std::vector<double>> profile(
      const std::vector<FloatArray>& inputs) const {
    std::vector<double> times;
    auto outs = execute(inputs, &times);
    return {outs, times};
  }

  std::vector<std::tuple<std::string, std::string, std::string, double>> steps() const {
    std::vector<std::tuple<std::string, std::string, std::string, double>> r;
    for (const auto& s : plan_.steps()) r.emplace_back(s->name, s->op, s->algorithm, s->flops);
    return r;
  }
  int64_t arena_floats() const { return plan_.arena_floats(); }
  int64_t constant_floats() const { return plan_.constant_floats(); }

 // Adds a built step under its node name and graph op; returns the step's algorithm.
  std::string push(std::unique_ptr<Step> step, const std::string& name, const std::string& op) {
    step->name = name;
    step->op = op;
    std::string algo = step->algorithm;
    plan_.add_step(std::move(step));
    return algo;
  }

 private:
  // stride, pads and dilation of a 2-D window op (DeformConv, LocalConv, 2-D pooling)
  template <class Shape>
  static void set_window_2d(Shape& s, const Vec& stride, const Vec& pad_begin, const Vec& pad_end,
                            const Vec& dilation) {
    set_dims(s.stride, stride, 2, "stride");
    set_dims(s.pad_begin, pad_begin, 2, "pad_begin");
    set_dims(s.pad_end, pad_end, 2, "pad_end");
    set_dims(s.dilation, dilation, 2, "dilation");
  }

  std::vector<py::array_t<float>> execute(const std::vector<FloatArray>& inputs,
                                          std::vector<double>* times) const {
    if (inputs.size() != ins_.size())
      throw py::value_error("plan: expected " + std::to_string(ins_.size()) + " inputs");
    std::vector<const float*> in_ptrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (shape_of(inputs[i]) != ins_[i]) throw py::value_error("plan: input " + std::to_string(i) + " has the wrong shape");
      in_ptrs.push_back(inputs[i].data());
    }
    std::vector<py::array_t<float>> outs;
    std::vector<float*> out_ptrs;
    for (const Vec& s : outs_) {
      outs.emplace_back(s);
      out_ptrs.push_back(outs.back().mutable_data());
    }
    {
      py::gil_scoped_release nogil;
      plan_.run(in_ptrs, out_ptrs, ThreadPool::global(), times);
    }
    return outs;
  }

  Plan plan_;
  std::vector<Vec> ins_, outs_;
};


using PlanClass = py::class_<PyPlan>;
void bind_plan_math(PlanClass& cls);  // bind_plan_math.cpp: element-wise math, activations
void bind_plan_nn(PlanClass& cls);    // bind_plan_nn.cpp: normalisation, reductions
void bind_plan_data(PlanClass& cls);  // bind_plan_data.cpp: data movement, sampling

}  // namespace ce::bind
