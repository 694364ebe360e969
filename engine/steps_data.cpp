#include "engine/steps_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/layout.h"
#include "engine/strided.h"

namespace ce {

namespace {

// ---------------------------------------------------------------------------------------------
// Element-wise

class DataUnaryStep final : public StridedUnaryStep {
 public:
  DataUnaryStep(DataUnaryKind k, const TRef& x, const TRef& out)
      : StridedUnaryStep(x, out), kind_(k) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    if (kind_ == DataUnaryKind::kNot) {
      for_each_row(rb, pool, [](float* const* p, int64_t n, const int64_t* s) {
        for (int64_t i = 0; i < n; ++i) p[0][i * s[0]] = p[1][i * s[1]] != 0.0f ? 0.0f : 1.0f;
      });
      return;
    }
    const native::RoundMode mode = kind_ == DataUnaryKind::kFloor  ? native::RoundMode::kFloor
                                   : kind_ == DataUnaryKind::kCeil ? native::RoundMode::kCeil
                                   : kind_ == DataUnaryKind::kRound
                                       ? native::RoundMode::kNearestEven
                                       : native::RoundMode::kSign;
    const native::VRoundFn fn = data_kernels().round;
    map_rows(rb, pool, [&](const float* x, float* y, int64_t n) { fn(n, x, y, mode); });
  }

 private:
  DataUnaryKind kind_;
};

inline float floor_mod(float a, float b) {
  float r = std::fmod(a, b);
  if (r != 0.0f) {
    if ((r < 0.0f) != (b < 0.0f)) r += b;
  } else {
    r = std::copysign(0.0f, b);
  }
  return r;
}

class DataBinaryStep final : public StridedBinaryStep {
 public:
  DataBinaryStep(DataBinaryKind k, const TRef& a, const TRef& b, const TRef& out)
      : StridedBinaryStep(a, b, out), kind_(k) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    auto mask = [](bool v) { return v ? 1.0f : 0.0f; };
    auto go = [&](const auto& f) { map_elements(rb, pool, f); };
    using K = DataBinaryKind;
    switch (kind_) {
      case K::kEqual: return go([&](float x, float y) { return mask(x == y); });
      case K::kLess: return go([&](float x, float y) { return mask(x < y); });
      case K::kLessEqual: return go([&](float x, float y) { return mask(x <= y); });
      case K::kGreater: return go([&](float x, float y) { return mask(x > y); });
      case K::kGreaterEqual: return go([&](float x, float y) { return mask(x >= y); });
      case K::kAnd: return go([&](float x, float y) { return mask(x != 0.0f && y != 0.0f); });
      case K::kOr: return go([&](float x, float y) { return mask(x != 0.0f || y != 0.0f); });
      case K::kXor: return go([&](float x, float y) { return mask((x != 0.0f) != (y != 0.0f)); });
      case K::kFmod: return go([](float x, float y) { return std::fmod(x, y); });
      case K::kMod: return go(floor_mod);
    }
  }

 private:
  DataBinaryKind kind_;
};

class WhereStep final : public Step {
 public:
  WhereStep(const TRef& c, const TRef& x, const TRef& y, const TRef& out)
      : c_(c), x_(x), y_(y), out_(out) {
    require_same_shape(c, out, "where condition");
    require_same_shape(x, out, "where X");
    require_same_shape(y, out, "where Y");
    reads = {c, x, y};
    writes = {out};
    algorithm = "strided";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TRef* ops[4] = {&out_, &c_, &x_, &y_};
    const Iter<4> it = make_iter<4>(out_.shape, out_.rank, ops);
    float* const base[4] = {rb.at(out_), rb.at(c_), rb.at(x_), rb.at(y_)};
    for_rows<4>(it, base, pool, [](float* const* p, int64_t n, const int64_t* s) {
      float* o = p[0];
      const float *c = p[1], *x = p[2], *y = p[3];
      if (s[1] == 0) {  // one condition for the row: a copy of x or of y
        const float* src = *c != 0.0f ? x : y;
        const int64_t ss = *c != 0.0f ? s[2] : s[3];
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = src[i * ss];
      } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = c[i] != 0.0f ? x[i] : y[i];
      } else {
        for (int64_t i = 0; i < n; ++i)
          o[i * s[0]] = c[i * s[1]] != 0.0f ? x[i * s[2]] : y[i * s[3]];
      }
    });
  }

 private:
  TRef c_, x_, y_, out_;
};

// ---------------------------------------------------------------------------------------------
// Gather through a table of element offsets.

class IndexGatherStep final : public Step {
 public:
  IndexGatherStep(const TRef& x, const TRef& out, std::vector<int64_t> offsets)
      : x_(x), out_(out), off_(std::move(offsets)) {
    int64_t stride = 1;
    for (int a = out.rank - 1; a >= 0; --a) {
      if (out.shape[a] != 1 && out.strides[a] != stride)
        throw std::invalid_argument("plan: gather output must be contiguous, got " +
                                    out.describe());
      stride *= out.shape[a];
    }
    if (static_cast<int64_t>(off_.size()) != out.numel())
      throw std::invalid_argument("plan: gather has " + std::to_string(off_.size()) +
                                  " offsets for " + out.describe());
    // memory safety: every offset inside x's extent (the planner computes them from indices)
    int64_t lo = 0, hi = 0;
    x.extent(&lo, &hi);
    for (const int64_t o : off_)
      if (o < lo - x.offset || o >= hi - x.offset)
        throw std::invalid_argument("plan: gather offset " + std::to_string(o) +
                                    " is outside " + x.describe());
    reads = {x};
    writes = {out};
    algorithm = "index_table";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const float* x = rb.at(x_);
    float* y = rb.at(out_);
    const int64_t n = static_cast<int64_t>(off_.size());
    const int64_t* off = off_.data();
    constexpr int64_t kChunk = 1 << 14;
    run_tasks(pool, pool.num_threads() == 1 || n < kParallelElements, (n + kChunk - 1) / kChunk,
              [&](size_t t) {
                const int64_t j1 = std::min<int64_t>(n, (t + 1) * kChunk);
                for (int64_t j = t * kChunk; j < j1; ++j) y[j] = x[off[j]];
              });
  }

 private:
  TRef x_, out_;
  std::vector<int64_t> off_;
};

// ---------------------------------------------------------------------------------------------
// CumSum: the other axes are iterated as rows (make_iter over the shape with the scan axis set to
// 1); each row is scanned along the axis, a whole row per step when the row is more contiguous
// than the axis, else element by element along the axis.

class CumSumStep final : public Step {
 public:
  CumSumStep(int axis, bool exclusive, bool reverse, const TRef& x, const TRef& out)
      : axis_(axis), exclusive_(exclusive), x_(x), out_(out) {
    require_same_shape(x, out, "cumsum input");
    if (axis < 0 || axis >= x.rank) throw std::invalid_argument("cumsum: axis out of range");
    reads = {x};
    writes = {out};
    algorithm = "scan";
    if (reverse) {  // walk the axis backwards: start at its last element, negative stride
      for (TRef* r : {&x_, &out_}) {
        r->offset += (r->shape[axis] - 1) * r->strides[axis];
        r->strides[axis] = -r->strides[axis];
      }
    }
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    TRef xo = x_, oo = out_;
    xo.shape[axis_] = oo.shape[axis_] = 1;
    const int64_t len = x_.shape[axis_], sx = x_.strides[axis_], so = out_.strides[axis_];
    const TRef* ops[2] = {&oo, &xo};
    const Iter<2> it = make_iter<2>(oo.shape, oo.rank, ops);
    float* const base[2] = {rb.at(out_), rb.at(x_)};
    const bool excl = exclusive_;
    for_rows<2>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      float* o = p[0];
      const float* x = p[1];
      if (n > 1 && std::abs(so) < std::abs(s[0])) {  // the axis is the more contiguous one
        for (int64_t i = 0; i < n; ++i) {
          float* oi = o + i * s[0];
          const float* xi = x + i * s[1];
          float acc = 0.0f;
          for (int64_t k = 0; k < len; ++k) {
            if (excl) {
              oi[k * so] = acc;
              acc += xi[k * sx];
            } else {
              acc += xi[k * sx];
              oi[k * so] = acc;
            }
          }
        }
        return;
      }
      // row k of the output = row k - 1 + row k (exclusive: row k - 1) of the input
      if (excl)
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = 0.0f;
      else
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = x[i * s[1]];
      for (int64_t k = 1; k < len; ++k) {
        const float* prev = o + (k - 1) * so;
        const float* xk = x + (excl ? k - 1 : k) * sx;
        float* ok = o + k * so;
        if (s[0] == 1 && s[1] == 1)
          for (int64_t i = 0; i < n; ++i) ok[i] = prev[i] + xk[i];
        else
          for (int64_t i = 0; i < n; ++i) ok[i * s[0]] = prev[i * s[0]] + xk[i * s[1]];
      }
    });
  }

 private:
  int axis_;
  bool exclusive_;
  TRef x_, out_;
};

// ---------------------------------------------------------------------------------------------
// GridSample: per output row (image, depth, y), every sample's taps (pixel pointers) and weights
// are computed here, then the blend kernel sums them over the channels. The row routine is a
// template on the mode, padding and spatial rank, so the per-sample code has no branches on
// them.

// floor and round-half-to-even without libm calls (nearbyintf saves and restores the floating
// point environment: ~40 ns a call). Floats of magnitude 2^23 and more are integers already.
inline float floor_inline(float x) {
  if (!(std::fabs(x) < 8388608.0f)) return x;
  const float t = static_cast<float>(static_cast<int32_t>(x));
  return t > x ? t - 1.0f : t;
}

inline float round_even_inline(float x) {
  if (!(std::fabs(x) < 8388608.0f)) return x;
  const float f = floor_inline(x), d = x - f;
  if (d > 0.5f || (d == 0.5f && (static_cast<int32_t>(f) & 1))) return f + 1.0f;
  return f;
}

// Reflects an index about [lo, hi] (-0.5 and size - 0.5, or 0 and size - 1 with align_corners)
// by the nearer border until it is inside, as onnxruntime does.
inline int64_t reflect_index(double i, double lo, double hi, int64_t size) {
  const double range = hi - lo;
  if (range <= 0) return 0;
  if (i < lo || i > hi) {
    const double d = i < lo ? lo - i : i - hi;
    const double t = std::fmod(d, 2 * range);
    const bool even = t < range;  // an even number of whole reflections
    if (i < lo)
      i = even ? lo + t : hi - (t - range);
    else
      i = even ? hi - t : lo + (t - range);
  }
  return std::clamp<int64_t>(static_cast<int64_t>(i), 0, size - 1);
}

inline void cubic_weights(float t, float* w) {
  constexpr float A = -0.75f;  // Keys' coefficient (onnxruntime, torch)
  const float t1 = t + 1, u = 1 - t, u1 = 2 - t;
  w[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  w[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
  w[3] = ((A * u1 - 5 * A) * u1 + 8 * A) * u1 - 4 * A;
}

constexpr int taps_of(GridMode m) {
  return m == GridMode::kNearest ? 1 : m == GridMode::kLinear ? 2 : 4;
}

struct GridAxis {
  int64_t size;
  bool align;
  double lo, hi;  // reflection borders
};

// Taps of one coordinate along one axis: K indices (-1: outside, zeros padding) and weights.
// Returns false for a NaN coordinate (and an infinite one with reflection).
template <GridMode M, GridPadding P>
inline bool axis_taps(float g, const GridAxis& ax, int64_t* idx, float* w) {
  constexpr int K = taps_of(M);
  // onnxruntime: align ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2, in float
  float x = ax.align ? (g + 1.0f) / 2.0f * static_cast<float>(ax.size - 1)
                     : ((g + 1.0f) * static_cast<float>(ax.size) - 1.0f) / 2.0f;
  if (std::isnan(x) || (P == GridPadding::kReflection && std::isinf(x))) return false;
  // Past 4 pixels outside, every tap reads zeros (or the edge pixel): clamping keeps floor(x)
  // in range for huge and infinite coordinates and changes no result.
  if (P != GridPadding::kReflection)
    x = std::min(std::max(x, -4.0f), static_cast<float>(ax.size) + 3.0f);
  float first;
  if constexpr (M == GridMode::kNearest) {
    first = round_even_inline(x);
    w[0] = 1.0f;
  } else {
    const float f = floor_inline(x), t = x - f;
    if constexpr (M == GridMode::kLinear) {
      first = f;
      w[0] = 1.0f - t;
      w[1] = t;
    } else {
      first = f - 1.0f;
      cubic_weights(t, w);
    }
  }
  for (int k = 0; k < K; ++k) {
    if constexpr (P == GridPadding::kReflection) {
      idx[k] = reflect_index(static_cast<double>(first) + k, ax.lo, ax.hi, ax.size);
    } else {
      const int64_t i = static_cast<int64_t>(first) + k;  // |first| <= size + 4 here
      if constexpr (P == GridPadding::kZeros)
        idx[k] = i >= 0 && i < ax.size ? i : -1;
      else
        idx[k] = std::clamp<int64_t>(i, 0, ax.size - 1);
    }
  }
  return true;
}

struct GridScratch {
  std::vector<const float*> ptr;
  std::vector<float> coef;
};

GridScratch& grid_scratch() {
  static thread_local GridScratch s;
  return s;
}

struct GridRow {
  const float* img;     // the image's pixel (0, 0, 0)
  int64_t h, w, ps;     // input height, width, pixel stride
  const float* g;       // the row's first grid point
  int64_t g_step, g_coord;  // grid strides between samples and between coordinates
  size_t n;             // samples
  const GridAxis* axes; // (d, h, w)
  const float *zeros, *nans;
};

// Tap pointers and weights of every sample of a row: ptr/coef[s * taps + t], taps = K^R.
template <GridMode M, GridPadding P, int R>
void row_taps(const GridRow& r, const float** ptr, float* coef) {
  constexpr int K = taps_of(M);
  constexpr int KD = R == 3 ? K : 1, KH = R >= 2 ? K : 1;
  constexpr int T = KD * KH * K;
  for (size_t s = 0; s < r.n; ++s, ptr += T, coef += T) {
    const float* gp = r.g + static_cast<int64_t>(s) * r.g_step;
    int64_t iz[4] = {0}, iy[4] = {0}, ix[4] = {0};
    float wz[4] = {1.0f}, wy[4] = {1.0f}, wx[4] = {0.0f};
    bool ok = axis_taps<M, P>(gp[0], r.axes[2], ix, wx);
    if constexpr (R >= 2) ok &= axis_taps<M, P>(gp[r.g_coord], r.axes[1], iy, wy);
    if constexpr (R == 3) ok &= axis_taps<M, P>(gp[2 * r.g_coord], r.axes[0], iz, wz);
    if (!ok) {  // NaN in, NaN out
      for (int t = 0; t < T; ++t) ptr[t] = r.nans, coef[t] = 1.0f;
      continue;
    }
    int t = 0;
    for (int a = 0; a < KD; ++a)
      for (int b = 0; b < KH; ++b)
        for (int c = 0; c < K; ++c, ++t) {
          coef[t] = wz[a] * wy[b] * wx[c];
          const float* p = r.img + ((iz[a] * r.h + iy[b]) * r.w + ix[c]) * r.ps;
          if constexpr (P == GridPadding::kZeros) p = (iz[a] | iy[b] | ix[c]) < 0 ? r.zeros : p;
          ptr[t] = p;
        }
  }
}

using RowTapsFn = void (*)(const GridRow&, const float**, float*);

template <GridMode M, GridPadding P>
RowTapsFn row_taps_for_rank(int r) {
  return r == 1 ? row_taps<M, P, 1> : r == 2 ? row_taps<M, P, 2> : row_taps<M, P, 3>;
}

template <GridMode M>
RowTapsFn row_taps_for(GridPadding p, int r) {
  switch (p) {
    case GridPadding::kZeros: return row_taps_for_rank<M, GridPadding::kZeros>(r);
    case GridPadding::kBorder: return row_taps_for_rank<M, GridPadding::kBorder>(r);
    default: return row_taps_for_rank<M, GridPadding::kReflection>(r);
  }
}

RowTapsFn select_row_taps(GridMode m, GridPadding p, int r) {
  switch (m) {
    case GridMode::kNearest: return row_taps_for<GridMode::kNearest>(p, r);
    case GridMode::kLinear: return row_taps_for<GridMode::kLinear>(p, r);
    default: return row_taps_for<GridMode::kCubic>(p, r);
  }
}

class GridSampleStep final : public Step {
 public:
  GridSampleStep(GridMode mode, GridPadding pad, bool align, const TRef& x, const TRef& grid,
                 const TRef& out)
      : mode_(mode), align_(align), border_(pad == GridPadding::kBorder), x_(x), grid_(grid),
        out_(out) {
    require_cl(x, "grid sample input");
    require_cl(out, "grid sample output");
    const int r = x.rank - 2;
    if (grid.rank != x.rank || out.rank != x.rank || grid.shape[r + 1] != r ||
        grid.shape[0] != x.shape[0] || out.shape[0] != x.shape[0] || out.shape[1] != x.shape[1])
      throw std::invalid_argument("grid sample: grid must be (N, *out, " + std::to_string(r) +
                                  ") and the output (N, C, *out): " + x.describe() + ", " +
                                  grid.describe() + ", " + out.describe());
    for (int i = 0; i < r; ++i)
      if (grid.shape[1 + i] != out.shape[2 + i])
        throw std::invalid_argument("grid sample: output spatial shape differs from the grid's");
    const int64_t c = x.shape[1];
    zeros_.assign(c, 0.0f);
    nans_.assign(c, std::numeric_limits<float>::quiet_NaN());
    row_taps_ = select_row_taps(mode, pad, r);
    // Few channels leave the blend's vector lanes empty: such 2-D rows go to a kernel that
    // vectorises over the samples (its gathers take 32-bit offsets).
    few_channels_ = r == 2 && c <= 8 && mode != GridMode::kCubic && pad != GridPadding::kReflection;
    reads = {x, grid};
    writes = {out};
    algorithm = mode == GridMode::kNearest  ? "nearest"
                : mode == GridMode::kLinear ? "linear"
                                            : "cubic";
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TensorView xv = channels_last_view(x_, rb.base[x_.buf]);
    const TensorView ov = channels_last_view(out_, rb.base[out_.buf]);
    const float* g = rb.at(grid_);
    const int r = x_.rank - 2;
    // grid strides of (n, d, h, w); axes the rank lacks have stride 0
    int64_t gs[4] = {grid_.strides[0], 0, 0, 0};
    for (int i = 0; i < r; ++i) gs[4 - r + i] = grid_.strides[1 + i];
    GridAxis axes[3];
    const int64_t in_sz[3] = {xv.d, xv.h, xv.w};
    for (int a = 0; a < 3; ++a)
      axes[a] = {in_sz[a], align_, align_ ? 0.0 : -0.5, align_ ? in_sz[a] - 1.0 : in_sz[a] - 0.5};
    size_t taps = 1;
    for (int i = 0; i < r; ++i) taps *= taps_of(mode_);
    const size_t C = xv.c, W = ov.w;
    const int64_t rows = ov.n * ov.d * ov.h;
    const native::GridBlendFn blend = data_kernels().grid_blend;

    const native::GridRow2dFn row_2d = data_kernels().grid_row_2d;
    const bool few_32bit = few_channels_ && xv.image_stride() < std::numeric_limits<int32_t>::max();
    auto do_row = [&](int64_t row) {
      const int64_t n = row / (ov.d * ov.h), oz = (row / ov.h) % ov.d, oy = row % ov.h;
      if (few_32bit) {
        const native::GridRow2d gr{xv.data + n * xv.image_stride(), xv.h, xv.w, xv.ps(),
                                   g + n * gs[0] + oy * gs[2], gs[3], grid_.strides[3], W, C,
                                   ov.pixel(n, 0, oy, 0), ov.ps(), mode_ == GridMode::kLinear,
                                   border_, align_};
        row_2d(gr);
        return;
      }
      GridScratch& sc = grid_scratch();
      if (sc.ptr.size() < W * taps) sc.ptr.resize(W * taps), sc.coef.resize(W * taps);
      const GridRow gr{xv.data + n * xv.image_stride(), xv.h, xv.w, xv.ps(),
                       g + n * gs[0] + oz * gs[1] + oy * gs[2], gs[3], grid_.strides[r + 1], W,
                       axes, zeros_.data(), nans_.data()};
      row_taps_(gr, sc.ptr.data(), sc.coef.data());
      blend(W, taps, C, sc.ptr.data(), sc.coef.data(), ov.pixel(n, oz, oy, 0), ov.ps());
    };
    const int64_t work = rows * static_cast<int64_t>(W * taps * (C + 8));
    if (pool.num_threads() == 1 || work < kParallelElements || rows == 1) {
      for (int64_t row = 0; row < rows; ++row) do_row(row);
      return;
    }
    pool.parallel_for(rows, [&](size_t row) { do_row(static_cast<int64_t>(row)); });
  }

 private:
  GridMode mode_;
  bool align_, border_, few_channels_;
  RowTapsFn row_taps_;
  TRef x_, grid_, out_;
  std::vector<float> zeros_, nans_;
};

// A copy is the unary step with f the identity: dst = src.
class CopyStep final : public StridedUnaryStep {
 public:
  CopyStep(const TRef& src, const TRef& dst) : StridedUnaryStep(src, dst, "copy source") {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    float* d = rb.at(out_);
    const float* s = rb.at(x_);
    // Channels-first <-> channels-last (per image, a (C, P) <-> (P, C) transpose): the
    // blocked transpose kernel. Axes after merging: (N, C, P) or (C, P) when N == 1.
    const TRef* ops[2] = {&out_, &x_};
    const Iter<2> it = make_iter<2>(out_.shape, out_.rank, ops);
    if (it.rank == 2 || it.rank == 3) {
      const int o = it.rank - 2;  // index of the first of the two transposed axes
      const int64_t A = it.shape[o], Bn = it.shape[o + 1];
      const int64_t batch = it.rank == 3 ? it.shape[0] : 1;
      const bool packed = it.rank == 2 || (it.st[0][0] == A * Bn && it.st[1][0] == A * Bn);
      const int64_t *ds = it.st[0] + o, *ss = it.st[1] + o;
      const bool serial = batch * A * Bn < kParallelElements;
      if (packed && ds[1] == 1 && ds[0] == Bn && ss[0] == 1 && ss[1] == A) {
        transpose_blocked(s, d, batch, Bn, A, pool, serial);  // src (Bn, A) -> dst (A, Bn)
        return;
      }
      if (packed && ss[1] == 1 && ss[0] == Bn && ds[0] == 1 && ds[1] == A) {
        transpose_blocked(s, d, batch, A, Bn, pool, serial);  // src (A, Bn) -> dst (Bn, A)
        return;
      }
    }
    for_each_row(rb, pool, [&](float* const* p, int64_t n, const int64_t* st) {
      if (st[0] == 1 && st[1] == 1) {
        std::memmove(p[0], p[1], n * sizeof(float));
      } else {
        for (int64_t i = 0; i < n; ++i) p[0][i * st[0]] = p[1][i * st[1]];
      }
    });
  }
};

class FillStep final : public Step {
 public:
  FillStep(float v, const TRef& dst) : v_(v), dst_(dst) {
    writes = {dst};
    algorithm = "strided";
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TRef* ops[1] = {&dst_};
    const Iter<1> it = make_iter<1>(dst_.shape, dst_.rank, ops);
    float* const base[1] = {rb.at(dst_)};
    for_rows<1>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      for (int64_t i = 0; i < n; ++i) p[0][i * s[0]] = v_;
    });
  }

 private:
  float v_;
  TRef dst_;
};

}  // namespace

std::unique_ptr<Step> make_copy_step(const TRef& src, const TRef& dst) {
  return std::make_unique<CopyStep>(src, dst);
}

std::unique_ptr<Step> make_fill_step(float value, const TRef& dst) {
  return std::make_unique<FillStep>(value, dst);
}

std::unique_ptr<Step> make_data_unary_step(DataUnaryKind kind, const TRef& x, const TRef& out) {
  return std::make_unique<DataUnaryStep>(kind, x, out);
}

std::unique_ptr<Step> make_data_binary_step(DataBinaryKind kind, const TRef& a, const TRef& b,
                                            const TRef& out) {
  return std::make_unique<DataBinaryStep>(kind, a, b, out);
}

std::unique_ptr<Step> make_where_step(const TRef& cond, const TRef& x, const TRef& y,
                                      const TRef& out) {
  return std::make_unique<WhereStep>(cond, x, y, out);
}

std::unique_ptr<Step> make_cumsum_step(int axis, bool exclusive, bool reverse, const TRef& x,
                                       const TRef& out) {
  return std::make_unique<CumSumStep>(axis, exclusive, reverse, x, out);
}

std::unique_ptr<Step> make_index_gather_step(const TRef& x, const TRef& out,
                                             std::vector<int64_t> offsets) {
  return std::make_unique<IndexGatherStep>(x, out, std::move(offsets));
}

std::unique_ptr<Step> make_grid_sample_step(GridMode mode, GridPadding padding, bool align_corners,
                                            const TRef& x, const TRef& grid, const TRef& out) {
  return std::make_unique<GridSampleStep>(mode, padding, align_corners, x, grid, out);
}

}  // namespace ce
