#include "engine/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "engine/elementwise.h"

namespace ce {

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "nearest") return ResizeMode::kNearest;
  if (name == "nearest-exact") return ResizeMode::kNearestExact;
  if (name == "bilinear") return ResizeMode::kBilinear;
  throw std::invalid_argument("resize mode must be 'nearest', 'nearest-exact' or 'bilinear', got '" +
                              name + "'");
}

namespace {

// torch's compute_scales_value<float> / area_pixel_compute_scale<float>.
float axis_scale(int64_t in, int64_t out, bool align_corners, double scale_factor) {
  if (align_corners) return out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  if (scale_factor > 0.0) return static_cast<float>(1.0 / scale_factor);
  return static_cast<float>(in) / static_cast<float>(out);
}

Resize2dOp::Axis make_axis(const ResizeShape& s, int a) {
  const int64_t in = s.in[a], out = s.out[a];
  const float scale = axis_scale(in, out, s.align_corners, s.scale_factor[a]);
  Resize2dOp::Axis ax;
  ax.i0.resize(out);
  ax.i1.resize(out);
  ax.l0.assign(out, 1.0f);
  ax.l1.assign(out, 0.0f);
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0 = 0;
    switch (s.mode) {
      case ResizeMode::kNearest:  // torch's nearest_idx, special cases included
        if (out == in) i0 = o;
        else if (out == 2 * in) i0 = o >> 1;
        else i0 = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
        ax.i0[o] = ax.i1[o] = i0;
        break;
      case ResizeMode::kNearestExact:  // (o + 0.5) * scale is exact in double, rounded once to float
        i0 = std::min(static_cast<int64_t>(std::floor(static_cast<float>((o + 0.5) * scale))), in - 1);
        ax.i0[o] = ax.i1[o] = i0;
        break;
      case ResizeMode::kCubic:  // refused by the constructor: cubic takes explicit tables
        break;
      case ResizeMode::kBilinear: {
        if (out == in) {
          ax.i0[o] = ax.i1[o] = o;
          break;
        }
        float x;
        if (s.align_corners) {
          x = scale * static_cast<float>(o);
        } else {
          // torch's AVX2 build contracts scale * (o + 0.5f) - 0.5f into one FMA; so do we.
          x = std::fma(scale, static_cast<float>(o) + 0.5f, -0.5f);
          if (x < 0.0f) x = 0.0f;
        }
        i0 = std::min(static_cast<int64_t>(std::floor(x)), in - 1);
        const float l1 = std::min(std::max(x - static_cast<float>(i0), 0.0f), 1.0f);
        ax.i0[o] = i0;
        ax.i1[o] = i0 + (i0 < in - 1 ? 1 : 0);
        ax.l1[o] = l1;
        ax.l0[o] = 1.0f - l1;
        break;
      }
    }
  }
  return ax;
}

}  // namespace

Resize2dOp::Resize2dOp(const ResizeShape& s) : s_(s), bilinear_(ibilinear_kernel()) {
  if (s.channels < 1 || s.in[0] < 1 || s.in[1] < 1 || s.out[0] < 1 || s.out[1] < 1)
    throw std::invalid_argument("interpolate: channels, input and output sizes must be >= 1");
  if (s.mode == ResizeMode::kCubic)
    throw std::invalid_argument("interpolate: cubic resize takes explicit per-axis tables");
  if (s.align_corners && s.mode != ResizeMode::kBilinear)
    throw std::invalid_argument("interpolate: align_corners applies to bilinear mode only");
  axes_[0] = make_axis(s, 0);
  axes_[1] = make_axis(s, 1);
}

Resize2dOp::Resize2dOp(const ResizeShape& s, Axis h, Axis w) : s_(s), bilinear_(ibilinear_kernel()) {
  if (s.channels < 1 || s.in[0] < 1 || s.in[1] < 1 || s.out[0] < 1 || s.out[1] < 1)
    throw std::invalid_argument("resize: channels, input and output sizes must be >= 1");
  const Axis* ax[2] = {&h, &w};
  for (int a = 0; a < 2; ++a) {
    const Axis& t = *ax[a];
    const size_t n = static_cast<size_t>(s.out[a]);
    if (s.mode == ResizeMode::kCubic) {
      if (t.ti.size() != n * kCubicTaps || t.tw.size() != n * kCubicTaps)
        throw std::invalid_argument("resize: cubic table sizes differ from 4 x the output size");
      for (int64_t i : t.ti)
        if (i < 0 || i >= s.in[a]) throw std::invalid_argument("resize: table index outside the input");
      continue;
    }
    if (t.i0.size() != n || t.i1.size() != n || t.l0.size() != n || t.l1.size() != n)
      throw std::invalid_argument("resize: table sizes differ from the output size");
    for (size_t o = 0; o < n; ++o)
      if (t.i0[o] < 0 || t.i0[o] >= s.in[a] || t.i1[o] < 0 || t.i1[o] >= s.in[a])
        throw std::invalid_argument("resize: table index outside the input");
  }
  axes_[0] = std::move(h);
  axes_[1] = std::move(w);
}

void Resize2dOp::forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const {
  check_view("interpolate", "input", in, s_.channels, s_.in[0], s_.in[1]);
  check_view("interpolate", "output", out, s_.channels, s_.out[0], s_.out[1]);
  if (out.n != in.n) throw std::invalid_argument("interpolate: batch sizes differ");
  const Axis& ay = axes_[0];
  const Axis& ax = axes_[1];
  const int64_t ow_n = s_.out[1], c = s_.channels;
  const size_t ops = out.ps();
  if (s_.mode == ResizeMode::kCubic) {
    // Per output pixel, the 4 x 4 source pixels weighted wy * wx, accumulated over the
    // channels in place.
    pool.parallel_for_2d(in.n, s_.out[0], [&](size_t b, size_t oh) {
      const int64_t* yi = &ay.ti[kCubicTaps * oh];
      const float* yw = &ay.tw[kCubicTaps * oh];
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        float* o = out.pixel(b, 0, oh, ow);
        std::fill(o, o + c, 0.0f);
        const int64_t* xi = &ax.ti[kCubicTaps * ow];
        const float* xw = &ax.tw[kCubicTaps * ow];
        for (int64_t ky = 0; ky < kCubicTaps; ++ky)
          for (int64_t kx = 0; kx < kCubicTaps; ++kx) {
            const float wt = yw[ky] * xw[kx];
            const float* src = in.pixel(b, 0, yi[ky], xi[kx]);
            for (int64_t ch = 0; ch < c; ++ch) o[ch] += wt * src[ch];
          }
      }
    });
    return;
  }
  if (s_.mode != ResizeMode::kBilinear) {
    pool.parallel_for_2d(in.n, s_.out[0], [&](size_t b, size_t oh) {
      const int64_t ih = ay.i0[oh];
      for (int64_t ow = 0; ow < ow_n; ++ow)
        std::memcpy(out.pixel(b, 0, oh, ow), in.pixel(b, 0, ih, ax.i0[ow]), c * sizeof(float));
    });
    return;
  }
  std::vector<float> wx(2 * ow_n);
  for (int64_t ow = 0; ow < ow_n; ++ow) {
    wx[2 * ow] = ax.l0[ow];
    wx[2 * ow + 1] = ax.l1[ow];
  }
  pool.parallel_for_2d(in.n, s_.out[0], [&](size_t b, size_t oh) {
    std::vector<const float*> ptrs(4 * ow_n);
    const int64_t y0 = ay.i0[oh], y1 = ay.i1[oh];
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      ptrs[4 * ow + 0] = in.pixel(b, 0, y0, ax.i0[ow]);
      ptrs[4 * ow + 1] = in.pixel(b, 0, y0, ax.i1[ow]);
      ptrs[4 * ow + 2] = in.pixel(b, 0, y1, ax.i0[ow]);
      ptrs[4 * ow + 3] = in.pixel(b, 0, y1, ax.i1[ow]);
    }
    bilinear_(ow_n, c, ptrs.data(), wx.data(), ay.l0[oh], ay.l1[oh], out.pixel(b, 0, oh, 0), ops);
  });
}

}  // namespace ce
