// The one place where the CPU's instruction set picks the microkernels.
#pragma once
#include "engine/cpu.h"
#include "native/deform/bilinear.h"
#include "native/dwconv/dwconv.h"
#include "native/gemm/gconv.h"
#include "native/gemm/gemm.h"
#include "native/gemm/igemm.h"
#include "native/gridsample/gridsample.h"
#include "native/layout/transpose.h"
#include "native/elementwise/elementwise.h"
#include "native/elementwise/math.h"
#include "native/pool/pool.h"
#include "native/resize/resize.h"
#include "native/round/round.h"
#include "native/local/local.h"
#include "native/norm/norm.h"
#include "native/peak/peak.h"
#include "native/reduce/reduce.h"
#include "native/winograd/winograd.h"

namespace ce {

// Tiles: mr rows (output pixels) x nr output channels per call; kr reduction indices stored
// together per channel in the packed weights (engine/packing.h).
struct IGemmKernel {
  native::IGemmFn fn;
  size_t mr, nr, kr;
  const char* name;
};

// nc: output channels per group (the panel width is chosen to pad them least).
const IGemmKernel& igemm_kernel(size_t nc, Isa isa = active_isa());

// Direct depthwise conv: row kernels (interior pixels) by kernel shape, and the indirect
// kernel for border pixels; all take any channel multiplier. Every scalar row entry is the
// generic f32-dwconv-kxk-scalar.
struct DwConvKernels {
  native::DwRowFn row_3x3s1;  // 3x3, stride_w == dilation_w
  native::DwRowFn row_3x3s2;  // 3x3, stride_w == 2 * dilation_w
  native::DwRowFn row_5x5s1;  // 5x5, stride_w == dilation_w
  native::DwRowFn row_7x7s1;  // 7x7, stride_w == dilation_w
  native::DwRowFn row_5x5s2;  // 5x5, stride_w == 2 * dilation_w
  native::DwRowFn row_5x5;    // 5x5, any stride
  native::DwRowFn row_kxk;    // any kernel
  native::DwIndFn ind;        // border pixels, any kernel
  const char* name;
  bool zmm_any_alignment = false;  // the row kernels' zmm path on rows at any alignment
};

const DwConvKernels& dwconv_kernels(Isa isa = active_isa());

// Deformable conv: bilinear gather of sampled im2col rows (the GEMM is igemm_kernel()).
struct DeformBilinearKernel {
  native::DeformBilinearFn fn;
  const char* name;
};

const DeformBilinearKernel& deform_bilinear_kernel(Isa isa = active_isa());

// Locally connected conv: one output position, dot products over (c_in, kh, kw), every image.
struct LocalConvKernel {
  native::LocalConvFn fn;
  const char* name;
};

const LocalConvKernel& local_conv_kernel(Isa isa = active_isa());

// Element-wise kernels (engine/elementwise): activations and the batch-norm scale+shift.
struct ElementwiseKernels {
  native::VUnaryFn clamp, hswish, hsigmoid, sigmoid, silu;
  native::VScaleShiftFn scaleshift;
  native::VScaleShiftCwFn scaleshift_cw;  // channels-first (NCHW) planes
  const char* isa;
};

const ElementwiseKernels& elementwise_kernels(Isa isa = active_isa());

// Element-wise math (engine/steps_math): unary functions, binary functions (vector b and "c":
// one b for all), constant powers. Entries without a vector version are the portable kernels.
// isa names the level of the compute-bound kernels (erf, gelu, gelu_tanh, mish, softplus, elu,
// exp, log, rsqrt), light_isa that of the others, which have no AVX-512 version (memory-bound:
// "avx2" at the avx512 level).
struct MathKernels {
  native::VMathFn erf, gelu, gelu_tanh, mish, softplus, elu, exp, log, sqrt, recip, abs, neg,
      softsign, threshold, sin, cos, sqr, cube, rsqrt, powc;
  native::VBinaryFn min, minc, max, maxc, add, addc, prelu, preluc, pow;
  const char* isa;
  const char* light_isa;
};

const MathKernels& math_kernels(Isa isa = active_isa());

// Channel shuffle of one pixel into `groups` groups: a specialised zip when there is one.
native::ZipFn zip_kernel(size_t groups, Isa isa = active_isa());

// Pooling kernels (engine/pool): window max / average and the global average.
struct PoolKernels {
  native::MaxPoolFn max;
  native::AvgPoolFn avg;
  native::GAvgPoolFn gavg;
  native::GAvgPoolCwFn gavg_cw;  // channels-first (NCHW) planes
  const char* isa;
};

const PoolKernels& pool_kernels(Isa isa = active_isa());

// Resize kernels (engine/resize): one output row of bilinear interpolation.
native::IBilinearFn ibilinear_kernel(Isa isa = active_isa());

// Data ops (engine/steps_data): floor / ceil / round / sign of float rows, GridSample's
// weighted gather over channels, and its 2-D rows with few channels vectorised over samples.
struct DataKernels {
  native::VRoundFn round;
  native::GridBlendFn grid_blend;
  native::GridRow2dFn grid_row_2d;
  const char* isa;
};

const DataKernels& data_kernels(Isa isa = active_isa());

// Layout conversion (engine/layout): a 2D block transpose.
native::TransposeFn transpose_kernel(Isa isa = active_isa());

// The FMA throughput probe (engine/peak) of the ISA's widest vectors: fn is nullptr where there
// is none (scalar).
struct FmaPeakKernel {
  native::FmaPeakFn fn;
  size_t flops_per_iteration;
};

FmaPeakKernel fma_peak_kernel(Isa isa = active_isa());

// Conv output epilogue (engine/epilogue): residual add, activation, clamp on one tile row, for
// activation `kind` (EpilogueParams::kind, engine/epilogue.h's ActKind).
native::VEpilogueFn epilogue_kernel(int kind, Isa isa = active_isa());

// Winograd F(m x m, 3 x 3), m in {2, 4, 6}, and F(5 x 5, 4 x 4) for m = 5 (engine/winograd_conv):
// tile transforms and the transformed-domain GEMM.
struct WinogradKernels {
  native::WinoInputFn input;
  native::WinoOutputFn output;
  native::WinoGemmFn gemm;
  size_t gemm_nc;  // columns per GEMM call: the kernel's pass, whole kWinoGemmNr blocks
  const char* name;
};

const WinogradKernels& winograd_kernels(int m, Isa isa = active_isa());
// 1D F(9 - r, r) along one axis, r in 3..7 (same contracts; see native/winograd/winograd.h).
const WinogradKernels& winograd1d_kernels(int r, Isa isa = active_isa());

// Pointwise GEMM (engine/gemm_conv): 6x16 unless 24-wide panels pad c_out/groups less.
// prfm: the same tile, also prefetching the next tile's rows of A and C (fn itself where
// there is no such variant).
struct GemmKernel {
  native::GemmFn fn, prfm;
  native::GemmFn row;  // tiles of one row (mr == 1), same packing
  size_t mr, nr, kr;
  const char* name;
};

const GemmKernel& gemm_kernel(size_t nc, Isa isa = active_isa());

// Grouped conv with tiny groups (engine/group_conv): 8 output pixels x blocks of nr channels
// (8; 16 at the avx512 level).
struct GConvKernel {
  native::GConvFn fn;
  size_t mr, nr;  // output pixels and output channels (lanes) per call
  const char* name;
};

const GConvKernel& gconv_kernel(Isa isa = active_isa());

// Reductions and normalisation (engine/steps_nn).
struct NnKernels {
  native::RReduceFn rreduce;
  native::VReduceFn vreduce;
  native::LayerNormRowsFn layernorm_rows;
  native::VMomentsFn vmoments;
  native::VNormFn vnorm;
  native::LrnFn lrn;
  native::SoftmaxRowsFn softmax_rows;
  const char* isa;
};

const NnKernels& nn_kernels(Isa isa = active_isa());

}  // namespace ce
