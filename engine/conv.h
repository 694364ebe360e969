// Convolution operators. Every spatial rank is handled as 3D (d, h, w): a 2D conv has d = 1 and a
// 1D conv d = h = 1, so one driver and one kernel family serve all three.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/epilogue.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"
#include "native/params.h"

namespace ce {

// The sliding-window geometry of a 2D op whose output size follows conv arithmetic (deformable
// and locally connected conv): sizes are (h, w).
struct Window2d {
  int64_t in[2] = {1, 1};   // input (h, w)
  int64_t out[2] = {1, 1};  // output (h, w), filled by infer_window()
  int64_t kernel[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t dilation[2] = {1, 1};
  int64_t pad_begin[2] = {0, 0};
  int64_t pad_end[2] = {0, 0};

  int64_t taps() const { return kernel[0] * kernel[1]; }
  // Checks sizes, strides, dilations >= 1 and pads >= 0, then fills `out`. Returns what is
  // wrong, or an empty string.
  std::string infer_window();
  // "in=(h,w) kernel=(..) stride=(..) dilation=(..) pads=(top,left)(bottom,right)"
  std::string describe_window() const;
};

struct ConvShape {
  int ndim = 2;                 // spatial rank given by the user (1, 2 or 3)
  int64_t c_in = 0, c_out = 0, groups = 1;
  int64_t in[3] = {1, 1, 1};    // input spatial size (d, h, w)
  int64_t out[3] = {1, 1, 1};   // output spatial size
  int64_t kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t dilation[3] = {1, 1, 1};
  int64_t pad_begin[3] = {0, 0, 0};
  int64_t pad_end[3] = {0, 0, 0};
  int64_t output_padding[3] = {0, 0, 0};  // transposed only
  bool transposed = false;
  int64_t in_pixel_stride = 0;  // floats between input pixels; 0 means c_in

  int64_t cin_g() const { return c_in / groups; }
  int64_t cout_g() const { return c_out / groups; }
  int64_t in_ps() const { return in_pixel_stride ? in_pixel_stride : c_in; }
  int64_t taps() const { return kernel[0] * kernel[1] * kernel[2]; }
  // Multiply-accumulates per image of the direct algorithm.
  int64_t macs() const;
  // Fills `out` from the other fields; throws std::invalid_argument if it is not >= 1.
  void infer_output();
  std::string describe() const;
};

// A convolution with its weights packed once; forward is const and may run concurrently.
// Views are channels-innermost; in.c == c_in, out.c == c_out, spatial sizes as in the shape.
// out = clamp(f(conv(in) + bias + residual)) (see Epilogue); residual, when given, has out's
// sizes (any pixel stride) and must not overlap out (igemm and depthwise write the tile
// before reading the residual).
class ConvOp {
 public:
  virtual ~ConvOp() = default;
  // Checks the views (std::invalid_argument) and runs.
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool,
               const TensorView* residual = nullptr) const;
  virtual const char* algorithm() const = 0;
  const ConvShape& shape() const { return shape_; }

  // Row bands, for the fused chains of engine/steps_conv.cpp; no view checks. An op with
  // runs_view() (the pointwise gemm: 1x1, stride 1, no padding, one group) runs any views of
  // whole rows through run_view (with a residual of out's sizes). An op with runs_bands()
  // computes output rows y0 .. y0 + out.h - 1 of each image from a view holding input rows
  // r0 .. r0 + in.h - 1 (rows outside the image are padding; the rows the band needs must be
  // there), on the calling thread.
  void run_view(const TensorView& in, const TensorView& out, const TensorView* residual,
                ThreadPool& pool) const {
    run(in, out, residual, pool);
  }
  virtual bool runs_view() const { return false; }
  virtual bool runs_bands() const { return false; }
  virtual void run_band(const TensorView& in, int64_t r0, const TensorView& out, int64_t y0,
                        ThreadPool& pool) const {}
  const Activation& activation() const { return epilogue_.activation(); }

 protected:
  ConvOp(const ConvShape& s, const Activation& act) : shape_(s), epilogue_(act) {}
  virtual void run(const TensorView& in, const TensorView& out, const TensorView* residual,
                   ThreadPool& pool) const = 0;
  // The residual's row at the same (image, linear pixel, channel) as an output position.
  static const float* residual_at(const TensorView* r, int64_t n, int64_t pixel, int64_t channel) {
    return r ? r->data + n * r->image_stride() + pixel * r->ps() + channel : nullptr;
  }
  ConvShape shape_;
  Epilogue epilogue_;
};

// Algorithm names: "igemm" (any conv, transposed included), "depthwise" (groups == c_in, any
// rank), "igemm_rows" (groups 1, dilation_w 1: kernel rows as GEMM rows, engine/stem_conv.h),
// "gemm" (1x1, stride 1, no padding; or groups 1 and a kernel covering the whole unpadded
// input), "group" (cout/groups in {1, 2, 4, 8}, cin/groups <= that).
// "winograd_f2/f4/f6" (2D 3x3 stride 1), "winograd1d" (1 x r / r x 1, r in 3..7, stride 1;
// engine/winograd_conv.h).
std::vector<std::string> conv_algorithm_names();
// The one selection function: picks the fastest applicable algorithm for the shape and CPU,
// among those about as accurate as direct summation unless `fast` also admits the Winograd
// variants that trade 3-4 bits for speed (F(4x4), F(6x6), winograd1d, winograd_s2).
std::string select_conv_algorithm(const ConvShape& s, bool fast = false);
bool conv_algorithm_applies(const std::string& algo, const ConvShape& s);

// Weight layout as torch/ONNX: conv (c_out, c_in/g, kd, kh, kw); transposed
// (c_in, c_out/g, kd, kh, kw). bias may be null. algorithm "auto" selects, "fast" selects with
// the faster, less accurate Winograd variants admitted.
std::unique_ptr<ConvOp> make_conv(const ConvShape& s, const float* weight, const float* bias,
                                  const Activation& act, const std::string& algorithm = "auto");

// The ConvShape of a conv on an (N, C, *spatial) input with a torch/ONNX weight shape; stride,
// dilation, pads and output_padding have 3 entries (d, h, w). bias_len is -1 without a bias.
// Throws std::invalid_argument naming what does not fit; does not infer the output size.
ConvShape make_conv_shape(const std::vector<int64_t>& input_shape, const std::vector<int64_t>& ws,
                          int64_t groups, bool transposed, const std::vector<int64_t>& stride,
                          const std::vector<int64_t>& dilation, const std::vector<int64_t>& pad_begin,
                          const std::vector<int64_t>& pad_end,
                          const std::vector<int64_t>& output_padding, int64_t bias_len);

}  // namespace ce
