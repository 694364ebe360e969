// The C++ window rules (engine/rules.h) as small functions, so that tests can hold them against
// the reference's and the graph layer's rules.
#include <pybind11/stl.h>

#include <optional>

#include "common.h"
#include "engine/rules.h"

namespace ce::bind {

namespace {

using Vec = std::vector<int64_t>;
using GeometryTuple = std::tuple<Vec, Vec, Vec>;

GeometryTuple as_tuple(const rules::Geometry& g) { return {g.pad_begin, g.pad_end, g.out}; }

}  // namespace

void bind_rules(py::module_& m) {
  m.def("rules_window_output", &rules::window_output, py::arg("in_size"), py::arg("kernel"),
        py::arg("stride"), py::arg("dilation"), py::arg("pad_begin"), py::arg("pad_end"),
        py::arg("ceil_mode") = false,
        "Output length of a conv / pooling window along one axis (may be < 1: nothing fits).");
  m.def("rules_transposed_output", &rules::transposed_output, py::arg("in_size"),
        py::arg("kernel"), py::arg("stride"), py::arg("dilation"), py::arg("pad_begin"),
        py::arg("pad_end"), py::arg("output_padding"),
        "Output length of a transposed conv along one axis.");
  m.def("rules_output_padding_fits", &rules::output_padding_fits, py::arg("output_padding"),
        py::arg("stride"), py::arg("dilation"));
  m.def("rules_pool_pads_fit", &rules::pool_pads_fit, py::arg("kernel"), py::arg("dilation"),
        py::arg("pad_begin"), py::arg("pad_end"));
  m.def(
      "rules_conv_geometry",
      [](const Vec& in, const Vec& kernel, const Vec& strides, const Vec& dilations,
         const Vec& pads, const std::string& auto_pad, bool ceil_mode) {
        return as_tuple(rules::window_geometry(in, kernel, strides, dilations, pads,
                                               rules::parse_auto_pad(auto_pad), ceil_mode));
      },
      py::arg("in_sizes"), py::arg("kernel"), py::arg("strides"), py::arg("dilations"),
      py::arg("pads") = Vec{}, py::arg("auto_pad") = "NOTSET", py::arg("ceil_mode") = false,
      "(pad_begin, pad_end, out) of a Conv / pooling window, ONNX attributes.");
  m.def(
      "rules_conv_transpose_geometry",
      [](const Vec& in, const Vec& kernel, const Vec& strides, const Vec& dilations,
         const Vec& pads, const Vec& output_padding, const std::string& auto_pad,
         std::optional<Vec> output_shape) {
        return as_tuple(rules::transposed_geometry(in, kernel, strides, dilations, pads,
                                                   output_padding, rules::parse_auto_pad(auto_pad),
                                                   output_shape.value_or(Vec{})));
      },
      py::arg("in_sizes"), py::arg("kernel"), py::arg("strides"), py::arg("dilations"),
      py::arg("pads") = Vec{}, py::arg("output_padding") = Vec{}, py::arg("auto_pad") = "NOTSET",
      py::arg("output_shape") = py::none(),
      "(pad_begin, pad_end, out) of a ConvTranspose, ONNX attributes.");
}

}  // namespace ce::bind
