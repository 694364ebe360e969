#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/deform.h"

namespace ce::bind {

namespace {

using Vec2 = std::vector<int64_t>;

// All arguments were validated in Python (convengine._functional.deform); the engine checks
// them again and raises ValueError rather than touching memory out of bounds.
py::array_t<float> deform_conv2d(const FloatArray& x, const FloatArray& offset, const FloatArray& w,
                                 std::optional<FloatArray> b, std::optional<FloatArray> mask,
                                 const Vec2& stride, const Vec2& dilation, const Vec2& pad_begin,
                                 const Vec2& pad_end, float act_min, float act_max) {
  const auto xs = shape_of(x), os = shape_of(offset), ws = shape_of(w);
  if (xs.size() != 4 || os.size() != 4 || ws.size() != 4)
    throw py::value_error("input, offset and weight must be 4-dimensional");
  if (ws[1] < 1 || xs[1] % ws[1]) throw py::value_error("weight.shape[1] must divide the input channels");
  DeformShape s;
  s.c_in = xs[1];
  s.c_out = ws[0];
  s.groups = xs[1] / ws[1];
  s.kernel[0] = ws[2];
  s.kernel[1] = ws[3];
  if (s.taps() < 1 || os[1] % (2 * s.taps()))
    throw py::value_error("offset.shape[1] must be a multiple of 2 * kh * kw");
  s.offset_groups = os[1] / (2 * s.taps());
  s.in[0] = xs[2];
  s.in[1] = xs[3];
  set_dims(s.stride, stride, 2, "stride");
  set_dims(s.dilation, dilation, 2, "dilation");
  set_dims(s.pad_begin, pad_begin, 2, "pad_begin");
  set_dims(s.pad_end, pad_end, 2, "pad_end");
  s.infer_output();
  if (os[0] != xs[0] || os[2] != s.out[0] || os[3] != s.out[1])
    throw py::value_error("offset must have shape (N, 2 * offset_groups * kh * kw, H_out, W_out)");
  if (mask) {
    const auto ms = shape_of(*mask);
    if (ms != std::vector<int64_t>{xs[0], s.mask_channels(), s.out[0], s.out[1]})
      throw py::value_error("mask must have shape (N, offset_groups * kh * kw, H_out, W_out)");
  }
  if (b && (b->ndim() != 1 || b->shape(0) != s.c_out))
    throw py::value_error("bias must have shape (c_out,)");

  Activation act;
  act.min = act_min;
  act.max = act_max;
  auto in = to_nhwc(x);
  auto off = to_nhwc(offset);
  Buffer msk;
  if (mask) msk = to_nhwc(*mask);
  const std::vector<int64_t> out_shape = {xs[0], s.c_out, s.out[0], s.out[1]};
  Buffer out(static_cast<size_t>(xs[0] * s.c_out * s.out[0] * s.out[1]));
  const float* wp = w.data();
  const float* bp = b ? b->data() : nullptr;
  const bool has_mask = mask.has_value();
  const std::vector<int64_t> mask_shape = {xs[0], s.mask_channels(), s.out[0], s.out[1]};
  {
    py::gil_scoped_release nogil;
    DeformConvOp op(s, wp, bp, act);
    TensorView mask_view = nhwc_view(msk.data(), mask_shape);
    op.forward(nhwc_view(in.data(), xs), nhwc_view(off.data(), os), has_mask ? &mask_view : nullptr,
               nhwc_view(out.data(), out_shape), ThreadPool::global());
  }
  return from_nhwc(out, out_shape);
}

}  // namespace

void bind_deform(py::module_& m) {
  m.def("deform_conv2d", &deform_conv2d, py::arg("x"), py::arg("offset"), py::arg("weight"),
        py::arg("bias"), py::arg("mask"), py::arg("stride"), py::arg("dilation"),
        py::arg("pad_begin"), py::arg("pad_end"), py::arg("act_min") = -INFINITY,
        py::arg("act_max") = INFINITY);
}

}  // namespace ce::bind
