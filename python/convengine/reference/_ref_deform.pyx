# cython: boundscheck=False, wraparound=False, cdivision=True, language_level=3
"""Reference deformable and locally connected convolutions: the textbook definitions as plain
nested loops over NCHW arrays, accumulated in float64. Arguments arrive already validated
(reference/_args.py: deform, local)."""
import numpy as np
from libc.math cimport floor


cdef inline double pixel(const float[:, :] img, long y, long x) noexcept nogil:
    """img[y, x], or 0 outside the image."""
    if y < 0 or y >= img.shape[0] or x < 0 or x >= img.shape[1]:
        return 0.0
    return img[y, x]


cdef inline double bilinear(const float[:, :] img, double y, double x) noexcept nogil:
    """torchvision's bilinear_interpolate: 0 if y <= -1, y >= H, x <= -1 or x >= W; otherwise
    the weighted sum of the four neighbours, each 0 if it lies outside the image."""
    cdef long H = img.shape[0], W = img.shape[1]
    if not (y > -1.0 and y < H and x > -1.0 and x < W):
        return 0.0
    cdef long y0 = <long>floor(y), x0 = <long>floor(x)
    cdef double ly = y - y0, lx = x - x0
    return ((1 - ly) * (1 - lx) * pixel(img, y0, x0) + (1 - ly) * lx * pixel(img, y0, x0 + 1) +
            ly * (1 - lx) * pixel(img, y0 + 1, x0) + ly * lx * pixel(img, y0 + 1, x0 + 1))


def deform_conv2d(const float[:, :, :, :] x, const float[:, :, :, :] offset,
                  const float[:, :, :, :] weight, bias, mask, int groups, int offset_groups,
                  int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                  int out_h, int out_w):
    """out[n, o, oy, ox] = bias[o] + sum over c (of o's group), i, j of
         weight[o, c, i, j] * m * bilinear(x[n, g*cin_g + c], y, x')
    with og = (g*cin_g + c) // (C_in // offset_groups), t = i*kw + j,
         y  = oy*stride_h - pad_h + i*dil_h + offset[n, 2*(og*kh*kw + t),     oy, ox],
         x' = ox*stride_w - pad_w + j*dil_w + offset[n, 2*(og*kh*kw + t) + 1, oy, ox],
         m  = mask[n, og*kh*kw + t, oy, ox] (1 without a mask)."""
    cdef int N = x.shape[0], C_in = x.shape[1]
    cdef int C_out = weight.shape[0], cin_g = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
    cdef int cout_g = C_out // groups, cin_og = C_in // offset_groups, K = kh * kw
    cdef bint has_bias = bias is not None, has_mask = mask is not None
    cdef const float[:] b = bias if has_bias else np.zeros(1, np.float32)
    cdef const float[:, :, :, :] msk = mask if has_mask else np.zeros((1, 1, 1, 1), np.float32)
    out_arr = np.zeros((N, C_out, out_h, out_w), np.float64)
    cdef double[:, :, :, :] out = out_arr
    cdef int n, o, g, oy, ox, c, ci, og, i, j, t
    cdef double acc, y, xx, m
    with nogil:
        for n in range(N):
            for o in range(C_out):
                g = o // cout_g
                for oy in range(out_h):
                    for ox in range(out_w):
                        acc = b[o] if has_bias else 0.0
                        for c in range(cin_g):
                            ci = g * cin_g + c
                            og = ci // cin_og
                            for i in range(kh):
                                for j in range(kw):
                                    t = i * kw + j
                                    y = oy * stride_h - pad_h + i * dil_h + <double>offset[n, 2 * (og * K + t), oy, ox]
                                    xx = ox * stride_w - pad_w + j * dil_w + <double>offset[n, 2 * (og * K + t) + 1, oy, ox]
                                    m = msk[n, og * K + t, oy, ox] if has_mask else 1.0
                                    acc = acc + weight[o, c, i, j] * m * bilinear(x[n, ci], y, xx)
                        out[n, o, oy, ox] = acc
    return out_arr.astype(np.float32)


def local_conv2d(const float[:, :, :, :] x, const float[:, :, :, :, :, :] weight, bias,
                 int stride_h, int stride_w, int pad_top, int pad_left, int dil_h, int dil_w):
    """out[n, o, y, x] = bias[o, y, x] + sum over c, i, j of
         weight[y, x, o, c, i, j] * x_padded[n, c, y*stride_h + i*dil_h, x*stride_w + j*dil_w]
    where x_padded is x with pad_top rows / pad_left columns of zeros before it (and enough
    after it)."""
    cdef int N = x.shape[0], C_in = x.shape[1]
    cdef int out_h = weight.shape[0], out_w = weight.shape[1], C_out = weight.shape[2]
    cdef int kh = weight.shape[4], kw = weight.shape[5]
    cdef bint has_bias = bias is not None
    cdef const float[:, :, :] b = bias if has_bias else np.zeros((1, 1, 1), np.float32)
    out_arr = np.zeros((N, C_out, out_h, out_w), np.float64)
    cdef double[:, :, :, :] out = out_arr
    cdef int n, o, oy, ox, c, i, j
    cdef double acc
    with nogil:
        for n in range(N):
            for o in range(C_out):
                for oy in range(out_h):
                    for ox in range(out_w):
                        acc = b[o, oy, ox] if has_bias else 0.0
                        for c in range(C_in):
                            for i in range(kh):
                                for j in range(kw):
                                    acc = acc + weight[oy, ox, o, c, i, j] * pixel(
                                        x[n, c], oy * stride_h - pad_top + i * dil_h,
                                        ox * stride_w - pad_left + j * dil_w)
                        out[n, o, oy, ox] = acc
    return out_arr.astype(np.float32)
