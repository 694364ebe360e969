#include "engine/pool.h"
#include "engine/arith.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "engine/elementwise.h"
#include "engine/rules.h"

namespace ce {

namespace {

// The valid taps of one window along one axis: taps i in [first, first + count) land on input
// index start + i * dilation inside [0, size).
struct Span {
  int64_t first_index;  // input index of the first valid tap
  int64_t count;        // number of valid taps
  int64_t extent;       // avg pooling: window size clipped to the padded input (torch's pool_size)
};

Span window_span(int64_t o, int64_t size, int64_t k, int64_t stride, int64_t pad_begin,
                 int64_t pad_end, int64_t dilation) {
  const int64_t start = o * stride - pad_begin;
  const rules::TapRange t = rules::taps_within(start, k, dilation, 0, size);
  Span s;
  s.count = t.count();
  s.first_index = start + t.first * dilation;
  const int64_t end = std::min(start + k, size + pad_end);  // avg only (dilation 1)
  s.extent = end - start;
  return s;
}

}  // namespace

void PoolShape::infer_output() {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument((kind == PoolKind::kMax ? "max_pool2d: " : "avg_pool2d: ") + what +
                                " (" + describe() + ")");
  };
  if (channels < 1) fail("channels must be >= 1");
  for (int i = 0; i < 2; ++i) {
    if (in[i] < 1) fail("input size must be >= 1");
    if (kernel[i] < 1) fail("kernel size must be >= 1");
    if (stride[i] < 1) fail("stride must be >= 1");
    if (dilation[i] < 1) fail("dilation must be >= 1");
    if (kind == PoolKind::kAverage && dilation[i] != 1) fail("average pooling has no dilation");
    if (pad_begin[i] < 0 || pad_end[i] < 0) fail("padding must be >= 0");
    if (!rules::pool_pads_fit(kernel[i], dilation[i], pad_begin[i], pad_end[i]))
      fail("padding must be at most half of the effective kernel size");
    const int64_t o = rules::window_output(in[i], kernel[i], stride[i], dilation[i], pad_begin[i],
                                           pad_end[i], ceil_mode);
    if (o < 1) fail("output size would be " + std::to_string(o) + " (< 1)");
    out[i] = o;
  }
  if (kind == PoolKind::kMax && divisor_override != 0) fail("divisor_override is for average pooling");
}

std::string PoolShape::describe() const {
  std::ostringstream os;
  os << (kind == PoolKind::kMax ? "max" : "avg") << "_pool2d c=" << channels << " in=(" << in[0]
     << "," << in[1] << ") kernel=(" << kernel[0] << "," << kernel[1] << ") stride=(" << stride[0]
     << "," << stride[1] << ") pads=(" << pad_begin[0] << "," << pad_begin[1] << ")("
     << pad_end[0] << "," << pad_end[1] << ") dilation=(" << dilation[0] << "," << dilation[1]
     << ") ceil_mode=" << ceil_mode;
  if (kind == PoolKind::kAverage)
    os << " count_include_pad=" << count_include_pad << " divisor_override=" << divisor_override;
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// Pool2dOp

Pool2dOp::Pool2dOp(const PoolShape& s, const Activation& act)
    : s_(s), k_(pool_kernels()), clamp_(act.clamp()) {
  s_.infer_output();
}

void Pool2dOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  const PoolShape& s = s_;
  const char* name = s.kind == PoolKind::kMax ? "max_pool2d" : "avg_pool2d";
  check_view(name, "input", in, s.channels, s.in[0], s.in[1]);
  check_view(name, "output", out, s.channels, s.out[0], s.out[1]);
  if (out.n != in.n) throw std::invalid_argument(std::string(name) + ": batch sizes differ");
  std::vector<Span> cols(s.out[1]);
  for (int64_t ow = 0; ow < s.out[1]; ++ow)
    cols[ow] = window_span(ow, s.in[1], s.kernel[1], s.stride[1], s.pad_begin[1], s.pad_end[1],
                           s.dilation[1]);
  const size_t ips = in.ps();
  const size_t row_stride = s.dilation[0] * s.in[1] * ips, col_stride = s.dilation[1] * ips;
  // The columns whose whole window lies in the image, [ow0, ow1) (an interval: the window
  // start grows with ow), take one kernel call per row: the same window size and divisor, a
  // constant step. The others take one call each.
  int64_t ow0 = 0, ow1 = 0;
  for (int64_t ow = s.out[1] - 1; ow >= 0; --ow)
    if (cols[ow].count == s.kernel[1] && cols[ow].extent == s.kernel[1]) {
      if (ow1 == 0) ow1 = ow + 1;
      ow0 = ow;
    }
  const size_t in_step = s.stride[1] * ips, out_step = out.ps();
  pool.parallel_for_2d(in.n, s.out[0], [&](size_t b, size_t oh) {
    const Span r = window_span(oh, s.in[0], s.kernel[0], s.stride[0], s.pad_begin[0],
                               s.pad_end[0], s.dilation[0]);
    auto run = [&](int64_t ow, size_t pixels) {
      const Span& c = cols[ow];
      const float* src = in.pixel(b, 0, r.first_index, c.first_index);
      float* dst = out.pixel(b, 0, oh, ow);
      if (r.count == 0 || c.count == 0) src = in.data;  // never read; keep the pointer valid
      if (s.kind == PoolKind::kMax) {
        k_.max(pixels, r.count, c.count, s.channels, src, in_step, row_stride, col_stride, dst,
               out_step, &clamp_);
      } else {
        int64_t divisor = s.divisor_override;
        if (!divisor) divisor = s.count_include_pad ? r.extent * c.extent : r.count * c.count;
        const float scale = divisor ? static_cast<float>(1.0 / static_cast<double>(divisor)) : 0.0f;
        k_.avg(pixels, r.count, c.count, s.channels, src, in_step, row_stride, col_stride, scale,
               dst, out_step, &clamp_);
      }
    };
    for (int64_t ow = 0; ow < ow0; ++ow) run(ow, 1);
    if (ow1 > ow0) run(ow0, ow1 - ow0);
    for (int64_t ow = ow1; ow < s.out[1]; ++ow) run(ow, 1);
  });
}

// ---------------------------------------------------------------------------------------------
// AdaptiveAvgPool2dOp

AdaptiveAvgPool2dOp::AdaptiveAvgPool2dOp(int64_t channels, int64_t in_h, int64_t in_w,
                                         int64_t out_h, int64_t out_w)
    : channels_(channels), in_{in_h, in_w}, out_{out_h, out_w}, k_(pool_kernels()) {
  if (channels < 1 || in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1)
    throw std::invalid_argument("adaptive_avg_pool2d: channels, input and output sizes must be >= 1");
}

void AdaptiveAvgPool2dOp::forward(const TensorView& in, const TensorView& out,
                                  ThreadPool& pool) const {
  check_view("adaptive_avg_pool2d", "input", in, channels_, in_[0], in_[1]);
  check_view("adaptive_avg_pool2d", "output", out, channels_, out_[0], out_[1]);
  if (out.n != in.n) throw std::invalid_argument("adaptive_avg_pool2d: batch sizes differ");
  if (is_global()) return forward_global(in, out, pool);
  const size_t ips = in.ps();
  const native::ClampParams none{-INFINITY, INFINITY};
  // start = floor(i * in / out), end = ceil((i + 1) * in / out)
  auto start = [](int64_t i, int64_t n_in, int64_t n_out) { return (i * n_in) / n_out; };
  auto end = [](int64_t i, int64_t n_in, int64_t n_out) { return ((i + 1) * n_in + n_out - 1) / n_out; };
  pool.parallel_for_2d(in.n, out_[0], [&](size_t b, size_t oh) {
    const int64_t h0 = start(oh, in_[0], out_[0]), h1 = end(oh, in_[0], out_[0]);
    for (int64_t ow = 0; ow < out_[1]; ++ow) {
      const int64_t w0 = start(ow, in_[1], out_[1]), w1 = end(ow, in_[1], out_[1]);
      const float scale = static_cast<float>(1.0 / static_cast<double>((h1 - h0) * (w1 - w0)));
      k_.avg(1, h1 - h0, w1 - w0, channels_, in.pixel(b, 0, h0, w0), 0, in_[1] * ips, ips, scale,
             out.pixel(b, 0, oh, ow), 0, &none);
    }
  });
}

void AdaptiveAvgPool2dOp::forward_nchw(const float* in, float* out, int64_t n,
                                       ThreadPool& pool) const {
  if (!is_global())
    throw std::invalid_argument("adaptive_avg_pool2d: the channels-first path is for 1x1 output only");
  if (!in || !out || n < 1) throw std::invalid_argument("adaptive_avg_pool2d: empty input");
  const size_t planes = n * channels_, pixels = in_[0] * in_[1];
  const size_t per = std::max<size_t>(1, 16384 / pixels);  // ~64 KiB of input per work item
  const float scale = static_cast<float>(1.0 / static_cast<double>(pixels));
  pool.parallel_for(ceil_div(planes, per), [&](size_t t) {
    const size_t j0 = t * per;
    k_.gavg_cw(std::min(per, planes - j0), pixels, in + j0 * pixels, scale, out + j0);
  });
}

void AdaptiveAvgPool2dOp::forward_global(const TensorView& in, const TensorView& out,
                                         ThreadPool& pool) const {
  global_average(in, out.pixel(0, 0, 0, 0), out.image_stride(), pool, k_);
}

void global_average(const TensorView& in, float* out, int64_t out_image_stride, ThreadPool& pool,
                    const PoolKernels& k_, size_t min_chunks) {
  constexpr size_t kBlock = 64;      // channels per work item
  constexpr size_t kMinRows = 512;   // pixels per row chunk when rows are split
  const size_t rows = in.pixels(), c = in.c, ips = in.ps();
  const size_t cblocks = ceil_div(c, kBlock);
  const size_t items = in.n * cblocks;
  // A fixed target, not a multiple of the thread count: the split (and so the rounding of the
  // sums) must not depend on how many threads run it.
  constexpr size_t want = 16;
  size_t chunks = 1;
  if (items < want && rows >= 2 * kMinRows)
    chunks = std::min(ceil_div(rows, kMinRows), ceil_div(want, items));
  chunks = std::max(chunks, std::min(min_chunks, rows));
  const float scale = static_cast<float>(1.0 / static_cast<double>(rows));
  if (chunks == 1) {
    pool.parallel_for_2d(in.n, cblocks, [&](size_t b, size_t cb) {
      const size_t c0 = cb * kBlock;
      k_.gavg(rows, std::min(kBlock, c - c0), in.data + b * in.image_stride() + c0, ips, scale,
              out + b * out_image_stride + c0);
    });
    return;
  }
  // Partial sums per row chunk, then added in chunk order: the result does not depend on the
  // thread count or the scheduling.
  const size_t per = ceil_div(rows, chunks);
  chunks = ceil_div(rows, per);
  std::vector<float> partial(in.n * chunks * c);
  pool.parallel_for_3d(in.n, chunks, cblocks, [&](size_t b, size_t k, size_t cb) {
    const size_t c0 = cb * kBlock, r0 = k * per;
    k_.gavg(std::min(per, rows - r0), std::min(kBlock, c - c0),
            in.data + b * in.image_stride() + r0 * ips + c0, ips, scale,
            partial.data() + (b * chunks + k) * c + c0);
  });
  for (int64_t b = 0; b < in.n; ++b) {
    float* dst = out + b * out_image_stride;
    const float* p = partial.data() + b * chunks * c;
    std::copy_n(p, c, dst);
    for (size_t k = 1; k < chunks; ++k)
      for (size_t j = 0; j < c; ++j) dst[j] += p[k * c + j];
  }
}

}  // namespace ce
