#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/conv.h"

namespace ce::bind {

namespace {

using Vec3 = std::vector<int64_t>;

void set3(int64_t* dst, const Vec3& v, const char* name) {
  if (v.size() != 3) throw py::value_error(std::string(name) + " must have 3 entries (d, h, w)");
  for (int i = 0; i < 3; ++i) dst[i] = v[i];
}

// x: (N, C, *spatial) with ndim spatial axes, weights in torch layout, all validated in Python.
py::tuple conv(const FloatArray& x, const FloatArray& w, std::optional<FloatArray> b, int ndim,
               int64_t groups, const Vec3& stride, const Vec3& dilation, const Vec3& pad_begin,
               const Vec3& pad_end, const Vec3& output_padding, bool transposed,
               const std::string& algorithm, float act_min, float act_max) {
  const auto xs = shape_of(x);
  const auto ws = shape_of(w);
  if (static_cast<int>(xs.size()) != ndim + 2 || static_cast<int>(ws.size()) != ndim + 2)
    throw py::value_error("input and weight must have rank ndim + 2");
  ConvShape s;
  s.ndim = ndim;
  s.groups = groups;
  s.transposed = transposed;
  s.c_in = xs[1];
  s.c_out = transposed ? ws[1] * groups : ws[0];
  TensorView in_view = nhwc_view(nullptr, xs);
  s.in[0] = in_view.d;
  s.in[1] = in_view.h;
  s.in[2] = in_view.w;
  TensorView kv = nhwc_view(nullptr, ws);
  s.kernel[0] = kv.d;
  s.kernel[1] = kv.h;
  s.kernel[2] = kv.w;
  set3(s.stride, stride, "stride");
  set3(s.dilation, dilation, "dilation");
  set3(s.pad_begin, pad_begin, "pad_begin");
  set3(s.pad_end, pad_end, "pad_end");
  set3(s.output_padding, output_padding, "output_padding");
  if (groups < 1 || s.c_in % groups || s.c_out % groups)
    throw py::value_error("channels are not divisible by groups");
  if ((transposed ? ws[0] : ws[1] * groups) != s.c_in)
    throw py::value_error("weight shape does not match the input channels");
  if (b && (b->ndim() != 1 || b->shape(0) != s.c_out))
    throw py::value_error("bias must have shape (c_out,)");
  s.infer_output();

  Activation act;
  act.min = act_min;
  act.max = act_max;
  auto in = to_nhwc(x);
  std::vector<int64_t> out_shape = {xs[0], s.c_out};
  for (int i = 3 - ndim; i < 3; ++i) out_shape.push_back(s.out[i]);
  std::vector<float> out(static_cast<size_t>(xs[0] * s.c_out * s.out[0] * s.out[1] * s.out[2]));
  const float* wp = w.data();
  const float* bp = b ? b->data() : nullptr;
  std::string algo;
  {
    py::gil_scoped_release nogil;
    auto op = make_conv(s, wp, bp, act, algorithm);
    algo = op->algorithm();
    in_view.data = in.data();
    TensorView out_view = nhwc_view(out.data(), out_shape);
    op->forward(in_view, out_view, ThreadPool::global());
  }
  return py::make_tuple(from_nhwc(out, out_shape), algo);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv", &conv, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("ndim"),
        py::arg("groups"), py::arg("stride"), py::arg("dilation"), py::arg("pad_begin"),
        py::arg("pad_end"), py::arg("output_padding"), py::arg("transposed"),
        py::arg("algorithm") = "auto", py::arg("act_min") = -INFINITY,
        py::arg("act_max") = INFINITY);
  m.def("conv_algorithms", [] { return std::vector<std::string>{"igemm", "depthwise"}; });
}

}  // namespace ce::bind
