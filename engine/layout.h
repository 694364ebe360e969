#pragma once
#include <cstdint>

#include "engine/thread_pool.h"

namespace ce {

// [N][C][P] <-> [N][P][C] (P = flattened spatial size), parallel over images and pixel blocks.
void nchw_to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool);
void nhwc_to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool);

}  // namespace ce
