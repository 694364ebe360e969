# cython: boundscheck=False, wraparound=False, cdivision=True, language_level=3
"""Reference convolutions on NCDHW float32 arrays (1D/2D callers add unit axes).

Both are the textbook definitions, accumulated in double:

    conv:            y[n, o, z, u, v] = b[o] + sum_{c, i, j, k} w[o, c, i, j, k]
                         * x[n, g*Cg + c, z*sd - pd + i*dd, u*sh - ph + j*dh, v*sw - pw + k*dw]
                     (out-of-range x is zero; g = o // (C_out / groups))
    conv transposed: every input pixel scatters into the output:
                     y[n, g*Og + o, z*sd - pd + i*dd, ...] += x[n, c, z, u, v] * w[c, o, i, j, k]
"""
import numpy as np


def conv3d(const float[:, :, :, :, ::1] x, const float[:, :, :, :, ::1] w, b,
           int groups, stride, dilation, pad_begin, out_size):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], D = x.shape[2], H = x.shape[3], W = x.shape[4]
    cdef Py_ssize_t O = w.shape[0], Cg = w.shape[1], KD = w.shape[2], KH = w.shape[3], KW = w.shape[4]
    cdef Py_ssize_t OD = out_size[0], OH = out_size[1], OW = out_size[2]
    cdef Py_ssize_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef Py_ssize_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef Py_ssize_t pd = pad_begin[0], ph = pad_begin[1], pw = pad_begin[2]
    cdef Py_ssize_t Og = O // groups
    cdef double[::1] bias = np.zeros(O) if b is None else np.asarray(b, dtype=np.float64)
    y_arr = np.zeros((N, O, OD, OH, OW), dtype=np.float32)
    cdef float[:, :, :, :, ::1] y = y_arr
    cdef Py_ssize_t n, o, g, c, z, u, v, i, j, k, iz, iu, iv
    cdef double acc
    with nogil:
        for n in range(N):
            for o in range(O):
                g = o // Og
                for z in range(OD):
                    for u in range(OH):
                        for v in range(OW):
                            acc = bias[o]
                            for c in range(Cg):
                                for i in range(KD):
                                    iz = z * sd - pd + i * dd
                                    if iz < 0 or iz >= D:
                                        continue
                                    for j in range(KH):
                                        iu = u * sh - ph + j * dh
                                        if iu < 0 or iu >= H:
                                            continue
                                        for k in range(KW):
                                            iv = v * sw - pw + k * dw
                                            if iv < 0 or iv >= W:
                                                continue
                                            acc += <double>w[o, c, i, j, k] * x[n, g * Cg + c, iz, iu, iv]
                            y[n, o, z, u, v] = <float>acc
    return y_arr


def conv_transpose3d(const float[:, :, :, :, ::1] x, const float[:, :, :, :, ::1] w, b,
                     int groups, stride, dilation, pad_begin, out_size):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], D = x.shape[2], H = x.shape[3], W = x.shape[4]
    cdef Py_ssize_t Og = w.shape[1], KD = w.shape[2], KH = w.shape[3], KW = w.shape[4]
    cdef Py_ssize_t O = Og * groups, Cg = C // groups
    cdef Py_ssize_t OD = out_size[0], OH = out_size[1], OW = out_size[2]
    cdef Py_ssize_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef Py_ssize_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef Py_ssize_t pd = pad_begin[0], ph = pad_begin[1], pw = pad_begin[2]
    cdef double[::1] bias = np.zeros(O) if b is None else np.asarray(b, dtype=np.float64)
    acc_arr = np.zeros((N, O, OD, OH, OW), dtype=np.float64)
    cdef double[:, :, :, :, ::1] acc = acc_arr
    cdef Py_ssize_t n, o, g, c, z, u, v, i, j, k, oz, ou, ov
    cdef double xv
    with nogil:
        for n in range(N):
            for c in range(C):
                g = c // Cg
                for z in range(D):
                    for u in range(H):
                        for v in range(W):
                            xv = x[n, c, z, u, v]
                            for o in range(Og):
                                for i in range(KD):
                                    oz = z * sd - pd + i * dd
                                    if oz < 0 or oz >= OD:
                                        continue
                                    for j in range(KH):
                                        ou = u * sh - ph + j * dh
                                        if ou < 0 or ou >= OH:
                                            continue
                                        for k in range(KW):
                                            ov = v * sw - pw + k * dw
                                            if ov < 0 or ov >= OW:
                                                continue
                                            acc[n, g * Og + o, oz, ou, ov] += xv * w[c, o, i, j, k]
        for n in range(N):
            for o in range(O):
                for z in range(OD):
                    for u in range(OH):
                        for v in range(OW):
                            acc[n, o, z, u, v] += bias[o]
    return acc_arr.astype(np.float32)
