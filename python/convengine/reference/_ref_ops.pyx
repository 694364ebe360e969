# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Definition-level reference of the non-convolution ops, on NCHW arrays.

Plain nested loops over typed memoryviews, no cleverness, float64 accumulation. Arguments arrive
already validated and normalised by reference/_args.py (through reference/ops.py); output
sizes are passed in. Where torch's definition is itself
written in float32 arithmetic (the source coordinates of interpolate), that arithmetic is
reproduced in float32 here, because it is part of the definition.
"""
import numpy as np

from libc.math cimport exp, sqrt, floorf, fmaf, isnan, INFINITY


# ---------------------------------------------------------------------------------------------
# Element-wise, on flattened arrays

def unary(str kind, const float[::1] x):
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n, np.float32)
    cdef float[::1] y = out
    cdef int k
    cdef double v, r
    if kind == "relu":
        k = 0
    elif kind == "relu6":
        k = 1
    elif kind == "hardswish":
        k = 2
    elif kind == "hardsigmoid":
        k = 3
    elif kind == "sigmoid":
        k = 4
    elif kind == "silu":
        k = 5
    else:
        raise ValueError(f"unknown op {kind!r}")
    with nogil:
        for i in range(n):
            v = x[i]
            if k == 0:    # relu: max(x, 0); a NaN fails the test and passes through
                r = 0.0 if v < 0.0 else v
            elif k == 1:  # relu6: min(max(x, 0), 6)
                r = 0.0 if v < 0.0 else (6.0 if v > 6.0 else v)
            elif k == 2:  # hardswish: x * relu6(x + 3) / 6
                r = v + 3.0
                r = 0.0 if r < 0.0 else (6.0 if r > 6.0 else r)
                r = v * r / 6.0
            elif k == 3:  # hardsigmoid: relu6(x + 3) / 6
                r = v + 3.0
                r = 0.0 if r < 0.0 else (6.0 if r > 6.0 else r)
                r = r / 6.0
            elif k == 4:  # sigmoid: 1 / (1 + exp(-x))
                r = 1.0 / (1.0 + exp(-v))
            else:         # silu: x * sigmoid(x) = x / (1 + exp(-x))
                r = v / (1.0 + exp(-v))
            y[i] = <float>r
    return out


# ---------------------------------------------------------------------------------------------
# Batch norm and channel shuffle, on (N, C, P) views (P = flattened spatial size)

def batch_norm(const float[:, :, ::1] x, const float[::1] mean, const float[::1] var,
               const float[::1] weight, const float[::1] bias, double eps):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2], n, c, p
    out = np.empty((N, C, P), np.float32)
    cdef float[:, :, ::1] y = out
    cdef double inv_std
    with nogil:
        for n in range(N):
            for c in range(C):
                inv_std = 1.0 / sqrt(<double>var[c] + eps)
                for p in range(P):
                    y[n, c, p] = <float>((x[n, c, p] - <double>mean[c]) * inv_std * weight[c] + bias[c])
    return out


def channel_shuffle(const float[:, :, ::1] x, Py_ssize_t groups):
    # view channels as (groups, C / groups), transpose to (C / groups, groups), flatten
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2], n, g, i, p
    cdef Py_ssize_t per = C // groups
    out = np.empty((N, C, P), np.float32)
    cdef float[:, :, ::1] y = out
    with nogil:
        for n in range(N):
            for g in range(groups):
                for i in range(per):
                    for p in range(P):
                        y[n, i * groups + g, p] = x[n, g * per + i, p]
    return out


# ---------------------------------------------------------------------------------------------
# Pooling, on (N, C, H, W)

def max_pool2d(const float[:, :, :, ::1] x, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
               Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
               Py_ssize_t OH, Py_ssize_t OW):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, oh, ow, i, j, ih, iw
    cdef float m, v
    out = np.empty((N, C, OH, OW), np.float32)
    cdef float[:, :, :, ::1] y = out
    with nogil:
        for n in range(N):
            for c in range(C):
                for oh in range(OH):
                    for ow in range(OW):
                        m = -INFINITY  # padding never wins
                        for i in range(kh):
                            ih = oh * sh - ph + i * dh
                            if ih < 0 or ih >= H:
                                continue
                            for j in range(kw):
                                iw = ow * sw - pw + j * dw
                                if iw < 0 or iw >= W:
                                    continue
                                v = x[n, c, ih, iw]
                                if v > m or isnan(v):  # NaN wins and stays, as in torch
                                    m = v
                        y[n, c, oh, ow] = m
    return out


def avg_pool2d(const float[:, :, :, ::1] x, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
               Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t OH, Py_ssize_t OW,
               bint count_include_pad, Py_ssize_t divisor_override):
    # torch's divisor: the window [start, start + k) clipped to the padded input
    # [-pad, size + pad) counts when count_include_pad, else only the real elements;
    # divisor_override (non-zero) replaces both.
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, oh, ow, ih, iw, h0, w0, h1, w1, pool_size, divisor
    cdef double s
    out = np.empty((N, C, OH, OW), np.float32)
    cdef float[:, :, :, ::1] y = out
    with nogil:
        for n in range(N):
            for c in range(C):
                for oh in range(OH):
                    for ow in range(OW):
                        h0 = oh * sh - ph
                        w0 = ow * sw - pw
                        h1 = min(h0 + kh, H + ph)
                        w1 = min(w0 + kw, W + pw)
                        pool_size = (h1 - h0) * (w1 - w0)
                        h0 = max(h0, 0)
                        w0 = max(w0, 0)
                        h1 = min(h1, H)
                        w1 = min(w1, W)
                        if h0 >= h1 or w0 >= w1:
                            y[n, c, oh, ow] = 0.0
                            continue
                        s = 0.0
                        for ih in range(h0, h1):
                            for iw in range(w0, w1):
                                s = s + x[n, c, ih, iw]
                        if divisor_override != 0:
                            divisor = divisor_override
                        elif count_include_pad:
                            divisor = pool_size
                        else:
                            divisor = (h1 - h0) * (w1 - w0)
                        y[n, c, oh, ow] = <float>(s / divisor)
    return out


def adaptive_avg_pool2d(const float[:, :, :, ::1] x, Py_ssize_t OH, Py_ssize_t OW):
    # cell (i, j): rows [floor(i * H / OH), ceil((i + 1) * H / OH)), columns likewise
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, oh, ow, ih, iw, h0, h1, w0, w1
    cdef double s
    out = np.empty((N, C, OH, OW), np.float32)
    cdef float[:, :, :, ::1] y = out
    with nogil:
        for n in range(N):
            for c in range(C):
                for oh in range(OH):
                    h0 = (oh * H) // OH
                    h1 = ((oh + 1) * H + OH - 1) // OH
                    for ow in range(OW):
                        w0 = (ow * W) // OW
                        w1 = ((ow + 1) * W + OW - 1) // OW
                        s = 0.0
                        for ih in range(h0, h1):
                            for iw in range(w0, w1):
                                s = s + x[n, c, ih, iw]
                        y[n, c, oh, ow] = <float>(s / ((h1 - h0) * (w1 - w0)))
    return out


# ---------------------------------------------------------------------------------------------
# Interpolate, on (N, C, H, W). Source coordinates follow torch (aten/src/ATen/native/UpSample.h)
# in float32, as torch computes them.

cdef float axis_scale(Py_ssize_t n_in, Py_ssize_t n_out, bint align_corners, double scale_factor) noexcept nogil:
    if align_corners:
        return (<float>(n_in - 1)) / (<float>(n_out - 1)) if n_out > 1 else 0.0
    if scale_factor > 0.0:
        return <float>(1.0 / scale_factor)  # the user's scale_factor, not in / out
    return (<float>n_in) / (<float>n_out)


cdef void nearest_axis(Py_ssize_t n_in, Py_ssize_t n_out, int mode, double scale_factor,
                       Py_ssize_t[::1] src) noexcept nogil:
    cdef float scale = axis_scale(n_in, n_out, False, scale_factor)
    cdef Py_ssize_t o, i
    for o in range(n_out):
        if mode == 0:  # 'nearest' (torch's nearest_idx, with its two special cases)
            if n_out == n_in:
                i = o
            elif n_out == 2 * n_in:
                i = o >> 1
            else:
                i = <Py_ssize_t>floorf((<float>o) * scale)
        else:          # 'nearest-exact': floor((o + 0.5) * scale)
            i = <Py_ssize_t>floorf(<float>((o + 0.5) * <double>scale))
        src[o] = min(i, n_in - 1)


cdef void linear_axis(Py_ssize_t n_in, Py_ssize_t n_out, bint align_corners, double scale_factor,
                      Py_ssize_t[::1] i0, Py_ssize_t[::1] i1, float[::1] l0, float[::1] l1) noexcept nogil:
    cdef float scale = axis_scale(n_in, n_out, align_corners, scale_factor)
    cdef float real, lam
    cdef Py_ssize_t o, i
    for o in range(n_out):
        if n_out == n_in:  # torch copies when the size is unchanged
            i0[o] = o
            i1[o] = o
            l0[o] = 1.0
            l1[o] = 0.0
            continue
        if align_corners:
            real = scale * <float>o
        else:
            # scale * (o + 0.5) - 0.5, evaluated as one fused multiply-add as torch's AVX2 build
            # does, and clamped at 0
            real = fmaf(scale, <float>o + <float>0.5, <float>-0.5)
            if real < 0.0:
                real = 0.0
        i = min(<Py_ssize_t>floorf(real), n_in - 1)
        lam = real - <float>i
        lam = 0.0 if lam < 0.0 else (1.0 if lam > 1.0 else lam)
        i0[o] = i
        i1[o] = i + 1 if i < n_in - 1 else i
        l1[o] = lam
        l0[o] = <float>1.0 - lam


def interpolate(const float[:, :, :, ::1] x, Py_ssize_t OH, Py_ssize_t OW, str mode,
                bint align_corners, double scale_h, double scale_w):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, oh, ow
    out = np.empty((N, C, OH, OW), np.float32)
    cdef float[:, :, :, ::1] y = out
    cdef Py_ssize_t[::1] hy0 = np.empty(OH, np.intp), hy1 = np.empty(OH, np.intp)
    cdef Py_ssize_t[::1] wx0 = np.empty(OW, np.intp), wx1 = np.empty(OW, np.intp)
    cdef float[::1] ly0 = np.empty(OH, np.float32), ly1 = np.empty(OH, np.float32)
    cdef float[::1] lx0 = np.empty(OW, np.float32), lx1 = np.empty(OW, np.float32)
    cdef int m
    if mode == "nearest":
        m = 0
    elif mode == "nearest-exact":
        m = 1
    elif mode == "bilinear":
        m = 2
    else:
        raise ValueError(f"unknown mode {mode!r}")
    with nogil:
        if m < 2:
            nearest_axis(H, OH, m, scale_h, hy0)
            nearest_axis(W, OW, m, scale_w, wx0)
            for n in range(N):
                for c in range(C):
                    for oh in range(OH):
                        for ow in range(OW):
                            y[n, c, oh, ow] = x[n, c, hy0[oh], wx0[ow]]
        else:
            linear_axis(H, OH, align_corners, scale_h, hy0, hy1, ly0, ly1)
            linear_axis(W, OW, align_corners, scale_w, wx0, wx1, lx0, lx1)
            for n in range(N):
                for c in range(C):
                    for oh in range(OH):
                        for ow in range(OW):
                            y[n, c, oh, ow] = <float>(
                                ly0[oh] * (lx0[ow] * <double>x[n, c, hy0[oh], wx0[ow]]
                                           + lx1[ow] * <double>x[n, c, hy0[oh], wx1[ow]])
                                + ly1[oh] * (lx0[ow] * <double>x[n, c, hy1[oh], wx0[ow]]
                                             + lx1[ow] * <double>x[n, c, hy1[oh], wx1[ow]]))
    return out


# ---------------------------------------------------------------------------------------------
# Linear, on (rows, in_features)

def linear(const float[:, ::1] x, const float[:, ::1] weight, const float[::1] bias):
    # y[r, o] = bias[o] + sum_i x[r, i] * weight[o, i]
    cdef Py_ssize_t R = x.shape[0], I = x.shape[1], O = weight.shape[0], r, o, i
    cdef double s
    out = np.empty((R, O), np.float32)
    cdef float[:, ::1] y = out
    with nogil:
        for r in range(R):
            for o in range(O):
                s = bias[o]
                for i in range(I):
                    s = s + <double>x[r, i] * weight[o, i]
                y[r, o] = <float>s
    return out
