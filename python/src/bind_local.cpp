#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/local_conv.h"

namespace ce::bind {

namespace {

using Vec2 = std::vector<int64_t>;

// All arguments were validated in Python (convengine._functional.deform); the engine checks
// them again and raises ValueError rather than touching memory out of bounds.
py::array_t<float> local_conv2d(const FloatArray& x, const FloatArray& w,
                                std::optional<FloatArray> b, const Vec2& stride,
                                const Vec2& dilation, const Vec2& pad_begin, const Vec2& pad_end,
                                float act_min, float act_max) {
  const auto xs = shape_of(x), ws = shape_of(w);
  if (xs.size() != 4 || ws.size() != 6)
    throw py::value_error("input must be 4-dimensional and weight 6-dimensional");
  LocalConvShape s;
  s.c_in = xs[1];
  s.c_out = ws[2];
  s.in[0] = xs[2];
  s.in[1] = xs[3];
  s.kernel[0] = ws[4];
  s.kernel[1] = ws[5];
  set_dims(s.stride, stride, 2, "stride");
  set_dims(s.dilation, dilation, 2, "dilation");
  set_dims(s.pad_begin, pad_begin, 2, "pad_begin");
  set_dims(s.pad_end, pad_end, 2, "pad_end");
  s.infer_output();
  if (ws[0] != s.out[0] || ws[1] != s.out[1] || ws[3] != s.c_in)
    throw py::value_error("weight must have shape (H_out, W_out, C_out, C_in, kh, kw)");
  if (b && shape_of(*b) != std::vector<int64_t>{s.c_out, s.out[0], s.out[1]})
    throw py::value_error("bias must have shape (C_out, H_out, W_out)");

  Activation act;
  act.min = act_min;
  act.max = act_max;
  auto in = to_nhwc(x);
  const std::vector<int64_t> out_shape = {xs[0], s.c_out, s.out[0], s.out[1]};
  Buffer out(static_cast<size_t>(xs[0] * s.c_out * s.out[0] * s.out[1]));
  const float* wp = w.data();
  const float* bp = b ? b->data() : nullptr;
  {
    py::gil_scoped_release nogil;
    LocalConvOp op(s, wp, bp, act, /*copy_weights=*/false);
    op.forward(nhwc_view(in.data(), xs), nhwc_view(out.data(), out_shape), ThreadPool::global());
  }
  return from_nhwc(out, out_shape);
}

}  // namespace

void bind_local(py::module_& m) {
  m.def("local_conv2d", &local_conv2d, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("stride"), py::arg("dilation"), py::arg("pad_begin"), py::arg("pad_end"),
        py::arg("act_min") = -INFINITY, py::arg("act_max") = INFINITY);
}

}  // namespace ce::bind
