"""Winograd F(2x2,3x3), F(4x4,3x3), F(6x6,3x3) ("winograd_f2/f4/f6"): every variant forced on
awkward shapes against the Cython reference on both ISAs, its error against a float64
reference, and the automatic choice.

Error, measured with measure_errors below on the AVX2 kernels (C_out 32, H = W = 16 for
C_in 64, 8 for 512, 6 for 4096; the scalar kernels give figures of the same size, within 40%):
max |y - y64| / max(sum |w| |x|) over the output, where y64 is the float64 conv of the same
float32 inputs and the denominator is the largest sum of absolute products of any output (the
conv of |x| with |w|). He-scaled weights, 3x3, pad 1:

    data       C_in   igemm    F(2,3)   F(4,3)   F(6,3)
    normal       64   2.0e-7   6.5e-8   1.4e-6   1.5e-6
    normal      512   1.7e-7   6.1e-8   8.5e-7   1.4e-6
    normal     4096   1.6e-7   6.0e-8   9.2e-7   1.1e-6
    relu(x)      64   1.8e-7   8.5e-8   1.3e-6   2.2e-6
    relu(x)     512   1.4e-7   6.8e-8   9.1e-7   2.3e-6
    relu(x)    4096   1.2e-7   7.0e-8   5.7e-7   2.0e-6
    |x|, |w|     64   1.2e-6   4.4e-7   1.4e-6   1.3e-6
    |x|, |w|    512   3.2e-6   1.1e-6   1.1e-6   5.7e-6
    |x|, |w|   4096   7.4e-6   3.0e-6   5.6e-6   2.7e-6

Relative to that scale the error does not grow with C_in (the transformed-domain sums are dot
products like igemm's); F(4,3) and F(6,3) lose 3-4 bits against igemm on zero-mean data, F(2,3)
is slightly more accurate than igemm (shorter sums). The tests below assert REL_BOUND, about 3x
the worst figure measured for each variant.
"""
import numpy as np
import pytest

import convengine
import convengine.functional as F
import convengine.reference as R
from convengine import _native
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, WINOGRAD_REL_BOUND, assert_close, randn
from conv_checks import check_forced_epilogue

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

WINO = ["winograd_f2", "winograd_f4", "winograd_f6"]
REL_BOUND = {**WINOGRAD_REL_BOUND, "igemm": 3e-5}


def scale_of(x, w, b, padding, dilation, groups):
    """The largest sum of |w||x| (+ |b|) of any output: the scale the error is measured in."""
    return float(R.conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), 1, padding,
                          dilation, groups).max())


def check(rng, algo, N, C, hw, O, padding=1, dilation=1, groups=1, bias=True):
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C // groups, 3, 3)
    b = randn(rng, O) if bias else None
    y = F.conv2d(x, w, b, 1, padding, dilation, groups, algorithm=algo)
    assert F.last_algorithm() == algo
    ref = R.conv2d(x, w, b, 1, padding, dilation, groups)
    atol = REL_BOUND[algo] * scale_of(x, w, b, padding, dilation, groups)
    assert_close(y, ref, atol=atol, rtol=0, what=f"{algo} vs reference")
    return x, w, b, y


# (N, C, (H, W), O, padding, dilation, groups)
SHAPES = [
    (1, 1, (1, 1), 1, 1, 1, 1),                 # 1x1 image: one tile, mostly padding
    (2, 3, (2, 2), 5, 1, 1, 1),                 # 2x2 image
    (3, 7, (11, 13), 13, 1, 1, 1),              # batch 3, prime channels, partial tiles
    (1, 19, (9, 10), 23, (0, 1, 2, 1), 1, 1),   # asymmetric pads (top, left, bottom, right)
    (1, 17, (16, 17), 31, 0, 1, 1),             # no padding
    (1, 5, (7, 9), 9, (2, 0, 0, 3), 2, 1),      # dilation 2 with asymmetric pads
    (1, 24, (15, 14), 20, 3, 3, 1),             # dilation 3
    (1, 8, (9, 11), 8, (1, 2), (1, 2), 1),      # dilation differs per axis
    (1, 3, (3, 3), 8, 4, 2, 1),                 # pads wider than the image: all-padding windows
    (1, 32, (10, 7), 34, 1, 1, 2),              # groups 2 (16 and 17 channels per group)
    (2, 34, (13, 12), 38, 2, 2, 2),             # groups 2, dilation 2, prime channels per group
    (1, 130, (6, 6), 70, 1, 1, 1),              # several output-channel chunks, C_in % 8 != 0
    (1, 9, (12, 12), 200, 1, 1, 1),             # many output-channel blocks
    (1, 40, (25, 25), 40, 1, 1, 1),             # several tile blocks
    (2, 64, (14, 14), 64, "same", 1, 1),
]


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("case", SHAPES, ids=[str(c) for c in SHAPES])
def test_winograd_shapes(case, algo, rng, isa):
    N, C, hw, O, p, d, g = case
    x, w, b, y = check(rng, algo, N, C, hw, O, p, d, g)
    if HAVE_TORCH and (not isinstance(p, tuple) or len(p) == 2):  # torch: no 4-sided pads
        yt = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 1, p, d, g)
        atol = REL_BOUND[algo] * scale_of(x, w, b, p, d, g) * 2
        assert_close(y, yt.numpy(), atol=atol, rtol=0, what=f"{algo} vs torch")


@pytest.mark.parametrize("algo", WINO)
def test_winograd_without_bias_and_with_clamp(algo, rng, isa):
    x = randn(rng, 2, 21, 10, 11)
    w = randn(rng, 18, 21, 3, 3)
    check(rng, algo, 2, 21, (10, 11), 18, bias=False)
    op = prepare_conv(2, x.shape, w, None, padding=1, algorithm=algo, clamp=(0.0, 6.0))
    assert op.algorithm == algo
    y = op.run(x)
    ref = R.conv2d(x, w, None, 1, 1)
    atol = REL_BOUND[algo] * scale_of(x, w, None, 1, 1, 1)
    assert_close(y, np.clip(ref, 0, 6), atol=atol, rtol=0)
    assert y.min() == 0.0 and y.max() == 6.0


ACTS = {
    "none": lambda v: v,
    "hardswish": lambda v: v * np.clip(v + 3, 0, 6) / 6,
    "silu": lambda v: v / (1 + np.exp(-v)),
    "tanh": np.tanh,
    "leaky_relu": lambda v: np.where(v < 0, 0.1 * v, v),
}


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("act", list(ACTS))
def test_winograd_fused_activation_and_residual(algo, act, rng, isa):
    """clamp(f(conv + bias + residual)) with partial tiles, dilation 2, groups 2 and batch 3:
    the output transform adds bias and residual, the activation runs as a per-row pass."""
    x = randn(rng, 3, 34, 11, 9)
    w = randn(rng, 36, 17, 3, 3)
    b = randn(rng, 36)
    ref = R.conv2d(x, w, b, 1, (2, 1, 3, 2), 2, 2).astype(np.float64)
    res = randn(rng, *ref.shape)
    lo, hi = (-0.5, 2.0) if act != "tanh" else (-np.inf, np.inf)
    expect = np.clip(ACTS[act](ref + res), lo, hi)
    op = prepare_conv(2, x.shape, w, b, 1, (2, 1, 3, 2), 2, 2, 0, False, algo, (lo, hi), act,
                      0.1 if act == "leaky_relu" else 0.0)
    assert op.algorithm == algo
    y = op.run(x, res)
    atol = REL_BOUND[algo] * scale_of(x, w, b, (2, 1, 3, 2), 2, 2)
    assert_close(y, expect, atol=atol, rtol=1e-5, what=f"{algo} {act}")


# Channel counts at the edges of the transforms' channel steps (8 on AVX2, 16 on AVX-512 with
# 8-channel tails of 8 or fewer).
EDGE_CHANNELS = [1, 15, 16, 17, 31, 33]


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("act", ["none", "hardswish"])
@pytest.mark.parametrize("c", EDGE_CHANNELS)
def test_winograd_channel_edges(c, act, algo, rng, isa):
    """C_in = C_out = c (input- and output-transform tails), batch 2, asymmetric pads, with the
    residual and the clamp in the output transform and an activation pass after it."""
    check_forced_epilogue(rng, algo, (2, c, 9, 11), (c, c, 3, 3), 1, (2, 0, 1, 3), act, ACTS[act],
                          REL_BOUND[algo])


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("c", [16, 17, 31, 33])
def test_winograd_channel_edges_grouped(c, algo, rng, isa):
    """Groups 2 of c channels: group 1's inputs and outputs start mid-vector."""
    check(rng, algo, 2, 2 * c, (7, 10), 2 * c, (1, 2, 0, 1), 1, 2)


@pytest.mark.parametrize("vector_isa", ["avx512", "avx2"])
def test_scalar_and_vector_kernels_agree(rng, vector_isa):
    if not _native.cpu_supports_isa(vector_isa):
        pytest.skip(f"the CPU lacks {vector_isa} (best here: {_native.best_isa()})")
    x = randn(rng, 1, 37, 19, 23)
    w = randn(rng, 29, 37, 3, 3)
    old = _native.get_isa()
    try:
        for algo in WINO:
            _native.set_isa(vector_isa)
            ya = F.conv2d(x, w, padding=1, algorithm=algo)
            _native.set_isa("scalar")
            ys = F.conv2d(x, w, padding=1, algorithm=algo)
            assert_close(ya, ys, atol=2 * REL_BOUND[algo] * scale_of(x, w, None, 1, 1, 1), rtol=0)
    finally:
        _native.set_isa(old)


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("c_in,c_out,size,dilation", [
    (96, 128, 14, 1),
    # transformed inputs of a tile block above 1 MB: a tile block per thread, no channel split
    (250, 200, 27, 2), (288, 280, 27, 2)])
def test_threads_and_blocking_give_identical_results(algo, c_in, c_out, size, dilation, rng):
    """The 2-thread plan splits output channels and tile blocks differently; every output is
    still the same sum in the same order."""
    x = randn(rng, 1, c_in, size, size)
    w = randn(rng, c_out, c_in, 3, 3)
    old = convengine.get_num_threads()
    try:
        convengine.set_num_threads(1)
        y1 = F.conv2d(x, w, padding=dilation, dilation=dilation, algorithm=algo)
        convengine.set_num_threads(2)
        y2 = F.conv2d(x, w, padding=dilation, dilation=dilation, algorithm=algo)
    finally:
        convengine.set_num_threads(old)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("n,c_in,c_out,size,groups", [
    (1, 32, 128, 27, 1), (1, 64, 256, 13, 1), (2, 48, 40, 13, 1), (1, 34, 66, 9, 2),
    (3, 17, 29, 11, 1)])
def test_far_cores_blocking_gives_identical_results(algo, n, c_in, c_out, size, groups, rng):
    """With the pool's threads on cores that share no cache (ThreadPool::far_cores), a U below
    2 MB is cut into a tile block per thread instead of channel blocks over one shared
    transformed input: the same sums in the same order as 1 thread, with a residual and
    batches, groups and channel tails."""
    x = randn(rng, n, c_in, size, size)
    w = randn(rng, c_out, c_in // groups, 3, 3)
    b = randn(rng, c_out)
    old = convengine.get_num_threads()
    ys = {}
    try:
        convengine.set_num_threads(1)
        ys[1] = F.conv2d(x, w, b, padding=1, groups=groups, algorithm=algo)
        convengine.set_num_threads(2)
        for far in (0, 1000):
            _native.force_thread_handoff_ns(far)
            assert _native.thread_handoff_ns() == far
            ys[far] = F.conv2d(x, w, b, padding=1, groups=groups, algorithm=algo)
    finally:
        _native.force_thread_handoff_ns(-1)
        convengine.set_num_threads(old)
    assert _native.thread_handoff_ns() >= 0
    np.testing.assert_array_equal(ys[0], ys[1])
    np.testing.assert_array_equal(ys[1000], ys[1])
    want = F.conv2d(x, w, b, padding=1, groups=groups, algorithm="igemm")
    assert_close(ys[1000], want, atol=REL_BOUND[algo] * scale_of(x, w, b, 1, 1, groups), rtol=0)


@pytest.mark.parametrize("algo", WINO)
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("n,c_in,c_out,size", [
    (1, 256, 256, 7), (1, 200, 130, 9), (2, 96, 37, 5), (1, 33, 250, 4), (1, 129, 64, 11)])
def test_weight_heavy_channel_split_gives_identical_results(algo, threads, n, c_in, c_out, size,
                                                            rng):
    """Transformed weights at least as large as the whole transformed input: on several threads
    whose cores share a cache every tile is one block and the output channels are cut into one block per thread (each
    thread reads its share of U once): the same sums in the same order as 1 thread, with
    channel tails, a block narrower than the others and batches."""
    x = randn(rng, n, c_in, size, size)
    w = randn(rng, c_out, c_in, 3, 3)
    b = randn(rng, c_out)
    old = convengine.get_num_threads()
    try:
        convengine.set_num_threads(1)
        y1 = F.conv2d(x, w, b, padding=1, algorithm=algo)
        convengine.set_num_threads(threads)
        _native.force_thread_handoff_ns(0)  # cores sharing a cache: the split applies
        yt = F.conv2d(x, w, b, padding=1, algorithm=algo)
    finally:
        _native.force_thread_handoff_ns(-1)
        convengine.set_num_threads(old)
    np.testing.assert_array_equal(yt, y1)
    want = F.conv2d(x, w, b, padding=1, algorithm="igemm")
    assert_close(yt, want, atol=REL_BOUND[algo] * scale_of(x, w, b, 1, 1, 1), rtol=0)


def ref64(x, w, b, padding):
    """float64 direct conv (3x3, stride 1, symmetric padding) and the conv of |x| with |w|."""
    from numpy.lib.stride_tricks import sliding_window_view
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (3, 3), axis=(2, 3))
    w64 = w.astype(np.float64)
    y = np.einsum("nchwij,ocij->nohw", win, w64, optimize=True) + b[None, :, None, None]
    s = np.einsum("nchwij,ocij->nohw", np.abs(win), np.abs(w64), optimize=True)
    return y, s


def measure_errors(rng, algos, c_in, hw, c_out, dist):
    """max |y - y64| / max(sum |w||x|) for each algorithm on one random problem."""
    x = rng.standard_normal((1, c_in, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
    if dist == "relu":
        x = np.maximum(x, 0)
    elif dist == "abs":
        x, w = np.abs(x), np.abs(w)
    b = np.zeros(c_out, np.float32)
    y64, s = ref64(x, w, b, 1)
    return {a: float(np.max(np.abs(F.conv2d(x, w, b, padding=1, algorithm=a) - y64)) / s.max())
            for a in algos}


@pytest.mark.parametrize("dist", ["normal", "relu", "abs"])
@pytest.mark.parametrize("c_in,hw", [(64, 16), (512, 8)])
def test_error_against_float64(c_in, hw, dist, rng, isa):
    err = measure_errors(rng, ["igemm", *WINO], c_in, hw, 32, dist)
    for algo, e in err.items():
        assert e < REL_BOUND[algo], f"{algo}: relative error {e:.2e} above {REL_BOUND[algo]:.0e}"
    # The error is a few float32 ulps of the scale, not noise: F(2,3) never loses to F(6,3)
    # by more than the bound, and every variant is far below 1e-4.
    assert max(err.values()) < 1e-4


@pytest.mark.parametrize("shape,expect", [
    # (C_in, C_out, H, W, dilation)
    ((64, 64, 56, 56, 1), "winograd"),
    ((256, 256, 14, 14, 1), "winograd"),
    ((256, 256, 28, 28, 2), "winograd"),
    ((3, 64, 56, 56, 1), "igemm"),
])
def test_automatic_choice(shape, expect, rng):
    c_in, c_out, h, w_, d = shape
    x = randn(rng, 1, c_in, h, w_)
    w = randn(rng, c_out, c_in, 3, 3)
    F.conv2d(x, w, padding=d, dilation=d, algorithm="fast")
    assert F.last_algorithm().startswith(expect)
    # accurate by default: of the Winograd variants only F(2x2, 3x3) (more accurate than igemm)
    F.conv2d(x, w, padding=d, dilation=d)
    assert F.last_algorithm() not in ("winograd_f4", "winograd_f6")


@pytest.mark.parametrize("call", [
    lambda x, w: F.conv2d(x, w, stride=2, algorithm="winograd_f4"),
    lambda x, w: F.conv2d(x, np.zeros((16, 32, 5, 5), np.float32), algorithm="winograd_f2"),
    lambda x, w: F.conv2d(x, np.zeros((16, 8, 3, 3), np.float32), groups=4, algorithm="winograd_f6"),
    lambda x, w: F.conv1d(x[:, :, 0], w[:, :, 0], algorithm="winograd_f4"),
    lambda x, w: F.conv3d(np.repeat(x[:, :, None], 3, 2), np.repeat(w[:, :, None], 3, 2),
                          algorithm="winograd_f4"),
    lambda x, w: F.conv3d(x[:, :, None], w[:, :, None], padding=(1, 0, 0), algorithm="winograd_f4"),
    lambda x, w: F.conv_transpose2d(x, np.zeros((32, 16, 3, 3), np.float32), algorithm="winograd_f2"),
], ids=["stride2", "5x5", "8-channel groups", "conv1d", "conv3d_kd3",
                         "conv3d_depth_padding", "transposed"])
def test_winograd_does_not_apply(call, rng):
    x = randn(rng, 1, 32, 8, 8)
    w = randn(rng, 16, 32, 3, 3)
    with pytest.raises(ValueError, match="does not apply"):
        call(x, w)
