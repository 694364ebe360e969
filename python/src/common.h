// Helpers shared by the binding files: array conversion (GIL held) and layout changes.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/conv.h"
#include "engine/tensor.h"

namespace py = pybind11;

namespace ce::bind {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

inline std::vector<int64_t> shape_of(const FloatArray& a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

// A channels-innermost view of an (N, C, *spatial) shape with up to three spatial axes,
// spatial axes right-aligned into (d, h, w).
inline TensorView nhwc_view(float* data, const std::vector<int64_t>& nchw_shape) {
  TensorView v;
  v.data = data;
  v.n = nchw_shape[0];
  v.c = nchw_shape[1];
  int64_t sp[3] = {1, 1, 1};
  const size_t nsp = nchw_shape.size() - 2;
  for (size_t i = 0; i < nsp; ++i) sp[3 - nsp + i] = nchw_shape[2 + i];
  v.d = sp[0];
  v.h = sp[1];
  v.w = sp[2];
  return v;
}

// Copies an argument of n per-axis values ((h, w) or (d, h, w)) into dst; ValueError otherwise.
inline void set_dims(int64_t* dst, const std::vector<int64_t>& v, size_t n, const char* name) {
  if (v.size() != n)
    throw py::value_error(std::string(name) + " must have " + std::to_string(n) +
                          (n == 3 ? " entries (d, h, w)" : " entries (h, w)"));
  for (size_t i = 0; i < n; ++i) dst[i] = v[i];
}

// Copies an NCHW array into a new NHWC buffer (GIL released around the copy).
Buffer to_nhwc(const FloatArray& x);
// Allocates an NCHW numpy array of `shape` and fills it from an NHWC buffer.
py::array_t<float> from_nhwc(const Buffer& src, const std::vector<int64_t>& shape);

void bind_core(py::module_& m);
void bind_conv(py::module_& m);
void bind_deform(py::module_& m);
void bind_local(py::module_& m);
void bind_ops(py::module_& m);
void bind_plan(py::module_& m);
void bind_rules(py::module_& m);

}  // namespace ce::bind
