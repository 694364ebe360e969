// Direct depthwise convolution driver: weight packing, border handling, tiling and threading.
// The arithmetic is in native/dwconv (kernels picked by engine/dispatch).
//
// 1D and 3D use the same path: an output row is (image, depth, y), and its kd * kh input rows
// go to the row kernels as one list of row pointers (taps ordered (kd, kh, kw)).
//
// Per output row the interior pixels (every horizontal tap inside the image) go to one row
// kernel call per segment, with the kh input rows passed as pointers; a row that falls in the
// vertical padding points into a zero row instead, so top and bottom rows need no special
// code. The few pixels at the left and right edges, and every pixel of images smaller than the
// kernel span, go through the indirect kernel with per-tap pointers (zero buffer for padding).
// Small 2D images, where those edge pixels dominate, run on a zero-padded copy instead
// (run_padded).
#include "engine/depthwise.h"
#include "engine/arith.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

constexpr size_t kTile = native::kDwTile;
// Interior pixels per row-kernel call: the kernels walk the segment once per channel strip,
// so the segment's input lines should stay in L1 between strips.
constexpr int64_t kSegment = 64;
constexpr int64_t kMinParallelMacs = 100 * 1000;
// Padded-copy path: channels per task (at most; fewer for larger images) and the largest
// padded copy (256 KB: a quarter of Zen 4/5's L2).
constexpr int64_t kPaddedChunk = 64;
constexpr int64_t kPaddedFloats = 64 * 1024;

class DepthwiseConv final : public ConvOp {
 public:
  DepthwiseConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), k_(dwconv_kernels()) {
    c_ = s.c_in;
    mult_ = s.c_out / s.c_in;
    oc_ = s.c_out;
    kd_ = s.kernel[0];
    kh_ = s.kernel[1];
    kw_ = s.kernel[2];
    taps_ = kd_ * kh_ * kw_;
    params_.min = act.min;
    params_.max = act.max;
    params_.mult = nullptr;
    params_.any_alignment = k_.zmm_any_alignment;

    const int64_t sw = s.stride[2], dw = s.dilation[2];
    if (kd_ > 1) {
      // 3D: the kd * kh input rows of an output row go to the generic row kernel as one list.
      row_ = k_.row_kxk;
    } else if (kh_ == 3 && kw_ == 3 && sw == dw) {
      row_ = k_.row_3x3s1;
    } else if (kh_ == 3 && kw_ == 3 && sw == 2 * dw) {
      row_ = k_.row_3x3s2;
    } else if (kh_ == 5 && kw_ == 5 && sw == dw) {
      row_ = k_.row_5x5s1;
    } else if (kh_ == 7 && kw_ == 7 && sw == dw) {
      row_ = k_.row_7x7s1;
    } else if (kh_ == 5 && kw_ == 5 && sw == 2 * dw) {
      row_ = k_.row_5x5s2;
    } else if (kh_ == 5 && kw_ == 5) {
      row_ = k_.row_5x5;
    } else {
      row_ = k_.row_kxk;
    }

    // Panels of kTile output channels, one weight per tap (native/dwconv/dwconv.h), then 16
    // zeros.
    const PanelLayout L{kTile, 1, static_cast<size_t>(taps_), 1};
    tiles_ = L.blocks(oc_);
    tile_stride_ = L.block_floats();
    packed_.resize(L.floats(oc_) + 16);
    pack_conv_weights(packed_.data(), L, 1, oc_, weight, taps_, nullptr, bias);
    std::fill_n(packed_.data() + L.floats(oc_), 16, 0.0f);
    packed_.share();

    // Channel multiplier: which input lanes feed each block of 8 output channels.
    if (mult_ > 1) {
      const int64_t blocks = ceil_div(oc_, 8);
      mult_table_.assign(blocks * native::kDwMultEntry, 0);
      for (int64_t b = 0; b < blocks; ++b) {
        int32_t* e = mult_table_.data() + b * native::kDwMultEntry;
        const int64_t base = (8 * b) / mult_;
        for (int64_t i = 0; i < 8; ++i) {
          const int64_t oc = std::min(8 * b + i, oc_ - 1);
          e[i] = static_cast<int32_t>(std::min<int64_t>(7, oc / mult_ - base));
          e[8 + i] = base + i < c_ ? -1 : 0;
        }
        e[16] = static_cast<int32_t>(base);
        e[17] = base + 4 <= c_ ? 1 : 0;  // mult_ >= 2: perm[i] <= 3
      }
    }

    // Zero row: a padded input row for the row kernels, a padded pixel for the indirect one.
    zero_.assign(s.in[2] * s.in_ps() + 64, 0.0f);

    // Interior columns: x * sw - pad_left >= 0 and the last tap inside the row.
    const int64_t out_w = s.out[2], pl = s.pad_begin[2];
    x_lo_ = std::min(out_w, ceil_div(pl, sw));
    const int64_t lim = s.in[2] - 1 + pl - (kw_ - 1) * dw;
    x_hi_ = lim < 0 ? 0 : std::min(out_w, lim / sw + 1);
    x_hi_ = std::max(x_hi_, x_lo_);

    // Small images, where the border pixels are a large share of a row (a 5x5 kernel at 7x7
    // leaves 3 of 7 pixels inside), run on a zero-padded copy of the image: every pixel then
    // goes through the row kernel in one call per row. Worth its copy when border pixels x taps
    // >= 2.5 x the row's pixels. Measured on Zen 5 (avx512, 1 thread), padded against not:
    // 3x3 at 7x7 1152 ch 0.68x the time, 5x5 at 7x7 1152 ch 0.5x, at 14x14 480 ch 0.7x, at
    // 28x28 120 ch 0.88x, 7x7 at 7x7 0.34x, at 28x28 0.68x, at 56x56 0.9x; below the line
    // 3x3 at 14x14 1.0x, 3x3 at 56x56 1.4x, 5x5 at 56x56 1.05x, 3x3 s2 1.4-1.5x.
    padded_h_ = (s.out[1] - 1) * s.stride[1] + (kh_ - 1) * s.dilation[1] + 1;
    padded_w_ = (out_w - 1) * sw + (kw_ - 1) * dw + 1;
    const int64_t border = out_w - (x_hi_ - x_lo_);
    padded_chunk_ = kPaddedChunk;
    while (padded_chunk_ > 16 && padded_h_ * padded_w_ * padded_chunk_ > kPaddedFloats)
      padded_chunk_ /= 2;
    padded_ = kd_ == 1 && s.in[0] == 1 && s.out[0] == 1 && mult_ == 1 && s.out[1] > 0 &&
              out_w > 0 && 2 * border * kh_ * kw_ >= 5 * out_w &&
              padded_h_ * padded_w_ * padded_chunk_ <= kPaddedFloats;
  }

  const char* algorithm() const override { return "depthwise"; }

  bool runs_bands() const override { return shape_.kernel[0] == 1 && shape_.in[0] == 1 && mult_ == 1; }

  void run_band(const TensorView& in, int64_t r0, const TensorView& out, int64_t y0,
                ThreadPool& pool) const override {
    pool.parallel_for(1, [&](size_t) {
      for (int64_t n = 0; n < out.n; ++n)
        for (int64_t oy = y0; oy < y0 + out.h; ++oy)
          run_row(in, out, nullptr, n * shape_.out[1] + oy, 0, oc_, r0, y0);
    });
  }

  void run(const TensorView& in, const TensorView& out, const TensorView* res,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;

    const int64_t rows = in.n * s.out[0] * s.out[1];  // output rows (image, depth, y)
    // Small convs run on the caller. Measured on Zen 3, 2 threads against 1, paired medians,
    // 3x3 stride 1 with the workers spinning from the previous step: 32ch 7x7 (14K MACs) 1.36x
    // slower, 64ch 7x7 (28K) 1.05x slower, 96ch 14x14 (169K) 0.88x, 32ch 28x28 (226K) 0.72x,
    // 64ch 28x28 (452K) 0.64x; in models, flattened_cnn -9%, mobilenet_v3_small -2%.
    const int64_t macs = in.n * s.macs();
    if (padded_) {
      const int64_t chunks = ceil_div(oc_, padded_chunk_);
      const auto task = [&](size_t t) {
        run_padded(in, out, res, t / chunks, (t % chunks) * padded_chunk_);
      };
      if (pool.num_threads() == 1 || macs < kMinParallelMacs)
        pool.parallel_for(1, [&](size_t) {
          for (int64_t t = 0; t < in.n * chunks; ++t) task(t);
        });
      else
        pool.parallel_for(in.n * chunks, task);
      return;
    }
    if (pool.num_threads() == 1 || macs < kMinParallelMacs) {
      pool.parallel_for(1, [&](size_t) {
        for (int64_t r = 0; r < rows; ++r) run_row(in, out, res, r, 0, oc_);
      });
      return;
    }
    // Enough work items for the pool: split channels into tile chunks only when rows are few.
    const int64_t want = 4 * static_cast<int64_t>(pool.num_threads());
    int64_t chunk_tiles = tiles_;
    if (rows < want)
      chunk_tiles = ceil_div(tiles_, std::min<int64_t>(tiles_, ceil_div(want, rows)));
    const int64_t chunks = ceil_div(tiles_, chunk_tiles);
    pool.parallel_for_2d(rows, chunks, [&](size_t r, size_t ch) {
      const int64_t oc0 = ch * chunk_tiles * kTile;
      const int64_t nch = std::min<int64_t>(chunk_tiles * kTile, oc_ - oc0);
      run_row(in, out, res, r, oc0, nch);
    });
  }

 private:
  // Image n, channels oc0 .. oc0 + padded_chunk_ - 1 (fewer at the end) of a small image: copies
  // them into a zero-padded thread-local image (pixel stride a multiple of 16 floats, aligned),
  // then runs every output row in one row-kernel call.
  void run_padded(const TensorView& in, const TensorView& out, const TensorView* res, int64_t n,
                  int64_t oc0) const {
    const ConvShape& s = shape_;
    const int64_t nch = std::min(padded_chunk_, oc_ - oc0);
    const int64_t C = static_cast<int64_t>(round_up(nch, 16));
    const int64_t H = s.in[1], W = s.in[2], ps = in.ps(), ops = out.ps();
    const int64_t pt = s.pad_begin[1], pl = s.pad_begin[2];
    const int64_t Hp = padded_h_, Wp = padded_w_;
    static thread_local Buffer pad;
    if (pad.size() < static_cast<size_t>(Hp * Wp * C)) pad.resize(Hp * Wp * C);
    const float* img = in.data + n * in.image_stride() + oc0;
    for (int64_t yp = 0; yp < Hp; ++yp) {
      float* dst = pad.data() + yp * Wp * C;
      const int64_t iy = yp - pt;
      if (iy < 0 || iy >= H) {
        std::fill_n(dst, Wp * C, 0.0f);
        continue;
      }
      const int64_t x0 = std::min(pl, Wp), x1 = std::min(Wp, pl + W);
      std::fill_n(dst, x0 * C, 0.0f);
      const float* src = img + iy * W * ps;
      for (int64_t xp = x0; xp < x1; ++xp) std::copy_n(src + (xp - pl) * ps, nch, dst + xp * C);
      std::fill_n(dst + x1 * C, (Wp - x1) * C, 0.0f);
    }
    const float* w = packed_.data() + (oc0 / kTile) * tile_stride_;
    native::DwParams p = params_;
    const bool pass = epilogue_.needs_pass(res != nullptr);
    if (pass) p.min = -INFINITY, p.max = INFINITY;
    static thread_local std::vector<const float*> rowv;
    rowv.resize(kh_);
    const float** rows = rowv.data();
    const int64_t sh = s.stride[1], dh = s.dilation[1];
    for (int64_t oy = 0; oy < s.out[1]; ++oy) {
      for (int64_t ky = 0; ky < kh_; ++ky) rows[ky] = pad.data() + (oy * sh + ky * dh) * Wp * C;
      float* orow = out.pixel(n, 0, oy, 0) + oc0;
      row_(nch, s.out[2], rows, s.stride[2] * C, s.dilation[2] * C, kh_, kw_, w, orow, ops, &p);
      if (pass)
        epilogue_.apply(orow, s.out[2], nch, ops, residual_at(res, n, oy * s.out[2], oc0),
                        res ? res->ps() : 0);
    }
  }

  // Output row r = (n * out_d + od) * out_h + oy, channels oc0 .. oc0 + nch - 1. `in` holds
  // input rows r0 .. r0 + in.h - 1 of each image and `out` output rows y0 .. y0 + out.h - 1
  // (a band, 2D only; the whole image otherwise).
  void run_row(const TensorView& in, const TensorView& out, const TensorView* res, int64_t r,
               int64_t oc0, int64_t nch, int64_t r0 = 0, int64_t y0 = 0) const {
    const ConvShape& s = shape_;
    const int64_t oy = r % s.out[1], od = (r / s.out[1]) % s.out[0], n = r / (s.out[1] * s.out[0]);
    const int64_t ps = in.ps(), ops = out.ps();
    const int64_t D = s.in[0], H = s.in[1], W = s.in[2];
    const int64_t sd = s.stride[0], dd = s.dilation[0], pd = s.pad_begin[0];
    const int64_t nrows = kd_ * kh_;
    const int64_t sh = s.stride[1], sw = s.stride[2], dh = s.dilation[1], dw = s.dilation[2];
    const int64_t pt = s.pad_begin[1], pl = s.pad_begin[2];
    const float* img = in.data + n * in.image_stride();
    float* orow = out.pixel(n, od, oy - y0, 0) + oc0;
    // Multiplier 1: input pointers start at the call's first channel; otherwise at channel 0
    // and the multiplier table gives absolute input channels.
    const int64_t choff = mult_ > 1 ? 0 : oc0;
    const float* w = packed_.data() + (oc0 / kTile) * tile_stride_;
    native::DwParams p = params_;
    const bool pass = epilogue_.needs_pass(res != nullptr);
    if (pass) p.min = -INFINITY, p.max = INFINITY;
    if (mult_ > 1) p.mult = mult_table_.data() + (oc0 / 8) * native::kDwMultEntry;
    const float* zero = zero_.data();

    // Per-thread scratch: kd * kh row pointers, their per-segment copies, border tap pointers.
    static thread_local std::vector<const float*> ptrs, taps;
    ptrs.resize(2 * nrows);
    const float** rowp = ptrs.data();
    const float** seg = ptrs.data() + nrows;
    const int64_t iy0 = oy * sh - pt, iz0 = od * sd - pd;
    for (int64_t kz = 0; kz < kd_; ++kz) {
      const int64_t iz = iz0 + kz * dd;
      for (int64_t ky = 0; ky < kh_; ++ky) {
        const int64_t iy = iy0 + ky * dh;
        rowp[kz * kh_ + ky] =
            (iz >= 0 && iz < D && iy >= 0 && iy < H ? img + (iz * in.h + iy - r0) * W * ps : zero) +
            choff;
      }
    }

    // Interior pixels.
    for (int64_t xs = x_lo_; xs < x_hi_; xs += kSegment) {
      const int64_t len = std::min(kSegment, x_hi_ - xs);
      const int64_t col = (xs * sw - pl) * ps;
      for (int64_t k = 0; k < nrows; ++k) seg[k] = rowp[k] + col;
      row_(nch, len, seg, sw * ps, dw * ps, nrows, kw_, w, orow + xs * ops, ops, &p);
    }

    // Border pixels (left run, then right run), through per-tap pointers.
    const int64_t runs[2][2] = {{0, x_lo_}, {x_hi_, s.out[2]}};
    for (const auto& run : runs) {
      const int64_t x0 = run[0], np = run[1] - run[0];
      if (np <= 0) continue;
      taps.resize(np * taps_);
      for (int64_t x = x0; x < x0 + np; ++x) {
        const float** tp = taps.data() + (x - x0) * taps_;
        const int64_t ix0 = x * sw - pl;
        for (int64_t k = 0; k < nrows; ++k) {
          const bool row_in = rowp[k] != zero + choff;
          const float* rbase = rowp[k] - choff;
          for (int64_t kx = 0; kx < kw_; ++kx) {
            const int64_t ix = ix0 + kx * dw;
            tp[k * kw_ + kx] = (row_in && ix >= 0 && ix < W ? rbase + ix * ps : zero) + choff;
          }
        }
      }
      k_.ind(nch, np, taps.data(), taps_, w, orow + x0 * ops, ops, &p);
    }
    if (pass)
      epilogue_.apply(orow, s.out[2], nch, ops, residual_at(res, n, (od * s.out[1] + oy) * s.out[2], oc0),
                      res ? res->ps() : 0);
  }

  const DwConvKernels& k_;
  native::DwRowFn row_;
  native::DwParams params_;
  int64_t c_, mult_, oc_, kd_, kh_, kw_, taps_;
  int64_t tiles_, tile_stride_;
  int64_t x_lo_, x_hi_;
  bool padded_ = false;
  int64_t padded_h_ = 0, padded_w_ = 0, padded_chunk_ = 0;
  PackedWeights packed_;  // 64-byte aligned: weight loads never straddle cache lines
  Buffer zero_;  // aligned like the activations: a padded row keeps the AVX-512 kernels on zmm
  std::vector<int32_t> mult_table_;
};

}  // namespace

bool depthwise_applies(const ConvShape& s) {
  if (s.transposed) return false;
  if (s.c_in < 1 || s.groups != s.c_in || s.c_out < s.c_in || s.c_out % s.c_in != 0) return false;
  for (int i = 0; i < 3; ++i)
    if (s.stride[i] < 1 || s.dilation[i] < 1 || s.kernel[i] < 1 || s.pad_begin[i] < 0 ||
        s.pad_end[i] < 0)
      return false;
  return true;
}

std::unique_ptr<ConvOp> make_depthwise_conv(const ConvShape& s, const float* weight,
                                            const float* bias, const Activation& act) {
  if (!depthwise_applies(s))
    throw std::invalid_argument("depthwise algorithm does not apply to " + s.describe());
  return std::make_unique<DepthwiseConv>(s, weight, bias, act);
}

}  // namespace ce
