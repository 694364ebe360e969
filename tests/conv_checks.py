"""Shared checks of convolutions: check_conv (an engine conv against the Cython reference and
torch), check_conv_epilogue (a conv with a fused epilogue on every algorithm that applies),
with the layer table the epilogue tests run (EPILOGUE_SHAPES, named by epilogue_shape_id), and
check_forced_epilogue (one algorithm forced, its error bound relative to the output scale)."""
import numpy as np

import convengine.functional as F
import convengine.reference as R
from convengine import _native
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, assert_close, conv_tol, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


def torch_pad_then(fn, x, pads, ndim):
    """torch has no asymmetric conv padding: pad explicitly (ONNX order: begins, then ends)."""
    begin, end = pads[:ndim], pads[ndim:]
    tp = []
    for b, e in zip(reversed(begin), reversed(end)):
        tp += [b, e]
    return fn(TF.pad(torch.from_numpy(x), tp))


def check_conv(ndim, rng, N, C, spatial, O, k, stride=1, padding=0, dilation=1, groups=1, bias=True,
               algorithm="auto"):
    x = randn(rng, N, C, *spatial)
    kk = (k,) * ndim if isinstance(k, int) else k
    w = randn(rng, O, C // groups, *kk)
    b = randn(rng, O) if bias else None
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[ndim]
    rfn = {1: R.conv1d, 2: R.conv2d, 3: R.conv3d}[ndim]
    y = fn(x, w, b, stride, padding, dilation, groups, algorithm=algorithm)
    ref = rfn(x, w, b, stride, padding, dilation, groups)
    atol = conv_tol(F.last_algorithm(), C // groups * int(np.prod(kk)))
    assert_close(y, ref, atol=atol, what="vs reference")
    if HAVE_TORCH:
        tfn = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[ndim]
        tw = torch.from_numpy(w)
        tb = None if b is None else torch.from_numpy(b)
        if isinstance(padding, (tuple, list)) and len(padding) == 2 * ndim:
            yt = torch_pad_then(lambda t: tfn(t, tw, tb, stride, 0, dilation, groups), x, padding, ndim)
        else:
            yt = tfn(torch.from_numpy(x), tw, tb, stride, padding, dilation, groups)
        assert_close(y, yt.numpy(), atol=atol, what="vs torch")
    return y


# (c_in, c_out, groups, kernel, stride, padding, dilation, transposed, size)
EPILOGUE_SHAPES = [
    (5, 7, 1, 3, 1, 1, 1, False, (9, 11)),
    (6, 6, 6, 3, 1, (1, 0, 2, 1), 1, False, (8, 13)),   # depthwise, asymmetric pads
    (4, 8, 4, 5, 2, 2, 1, False, (11, 7)),              # depthwise multiplier 2
    (6, 10, 2, 3, 1, 2, 2, False, (10, 9)),             # grouped, dilated
    (17, 33, 1, 1, 1, 0, 1, False, (7, 5)),             # pointwise, ragged tiles
    (8, 5, 1, 4, 2, 1, 1, True, (6, 7)),                # transposed
    (9, 100, 1, 1, 1, 0, 1, False, (5, 7)),             # 16-lane steps and a 4-lane tail
    (5, 31, 1, 3, 1, 1, 1, False, (6, 5)),
]


def _algorithms(shape_args):
    for algo in _native.conv_algorithms():
        try:
            yield algo, prepare_conv(*shape_args, algorithm=algo)
        except ValueError as e:
            assert "does not apply" in str(e)


def check_conv_epilogue(rng, shape, act, alpha, beta, lo, hi, fn, with_residual, batch,
                        slope=1.0):
    """Conv + bias (+ residual) with epilogue `act` on every algorithm that applies, against
    the reference conv in float64 then clip(fn(v, alpha, beta), lo, hi). The conv's error
    enters through the activation's slope: the tolerance is the conv's times `slope`."""
    c_in, c_out, g, k, st, pad, dil, transposed, size = shape
    x = randn(rng, batch, c_in, *size)
    if transposed:
        w = randn(rng, c_in, c_out // g, k, k)
        ref = R.conv_transpose2d(x, w, None, st, pad, 0, g, dil)
    else:
        w = randn(rng, c_out, c_in // g, k, k)
        ref = R.conv2d(x, w, None, st, pad, dil, g)
    b = randn(rng, c_out)
    ref = ref.astype(np.float64) + b[:, None, None]
    res = randn(rng, *ref.shape) if with_residual else None
    if with_residual:
        ref = ref + res
    expect = np.clip(fn(ref, alpha, beta), lo, hi)
    ran = []
    for algo, _ in _algorithms((2, x.shape, w, b, st, pad, dil, g, 0, transposed)):
        op = prepare_conv(2, x.shape, w, b, st, pad, dil, g, 0, transposed, algo, (lo, hi),
                          act, alpha, beta)
        y = op.run(x, res)
        assert_close(y, expect, atol=slope * (conv_tol(algo, c_in * k * k) + 2e-6), rtol=1e-4,
                     what=f"{algo} {act} residual={with_residual}")
        ran.append(algo)
    assert ran, "no algorithm applied"


def check_forced_epilogue(rng, algo, x_shape, w_shape, stride, padding, act, fn, rel_bound,
                          clamp=(-0.5, 2.0)):
    """2D conv with bias, residual, clamp and activation `act` (fn in numpy) forced to `algo`:
    clip(fn(conv + bias + residual), clamp) against the float64 reference, within rel_bound
    times the largest sum |w||x| + |b| of an output (the Winograd error scale)."""
    x, w, b = randn(rng, *x_shape), randn(rng, *w_shape), randn(rng, w_shape[0])
    ref = R.conv2d(x, w, b, stride, padding).astype(np.float64)
    res = randn(rng, *ref.shape)
    expect = np.clip(fn(ref + res), *clamp)
    op = prepare_conv(2, x.shape, w, b, stride, padding, 1, 1, 0, False, algo, clamp, act)
    assert op.algorithm == algo
    y = op.run(x, res)
    scale = float(R.conv2d(np.abs(x), np.abs(w), np.abs(b), stride, padding).max())
    assert_close(y, expect, atol=rel_bound * scale, rtol=1e-5, what=f"{algo} {x_shape} {act}")


def epilogue_shape_id(s):
    return "x".join(map(str, s[:4])) + ("T" if s[7] else "")
