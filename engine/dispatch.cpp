#include "engine/dispatch.h"

#include <algorithm>
#include <cstdint>

// Each family below lists its kernels per architecture: x86-64 (scalar, avx2, avx512) and
// aarch64 (scalar, neon); only the target's kernels are compiled (CMakeLists.txt), so the other
// architecture's names must not be referenced. Levels compare with >= within one architecture.
#if defined(__x86_64__) || defined(__i386__)
#define CE_X86 1
#elif defined(__aarch64__)
#define CE_ARM64 1
#endif

namespace ce {

namespace {
// The first of `kernels` (in order of preference) whose panels pad nc columns to within 3% of
// the least padding any of them gives.
template <class K, size_t N>
const K& least_padded(size_t nc, const K* const (&kernels)[N]) {
  auto padded = [nc](const K* k) { return (nc + k->nr - 1) / k->nr * k->nr; };
  size_t least = SIZE_MAX;
  for (const K* k : kernels) least = std::min(least, padded(k));
  for (const K* k : kernels)
    if (padded(k) * 100 <= least * 103) return *k;
  return *kernels[0];
}
}  // namespace

// AVX-512: 6x32 unless 16-wide panels pad the columns less (the rule of gemm_kernel).
const IGemmKernel& igemm_kernel(size_t nc, Isa isa) {
  static const IGemmKernel scalar{native::f32_igemm_4x8__scalar, 4, 8, 1, "f32-igemm-4x8-scalar"};
#if CE_X86
  static const IGemmKernel k6x32{native::f32_igemm_6x32__avx512f, 6, 32, 1,
                                 "f32-igemm-6x32-avx512f"};
  static const IGemmKernel k8x16{native::f32_igemm_8x16__avx512f, 8, 16, 1,
                                 "f32-igemm-8x16-avx512f"};
  static const IGemmKernel* const avx512[] = {&k6x32, &k8x16};
  if (isa >= Isa::kAvx512) return least_padded(nc, avx512);
  static const IGemmKernel avx2{native::f32_igemm_6x16__fma3, 6, 16, 1, "f32-igemm-6x16-fma3"};
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const IGemmKernel k8x8{native::f32_igemm_8x8__neon, 8, 8, 1, "f32-igemm-8x8-neon"};
  static const IGemmKernel k6x12{native::f32_igemm_6x12__neon, 6, 12, 1, "f32-igemm-6x12-neon"};
  static const IGemmKernel* const neon[] = {&k8x8, &k6x12};
  return isa >= Isa::kNeon ? least_padded(nc, neon) : scalar;
#else
  return scalar;
#endif
}

// Depthwise at the avx512 level: every kernel is the -avx512f one (16-channel zmm strips on rows
// whose pixels sit on 64-byte boundaries; other rows go to the -fma3 twin inside the kernel).
// Measured on AMD EPYC Zen 4 (zmm = two ymm halves), 1 thread, bench/dwconv_kernels.cpp:
// whole layers, 201 alternating pairs, median of the per-pair time ratios avx512f / fma3:
//   3x3s1  144ch 56x56 0.73, 576ch 14x14 0.75, 32ch 112x112 0.81, 32ch x2 56x56 0.66;
//          24..232ch with pixel strides not a multiple of 16 (fma3 path) 1.00-1.01
//   3x3s2  96ch 112->56 0.57, 144ch 56->28 0.78, 32ch x2 0.68; 58, 116ch (fma3 path) 1.00
//   5x5s1  240ch 14x14 0.88, 480ch 14x14 0.88, 32ch x2 28x28 0.71; 120ch (fma3 path) 1.00
//   7x7s1  96ch 56x56 0.66, 384ch 14x14 0.71
//   5x5    s2 144ch 56->28 0.83, 240ch 28->14 0.78 (the blocked kernel, before 5x5s2)
//   kxk    3x3 s3 144ch 0.71, 9x9 s1 96ch 28x28 0.83
//   ind    3x3 144ch 14x14 0.78, 576ch 7x7 0.92, 960ch 7x7 0.86, 5x5 240ch 0.90, 24ch 0.95,
//          232ch 0.85, 32ch x2 0.54
// In the engine (run_nhwc, 64-byte aligned tensors, borders included): 3x3 s1 144ch 56x56
// 0.76, 3x3 s2 96ch 0.69, 7x7 s1 96ch 0.78, 5x5 s1 240ch 0.79, 3x3 s1 72ch 56x56 0.96.
// Here the gain is fewer instructions per channel (loads, stores, loop control); a Xeon with two
// 512-bit FMA ports also doubles the FMA rate of the compute-bound layers over ymm.
// On a CPU whose misaligned zmm loads are cheap (cpu_fast_unaligned_zmm: Zen 5) the zmm path
// runs on rows at any alignment (figures in native/dwconv/dwconv-avx512f.h).
const DwConvKernels& dwconv_kernels(Isa isa) {
  static const DwConvKernels scalar{
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_kxk__scalar,
      native::f32_dwconv_kxk__scalar, native::f32_dwconv_ind__scalar, "f32-dwconv-scalar"};
#if CE_X86
  static const DwConvKernels avx2{
      native::f32_dwconv_3x3s1_8c__fma3, native::f32_dwconv_3x3s2_8c__fma3,
      native::f32_dwconv_5x5s1_8c8p__fma3, native::f32_dwconv_7x7s1_8c8p__fma3,
      native::f32_dwconv_5x5s2_8c8p__fma3, native::f32_dwconv_5x5_8c8p__fma3,
      native::f32_dwconv_kxk_8c8p__fma3, native::f32_dwconv_ind_32c__fma3, "f32-dwconv-fma3"};
  static const DwConvKernels avx512{
      native::f32_dwconv_3x3s1_16c__avx512f, native::f32_dwconv_3x3s2_16c__avx512f,
      native::f32_dwconv_5x5s1_16c8p__avx512f, native::f32_dwconv_7x7s1_16c8p__avx512f,
      native::f32_dwconv_5x5s2_16c8p__avx512f, native::f32_dwconv_5x5_16c8p__avx512f,
      native::f32_dwconv_kxk_16c8p__avx512f, native::f32_dwconv_ind_64c__avx512f,
      "f32-dwconv-avx512f"};
  static const DwConvKernels avx512_any = [] {
    DwConvKernels k = avx512;
    k.zmm_any_alignment = true;
    return k;
  }();
  if (isa >= Isa::kAvx512) return cpu_fast_unaligned_zmm() ? avx512_any : avx512;
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const DwConvKernels neon{
      native::f32_dwconv_3x3s1_4c__neon, native::f32_dwconv_3x3s2_4c__neon,
      native::f32_dwconv_5x5s1_4c8p__neon, native::f32_dwconv_7x7s1_4c8p__neon,
      native::f32_dwconv_5x5s2_4c8p__neon, native::f32_dwconv_5x5_4c8p__neon,
      native::f32_dwconv_kxk_4c8p__neon, native::f32_dwconv_ind_16c__neon, "f32-dwconv-neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

const DeformBilinearKernel& deform_bilinear_kernel(Isa isa) {
  static const DeformBilinearKernel scalar{native::f32_deform_bilinear_4c__scalar,
                                           "f32-deform-bilinear-4c-scalar"};
#if CE_X86
  static const DeformBilinearKernel avx2{native::f32_deform_bilinear_16c__fma3,
                                         "f32-deform-bilinear-16c-fma3"};
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const DeformBilinearKernel neon{native::f32_deform_bilinear_16c__neon,
                                         "f32-deform-bilinear-16c-neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

const LocalConvKernel& local_conv_kernel(Isa isa) {
  static const LocalConvKernel scalar{native::f32_local_dot_1x4__scalar, "f32-local-dot-1x4-scalar"};
#if CE_X86
  static const LocalConvKernel avx2{native::f32_local_dot_1x4__fma3, "f32-local-dot-1x4-fma3"};
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const LocalConvKernel neon{native::f32_local_dot_1x4__neon, "f32-local-dot-1x4-neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

// The memory-bound families at the AVX-512 level: each 16-lane kernel against its AVX2 twin
// (bench/elementwise_kernels.cpp: one thread, median of 41 paired batches, 64-byte aligned
// buffers; AMD EPYC Zen 4, which runs a zmm op as two 256-bit halves). avx512 / avx2 time at an
// L1 / L2 / DRAM-sized working set, and the kernel dispatched:
//   vepilogue on 6x32 conv tiles   sigmoid 0.87 / 0.70 / 0.68, silu 0.82 / 0.71 / 0.69,
//   (72 channels, L1 40)           silu+residual 0.66 / 0.64 / 0.63, gelu 0.75 / 0.63 / 0.64,
//                                  tanh 0.83 / 0.73 / 0.69, mish 0.71 / 0.68 / 0.67,
//                                  elu 0.81 / 0.75 / 0.75                                avx512f
//                                  relu+residual 0.92 / 1.04 / 0.91, hardswish 1.00 / 1.19 /
//                                  1.12, hardsigmoid 0.97 / 1.10 / 1.07, leaky relu 1.03 /
//                                  1.26 / 1.25, softsign 1.05 / 1.04 / 1.00               avx2
//   vsigmoid, vsilu                0.59-0.70 / 0.63-0.74 / 0.84-0.89                    avx512f
//   erf gelu gelu_tanh mish softplus elu exp log
//                                  0.51-0.77 / 0.54-0.78 / 0.51-0.96                    avx512f
//   rsqrt                          0.96 / 0.97 / 1.03 (division-bound)                  avx512f
//   softmax_rows (rows of 256 / 1000)  0.52-0.54 / 0.52-0.55 / 0.49-0.51                avx512f
//   clamp hswish hsigmoid, abs neg sqr cube sqrt recip softsign threshold
//                                  0.94-1.04 / 1.03-1.25 / 1.02-1.24                    avx2
//   min(c) max(c) add(c) prelu(c)  0.91-1.43 / 1.08-1.19 / 0.93-1.15                    avx2
//   scaleshift NHWC / NCHW         1.24 / 1.06-1.11 / 1.22;  0.98 / 1.04 / 1.08          avx2
//   maxpool / avgpool 3x3s2, 64 channels   - / 1.14 / 1.14;  - / 1.04 / 1.03            avx2
//     (24 channels 0.75 / 0.86 with 8-lane tails, 40 or 72 channels 1.07-1.20; maxpool without
//     its NaN tracking would run 0.64-0.89: the tracking costs more in zmm, as a compare into a
//     mask and a blend or as integer max of the bits)
//   gavgpool NHWC                  0.93-1.03 / 0.93-0.98 / 0.63-0.67                    avx512f
//   gavgpool NCHW planes           1.26 / 1.00 / 0.99                                   avx2
//   ibilinear (24 / 72 / 64 channels)  1.62 / 1.06-1.29                                 avx2
// The compute-bound kernels gain from fewer instructions per float and masks in place of
// blends; the memory-bound ones do not, and lose where a masked zmm tail costs a whole zmm op
// (24 or 72 channels) or zmm accesses split cache lines (rows of 40 or 72 floats). On a Xeon
// with two 512-bit ports the compute-bound ones should gain more; the others would need their
// own measurement there.
const ElementwiseKernels& elementwise_kernels(Isa isa) {
  static const ElementwiseKernels scalar{native::f32_vclamp__scalar,   native::f32_vhswish__scalar,
                                         native::f32_vhsigmoid__scalar, native::f32_vsigmoid__scalar,
                                         native::f32_vsilu__scalar,    native::f32_vscaleshift__scalar,
                                         native::f32_vscaleshift_cw__scalar, "scalar"};
#if CE_X86
  static const ElementwiseKernels avx2{native::f32_vclamp__avx2,   native::f32_vhswish__avx2,
                                       native::f32_vhsigmoid__avx2, native::f32_vsigmoid__avx2,
                                       native::f32_vsilu__avx2,    native::f32_vscaleshift_32c__avx2,
                                       native::f32_vscaleshift_cw__avx2, "avx2"};
  static const ElementwiseKernels avx512{native::f32_vclamp__avx2,      native::f32_vhswish__avx2,
                                         native::f32_vhsigmoid__avx2,   native::f32_vsigmoid__avx512f,
                                         native::f32_vsilu__avx512f,    native::f32_vscaleshift_32c__avx2,
                                         native::f32_vscaleshift_cw__avx2, "avx512f"};
  return isa >= Isa::kAvx512 ? avx512 : isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const ElementwiseKernels neon{native::f32_vclamp__neon,   native::f32_vhswish__neon,
                                       native::f32_vhsigmoid__neon, native::f32_vsigmoid__neon,
                                       native::f32_vsilu__neon,    native::f32_vscaleshift_16c__neon,
                                       native::f32_vscaleshift_cw__neon, "neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

const MathKernels& math_kernels(Isa isa) {
  using namespace native;
#define CE_K(name, isa) f32_##name##__##isa
#define CE_MATH(isa)                                                                             \
  {CE_K(verf, isa),       CE_K(vgelu, isa),  CE_K(vgelu_tanh, isa), CE_K(vmish, isa),               \
   CE_K(vsoftplus, isa),  CE_K(velu, isa),   CE_K(vexp, isa),       CE_K(vlog, isa),                \
   CE_K(vsqrt, isa),      CE_K(vrecip, isa), CE_K(vabs, isa),       CE_K(vneg, isa),                \
   CE_K(vsoftsign, isa),  CE_K(vthreshold, isa), f32_vsin__scalar,  f32_vcos__scalar,               \
   CE_K(vsqr, isa),       CE_K(vcube, isa),  CE_K(vrsqrt, isa),                                     \
   f32_vpowc__scalar,     CE_K(vmin, isa),   CE_K(vminc, isa),      CE_K(vmax, isa),                \
   CE_K(vmaxc, isa),      CE_K(vadd, isa),   CE_K(vaddc, isa),      CE_K(vprelu, isa),              \
   CE_K(vpreluc, isa),    f32_vpow__scalar,  #isa,                  #isa}
  static const MathKernels scalar CE_MATH(scalar);
#if CE_X86
  static const MathKernels avx2 CE_MATH(avx2);
  static const MathKernels avx512 = [] {
    MathKernels k = avx2;
    k.erf = CE_K(verf, avx512f), k.gelu = CE_K(vgelu, avx512f), k.gelu_tanh = CE_K(vgelu_tanh, avx512f);
    k.mish = CE_K(vmish, avx512f), k.softplus = CE_K(vsoftplus, avx512f), k.elu = CE_K(velu, avx512f);
    k.exp = CE_K(vexp, avx512f), k.log = CE_K(vlog, avx512f), k.rsqrt = CE_K(vrsqrt, avx512f);
    k.isa = "avx512f";
    return k;
  }();
  return isa >= Isa::kAvx512 ? avx512 : isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const MathKernels neon CE_MATH(neon);
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
#undef CE_MATH
#undef CE_K
}

native::ZipFn zip_kernel(size_t groups, Isa isa) {
#if CE_X86
  if (isa >= Isa::kAvx2 && groups == 2) return native::x32_zip_x2__avx2;
  if (isa >= Isa::kAvx2 && groups == 4) return native::x32_zip_x4__avx2;
#elif CE_ARM64
  if (isa >= Isa::kNeon && groups == 2) return native::x32_zip_x2__neon;
  if (isa >= Isa::kNeon && groups == 3) return native::x32_zip_x3__neon;
  if (isa >= Isa::kNeon && groups == 4) return native::x32_zip_x4__neon;
#endif
  return native::x32_zip_xm__scalar;
}

const PoolKernels& pool_kernels(Isa isa) {
  static const PoolKernels scalar{native::f32_maxpool__scalar, native::f32_avgpool__scalar,
                                  native::f32_gavgpool__scalar, native::f32_gavgpool_cw__scalar,
                                  "scalar"};
#if CE_X86
  static const PoolKernels avx2{native::f32_maxpool_32c__avx2, native::f32_avgpool_32c__avx2,
                                native::f32_gavgpool_32c__avx2, native::f32_gavgpool_cw__avx2,
                                "avx2"};
  static const PoolKernels avx512{native::f32_maxpool_32c__avx2, native::f32_avgpool_32c__avx2,
                                  native::f32_gavgpool_64c__avx512f, native::f32_gavgpool_cw__avx2,
                                  "avx512f"};
  return isa >= Isa::kAvx512 ? avx512 : isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const PoolKernels neon{native::f32_maxpool_16c__neon, native::f32_avgpool_16c__neon,
                                native::f32_gavgpool_16c__neon, native::f32_gavgpool_cw__neon,
                                "neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

native::IBilinearFn ibilinear_kernel(Isa isa) {
#if CE_X86
  if (isa >= Isa::kAvx2) return native::f32_ibilinear_16c__avx2;
#elif CE_ARM64
  if (isa >= Isa::kNeon) return native::f32_ibilinear_16c__neon;
#endif
  return native::f32_ibilinear__scalar;
}

const DataKernels& data_kernels(Isa isa) {
  static const DataKernels scalar{native::f32_vround__scalar, native::f32_gridsample_blend__scalar,
                                  native::f32_gridsample_2d_8c__scalar, "scalar"};
#if CE_X86
  static const DataKernels avx2{native::f32_vround__avx2, native::f32_gridsample_blend_16c__fma3,
                                native::f32_gridsample_2d_8c__fma3, "avx2"};
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const DataKernels neon{native::f32_vround__neon, native::f32_gridsample_blend_16c__neon,
                                native::f32_gridsample_2d_8c__neon, "neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

// avx512 / avx2 time (bench/elementwise_kernels.cpp, Zen 4), channels x pixels to channels-last
// and back: 32 x 49 0.83 / 0.95, 64 x 784 0.68-0.82 / 0.85-0.90, 24 x 3136 0.95 / 1.01,
// 64 x 12544 0.65 / 0.67, 20 x 100 0.79 / 0.59, 3 x 50176 1.00 (under 8 rows the AVX-512 kernel
// calls the AVX2 one) / 0.30.
native::TransposeFn transpose_kernel(Isa isa) {
#if CE_X86
  if (isa >= Isa::kAvx512) return native::f32_transpose_16x16__avx512f;
  if (isa >= Isa::kAvx2) return native::f32_transpose__avx2;
#elif CE_ARM64
  if (isa >= Isa::kNeon) return native::f32_transpose_4x4__neon;
#endif
  return native::f32_transpose__scalar;
}

FmaPeakKernel fma_peak_kernel(Isa isa) {
#if CE_X86
  if (isa >= Isa::kAvx512) return {native::f32_fma_peak__avx512f, native::kFmaPeakAvx512fFlops};
  if (isa >= Isa::kAvx2) return {native::f32_fma_peak__fma3, native::kFmaPeakFma3Flops};
#elif CE_ARM64
  if (isa >= Isa::kNeon) return {native::f32_fma_peak__neon, native::kFmaPeakNeonFlops};
#endif
  return {nullptr, 0};
}

// AVX-512 for the activations built on exp: sigmoid (3), silu (4), tanh (5), gelu (7),
// gelu_tanh (8), mish (9), softplus (10), elu / selu / celu (11-13). The others (none with a
// residual, hardswish, hardsigmoid, leaky relu, softsign, thresholded relu) are memory- or
// division-bound and measured 1.0-1.26x slower in zmm: AVX2 (the table above; the AVX-512
// kernel calls the AVX2 one for them too, but one call less per tile is 5-10% here).
native::VEpilogueFn epilogue_kernel(int kind, Isa isa) {
#if CE_X86
  const bool exp_based = (kind >= 3 && kind <= 5) || (kind >= 7 && kind <= 13);
  if (isa >= Isa::kAvx512 && exp_based) return native::f32_vepilogue__avx512f;
  if (isa >= Isa::kAvx2) return native::f32_vepilogue__avx2;
#elif CE_ARM64
  if (isa >= Isa::kNeon) return native::f32_vepilogue__neon;
#endif
  return native::f32_vepilogue__scalar;
}

// Winograd at the avx512 level, measured on Zen 4 (1 thread, paired medians): the 16-channel
// transforms (8-channel ymm tails; bench/wino_transforms.cpp) take 0.56-0.96x the -fma3 ones'
// time on 12 to 512 channels, parity (0.99-1.04) only on 1D outputs of 12-17 channels. The GEMM
// runs on two 16-column blocks per call (gemm_nc 32): 12 accumulator chains, where a 2-port Xeon
// needs 8 (one block, 6 chains, would hold it to 75% of its peak); on Zen 4 whole convs ran 2-4%
// slower than with one block at 64 channels, 4-12% faster at 128-512. Whole 3x3 convs (ResNet
// layers 64-512 channels, also 37 and 100): 0.79-0.98x the avx2 level's time.
const WinogradKernels& winograd_kernels(int m, Isa isa) {
  using namespace native;
#define CE_WINO(F, IN, isa, gemm, nc, tag) \
  {f32_wino_##IN##_input__##isa, f32_wino_##F##_output__##isa, f32_wino_gemm_##gemm, nc, "f32-wino-" #F tag}
  // F(2,3), F(4,3), F(6,3), F(5x5,4x4) (on F(6,3)'s input transform).
#define CE_WINO_ALL(isa, gemm, nc, tag)                                               \
  {CE_WINO(f23, f23, isa, gemm, nc, tag), CE_WINO(f43, f43, isa, gemm, nc, tag), \
   CE_WINO(f63, f63, isa, gemm, nc, tag), CE_WINO(f54, f63, isa, gemm, nc, tag)}
  static const WinogradKernels scalar[4] = CE_WINO_ALL(scalar, 6x16__scalar, 16, "-scalar");
  const int i = m == 2 ? 0 : m == 4 ? 1 : m == 6 ? 2 : 3;
#if CE_X86
  static const WinogradKernels avx512[4] =
      CE_WINO_ALL(avx512f, 6x32__avx512f, 32, "-16c-avx512f+gemm-6x32-avx512f");
  static const WinogradKernels avx2[4] = CE_WINO_ALL(fma3, 6x16__fma3, 16, "-8c-fma3");
  return isa >= Isa::kAvx512 ? avx512[i] : isa >= Isa::kAvx2 ? avx2[i] : scalar[i];
#elif CE_ARM64
  static const WinogradKernels neon[4] = CE_WINO_ALL(neon, 6x16__neon, 16, "-8c-neon");
  return isa >= Isa::kNeon ? neon[i] : scalar[i];
#else
  return scalar[i];
#endif
#undef CE_WINO_ALL
#undef CE_WINO
}

const WinogradKernels& winograd1d_kernels(int r, Isa isa) {
  using namespace native;
#define CE_WINO1D(FMR, isa, gemm, nc, tag)                                                      \
  {f32_wino1d_a8_input__##isa, f32_wino1d_##FMR##_output__##isa, f32_wino_gemm_##gemm, nc, \
   "f32-wino1d-" #FMR tag}
  // r = 3 .. 7: F(6,3) .. F(2,7).
#define CE_WINO1D_ALL(isa, gemm, nc, tag)                                                        \
  {CE_WINO1D(f63, isa, gemm, nc, tag), CE_WINO1D(f54, isa, gemm, nc, tag),                     \
   CE_WINO1D(f45, isa, gemm, nc, tag), CE_WINO1D(f36, isa, gemm, nc, tag),                     \
   CE_WINO1D(f27, isa, gemm, nc, tag)}
  static const WinogradKernels scalar[5] = CE_WINO1D_ALL(scalar, 6x16__scalar, 16, "-scalar");
  const int i = std::clamp(r, 3, 7) - 3;
#if CE_X86
  static const WinogradKernels avx512[5] =
      CE_WINO1D_ALL(avx512f, 6x32__avx512f, 32, "-16c-avx512f+gemm-6x32-avx512f");
  static const WinogradKernels avx2[5] = CE_WINO1D_ALL(fma3, 6x16__fma3, 16, "-8c-fma3");
  return isa >= Isa::kAvx512 ? avx512[i] : isa >= Isa::kAvx2 ? avx2[i] : scalar[i];
#elif CE_ARM64
  static const WinogradKernels neon[5] = CE_WINO1D_ALL(neon, 6x16__neon, 16, "-8c-neon");
  return isa >= Isa::kNeon ? neon[i] : scalar[i];
#else
  return scalar[i];
#endif
#undef CE_WINO1D_ALL
#undef CE_WINO1D
}

// Measured on Zen 3, 1 thread, GFLOP/s of the bare kernel over a whole layer (peak 102.4); the
// 4x16, 5x16 and 8x8 instantiations of gemm-fma3.h lost everywhere and were removed (Zen 4 in
// 2026: still no shape where one beats the choice below):
//   M x K x N          4x16  5x16  6x16  4x24  8x8
//   3136 x 256 x 256   89.2  90.6  90.8  86.5  --   (layer n)
//   196 x 576 x 96     97.4  97.5  99.0  99.6  76.7 (layer f)
//   784 x 80 x 80      92.6  92.2  92.4  78.9  70.2 (one group of layer h)
//   3136 x 144 x 24    64.4  68.7  70.3  92.6  68.6 (layer e: 16-wide panels pad 24 to 32)
// 6x16 is the default; 4x24 when 24-wide panels pad the columns by more than 3% less.
// AVX-512 (bench/gemm_tiles/; Zen 4, 1 thread; Zen 4 splits a zmm FMA over its two 256-bit
// pipes, so its zmm peak is its ymm peak, ~117 GFLOP/s):
//   M x K x N          6x16  7x16  8x16  12x16 6x32  8x32  12x32 8x24  6x40  (6x16: fma3)
//   3136 x 256 x 256  107.8 104.7 107.5 110.4 111.0 109.4 100.6  98.4 103.3
//   196 x 576 x 96     88.6 107.2 105.4 105.5 106.5 106.2 102.7 101.0  91.3
//   784 x 80 x 80      86.1  99.0 100.1  98.3  86.2  84.0  82.5  84.1 110.7
//   3136 x 144 x 24    61.4  74.1  73.6  80.5  81.3  78.2  77.4  95.0  65.4
//   784 x 240 x 40     93.2    --  92.1    --  70.6    --    --  83.7 109.7
// Zen 5 (two 512-bit FMA pipes: zmm peak 270 GFLOP/s per core, ymm 135), same benchmark:
//   M x K x N          8x16  12x16 6x32  8x32  4x48  6x48  8x24  6x40
//   3136 x 256 x 256  200.9 210.1 252.5 256.8 221.0 225.8 188.5 193.4
//   196 x 576 x 96    218.4 221.4 250.2 250.3 255.3 252.7 190.9 169.4
//   784 x 80 x 80     217.1 220.5 211.6 211.2 215.5 213.6 163.0 215.0
//   3136 x 144 x 24   152.8 151.7 171.8 173.5 123.0 121.9 177.9 123.1
//   12544 x 16 x 48   165.9 169.8 168.5 164.7 223.3 222.7 168.2 115.5
// so multiples of 48 columns that 32 pads (48, 144, 240, ...) take 6x48 (18 accumulators, 3
// weight loads per 6 broadcasts) instead of 8x16: whole layers, 1 thread, 16->48 at 112x112
// (MnasNet) 112 -> 90 us, 24->144 at 56x56 106 -> 92, 240->240 at 28x28 392 -> 345. (Not
// measured on Zen 4, where 8x16 and 6x48 both issue one zmm FMA per cycle.)
// The tile is the first of 6x32, 6x48, 8x16, 6x40, 8x24 whose panels pad nc to within 3% of the
// least padding any of them gives. (On Zen 4 fma3's 4x24 beat 8x24 on 24 columns, 107 vs 95;
// a Xeon's 512-bit FMA ports favour the zmm tile.) On a Xeon (two 512-bit FMA ports, 4-cycle
// latency) a tile needs 8 or more accumulators: 8x16 has 8 (XNNPACK's 7x16 has 7), 6x32 12.
const GemmKernel& gemm_kernel(size_t nc, Isa isa) {
  static const GemmKernel scalar{native::f32_gemm_4x8__scalar, native::f32_gemm_4x8__scalar,
                                 native::f32_gemm_4x8__scalar, 4, 8, 1, "f32-gemm-4x8-scalar"};
#if CE_X86
  static const GemmKernel k6x16{native::f32_gemm_6x16__fma3, native::f32_gemm_6x16_prfm__fma3,
                                native::f32_gemm_1x16__fma3, 6, 16, 1, "f32-gemm-6x16-fma3"};
  static const GemmKernel k4x24{native::f32_gemm_4x24__fma3, native::f32_gemm_4x24_prfm__fma3,
                                native::f32_gemm_1x24__fma3, 4, 24, 1, "f32-gemm-4x24-fma3"};
  static const GemmKernel k6x32{native::f32_gemm_6x32__avx512f, native::f32_gemm_6x32_prfm__avx512f,
                                native::f32_gemm_1x32__avx512f, 6, 32, 1, "f32-gemm-6x32-avx512f"};
  static const GemmKernel k8x16{native::f32_gemm_8x16__avx512f, native::f32_gemm_8x16_prfm__avx512f,
                                native::f32_gemm_1x16__avx512f, 8, 16, 1, "f32-gemm-8x16-avx512f"};
  if (isa < Isa::kAvx2) return scalar;
  static const GemmKernel k6x40{native::f32_gemm_6x40__avx512f, native::f32_gemm_6x40_prfm__avx512f,
                                native::f32_gemm_1x40__avx512f, 6, 40, 1, "f32-gemm-6x40-avx512f"};
  static const GemmKernel k8x24{native::f32_gemm_8x24__avx512f, native::f32_gemm_8x24_prfm__avx512f,
                                native::f32_gemm_1x24__avx512f, 8, 24, 1, "f32-gemm-8x24-avx512f"};
  static const GemmKernel k6x48{native::f32_gemm_6x48__avx512f, native::f32_gemm_6x48_prfm__avx512f,
                                native::f32_gemm_1x48__avx512f, 6, 48, 1, "f32-gemm-6x48-avx512f"};
  static const GemmKernel* const avx512[] = {&k6x32, &k6x48, &k8x16, &k6x40, &k8x24};
  static const GemmKernel* const avx2[] = {&k6x16, &k4x24};
  return isa >= Isa::kAvx512 ? least_padded(nc, avx512) : least_padded(nc, avx2);
#elif CE_ARM64
  // NEON (not measured: no ARM hardware here): 8x8 (16 accumulators, 26 of the 32 q registers)
  // unless 12-wide panels pad the columns by more than 3% less; 6x12 has 18 accumulators, 27
  // registers. Both load 0.25 q registers per fmla (one A load feeds 4 k by lane), and an A72 /
  // A76 (4-cycle fmla, 1 / 2 per cycle) needs 4 / 8 chains.
  static const GemmKernel k8x8{native::f32_gemm_8x8__neon, native::f32_gemm_8x8_prfm__neon,
                               native::f32_gemm_1x8__neon, 8, 8, 1, "f32-gemm-8x8-neon"};
  static const GemmKernel k6x12{native::f32_gemm_6x12__neon, native::f32_gemm_6x12_prfm__neon,
                                native::f32_gemm_1x12__neon, 6, 12, 1, "f32-gemm-6x12-neon"};
  static const GemmKernel* const neon[] = {&k8x8, &k6x12};
  return isa >= Isa::kNeon ? least_padded(nc, neon) : scalar;
#else
  return scalar;
#endif
}

// Tiny-group conv at the avx512 level: 8 pixels x 16 channels, twice the groups per block.
// Measured on AMD EPYC Zen 4, 1 thread, whole layers in the engine (64-byte aligned NHWC, 41
// alternating pairs, median ratio avx512f / fma3, same bits): ResNeXt 4->4 g32 56x56 0.79,
// 8->8 g32 28x28 0.66, 2->2 g32 56x56 0.49 (in-lane shuffles where the -fma3 kernel permutes),
// 2->4 g32 28x28 0.78, 4->8 g32 28x28 0.73, pointwise 4->4 g30 28x28 0.79, 4->4 s2 28->14 0.81,
// 2->4 g58 14x14 0.89; resnext50_32x4d 0.98 (the grouped layers' share of the model).
const GConvKernel& gconv_kernel(Isa isa) {
  static const GConvKernel scalar{native::f32_gconv_8p8c__scalar, 8, 8, "f32-gconv-8p8c-scalar"};
#if CE_X86
  static const GConvKernel avx512{native::f32_gconv_8p16c__avx512f, 8, 16,
                                  "f32-gconv-8p16c-avx512f"};
  if (isa >= Isa::kAvx512) return avx512;
  static const GConvKernel avx2{native::f32_gconv_8p8c__fma3, 8, 8, "f32-gconv-8p8c-fma3"};
  return isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const GConvKernel neon{native::f32_gconv_8p8c__neon, 8, 8, "f32-gconv-8p8c-neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

const NnKernels& nn_kernels(Isa isa) {
  using namespace native;
  static const NnKernels scalar{f32_rreduce__scalar, f32_vreduce__scalar, f32_layernorm_rows__scalar,
                                f32_vmoments__scalar, f32_vnorm__scalar, f32_lrn__scalar,
                                f32_softmax_rows__scalar, "scalar"};
#if CE_X86
  static const NnKernels avx2{f32_rreduce_u32__avx2, f32_vreduce_32c__avx2, f32_layernorm_rows__avx2,
                              f32_vmoments_8c__avx2, f32_vnorm_32c__avx2, f32_lrn__avx2,
                              f32_softmax_rows__avx2, "avx2"};
  // The reductions and norms stay at AVX2; softmax rows are exp-bound (table above).
  static const NnKernels avx512 = [] {
    NnKernels k = avx2;
    k.softmax_rows = f32_softmax_rows__avx512f;
    return k;
  }();
  return isa >= Isa::kAvx512 ? avx512 : isa >= Isa::kAvx2 ? avx2 : scalar;
#elif CE_ARM64
  static const NnKernels neon{f32_rreduce_u16__neon, f32_vreduce_16c__neon, f32_layernorm_rows__neon,
                              f32_vmoments_4c__neon, f32_vnorm_16c__neon, f32_lrn__neon,
                              f32_softmax_rows__neon, "neon"};
  return isa >= Isa::kNeon ? neon : scalar;
#else
  return scalar;
#endif
}

}  // namespace ce
