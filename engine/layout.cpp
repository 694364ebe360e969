#include "engine/layout.h"

#include <algorithm>

#include "engine/dispatch.h"

namespace ce {

namespace {
constexpr int64_t kBlock = 64;  // 64x64 floats: source and destination tiles (16 KiB each) fit L1
}  // namespace

void transpose_blocked(const float* src, float* dst, int64_t batch, int64_t rows, int64_t cols,
                       ThreadPool& pool, bool serial) {
  const native::TransposeFn kernel = transpose_kernel();
  const int64_t rb = (rows + kBlock - 1) / kBlock, cb = (cols + kBlock - 1) / kBlock;
  auto body = [&](size_t i) {
    const int64_t b = i / (rb * cb), t = i % (rb * cb);
    const int64_t r0 = (t / cb) * kBlock, c0 = (t % cb) * kBlock;
    const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
    kernel(r1 - r0, c1 - c0, src + b * rows * cols + r0 * cols + c0, cols,
           dst + b * rows * cols + c0 * rows + r0, rows);
  };
  if (serial) {
    for (int64_t i = 0; i < batch * rb * cb; ++i) body(i);
  } else {
    pool.parallel_for(batch * rb * cb, body);
  }
}

void nchw_to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool) {
  transpose_blocked(src, dst, n, c, p, pool);
}

void nhwc_to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t p, ThreadPool& pool) {
  transpose_blocked(src, dst, n, p, c, pool);
}

}  // namespace ce
