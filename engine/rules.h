// The sliding-window rules of ONNX and torch (Conv, ConvTranspose, MaxPool, AveragePool,
// DeformConv, LocalConv), each written once as a pure function: output sizes, ceil_mode,
// auto_pad, transposed output_padding and output_shape. ConvShape, the window shapes, the
// pools, the plan builders and the bindings use them; python's _native.rules_* expose them,
// and tests/test_rules_native.py checks them against the independent reference's argument
// module (convengine.reference._args) and onnxruntime.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/arith.h"

namespace ce::rules {

// Extent of a dilated kernel: dilation (kernel - 1) + 1.
constexpr int64_t window_span(int64_t kernel, int64_t dilation) {
  return dilation * (kernel - 1) + 1;
}

// The taps t in [0, kernel) of a window starting at `start` whose positions start + t * dilation
// lie in [lo, hi): an interval [first, last), empty when last <= first. Found without walking
// the kernel (a compiled file may state a kernel of 2^31).
struct TapRange {
  int64_t first, last;
  constexpr int64_t count() const { return last > first ? last - first : 0; }
};
constexpr TapRange taps_within(int64_t start, int64_t kernel, int64_t dilation, int64_t lo,
                               int64_t hi) {
  const int64_t first = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
  const int64_t last = hi - start <= 0 ? 0 : (hi - start - 1) / dilation + 1;
  return {first, last < kernel ? last : kernel};
}

// Output length along one axis of a conv or pooling window over an input padded by pad_begin
// and pad_end: floor((in + pads - span) / stride) + 1. With ceil_mode the division rounds up,
// so the last window may overhang the padded end by less than a stride, but a last window that
// would start inside the end padding (at in + pad_begin or later) is dropped (torch's
// pooling_output_shape; onnxruntime). Below 1 when no window fits: callers refuse that.
constexpr int64_t window_output(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                                int64_t pad_begin, int64_t pad_end, bool ceil_mode = false) {
  const int64_t room = in + pad_begin + pad_end - window_span(kernel, dilation);
  int64_t o = floor_div(room + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (o - 1) * stride >= in + pad_begin) --o;
  return o;
}

// Output length along one axis of a transposed conv:
// (in - 1) stride - pad_begin - pad_end + span + output_padding.
constexpr int64_t transposed_output(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                                    int64_t pad_begin, int64_t pad_end, int64_t output_padding) {
  return (in - 1) * stride - pad_begin - pad_end + window_span(kernel, dilation) + output_padding;
}

// torch: a transposed conv's output_padding must be smaller than its stride or its dilation.
constexpr bool output_padding_fits(int64_t output_padding, int64_t stride, int64_t dilation) {
  return output_padding >= 0 && (output_padding < stride || output_padding < dilation);
}

// torch's pooling: each pad at most half the dilated kernel.
constexpr bool pool_pads_fit(int64_t kernel, int64_t dilation, int64_t pad_begin, int64_t pad_end) {
  const int64_t span = window_span(kernel, dilation);
  return 2 * pad_begin <= span && 2 * pad_end <= span;
}

// ONNX auto_pad.
enum class AutoPad { kNotSet, kValid, kSameUpper, kSameLower };

inline AutoPad parse_auto_pad(const std::string& s) {
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "VALID") return AutoPad::kValid;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  throw std::invalid_argument("unknown auto_pad '" + s + "'");
}

// Pads that split `total` padding: SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the
// beginning. A negative total (a transposed conv asked for more than its full output) extends
// the end, as output_padding does.
struct AxisPads {
  int64_t begin = 0, end = 0;
};
constexpr AxisPads split_pads(int64_t total, bool upper) {
  const int64_t half = floor_div(total, 2);
  const int64_t begin = upper ? half : total - half;
  return {begin < 0 ? 0 : begin, total - (begin < 0 ? 0 : begin)};
}

// SAME_UPPER / SAME_LOWER of a conv or pool: ceil(in / stride) outputs, total padding
// max(0, (out - 1) stride + span - in).
constexpr AxisPads same_pads(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                             bool upper) {
  const int64_t out = ceil_div(in, stride);
  const int64_t total = (out - 1) * stride + window_span(kernel, dilation) - in;
  return split_pads(total < 0 ? 0 : total, upper);
}

// A window op's geometry over n spatial axes: pads (for NOTSET: 2n values, every begin, then
// every end; empty means zeros) and auto_pad give the pads, then the output sizes. Throws
// std::invalid_argument naming what is wrong (counts, values below 1 or negative pads); an
// output below 1 is returned for the caller to refuse.
struct Geometry {
  std::vector<int64_t> pad_begin, pad_end, out;
};

inline void check_window_args(const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                              const std::vector<int64_t>& stride,
                              const std::vector<int64_t>& dilation,
                              const std::vector<int64_t>& pads) {
  const size_t n = in.size();
  if (kernel.size() != n || stride.size() != n || dilation.size() != n)
    throw std::invalid_argument(
        "kernel, strides and dilations must have one value per spatial axis");
  if (!pads.empty() && pads.size() != 2 * n)
    throw std::invalid_argument("pads must have two values per spatial axis (begins, then ends)");
  for (size_t i = 0; i < n; ++i)
    if (in[i] < 1 || kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1)
      throw std::invalid_argument("input sizes, kernel, strides and dilations must be >= 1");
  for (int64_t p : pads)
    if (p < 0) throw std::invalid_argument("pads must be >= 0");
}

inline Geometry window_geometry(const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                                const std::vector<int64_t>& stride,
                                const std::vector<int64_t>& dilation,
                                const std::vector<int64_t>& pads, AutoPad auto_pad,
                                bool ceil_mode = false) {
  check_window_args(in, kernel, stride, dilation, pads);
  const size_t n = in.size();
  Geometry g;
  for (size_t i = 0; i < n; ++i) {
    AxisPads p;
    if (auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower) {
      p = same_pads(in[i], kernel[i], stride[i], dilation[i], auto_pad == AutoPad::kSameUpper);
    } else if (auto_pad == AutoPad::kNotSet && !pads.empty()) {
      p = {pads[i], pads[n + i]};
    }
    g.pad_begin.push_back(p.begin);
    g.pad_end.push_back(p.end);
    g.out.push_back(
        window_output(in[i], kernel[i], stride[i], dilation[i], p.begin, p.end, ceil_mode));
  }
  return g;
}

// A transposed conv's geometry: explicit pads (NOTSET, VALID), or, with auto_pad SAME_* or an
// output_shape (n values; empty: none), the pads that cut the full output
// (in - 1) stride + span + output_padding down to output_shape (SAME: in * stride), the odd
// pixel at the end for SAME_UPPER and at the beginning otherwise (the ONNX spec).
inline Geometry transposed_geometry(const std::vector<int64_t>& in,
                                    const std::vector<int64_t>& kernel,
                                    const std::vector<int64_t>& stride,
                                    const std::vector<int64_t>& dilation,
                                    const std::vector<int64_t>& pads,
                                    const std::vector<int64_t>& output_padding, AutoPad auto_pad,
                                    const std::vector<int64_t>& output_shape = {}) {
  check_window_args(in, kernel, stride, dilation, pads);
  const size_t n = in.size();
  if (!output_padding.empty() && output_padding.size() != n)
    throw std::invalid_argument("output_padding must have one value per spatial axis");
  if (!output_shape.empty() && output_shape.size() != n)
    throw std::invalid_argument("output_shape must have one value per spatial axis");
  const bool same = auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower;
  Geometry g;
  for (size_t i = 0; i < n; ++i) {
    const int64_t op = output_padding.empty() ? 0 : output_padding[i];
    if (op < 0) throw std::invalid_argument("output_padding must be >= 0");
    AxisPads p;
    if (!output_shape.empty() || same) {
      const int64_t full = transposed_output(in[i], kernel[i], stride[i], dilation[i], 0, 0, op);
      const int64_t want = output_shape.empty() ? in[i] * stride[i] : output_shape[i];
      if (want - full >= stride[i])
        throw std::invalid_argument(
            "output_shape is larger than any input of this size can produce");
      p = split_pads(full - want, auto_pad == AutoPad::kSameUpper);
    } else if (auto_pad == AutoPad::kNotSet && !pads.empty()) {
      p = {pads[i], pads[n + i]};
    }
    g.pad_begin.push_back(p.begin);
    g.pad_end.push_back(p.end);
    g.out.push_back(
        transposed_output(in[i], kernel[i], stride[i], dilation[i], p.begin, p.end, op));
  }
  return g;
}

}  // namespace ce::rules
