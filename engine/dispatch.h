// The one place where the CPU's instruction set picks the microkernels.
#pragma once
#include "engine/cpu.h"
#include "native/deform/bilinear.h"
#include "native/dwconv/dwconv.h"
#include "native/gemm/igemm.h"
#include "native/local/local.h"

namespace ce {

struct IGemmKernel {
  native::IGemmFn fn;
  size_t mr, nr;
  const char* name;
};

const IGemmKernel& igemm_kernel(Isa isa = active_isa());

// Direct depthwise conv: row kernels (interior pixels) by kernel shape, and the indirect
// kernel for border pixels; all take any channel multiplier. Every scalar row entry is the
// generic f32-dwconv-kxk-scalar.
struct DwConvKernels {
  native::DwRowFn row_3x3s1;  // 3x3, stride_w == dilation_w
  native::DwRowFn row_3x3s2;  // 3x3, stride_w == 2 * dilation_w
  native::DwRowFn row_5x5s1;  // 5x5, stride_w == dilation_w
  native::DwRowFn row_7x7s1;  // 7x7, stride_w == dilation_w
  native::DwRowFn row_5x5;    // 5x5, any stride
  native::DwRowFn row_kxk;    // any kernel
  native::DwIndFn ind;        // border pixels, any kernel
  const char* name;
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

}  // namespace ce
