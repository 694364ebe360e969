// Layer norm of contiguous rows: sum, then sum of squared deviations from the mean, then
// y = (x - mean) * rstd * g + b, 4 floats at a time with a lane-wise tail. Rows of up to kShort
// floats go 4 at a time, each pass interleaving the 4 rows' independent add chains (as
// f32-layernorm-rows-avx2); longer rows take the blocked sums of f32-rreduce-u16-neon.
#include "native/elementwise/neon-common.h"
#include "native/norm/norm.h"
#include "native/reduce/reduce.h"

#include <cmath>

namespace ce::native {

namespace {

template <bool G, bool B>
void write(size_t n, const float* x, float* y, const float* g, const float* b, float mean, float r) {
  const float32x4_t vm = vdupq_n_f32(mean), vr = vdupq_n_f32(r);
  auto f = [&](float32x4_t v, size_t i, size_t lanes) {
    auto ld = [&](const float* p) { return lanes < 4 ? neon::load_tail(p + i, lanes) : vld1q_f32(p + i); };
    float32x4_t t = vmulq_f32(vsubq_f32(v, vm), vr);
    if (G) t = vmulq_f32(t, ld(g));
    if (B) t = vaddq_f32(t, ld(b));
    return t;
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = f(vld1q_f32(x + i), i, 4), c = f(vld1q_f32(x + i + 4), i + 4, 4);
    vst1q_f32(y + i, a);
    vst1q_f32(y + i + 4, c);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i), i, 4));
  if (i < n) neon::store_tail(y + i, f(neon::load_tail(x + i, n - i), i, n - i), n - i);
}

void write_any(size_t n, const float* x, float* y, const float* g, const float* b, float m, float r) {
  if (g && b) write<true, true>(n, x, y, g, b, m, r);
  else if (g) write<true, false>(n, x, y, g, b, m, r);
  else if (b) write<false, true>(n, x, y, g, b, m, r);
  else write<false, false>(n, x, y, g, b, m, r);
}

constexpr size_t kShort = 2048;

// R rows of n <= kShort floats, statistics of all R in each pass.
template <int R>
void short_rows(size_t n, const float* x, size_t xs, float* y, size_t ys, const float* g,
                const float* b, float eps, float* mean, float* rstd) {
  const size_t n4 = n & ~size_t{3}, tail = n - n4;
  const uint32x4_t live = vcltq_u32((uint32x4_t){0, 1, 2, 3}, vdupq_n_u32(uint32_t(tail)));
  float32x4_t s[R], q[R], vm[R];
  for (int j = 0; j < R; ++j) s[j] = q[j] = vdupq_n_f32(0.0f);
  for (size_t i = 0; i < n4; i += 4)
    for (int j = 0; j < R; ++j) s[j] = vaddq_f32(s[j], vld1q_f32(x + j * xs + i));
  if (tail)
    for (int j = 0; j < R; ++j) s[j] = vaddq_f32(s[j], neon::load_tail(x + j * xs + n4, tail));
  float m[R], r[R];
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int j = 0; j < R; ++j) {
    m[j] = vaddvq_f32(s[j]) * inv_n;
    vm[j] = vdupq_n_f32(m[j]);
  }
  for (size_t i = 0; i < n4; i += 4)
    for (int j = 0; j < R; ++j) {
      const float32x4_t d = vsubq_f32(vld1q_f32(x + j * xs + i), vm[j]);
      q[j] = vfmaq_f32(q[j], d, d);
    }
  if (tail)
    for (int j = 0; j < R; ++j) {
      const float32x4_t d = vsubq_f32(neon::load_tail(x + j * xs + n4, tail), vm[j]);
      q[j] = vfmaq_f32(q[j], d, vbslq_f32(live, d, vdupq_n_f32(0.0f)));
    }
  for (int j = 0; j < R; ++j) r[j] = 1.0f / std::sqrt(vaddvq_f32(q[j]) * inv_n + eps);
  for (int j = 0; j < R; ++j) {
    write_any(n, x + j * xs, y + j * ys, g, b, m[j], r[j]);
    if (mean) mean[j] = m[j];
    if (rstd) rstd[j] = r[j];
  }
}

}  // namespace

void f32_layernorm_rows__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride, const float* gamma, const float* beta, float eps,
                              float* mean, float* rstd) {
  if (n <= kShort) {
    size_t r = 0;
    for (; r + 4 <= rows; r += 4)
      short_rows<4>(n, x + r * x_stride, x_stride, y + r * y_stride, y_stride, gamma, beta, eps,
                    mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
    for (; r < rows; ++r)
      short_rows<1>(n, x + r * x_stride, x_stride, y + r * y_stride, y_stride, gamma, beta, eps,
                    mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
    return;
  }
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    const float m = f32_rreduce_u16__neon(ReduceOp::kSum, n, x, 0.0f) / static_cast<float>(n);
    const float q = f32_rreduce_u16__neon(ReduceOp::kSumSquare, n, x, m);
    const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(q) / n + eps));
    write_any(n, x, y, gamma, beta, m, rs);
    if (mean) mean[r] = m;
    if (rstd) rstd[r] = rs;
  }
}

}  // namespace ce::native
