// Layout conversion: the one blocked-transpose driver (64x64 blocks through the transpose
// microkernel of native/layout), used for NCHW <-> NHWC at the bindings' boundary and by the
// plan's copy step for channels-first <-> channels-last copies.
#pragma once
#include <cstdint>

#include "engine/thread_pool.h"

namespace ce {

// dst (batch, cols, rows) = src (batch, rows, cols) transposed, both contiguous; blocks run on
// the pool, or on the calling thread when `serial`.
void transpose_blocked(const float* src, float* dst, int64_t batch, int64_t rows, int64_t cols,
                       ThreadPool& pool, bool serial = false);

// [N][C][P] <-> [N][P][C] (P = flattened spatial size), parallel over images and pixel blocks.
void nchw_to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool);
void nhwc_to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool);

}  // namespace ce
