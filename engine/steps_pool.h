// Plan steps of pooling on channels-last tensors: the 2D window pool (engine/pool.h kernels),
// window pooling over 1-3 spatial axes in any other case, and global pooling.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/plan.h"
#include "engine/pool.h"

namespace ce {

std::unique_ptr<Step> make_pool2d_step(std::unique_ptr<Pool2dOp> op, const TRef& in, const TRef& out);

// Window pooling over 1-3 spatial axes (channels-last), ONNX semantics: windows are given by
// kernel / stride / dilation / pads (sizes (d, h, w)), and `out` must have the sizes they give
// (floor, or ceil_mode); average divides by the window's taps inside the input, or with
// count_include_pad by those inside the padded input [-pad_begin, in + pad_end).
std::unique_ptr<Step> make_window_pool_step(bool max, const int64_t kernel[3], const int64_t stride[3],
                                            const int64_t dilation[3], const int64_t pad_begin[3],
                                            const int64_t pad_end[3], bool ceil_mode,
                                            bool count_include_pad, const TRef& in,
                                            const TRef& out);
// LpPool: (sum over the window's taps inside the input of |x|^p)^(1/p), p in [1, 64]; windows
// as in make_window_pool_step.
std::unique_ptr<Step> make_lp_pool_step(int64_t p, const int64_t kernel[3], const int64_t stride[3],
                                        const int64_t dilation[3], const int64_t pad_begin[3],
                                        const int64_t pad_end[3], bool ceil_mode, const TRef& in,
                                        const TRef& out);
// Global average / max over every spatial position (channels-last in, (n, c, 1...) out).
std::unique_ptr<Step> make_global_pool_step(bool max, const TRef& in, const TRef& out);

}  // namespace ce
