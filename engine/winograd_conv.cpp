#include "engine/winograd_conv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/buffer.h"
#include "engine/dispatch.h"

namespace ce {

namespace {

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

const double* filter_matrix(int m) {  // G, alpha x 3, row-major
  return m == 2 ? &native::kWinoG2[0][0] : m == 4 ? &native::kWinoG4[0][0] : &native::kWinoG6[0][0];
}

// Output channels per GEMM + output-transform pass inside a task: the transformed outputs of
// a tile block for one chunk, [alpha^2][tiles][kOcChunk], stay in L2 next to its inputs.
constexpr size_t kOcChunk = 64;
// Per-task working set (transformed inputs + one chunk of transformed outputs) aimed at L2.
constexpr size_t kL2Budget = 512 * 1024;

class WinogradConv final : public ConvOp {
 public:
  WinogradConv(const ConvShape& s, int m, const float* weight, const float* bias,
               const Activation& act)
      : ConvOp(s, act),
        m_(m),
        alpha_(m + 2),
        positions_((m + 2) * (m + 2)),
        gemm_(igemm_kernel()),
        tr_(winograd_kernels(m)) {
    cin_g_ = s.cin_g();
    cout_g_ = s.cout_g();
    kc_ = round_up(cin_g_, 8);
    const size_t nr = gemm_.nr;
    nblocks_ = ceil_div(cout_g_, nr);
    block_ = nr * (1 + kc_);
    occ_ = std::min(cout_g_, kOcChunk);

    // U = G g G^T in double, packed per (group, position, block of NR output channels) as the
    // IGEMM kernel wants it: NR zero biases, then kc rows of NR weights (zero past cin_g/nc).
    packed_.assign(s.groups * positions_ * nblocks_ * block_, 0.0f);
    const double* G = filter_matrix(m);
    const size_t A = alpha_;
    std::vector<double> gw(A * 3);
    for (int64_t g = 0; g < s.groups; ++g)
      for (size_t oc = 0; oc < cout_g_; ++oc)
        for (size_t ic = 0; ic < cin_g_; ++ic) {
          const float* w = weight + ((g * cout_g_ + oc) * cin_g_ + ic) * 9;
          for (size_t i = 0; i < A; ++i)
            for (size_t x = 0; x < 3; ++x)
              gw[i * 3 + x] = G[i * 3] * w[x] + G[i * 3 + 1] * w[3 + x] + G[i * 3 + 2] * w[6 + x];
          for (size_t i = 0; i < A; ++i)
            for (size_t j = 0; j < A; ++j) {
              const double u = gw[i * 3] * G[j * 3] + gw[i * 3 + 1] * G[j * 3 + 1] +
                               gw[i * 3 + 2] * G[j * 3 + 2];
              const size_t p = i * A + j;
              packed_[((g * positions_ + p) * nblocks_ + oc / nr) * block_ + nr + ic * nr +
                      oc % nr] = static_cast<float>(u);
            }
        }
    bias_.assign(s.c_out + 8, 0.0f);
    if (bias) std::copy(bias, bias + s.c_out, bias_.begin());
    build_tiles();
  }

  const char* algorithm() const override {
    return m_ == 2 ? "winograd_f2" : m_ == 4 ? "winograd_f4" : "winograd_f6";
  }

  void run(const TensorView& in, const TensorView& out, const TensorView* residual,
           ThreadPool& pool) const override {
    const ConvShape& s = shape_;
    const Plan plan = make_plan(in.n, pool.num_threads());
    const size_t tasks = s.groups * plan.tile_blocks * plan.oc_blocks;
    pool.parallel_for(tasks, [&](size_t i) {
      const size_t g = i / (plan.tile_blocks * plan.oc_blocks);
      const size_t tb = i / plan.oc_blocks % plan.tile_blocks;
      const size_t ob = i % plan.oc_blocks;
      run_task(in, out, residual, plan, g, tb, ob);
    });
  }

 private:
  struct Tile {
    int64_t out_pixel;  // output pixel (oy * OW + ox) of the tile's first output
    int64_t in_pixel;   // input pixel of window element (y0, x0); -1 when all padding
    int32_t rows, cols, y0, y1, x0, x1;
  };
  struct Plan {
    size_t tile_block, tile_blocks, oc_block, oc_blocks, tiles;
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

  // Tile blocks and output-channel blocks: one task per (group, tile block, channel block).
  // A block holds whole m-tiles (MR tiles, one microkernel call per 16 output channels), as
  // many as keep its transformed inputs and one chunk of outputs within kL2Budget, but at least
  // 2 so every U panel brought in from L3 serves two calls. With several threads and fewer than
  // 4 tasks per thread, output channels are split too (repeating the cheap input transform).
  Plan make_plan(size_t n, int threads) const {
    const size_t MR = gemm_.mr, NR = gemm_.nr, th = std::max(1, threads);
    Plan p;
    p.tiles = n * tiles_.size();
    const size_t mtiles = ceil_div(p.tiles, MR);
    const size_t per_tile = positions_ * (kc_ + occ_) * sizeof(float);
    const size_t per_block = std::clamp<size_t>(kL2Budget / (per_tile * MR), 2, mtiles);
    const size_t blocks = ceil_div(mtiles, per_block);
    p.tile_block = ceil_div(mtiles, blocks) * MR;
    p.tile_blocks = ceil_div(p.tiles, p.tile_block);
    const size_t tasks = shape_.groups * p.tile_blocks;
    size_t split = 1;
    if (th > 1 && tasks < 4 * th)
      split = std::min(std::max<size_t>(1, cout_g_ / (2 * NR)), ceil_div(4 * th, tasks));
    p.oc_block = round_up(ceil_div(cout_g_, split), NR);
    p.oc_blocks = ceil_div(cout_g_, p.oc_block);
    return p;
  }

  void run_task(const TensorView& in, const TensorView& out, const TensorView* residual,
                const Plan& plan, size_t g, size_t tb, size_t ob) const {
    const ConvShape& s = shape_;
    const size_t MR = gemm_.mr, NR = gemm_.nr, P = positions_, TB = plan.tile_block;
    const size_t t0 = tb * TB, nt = std::min(TB, plan.tiles - t0);
    // One cache line past the block size, so the alpha^2 positions of a tile (read or written
    // together by the transforms) fall into different L1 sets instead of 4 KiB aliases.
    const size_t v_stride = TB * kc_ + 16, m_stride = TB * occ_ + 16;
    thread_local Buffer scratch;
    thread_local std::vector<const float*> rows;
    const size_t need = P * (v_stride + m_stride) + 8;
    if (scratch.size() < need) scratch.resize(need);
    if (rows.size() < round_up(TB, MR)) rows.resize(round_up(TB, MR));
    float* V = scratch.data();
    float* Mb = V + P * v_stride;

    const int64_t dh = s.dilation[1], dw = s.dilation[2];
    const int64_t ips = in.ps(), ops = out.ps();
    const size_t in_rs = dh * s.in[2] * ips, in_ps = dw * ips;
    const size_t out_rs = dh * s.out[2] * ops, out_ps = dw * ops;
    const size_t T_img = tiles_.size();
    static const int skip = std::getenv("CE_WINO_SKIP") ? std::atoi(std::getenv("CE_WINO_SKIP")) : 0;
    for (size_t k = 0; k < nt && !(skip & 1); ++k) {
      const size_t t = t0 + k;
      const Tile& tl = tiles_[t % T_img];
      const float* src = tl.in_pixel < 0 ? in.data
                                         : in.data + (t / T_img) * in.image_stride() +
                                               tl.in_pixel * ips + g * cin_g_;
      tr_.input(cin_g_, src, in_rs, in_ps, tl.y0, tl.y1, tl.x0, tl.x1, V + k * kc_, v_stride);
    }

    const native::ClampParams none{-std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::infinity()};
    // The output kernel adds bias and residual and clamps; an activation other than the clamp
    // runs as a pass over each output tile row right after the kernel wrote it.
    native::WinoOutputParams op;
    op.clamp = *epilogue_.kernel_params(false);
    const bool pass = epilogue_.needs_pass(false);
    if (residual) {
      const int64_t rps = residual->ps();
      op.res_row_stride = dh * s.out[2] * rps;
      op.res_pixel_stride = dw * rps;
    }
    const size_t oc_end = std::min(cout_g_, (ob + 1) * plan.oc_block);
    for (size_t oc = ob * plan.oc_block; oc < oc_end; oc += occ_) {
      const size_t ncc = std::min(occ_, oc_end - oc);
      for (size_t p = 0; p < P && !(skip & 2); ++p) {
        const size_t pp = (skip & 8) ? 0 : p;
        const float* Vp = V + pp * v_stride;
        for (size_t r = 0; r < round_up(nt, MR); ++r) rows[r] = Vp + std::min(r, nt - 1) * kc_;
        const float* w = packed_.data() + ((g * P + pp) * nblocks_ + oc / NR) * block_;
        float* Mp = Mb + p * m_stride;
        for (size_t nb = 0; nb * NR < ncc; ++nb)
          for (size_t m0 = 0; m0 < nt; m0 += MR)
            gemm_.fn(std::min(MR, nt - m0), std::min(NR, ncc - nb * NR), kc_, 1, rows.data() + m0,
                     w + nb * block_, Mp + m0 * occ_ + nb * NR, occ_, NR, 0, nullptr, &none);
      }
      op.bias = bias_.data() + g * cout_g_ + oc;
      for (size_t k = 0; k < nt && !(skip & 4); ++k) {
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

  int m_;
  size_t alpha_, positions_;
  IGemmKernel gemm_;
  WinogradKernels tr_;
  size_t cin_g_, cout_g_, kc_, nblocks_, block_, occ_;
  std::vector<float> packed_, bias_;
  std::vector<Tile> tiles_;
};

}  // namespace

bool winograd_applies(const ConvShape& s) {
  if (s.transposed || s.ndim != 2 || s.kernel[0] != 1 || s.kernel[1] != 3 || s.kernel[2] != 3)
    return false;
  for (int i = 0; i < 3; ++i)
    if (s.stride[i] != 1) return false;
  if (s.groups > 1 &&
      (s.cin_g() < kWinogradMinGroupChannels || s.cout_g() < kWinogradMinGroupChannels))
    return false;
  return true;
}

double winograd_relative_cost(const ConvShape& s, int m) {
  return std::numeric_limits<double>::infinity();
}

std::unique_ptr<ConvOp> make_winograd_conv(const ConvShape& s, int m, const float* weight,
                                           const float* bias, const Activation& act) {
  if (m != 2 && m != 4 && m != 6) throw std::invalid_argument("Winograd tile must be 2, 4 or 6");
  if (!winograd_applies(s))
    throw std::invalid_argument("Winograd does not apply to " + s.describe());
  return std::make_unique<WinogradConv>(s, m, weight, bias, act);
}

}  // namespace ce
