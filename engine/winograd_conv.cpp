#include "engine/winograd_conv.h"
#include "engine/arith.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

// Stride in floats, >= n, of an odd number of 64-byte lines: the alpha^2 positions of a tile,
// read or written together by the transforms, then fall into distinct L1 sets (a stride of a
// multiple of 4 KiB put them all in one set: F(6,3) transforms ran 3x slower on 8 channels).
size_t odd_lines(size_t n) { return (ceil_div(n, 16) | 1) * 16; }

// G (alpha x r, row-major, double) of F(m, r): the tables for r = 3 and alpha = m + 2; on the 8
// points (alpha = m + r - 1 = 8) G[j][k] = kWinoGScale8[j] p_j^k with the inf row e_{r-1}.
std::vector<double> filter_matrix(int m, int r) {
  if (r == 3 && m != 6) {
    const double* g = m == 2 ? &native::kWinoG2[0][0] : &native::kWinoG4[0][0];
    return std::vector<double>(g, g + (m + 2) * 3);
  }
  std::vector<double> G(8 * r, 0.0);
  for (int j = 0; j < 7; ++j) {
    double pw = native::kWinoGScale8[j];
    for (int k = 0; k < r; ++k, pw *= native::kWinoPoints8[j]) G[j * r + k] = pw;
  }
  G[7 * r + r - 1] = 1.0;
  return G;
}

// Output channels per GEMM + output-transform pass inside a task: the transformed outputs of
// a tile block for one chunk, [alpha^2][tiles][kOcChunk], stay in L2 next to its inputs.
constexpr size_t kOcChunk = 64;
// Per-task working set (transformed inputs + one chunk of transformed outputs) aimed at L2,
// and the most a block may grow to for the sake of streaming a large U fewer times.
constexpr size_t kL2Budget = 512 * 1024;
constexpr size_t kBlockCap = 8 << 20;
// A group's U above this comes from L3 or memory for every block (and suffers most from other
// cores' traffic): layer i (256 -> 256, d 2, 28x28, U 9.4 MB) in 1 block instead of 2 ran 6%
// faster interleaved with torch and onnxruntime, equal alone. Below it, smaller blocks
// balance 2 threads better (layer a, U 1 MB: blocks of 12 tiles 7% faster than of 18).
constexpr size_t kUStreamed = 4 << 20;
// Splitting output channels across threads makes each thread read its tile block's whole
// transformed input once per channel block; above this (Zen 4 / Zen 5 L2) that comes from L3
// (or the other core) each time, so the tiles are cut into a block per thread instead. Layer i
// at precision fast (F(4), 256 -> 256, d 2, 28x28, 64 tiles, V 2.4 MB), Zen 5, 2 threads:
// 0.89 ms with 4 channel blocks, 0.75 with 2 tile blocks (1 thread: 1.27).
constexpr size_t kSharedV = 1 << 20;
// When the threads' cores share no cache (ThreadPool::far_cores), a shared transformed input is
// read half from the other core at every use, so a group whose U is at most this (each thread
// then reads all of it, from L3) gets a tile block per thread instead. Zen 5, 2 threads, the
// vCPUs apart (handoff ~230 ns), split by channels -> by tiles: 128 -> 128 28x28 (U 1 MB)
// 346 -> 271 us, 64 -> 256 13x13 97 -> 78, 32 -> 128 27x27 137 -> 97; 256 -> 256 14x14 (U 4 MB)
// 327 -> 324 and 512 -> 512 7x7 (17 MB) 383 -> 498 keep the split. With a shared cache the
// split was as fast or faster (128 -> 128 254 vs 268 us).
constexpr size_t kFarSharedU = 2 << 20;
// Largest packed U (floats), the limit every packed weight has (python _checks.MAX_ELEMENTS).
constexpr double kMaxPacked = 2147483648.0;

// The one axis (0 d, 1 h, 2 w) of a 1D Winograd conv: the only kernel extent > 1.
int conv_axis(const ConvShape& s) {
  return s.kernel[2] > 1 ? 2 : s.kernel[1] > 1 ? 1 : 0;
}

// Tiles of one image: with dilation (dh, dw) the outputs (ry + dh j, rx + dw i) of each of the
// dh x dw sub-grids form a dense 3x3 conv, tiled separately. 1D (axis >= 0): likewise along
// the axis, for every position of the other two.
size_t tiles_per_image(const ConvShape& s, int m, int axis) {
  size_t n = 0;
  if (axis >= 0) {
    const int64_t d = s.dilation[axis], O = s.out[axis];
    for (int64_t r = 0; r < std::min(d, O); ++r) n += ceil_div(ceil_div(O - r, d), m);
    return n * (s.out[0] * s.out[1] * s.out[2] / O);
  }
  const int64_t dh = s.dilation[1], dw = s.dilation[2], OH = s.out[1], OW = s.out[2];
  for (int64_t ry = 0; ry < std::min(dh, OH); ++ry)
    for (int64_t rx = 0; rx < std::min(dw, OW); ++rx)
      n += ceil_div(ceil_div(OH - ry, dh), m) * ceil_div(ceil_div(OW - rx, dw), m);
  return n;
}

// What blocking needs to know about a conv.
struct Geometry {
  size_t tiles;          // per image
  size_t positions;      // alpha^2
  size_t kc, cout_g, occ, groups;
  size_t mr, nr;         // GEMM microkernel tile
  // m: output tile; axis -1 for 2D F(m x m, 3 x 3), else the axis of a 1D F(m, 9 - m).
  Geometry(const ConvShape& s, int m, int axis, size_t mr_, size_t nr_)
      : tiles(tiles_per_image(s, m, axis)),
        positions(axis >= 0 ? 8 : (m + s.kernel[2] - 1) * (m + s.kernel[2] - 1)),
        kc(round_up(s.cin_g(), 8)),
        cout_g(s.cout_g()), occ(round_up(std::min<size_t>(s.cout_g(), kOcChunk), nr_)),
        groups(s.groups),
        mr(mr_), nr(nr_) {}
  size_t u_bytes() const { return positions * kc * round_up(cout_g, nr) * sizeof(float); }
  double packed_floats() const { return double(groups) * u_bytes() / sizeof(float); }
};

// How one call's work is cut into tasks: `tiles` tiles (every image) in tile_blocks blocks of
// tile_block, output channels in oc_blocks blocks of oc_block.
struct WinogradBlocking {
  size_t tiles, tile_block, tile_blocks, oc_block, oc_blocks;
};

// Tile blocks and output-channel blocks: one task per (group, tile block, channel block).
// A block holds whole m-tiles (MR tiles: one microkernel call per NR output channels). It is
// sized so its transformed inputs and one chunk of outputs fit kL2Budget, but at least 2
// m-tiles (each U panel brought in from L3 serves two calls), and when a group's U exceeds
// kUStreamed (it is streamed again for every block) large enough that U adds at most half the
// block's own traffic, up to kBlockCap. With several threads and fewer than 4 tasks per
// thread, output channels are split too (blocks of at least 32), unless a block's transformed
// inputs exceed kSharedV, or the cores are `far` and U small (kFarSharedU): then a block per
// thread, and channels split only if still too few. On cores sharing a cache, a U at least
// as large as every tile's transformed inputs is split by channels alone (below).
WinogradBlocking make_blocking(const Geometry& g, size_t n, int threads, bool far = false) {
  const size_t MR = g.mr, th = std::max(1, threads);
  WinogradBlocking p;
  p.tiles = n * g.tiles;
  const size_t mtiles = ceil_div(p.tiles, MR);
  const size_t per_tile = g.positions * (g.kc + g.occ) * sizeof(float);
  size_t per_block = kL2Budget / (per_tile * MR);
  if (g.u_bytes() > kUStreamed)
    per_block = std::max(per_block, std::min(ceil_div(g.u_bytes(), 2 * per_tile * MR),
                                             kBlockCap / (per_tile * MR)));
  per_block = std::clamp<size_t>(per_block, 2, std::max<size_t>(mtiles, 1));
  size_t blocks = ceil_div(mtiles, per_block);
  const auto v_bytes = [&](size_t b) {
    return ceil_div(mtiles, b) * MR * g.positions * g.kc * sizeof(float);
  };
  const bool own_tiles = v_bytes(blocks) > kSharedV || (far && g.u_bytes() <= kFarSharedU);
  // A group whose U is at least its whole transformed input V (deep layers on small images)
  // is, on several threads, one tile block with the output channels cut into one block per
  // thread: each thread reads its share of U once instead of all of U once per tile block (U
  // comes from memory in a network). Zen 5, 2 threads, the vCPUs sharing a cache, weights
  // from memory, before -> after: 256 -> 256 14x14 (U 4 MB, V 0.8 MB) 295-303 -> 245-257 us,
  // 192 -> 192 14x14 177-179 -> 140-147, 384 -> 384 14x14 618-633 -> 536-562, 512 -> 512 14x14
  // 1110-1160 -> 940-1006, 256 -> 256 28x28 (V 3.2 MB) 955-994 -> 909-938, 512 -> 512 7x7
  // 438-564 -> 439-519; where V exceeds U, slower: 64 -> 64 56x56 (U 0.26 MB, V 3.2 MB)
  // 280-283 -> 308-322. V is capped at kUStreamed: a task's transformed outputs grow with it.
  // With the vCPUs apart (`far`) it measured no faster (the same four layers 0.95-1.03x the
  // time; half of the shared V then comes from the other core), so not there.
  if (th > 1 && !far && !own_tiles && g.groups == 1 && g.cout_g >= th * g.nr &&
      v_bytes(1) <= std::min(g.u_bytes(), kUStreamed)) {
    p.tile_block = p.tiles;
    p.tile_blocks = 1;
    p.oc_block = round_up(ceil_div(g.cout_g, th), g.nr);
    p.oc_blocks = ceil_div(g.cout_g, p.oc_block);
    return p;
  }
  if (th > 1 && own_tiles && g.groups * blocks < th)
    blocks = std::min(mtiles, ceil_div(th, g.groups));
  p.tile_block = std::min(p.tiles, ceil_div(mtiles, blocks) * MR);
  p.tile_blocks = ceil_div(p.tiles, p.tile_block);
  const size_t tasks = g.groups * p.tile_blocks;
  size_t split = 1;
  if (th > 1 && tasks < 4 * th && (!own_tiles || tasks < th))
    split = std::min(std::max<size_t>(1, g.cout_g / (2 * g.nr)), ceil_div(4 * th, tasks));
  p.oc_block = round_up(ceil_div(g.cout_g, split), g.nr);
  p.oc_blocks = ceil_div(g.cout_g, p.oc_block);
  return p;
}

class WinogradConv final : public ConvOp {
 public:
  // axis -1: 2D F(m x m, 3 x 3); else 1D F(m, r) along that axis, r = its kernel extent and
  // m = 9 - r (8 points).
  WinogradConv(const ConvShape& s, int m, int axis, const float* weight, const float* bias,
               const Activation& act)
      : ConvOp(s, act),
        m_(m),
        axis_(axis),
        alpha_(axis >= 0 ? 8 : m + s.kernel[2] - 1),
        positions_(alpha_ * alpha_ / (axis >= 0 ? 8 : 1)),
        tr_(axis >= 0 ? winograd1d_kernels(static_cast<int>(s.kernel[axis])) : winograd_kernels(m)),
        geom_(s, m, axis, native::kWinoGemmMr, native::kWinoGemmNr) {
    cin_g_ = s.cin_g();
    cout_g_ = s.cout_g();
    kc_ = round_up(cin_g_, 8);
    const size_t nr = native::kWinoGemmNr;
    nblocks_ = ceil_div(cout_g_, nr);
    block_ = nr * kc_;
    occ_ = round_up(std::min(cout_g_, kOcChunk), nr);  // row stride of the GEMM output

    // U = G g G^T (1D: G g) in double, packed per (group, position, block of NR output
    // channels): kc rows of NR weights, zero past cin_g and cout_g.
    const WinogradLayout L{nr, kc_, positions_};
    packed_.resize(L.floats(s.groups, cout_g_));
    const size_t r = s.kernel[axis >= 0 ? axis : 2];
    const std::vector<double> G =
        filter_matrix(axis >= 0 ? 9 - static_cast<int>(r) : m, static_cast<int>(r));
    if (axis >= 0)
      pack_winograd_filters_1d(packed_.data(), L, s.groups, cout_g_, cin_g_, r, G.data(), weight);
    else
      pack_winograd_filters_2d(packed_.data(), L, s.groups, cout_g_, cin_g_, r, G.data(), weight,
                               ThreadPool::global());
    packed_.share();
    streamed_ = geom_.u_bytes() > kStreamedWeightBytes;
    bias_.assign(s.c_out + 8, 0.0f);
    if (bias) std::copy(bias, bias + s.c_out, bias_.begin());
    build_tiles();
    if (tiles_.size() != geom_.tiles) throw std::logic_error("Winograd tile count mismatch");
  }

  const char* algorithm() const override {
    return axis_ >= 0 ? "winograd1d" : shape_.kernel[2] != 3 ? "winograd_f5x4" : m_ == 2 ? "winograd_f2" : m_ == 4 ? "winograd_f4" : "winograd_f6";
  }

 public:
  void run(const TensorView& in, const TensorView& out, const TensorView* residual,
           ThreadPool& pool) const override {
    if (axis_ < 0 && in.d > 1) {
      // 2D kernel over a 3D tensor (kd = 1, stride 1, no depth padding): images are packed, so
      // (n, z) merges into one batch axis of 2D images.
      TensorView i2 = in, o2 = out, r2;
      i2.n *= i2.d, o2.n *= o2.d, i2.d = o2.d = 1;
      if (residual) r2 = *residual, r2.n *= r2.d, r2.d = 1;
      return run(i2, o2, residual ? &r2 : nullptr, pool);
    }
    const WinogradBlocking blk =
        make_blocking(geom_, in.n, pool.num_threads(), pool.far_cores());
    const size_t groups = shape_.groups, blocks = blk.tile_blocks;
    const size_t tasks = groups * blocks * blk.oc_blocks;
    auto task = [&](size_t i, const float* v) {
      const size_t g = i / (blocks * blk.oc_blocks);
      const size_t tb = i / blk.oc_blocks % blocks;
      run_task(in, out, residual, blk, g, tb, i % blk.oc_blocks, v);
    };
    if (blk.oc_blocks == 1) {
      pool.parallel_for(tasks, [&](size_t i) { task(i, nullptr); });
      return;
    }
    // Output channels split across tasks: transform every tile's input once, in parallel, into
    // one buffer [group][tile block][position][tile][channel], then run the tasks on it.
    const size_t vs = odd_lines(blk.tile_block * kc_), per_block = positions_ * vs;
    thread_local Buffer shared;
    if (shared.size() < groups * blocks * per_block) shared.resize(groups * blocks * per_block);
    float* v = shared.data();
    pool.parallel_for(groups * blk.tiles, [&](size_t i) {
      const size_t g = i / blk.tiles, t = i % blk.tiles, tb = t / blk.tile_block;
      transform_input(in, g, t, v + (g * blocks + tb) * per_block + (t % blk.tile_block) * kc_, vs);
    });
    pool.parallel_for(tasks, [&](size_t i) {
      const size_t g = i / (blocks * blk.oc_blocks), tb = i / blk.oc_blocks % blocks;
      task(i, v + (g * blocks + tb) * per_block);
    });
  }

 private:
  struct Tile {
    int64_t out_pixel;  // output pixel (oy * OW + ox) of the tile's first output
    int64_t in_pixel;   // input pixel of window element (y0, x0); -1 when all padding
    int32_t rows, cols, y0, y1, x0, x1;
  };

  // Tiles of one image, sub-grid by sub-grid: with dilation (dh, dw) the outputs
  // (ry + dh j, rx + dw i) form a dense 3x3 conv over the inputs at the same stride.
  void build_tiles() {
    const ConvShape& s = shape_;
    const int64_t dh = s.dilation[1], dw = s.dilation[2], OH = s.out[1], OW = s.out[2];
    const int64_t H = s.in[1], W = s.in[2], A = alpha_, m = m_;
    auto window = [&](int64_t i0, int64_t d, int64_t n, int32_t& u0, int32_t& u1) {
      // window element u reads input index i0 + d u; the valid u form [u0, u1)
      const int64_t lo = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
      const int64_t hi = n - i0 <= 0 ? 0 : std::min<int64_t>(A, (n - i0 + d - 1) / d);
      u0 = static_cast<int32_t>(std::min(lo, hi));
      u1 = static_cast<int32_t>(hi);
    };
    if (axis_ >= 0) {
      // Other axes: kernel 1, stride 1, no padding, so input and output coordinates agree.
      const int a = axis_;
      const int64_t d = s.dilation[a], O = s.out[a], N = s.in[a];
      const int64_t ostride = a == 0 ? OH * OW : a == 1 ? OW : 1;
      const int64_t istride = a == 0 ? H * W : a == 1 ? W : 1;
      for (int64_t od = 0; od < s.out[0]; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t oc[3] = {od, oh, ow};
            if (oc[a] != 0) continue;
            const int64_t out0 = (od * OH + oh) * OW + ow, in0 = (od * H + oh) * W + ow;
            for (int64_t r = 0; r < std::min(d, O); ++r) {
              const int64_t n = (O - r + d - 1) / d;
              for (int64_t t = 0; t < n; t += m) {
                Tile tl;
                const int64_t o = r + d * t, i0 = o - s.pad_begin[a];
                tl.out_pixel = out0 + o * ostride;
                tl.rows = 1;
                tl.cols = static_cast<int32_t>(std::min(m, n - t));
                window(i0, d, N, tl.x0, tl.x1);
                tl.y0 = 0;
                tl.y1 = tl.x0 < tl.x1 ? 1 : 0;
                tl.in_pixel = tl.x0 < tl.x1 ? in0 + (i0 + d * tl.x0) * istride : -1;
                tiles_.push_back(tl);
              }
            }
          }
      // Tiles in output order: along H (or D) a block then spans neighbouring columns of the
      // same rows, not one column down the image (7x1 at 17x17, 128 -> 128, then ran as fast as 1x7).
      std::stable_sort(tiles_.begin(), tiles_.end(),
                       [](const Tile& a, const Tile& b) { return a.out_pixel < b.out_pixel; });
      return;
    }
    for (int64_t ry = 0; ry < std::min(dh, OH); ++ry)
      for (int64_t rx = 0; rx < std::min(dw, OW); ++rx) {
        const int64_t hs = (OH - ry + dh - 1) / dh, ws = (OW - rx + dw - 1) / dw;
        for (int64_t ty = 0; ty < hs; ty += m)
          for (int64_t tx = 0; tx < ws; tx += m) {
            Tile t;
            const int64_t oy = ry + dh * ty, ox = rx + dw * tx;
            t.out_pixel = oy * OW + ox;
            t.rows = static_cast<int32_t>(std::min(m, hs - ty));
            t.cols = static_cast<int32_t>(std::min(m, ws - tx));
            const int64_t iy = oy - s.pad_begin[1], ix = ox - s.pad_begin[2];
            window(iy, dh, H, t.y0, t.y1);
            window(ix, dw, W, t.x0, t.x1);
            t.in_pixel = t.y0 < t.y1 && t.x0 < t.x1 ? (iy + dh * t.y0) * W + ix + dw * t.x0 : -1;
            tiles_.push_back(t);
          }
      }
  }

  // Input transform of tile t (batch-major index) of group g into v (position stride vs).
  void transform_input(const TensorView& in, size_t g, size_t t, float* v, size_t vs) const {
    const ConvShape& s = shape_;
    const int64_t ips = in.ps();
    const size_t T_img = tiles_.size();
    const Tile& tl = tiles_[t % T_img];
    const float* src = tl.in_pixel < 0 ? in.data
                                       : in.data + (t / T_img) * in.image_stride() +
                                             tl.in_pixel * ips + g * cin_g_;
    if (axis_ >= 0)
      tr_.input(cin_g_, src, 0, s.dilation[axis_] * axis_pixels(s.in) * ips, tl.y0, tl.y1, tl.x0,
                tl.x1, v, vs);
    else
      tr_.input(cin_g_, src, s.dilation[1] * s.in[2] * ips, s.dilation[2] * ips, tl.y0, tl.y1,
                tl.x0, tl.x1, v, vs);
  }

  // One task: tiles [tb * TB, +TB) of group g, output channels [ob * oc_block, +oc_block).
  // v_done: the block's transformed inputs when already computed, else nullptr.
  void run_task(const TensorView& in, const TensorView& out, const TensorView* residual,
                const WinogradBlocking& blk, size_t g, size_t tb, size_t ob,
                const float* v_done) const {
    const ConvShape& s = shape_;
    const size_t MR = native::kWinoGemmMr, NR = native::kWinoGemmNr, P = positions_;
    // Columns per GEMM call (the kernel's pass): its blocks' panels of U stay in L1 while the
    // block's tiles run over them.
    const size_t NC = tr_.gemm_nc;
    const size_t TB = blk.tile_block;
    const size_t t0 = tb * TB, nt = std::min(TB, blk.tiles - t0);
    const size_t v_stride = odd_lines(TB * kc_), m_stride = odd_lines(TB * occ_);
    thread_local Buffer scratch;
    const size_t need = P * ((v_done ? 0 : v_stride) + m_stride);
    if (scratch.size() < need) scratch.resize(need);
    float* Mb = scratch.data();
    const float* V = v_done;
    if (!v_done) {
      float* v = scratch.data() + P * m_stride;
      for (size_t k = 0; k < nt; ++k) transform_input(in, g, t0 + k, v + k * kc_, v_stride);
      V = v;
    }

    const int64_t dh = s.dilation[1], dw = s.dilation[2];
    const int64_t ops = out.ps();
    // 1D: one row per tile, its outputs at the axis' stride.
    const int64_t step = axis_ >= 0 ? s.dilation[axis_] * axis_pixels(s.out) : dw;
    const size_t out_rs = axis_ >= 0 ? 0 : dh * s.out[2] * ops, out_ps = step * ops;
    const size_t T_img = tiles_.size();
    // The output kernel adds bias and residual and clamps; an activation other than the clamp
    // runs as a pass over each output tile row right after the kernel wrote it.
    native::WinoOutputParams op;
    op.clamp = *epilogue_.kernel_params(false);
    const bool pass = epilogue_.needs_pass(false);
    if (residual) {
      const int64_t rps = residual->ps();
      op.res_row_stride = axis_ >= 0 ? 0 : dh * s.out[2] * rps;
      op.res_pixel_stride = step * rps;
    }
    const size_t oc_end = std::min(cout_g_, (ob + 1) * blk.oc_block);
    // The GEMM calls of a group (oc chunk, position, NC columns) share its weights; with U
    // above kStreamedWeightBytes each call also names its share of the next group's
    // (gemm-prefetch.h), which come from DRAM when the network's weights exceed L3. Zen 5,
    // 512 -> 512 at 7x7 (U 16.8 MB) from DRAM, 2 threads: 560 -> 523 us (311 from L3).
    const size_t calls = ceil_div(nt, MR);
    for (size_t oc = ob * blk.oc_block; oc < oc_end; oc += occ_) {
      const size_t ncc = std::min(occ_, oc_end - oc);
      for (size_t p = 0; p < P; ++p) {
        const float* Vp = V + p * v_stride;
        const float* w = packed_.data() + ((g * P + p) * nblocks_ + oc / NR) * block_;
        float* Mp = Mb + p * m_stride;
        for (size_t nb = 0; nb * NR < ncc; nb += NC / NR) {
          size_t oc2 = oc, p2 = p, nb2 = nb + NC / NR;
          if (nb2 * NR >= ncc) nb2 = 0, p2 = p + 1;
          if (p2 == P) p2 = 0, oc2 = oc + occ_;
          WeightStream next;
          if (oc2 < oc_end && streamed_) {
            const size_t cols = std::min(NC, std::min(occ_, oc_end - oc2) - nb2 * NR);
            const size_t block = (g * P + p2) * nblocks_ + oc2 / NR + nb2;
            next = WeightStream(packed_.data() + block * block_, ceil_div(cols, NR) * block_, calls);
          }
          for (size_t m0 = 0, i = 0; m0 < nt; m0 += MR, ++i)
            tr_.gemm(std::min(MR, nt - m0), std::min(NC, ncc - nb * NR), kc_, Vp + m0 * kc_, kc_,
                     w + nb * block_, block_, Mp + m0 * occ_ + nb * NR, occ_, next.at(i),
                     next.lines(i));
        }
      }
      op.bias = bias_.data() + g * cout_g_ + oc;
      for (size_t k = 0; k < nt; ++k) {
        const size_t t = t0 + k, n = t / T_img;
        const Tile& tl = tiles_[t % T_img];
        float* dst = out.data + n * out.image_stride() + tl.out_pixel * ops + g * cout_g_ + oc;
        op.res = residual_at(residual, n, tl.out_pixel, g * cout_g_ + oc);
        tr_.output(ncc, Mb + k * occ_, m_stride, dst, out_rs, out_ps, tl.rows, tl.cols, &op);
        if (pass)
          for (int32_t i = 0; i < tl.rows; ++i)
            epilogue_.apply(dst + i * out_rs, tl.cols, ncc, out_ps, nullptr, 0);
      }
    }
  }

  // Pixels between neighbours along axis_ in a tensor of spatial size sz.
  int64_t axis_pixels(const int64_t* sz) const {
    return axis_ == 0 ? sz[1] * sz[2] : axis_ == 1 ? sz[2] : 1;
  }

  int m_, axis_;
  size_t alpha_, positions_;
  WinogradKernels tr_;
  Geometry geom_;
  size_t cin_g_, cout_g_, kc_, nblocks_, block_, occ_;
  bool streamed_ = false;  // U above kStreamedWeightBytes: the GEMMs take the stream hint
  PackedWeights packed_;
  std::vector<float> bias_;
  std::vector<Tile> tiles_;
};

// A k x k stride-2 conv, k in {7, 8}, as a stride-1 4 x 4 conv over the space-to-depth image,
// run by F(5 x 5, 4 x 4): s2d pixel (j, i) holds the padded input's 2 x 2 block at (2j, 2i),
// channel (2 dy + dx) C + c; weight tap (ky, kx) of phase (dy, dx) is the original
// (2 ky + dy, 2 kx + dx), zero past k. The ResNet stem (3 -> 64, 7 x 7 s2) does 64 / 25
// multiplies per output and 12-channel input pair instead of 49 / 4 (4.9x fewer, K padded
// to 16: 3.7x).
// The stride-1 conv that SpaceToDepthConv runs for the k x k stride-2 conv s: r = ceil(k / 2)
// taps, 4 C_in channels, sized to give s's output.
ConvShape space_to_depth_shape(const ConvShape& s) {
  const int64_t r = (s.kernel[2] + 1) / 2;
  ConvShape t;
  t.ndim = 2;
  t.c_in = 4 * s.c_in;
  t.c_out = s.c_out;
  t.in[1] = s.out[1] + r - 1;
  t.in[2] = s.out[2] + r - 1;
  t.kernel[1] = t.kernel[2] = r;
  t.infer_output();
  return t;
}

class SpaceToDepthConv final : public ConvOp {
 public:
  SpaceToDepthConv(const ConvShape& s, const float* weight, const float* bias, const Activation& act)
      : ConvOp(s, act), inner_(space_to_depth_shape(s)) {
    const int64_t k = s.kernel[2], r = inner_.kernel[2], C = s.c_in;
    std::vector<float> w2(s.c_out * 4 * C * r * r, 0.0f);
    for (int64_t co = 0; co < s.c_out; ++co)
      for (int64_t dy = 0; dy < 2; ++dy)
        for (int64_t dx = 0; dx < 2; ++dx)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < r; ++ky)
              for (int64_t kx = 0; kx < r; ++kx) {
                const int64_t y = 2 * ky + dy, x = 2 * kx + dx;
                if (y < k && x < k)
                  w2[(((co * 4 + dy * 2 + dx) * C + c) * r + ky) * r + kx] =
                      weight[((co * C + c) * k + y) * k + x];
              }
    op_ = std::make_unique<WinogradConv>(inner_, 9 - static_cast<int>(r), -1, w2.data(), bias, act);
  }

  const char* algorithm() const override { return "winograd_s2"; }

  void run(const TensorView& in, const TensorView& out, const TensorView* residual,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    const int64_t C = s.c_in, Hs = inner_.in[1], Ws = inner_.in[2], H = s.in[1], W = s.in[2];
    const int64_t pt = s.pad_begin[1], pl = s.pad_begin[2], ips = in.ps();
    // A 3D conv with kd = 1: output depth z reads input depth z * stride_d - pad_d (all zeros
    // when that is in the padding), so (image, z) pairs are the 2D images of the inner conv.
    const int64_t D = s.in[0], Do = s.out[0], images = in.n * Do;
    thread_local Buffer scratch;
    const size_t need = images * Hs * Ws * 4 * C;
    if (scratch.size() < need) scratch.resize(need);
    float* dst = scratch.data();
    // Per s2d pixel and row phase dy, the two column phases are two neighbouring input pixels:
    // one copy of 2C floats when both are inside and the input is packed.
    pool.parallel_for(images * Hs, [&](size_t row) {
      const int64_t img = row / Hs, j = row % Hs, n = img / Do;
      const int64_t iz = (img % Do) * s.stride[0] - s.pad_begin[0];
      float* drow = dst + row * Ws * 4 * C;
      for (int64_t dy = 0; dy < 2; ++dy) {
        const int64_t iy = 2 * j + dy - pt;
        if (iz < 0 || iz >= D || iy < 0 || iy >= H) {
          for (int64_t i = 0; i < Ws; ++i) std::fill_n(drow + (i * 4 + dy * 2) * C, 2 * C, 0.0f);
          continue;
        }
        const float* src = in.data + n * in.image_stride() + (iz * H + iy) * W * ips;
        for (int64_t i = 0; i < Ws; ++i) {
          float* d = drow + (i * 4 + dy * 2) * C;
          const int64_t ix = 2 * i - pl;
          if (ips == C && ix >= 0 && ix + 1 < W) {
            std::copy_n(src + ix * C, 2 * C, d);
            continue;
          }
          for (int64_t dx = 0; dx < 2; ++dx, d += C) {
            if (ix + dx >= 0 && ix + dx < W)
              std::copy_n(src + (ix + dx) * ips, C, d);
            else
              std::fill_n(d, C, 0.0f);
          }
        }
      }
    });
    TensorView v;
    v.data = dst;
    v.n = images;
    v.h = Hs;
    v.w = Ws;
    v.c = 4 * C;
    // Output (and residual) images are packed, so (n, z) merges into one batch axis.
    TensorView o = out, r;
    o.n = images, o.d = 1;
    if (residual) {
      r = *residual;
      r.n = images, r.d = 1;
    }
    op_->run(v, o, residual ? &r : nullptr, pool);
  }

 private:
  ConvShape inner_;
  std::unique_ptr<WinogradConv> op_;
};

// Cost model for one image on one thread, AVX2. Constants fitted to a sweep on this
// workplace's Zen 3 (2026-05, one thread, minimum over interleaved runs): 3x3 convs
// with C_in = C_out in 8..512 at H = W in 7..112, plus 3->64 at 112, 3->32 at 224, 32->64,
// 64->128, 128->64, 256->512, 16->64, 64->16, and dilation 2 and 4; every algorithm forced.
// Over those 35 shapes the choice made with the model below runs on average 0.3% slower than
// the measured best, at worst 6% (128->128 28x28: F(6,3) picked, F(4,3) 6% faster).
//   GEMM        2 MACs / (100 GFLOP/s * e(kc)), e(k) = 6k / (6k + 40): a microkernel call
//               costs ~40 cycles besides its 6 cycles per k step
//   U stream    every tile block streams its group's U again: 100 GB/s while a group's U is
//               below 16 MB (L3), 25 GB/s above
//   transforms  0.12 ns per transformed element, input and output (tiles x positions x
//               (C_in + C_out)); 20% more for F(6,3)
//   igemm       2 MACs / (95 GFLOP/s * e(9 C_in)), C_out padded to the IGEMM kernel's NR
// At the avx512 level on Zen 4 (2026-12, the same sweep, 30 shapes, median of 31 interleaved
// runs) the choice with the model runs 0.6% slower than the best on average, at worst 17.5%
// (256 -> 256 7x7: F(4,3) picked, F(2,3) faster; a tie at avx2 there): the constants hold.
double kernel_efficiency(double kc) { return 6 * kc / (6 * kc + 40); }

double winograd_seconds(const ConvShape& s, int m, int axis) {
  const Geometry g(s, m, axis, native::kWinoGemmMr, native::kWinoGemmNr);
  const WinogradBlocking p = make_blocking(g, 1, 1);
  const double P = g.positions, cout_pad = round_up(g.cout_g, g.nr);
  const double gemm =
      g.groups * P * g.tiles * g.kc * cout_pad * 2 / (100e9 * kernel_efficiency(g.kc));
  const double u = static_cast<double>(g.u_bytes());
  const double stream = g.groups * p.tile_blocks * u / (u > 16e6 ? 25e9 : 100e9);
  const double transforms =
      g.groups * g.tiles * P * (g.kc + g.cout_g) * 0.12e-9 * (m == 6 || axis >= 0 ? 1.2 : 1.0);
  return gemm + stream + transforms;
}

// Output channels are padded to the IGEMM kernel's panel (16 on AVX2, 32 on AVX-512): on Zen 4
// at the avx512 level 8 -> 8 and 16 -> 16 at 56x56 ran 1.8-2.0x slower than at avx2, as the
// padding predicts, and F(2,3) 2x faster than igemm there.
double igemm_seconds(const ConvShape& s) {
  const double pixels = s.out[0] * s.out[1] * s.out[2];
  return s.groups * pixels * round_up(s.cout_g(), igemm_kernel(s.cout_g()).nr) * s.cin_g() * s.taps() * 2 /
         (95e9 * kernel_efficiency(s.cin_g() * s.taps()));
}

}  // namespace

bool winograd_applies(const ConvShape& s) {
  if (s.transposed || s.ndim < 2 || s.kernel[0] != 1 || s.kernel[1] != 3 || s.kernel[2] != 3)
    return false;
  // 3D with kd = 1 (R(2+1)D's spatial convs): every depth slice is a 2D image.
  if (s.ndim == 3 && (s.pad_begin[0] != 0 || s.pad_end[0] != 0)) return false;
  for (int i = 0; i < 3; ++i)
    if (s.stride[i] != 1) return false;
  if (s.groups > 1 &&
      (s.cin_g() < kWinogradMinGroupChannels || s.cout_g() < kWinogradMinGroupChannels))
    return false;
  return true;
}

double winograd_relative_cost(const ConvShape& s, int m) {
  if (!winograd_applies(s)) return std::numeric_limits<double>::infinity();
  // Error: relative to the largest sum |w||x| of an output, F(6,3) measured <= 6e-6 and flat in
  // C_in up to 4096 (tests/test_winograd.py); beyond the measured range it is not chosen.
  if (m == 6 && s.cin_g() > 4096) return std::numeric_limits<double>::infinity();
  if (Geometry(s, m, -1, native::kWinoGemmMr, native::kWinoGemmNr).packed_floats() > kMaxPacked)
    return std::numeric_limits<double>::infinity();
  return s.out[0] * winograd_seconds(s, m, -1) / igemm_seconds(s);
}

bool winograd_s2_applies(const ConvShape& s) {
  if (s.transposed || s.groups != 1 || s.kernel[0] != 1 || s.kernel[1] != s.kernel[2]) return false;
  if (s.kernel[2] != 7 && s.kernel[2] != 8) return false;
  return s.stride[1] == 2 && s.stride[2] == 2 && s.dilation[1] == 1 && s.dilation[2] == 1;
}

double winograd_s2_relative_cost(const ConvShape& s) {
  if (!winograd_s2_applies(s)) return std::numeric_limits<double>::infinity();
  const ConvShape t = space_to_depth_shape(s);
  const int m = 9 - static_cast<int>(t.kernel[2]);
  if (Geometry(t, m, -1, native::kWinoGemmMr, native::kWinoGemmNr).packed_floats() > kMaxPacked)
    return std::numeric_limits<double>::infinity();
  return s.out[0] * winograd_seconds(t, m, -1) / igemm_seconds(s);
}

std::unique_ptr<ConvOp> make_winograd_s2_conv(const ConvShape& s, const float* weight,
                                              const float* bias, const Activation& act) {
  if (!winograd_s2_applies(s))
    throw std::invalid_argument("space-to-depth Winograd does not apply to " + s.describe());
  if (winograd_s2_relative_cost(s) == std::numeric_limits<double>::infinity())
    throw std::invalid_argument("Winograd-transformed filters would exceed 2^31 elements: " +
                                s.describe());
  return std::make_unique<SpaceToDepthConv>(s, weight, bias, act);
}

bool winograd1d_applies(const ConvShape& s) {
  if (s.transposed) return false;
  const int a = conv_axis(s);
  if (s.kernel[a] < 3 || s.kernel[a] > 7) return false;
  for (int i = 0; i < 3; ++i) {
    if (s.stride[i] != 1) return false;
    if (i != a && (s.kernel[i] != 1 || s.pad_begin[i] != 0 || s.pad_end[i] != 0)) return false;
  }
  if (s.groups > 1 &&
      (s.cin_g() < kWinogradMinGroupChannels || s.cout_g() < kWinogradMinGroupChannels))
    return false;
  return true;
}

double winograd1d_relative_cost(const ConvShape& s) {
  if (!winograd1d_applies(s)) return std::numeric_limits<double>::infinity();
  // Error: F(9 - r, r) relative to the largest sum |w||x| of an output, measured <= 7.2e-6 for
  // r in 3..7 and C_in up to 4096 (tests/test_winograd.py); beyond that it is not chosen.
  if (s.cin_g() > 4096) return std::numeric_limits<double>::infinity();
  const int a = conv_axis(s), m = 9 - static_cast<int>(s.kernel[a]);
  if (Geometry(s, m, a, native::kWinoGemmMr, native::kWinoGemmNr).packed_floats() > kMaxPacked)
    return std::numeric_limits<double>::infinity();
  return winograd_seconds(s, m, a) / igemm_seconds(s);
}

std::unique_ptr<ConvOp> make_winograd_conv(const ConvShape& s, int m, const float* weight,
                                           const float* bias, const Activation& act) {
  if (m != 2 && m != 4 && m != 6) throw std::invalid_argument("Winograd tile must be 2, 4 or 6");
  if (!winograd_applies(s))
    throw std::invalid_argument("Winograd does not apply to " + s.describe());
  if (Geometry(s, m, -1, native::kWinoGemmMr, native::kWinoGemmNr).packed_floats() > kMaxPacked)
    throw std::invalid_argument("Winograd-transformed filters would exceed 2^31 elements: " +
                                s.describe());
  return std::make_unique<WinogradConv>(s, m, -1, weight, bias, act);
}

std::unique_ptr<ConvOp> make_winograd1d_conv(const ConvShape& s, const float* weight,
                                             const float* bias, const Activation& act) {
  if (!winograd1d_applies(s))
    throw std::invalid_argument("1D Winograd does not apply to " + s.describe());
  const int a = conv_axis(s), m = 9 - static_cast<int>(s.kernel[a]);
  if (Geometry(s, m, a, native::kWinoGemmMr, native::kWinoGemmNr).packed_floats() > kMaxPacked)
    throw std::invalid_argument("Winograd-transformed filters would exceed 2^31 elements: " +
                                s.describe());
  return std::make_unique<WinogradConv>(s, m, a, weight, bias, act);
}

}  // namespace ce
