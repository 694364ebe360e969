#include "engine/deform.h"
#include "engine/arith.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/packing.h"
#include "engine/shared_weights.h"

namespace ce {

namespace {

// Per-thread scratch, reused across calls: the sampled columns of one tile, the GEMM row
// pointers and the gather's corner pointers and coefficients.
struct Scratch {
  std::vector<float> col;
  std::vector<const float*> rows;
  std::vector<const float*> corner;
  std::vector<float> coef;
};

Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

}  // namespace

void DeformShape::infer_output() {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("deform_conv2d: " + what + " (" + describe() + ")");
  };
  if (c_in < 1 || c_out < 1) fail("channel counts must be >= 1");
  if (groups < 1 || c_in % groups) fail("input channels must be divisible by groups");
  if (c_out % groups) fail("output channels must be divisible by groups");
  if (offset_groups < 1 || c_in % offset_groups)
    fail("input channels must be divisible by offset_groups");
  const std::string window_error = infer_window();
  if (!window_error.empty()) fail(window_error);
}

std::string DeformShape::describe() const {
  std::ostringstream os;
  os << "c_in=" << c_in << " c_out=" << c_out << " groups=" << groups
     << " offset_groups=" << offset_groups << " " << describe_window();
  return os.str();
}

DeformConvOp::DeformConvOp(const DeformShape& s, const float* weight, const float* bias,
                           const Activation& act)
    : shape_(s), clamp_(act.clamp()) {
  shape_.infer_output();
  const IGemmKernel& k = igemm_kernel(s.cout_g());
  gemm_ = k.fn;
  mr_ = k.mr;
  nr_ = k.nr;
  kr_ = k.kr;
  const size_t kc = s.cin_g(), ks = s.taps(), cout_g = s.cout_g();
  const PanelLayout L{nr_, kr_, ks, kc};
  nblocks_ = L.blocks(cout_g);
  block_ = L.block_floats();
  packed_.resize(s.groups * L.floats(cout_g));
  pack_conv_weights(packed_.data(), L, s.groups, cout_g, weight, ks, nullptr, bias);
  packed_.share();
  zero_.assign(s.c_in + 16, 0.0f);
}

void DeformConvOp::forward(const TensorView& in, const TensorView& offset, const TensorView* mask,
                           const TensorView& out, ThreadPool& pool) const {
  const DeformShape& s = shape_;
  const size_t N = static_cast<size_t>(in.n);
  auto same = [&](const TensorView& v, int64_t h, int64_t w, int64_t c) {
    return v.n == static_cast<int64_t>(N) && v.d == 1 && v.h == h && v.w == w && v.c == c;
  };
  if (!same(in, s.in[0], s.in[1], s.c_in))
    throw std::invalid_argument("deform_conv2d: input view does not match " + s.describe());
  if (!same(offset, s.out[0], s.out[1], s.offset_channels()))
    throw std::invalid_argument("deform_conv2d: offset view does not match " + s.describe());
  if (mask && !same(*mask, s.out[0], s.out[1], s.mask_channels()))
    throw std::invalid_argument("deform_conv2d: mask view does not match " + s.describe());
  if (!same(out, s.out[0], s.out[1], s.c_out))
    throw std::invalid_argument("deform_conv2d: output view does not match " + s.describe());

  const DeformBilinearKernel& gather = deform_bilinear_kernel();

  const size_t MR = mr_, NR = nr_;
  const int64_t K = s.taps(), H = s.in[0], W = s.in[1], OW = s.out[1];
  const size_t M = s.out[0] * s.out[1];
  const size_t cin_g = s.cin_g(), cout_g = s.cout_g(), cin_og = s.cin_og();

  // Work item = (image, tile of output pixels, chunk of whole groups). A chunk holds enough
  // groups for ~64 input channels so that the bilinear coefficients, computed per chunk, are
  // amortised over a vector's worth of channels even when groups == c_in.
  const size_t gpc = std::min<size_t>(s.groups, std::max<size_t>(1, 64 / cin_g));
  const size_t nchunks = ceil_div(static_cast<size_t>(s.groups), gpc);
  const size_t max_cc = gpc * cin_g;
  // Tile: the sampled columns (tile x taps x chunk channels) should stay within ~128 KiB of L2.
  size_t P = std::clamp<size_t>(32768 / (static_cast<size_t>(K) * max_cc) / MR * MR, MR, 16 * MR);
  const size_t want = 4 * static_cast<size_t>(pool.num_threads());
  while (P > MR && N * ceil_div(M, P) * nchunks < want) P = std::max(MR, P / 2 / MR * MR);
  const size_t ntiles = ceil_div(M, P);

  const float* zero = zero_.data();
  const int64_t in_ps = in.ps(), out_ps = out.ps();

  pool.parallel_for_3d(N, ntiles, nchunks, [&](size_t n, size_t tile, size_t chunk) {
    Scratch& sc = scratch();
    const size_t g0 = chunk * gpc, g1 = std::min<size_t>(s.groups, g0 + gpc);
    const size_t c0 = g0 * cin_g, cc = (g1 - g0) * cin_g;
    const size_t m0 = tile * P, mp = std::min(P, M - m0);
    const size_t ks = static_cast<size_t>(K), row_len = ks * cc;
    if (sc.col.size() < mp * row_len) sc.col.resize(mp * row_len);
    if (sc.rows.size() < ks * MR) sc.rows.resize(ks * MR);
    if (sc.corner.size() < 4 * ks) sc.corner.resize(4 * ks);
    if (sc.coef.size() < 4 * ks) sc.coef.resize(4 * ks);
    float* col = sc.col.data();
    const float* img = in.data + n * in.image_stride();
    const size_t og0 = c0 / cin_og, og1 = ceil_div(c0 + cc, cin_og);

    // 1. Sampled im2col: col[p][tap][channel of the chunk].
    for (size_t p = 0; p < mp; ++p) {
      const int64_t m = m0 + p, oy = m / OW, ox = m % OW;
      const float* off = offset.pixel(n, 0, oy, ox);
      const float* msk = mask ? mask->pixel(n, 0, oy, ox) : nullptr;
      for (size_t og = og0; og < og1; ++og) {
        const size_t ca = std::max(og * cin_og, c0), cb = std::min((og + 1) * cin_og, c0 + cc);
        const float* op = off + 2 * og * K;
        const float* mp_ = msk ? msk + og * K : nullptr;
        int64_t t = 0;
        for (int64_t i = 0; i < s.kernel[0]; ++i) {
          const int64_t by = oy * s.stride[0] - s.pad_begin[0] + i * s.dilation[0];
          for (int64_t j = 0; j < s.kernel[1]; ++j, ++t) {
            const int64_t bx = ox * s.stride[1] - s.pad_begin[1] + j * s.dilation[1];
            const float dy = op[2 * t], dx = op[2 * t + 1];
            const float mv = mp_ ? mp_[t] : 1.0f;
            const float** cp = sc.corner.data() + 4 * t;
            float* cf = sc.coef.data() + 4 * t;
            // Inside iff -1 < by + dy < H and -1 < bx + dx < W (exact: the bounds are
            // integers); written so that NaN offsets count as outside.
            if (!(dy > static_cast<float>(-1 - by) && dy < static_cast<float>(H - by) &&
                  dx > static_cast<float>(-1 - bx) && dx < static_cast<float>(W - bx))) {
              cp[0] = cp[1] = cp[2] = cp[3] = zero;
              cf[0] = cf[1] = cf[2] = cf[3] = 0.0f;
              continue;
            }
            // floor(by + dy) = by + floor(dy), so the fraction comes from dy alone, exactly.
            // dy is bounded here, so truncation plus a correction is a safe floor (no libm call).
            int64_t iy = static_cast<int64_t>(dy), ix = static_cast<int64_t>(dx);
            iy -= static_cast<float>(iy) > dy;
            ix -= static_cast<float>(ix) > dx;
            const int64_t y0 = by + iy, x0 = bx + ix;
            const float ly = dy - static_cast<float>(iy), lx = dx - static_cast<float>(ix);
            const float hy = 1.0f - ly, hx = 1.0f - lx;
            const bool top = y0 >= 0, bottom = y0 + 1 <= H - 1;
            const bool left = x0 >= 0, right = x0 + 1 <= W - 1;
            const int64_t q = (y0 * W + x0) * in_ps + static_cast<int64_t>(ca);
            cp[0] = top && left ? img + q : zero;
            cp[1] = top && right ? img + q + in_ps : zero;
            cp[2] = bottom && left ? img + q + W * in_ps : zero;
            cp[3] = bottom && right ? img + q + (W + 1) * in_ps : zero;
            cf[0] = hy * hx * mv;
            cf[1] = hy * lx * mv;
            cf[2] = ly * hx * mv;
            cf[3] = ly * lx * mv;
          }
        }
        gather.fn(K, cb - ca, sc.corner.data(), sc.coef.data(), col + p * row_len + (ca - c0), cc);
      }
    }

    // 2. GEMM per group over the tile: rows are pixels, (tap, channel) the reduction; one set
    // of row pointers serves every group of the chunk through a_offset.
    const float** rows = sc.rows.data();
    float* out_img = out.data + n * out.image_stride();
    for (size_t mt = 0; mt < mp; mt += MR) {
      const size_t mr = std::min(MR, mp - mt);
      for (int64_t t = 0; t < K; ++t)
        for (size_t i = 0; i < MR; ++i)
          rows[t * MR + i] = col + (mt + std::min(i, mr - 1)) * row_len + t * cc;
      for (size_t g = g0; g < g1; ++g) {
        float* c = out_img + (m0 + mt) * out_ps + g * cout_g;
        gemm_(mr, cout_g, cin_g, K, rows, packed_.data() + g * nblocks_ * block_, c, out_ps, NR,
                (g - g0) * cin_g, zero, &clamp_, nullptr, 0);
      }
    }
  });
}

}  // namespace ce
