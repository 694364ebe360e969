#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/conv.h"

namespace ce::bind {

namespace {

using Vec = std::vector<int64_t>;

// A convolution prepared once (weights packed, indirection built) for a fixed input shape
// (N may vary), run on NCHW arrays. Arguments are validated in Python; the checks here only
// guard the C++ against inconsistent calls.
class PreparedConv {
 public:
  PreparedConv(const Vec& input_shape, const FloatArray& w, std::optional<FloatArray> b, int64_t groups,
               const Vec& stride, const Vec& dilation, const Vec& pad_begin, const Vec& pad_end,
               const Vec& output_padding, bool transposed, const std::string& algorithm,
               float act_min, float act_max, const std::string& activation, float alpha,
               float beta) {
    const auto ws = shape_of(w);
    ndim_ = static_cast<int>(input_shape.size()) - 2;
    if (ndim_ < 1 || ndim_ > 3 || static_cast<int>(ws.size()) != ndim_ + 2)
      throw py::value_error("input and weight must have rank 3, 4 or 5, and the same rank");
    ConvShape s = make_conv_shape(input_shape, ws, groups, transposed, stride, dilation, pad_begin,
                                  pad_end, output_padding, b ? (b->ndim() == 1 ? b->shape(0) : -2) : -1);
    s.infer_output();
    Activation act;
    act.min = act_min;
    act.max = act_max;
    act.kind = parse_act_kind(activation);
    act.alpha = alpha;
    act.beta = beta;
    const float* wp = w.data();
    const float* bp = b ? b->data() : nullptr;
    py::gil_scoped_release nogil;
    op_ = make_conv(s, wp, bp, act, algorithm);
  }

  // residual: NCHW of the output's shape, added before the activation.
  py::array_t<float> run(const FloatArray& x, std::optional<FloatArray> residual) const {
    const ConvShape& s = op_->shape();
    const auto xs = shape_of(x);
    if (static_cast<int>(xs.size()) != ndim_ + 2 || xs[0] < 1 || xs[1] != s.c_in ||
        !std::equal(xs.begin() + 2, xs.end(), s.in + (3 - ndim_)))
      throw py::value_error("input shape does not match the shape the convolution was prepared for");
    auto in = to_nhwc(x);
    Vec out_shape = output_shape(xs[0]);
    Buffer out(static_cast<size_t>(xs[0] * s.c_out * s.out[0] * s.out[1] * s.out[2]));
    Buffer res;
    if (residual) {
      if (shape_of(*residual) != out_shape)
        throw py::value_error("residual must have the output's shape");
      res = to_nhwc(*residual);
    }
    {
      py::gil_scoped_release nogil;
      TensorView iv = nhwc_view(in.data(), xs), ov = nhwc_view(out.data(), out_shape);
      TensorView rv = nhwc_view(res.data(), out_shape);
      op_->forward(iv, ov, ThreadPool::global(), residual ? &rv : nullptr);
    }
    return from_nhwc(out, out_shape);
  }

  // Runs on channels-innermost arrays (N, *spatial, C), as inside a graph: no layout change.
  void run_nhwc(const FloatArray& x, py::array_t<float, py::array::c_style>& y,
                std::optional<FloatArray> residual) const {
    const ConvShape& s = op_->shape();
    const auto xs = shape_of(x);
    const auto ys = shape_of(y);
    Vec want_x = {xs.empty() ? 0 : xs[0]}, want_y = want_x;
    for (int i = 3 - ndim_; i < 3; ++i) want_x.push_back(s.in[i]), want_y.push_back(s.out[i]);
    want_x.push_back(s.c_in);
    want_y.push_back(s.c_out);
    if (xs != want_x || ys != want_y || xs[0] < 1)
      throw py::value_error("run_nhwc: x and y must be (N, *spatial, C) of the prepared shapes");
    if (residual && shape_of(*residual) != ys)
      throw py::value_error("run_nhwc: residual must have y's shape");
    TensorView iv, ov;
    iv.data = const_cast<float*>(x.data());
    ov.data = y.mutable_data();
    iv.n = ov.n = xs[0];
    iv.c = s.c_in, ov.c = s.c_out;
    iv.d = s.in[0], iv.h = s.in[1], iv.w = s.in[2];
    ov.d = s.out[0], ov.h = s.out[1], ov.w = s.out[2];
    TensorView rv = ov;
    if (residual) rv.data = const_cast<float*>(residual->data());
    py::gil_scoped_release nogil;
    op_->forward(iv, ov, ThreadPool::global(), residual ? &rv : nullptr);
  }

  Vec output_shape(int64_t n) const {
    const ConvShape& s = op_->shape();
    Vec r = {n, s.c_out};
    for (int i = 3 - ndim_; i < 3; ++i) r.push_back(s.out[i]);
    return r;
  }
  std::string algorithm() const { return op_->algorithm(); }
  int64_t macs() const { return op_->shape().macs(); }

 private:
  int ndim_ = 2;
  std::unique_ptr<ConvOp> op_;
};

}  // namespace

void bind_conv(py::module_& m) {
  py::class_<PreparedConv>(m, "Conv")
      .def(py::init<const Vec&, const FloatArray&, std::optional<FloatArray>, int64_t, const Vec&,
                    const Vec&, const Vec&, const Vec&, const Vec&, bool, const std::string&, float,
                    float, const std::string&, float, float>(),
           py::arg("input_shape"), py::arg("weight"), py::arg("bias"), py::arg("groups"),
           py::arg("stride"), py::arg("dilation"), py::arg("pad_begin"), py::arg("pad_end"),
           py::arg("output_padding"), py::arg("transposed"), py::arg("algorithm") = "auto",
           py::arg("act_min") = -INFINITY, py::arg("act_max") = INFINITY,
           py::arg("activation") = "none", py::arg("alpha") = 0.0f, py::arg("beta") = 0.0f)
      .def("run", &PreparedConv::run, py::arg("x"), py::arg("residual") = py::none())
      .def("run_nhwc", &PreparedConv::run_nhwc, py::arg("x"), py::arg("y"),
           py::arg("residual") = py::none())
      .def("output_shape", &PreparedConv::output_shape, py::arg("n"))
      .def_property_readonly("algorithm", &PreparedConv::algorithm)
      .def_property_readonly("macs_per_image", &PreparedConv::macs);
  m.def("conv_algorithms", &conv_algorithm_names);
}

}  // namespace ce::bind
