"""Pointwise convolution as a packed GEMM (algorithm "gemm"): every kernel shape, column and row
tails, groups, channel slices (pixel strides), split K, fused clamp / activation / residual,
checked against the Cython reference on both ISAs and against torch where installed."""
import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from convengine import _native
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, assert_close, conv_atol, num_threads, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

# (N, C, spatial, O, groups): odd/prime channels, c_out that picks the 4x24 kernel (24, 72) on
# AVX2, and on AVX-512 the 8x16 (15, 80), 8x24 (24, 72), 6x40 (40, 119) and 6x48 (47, 144) ones, pixel
# counts not a multiple of 4, 6 or 8, groups in {1, 2, 3, C/4, C/8}.
CASES = [
    (1, 31, (8, 8), 29, 1),
    (3, 17, (5, 7), 33, 1),
    (1, 144, (7, 9), 24, 1),        # 4x24 kernel
    (2, 40, (3, 5), 72, 1),         # 4x24 kernel, 3 panels
    (1, 13, (1, 1), 5, 1),          # one pixel
    (1, 7, (11, 1), 1, 1),          # one output channel
    (3, 24, (6, 7), 24, 3),
    (2, 18, (5, 5), 10, 2),
    (1, 32, (5, 3), 32, 8),         # C/4
    (1, 64, (4, 5), 16, 8),         # C/8
    (1, 240, (7, 7), 240, 3),       # ShuffleNet layer shape
    (1, 96, (6, 6), 256, 1),        # several column chunks at 2 threads
    (2, 19, (3, 3), 80, 1),         # AVX-512 8x16, 9 pixels: 8 + 1
    (1, 23, (5, 3), 15, 1),         # AVX-512 8x16, a partial panel
    (1, 23, (5, 3), 47, 1),         # AVX-512 6x48, a partial panel
    (2, 21, (5, 7), 144, 1),        # AVX-512 6x48, 3 panels
    (1, 29, (7, 7), 40, 1),         # AVX-512 6x40
    (2, 37, (5, 3), 119, 1),        # AVX-512 6x40, 3 panels, the last one partial
]


def _check(y, x, w, b, groups, clamp=(-np.inf, np.inf)):
    ref = np.clip(R.conv2d(x, w, b, 1, 0, 1, groups), *clamp)
    atol = conv_atol(w.shape[1])
    assert_close(y, ref, atol=atol, what="vs reference")
    if HAVE_TORCH:
        yt = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                       groups=groups).clamp(*clamp).numpy()
        assert_close(y, yt, atol=atol, what="vs torch")


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_gemm_pointwise(case, rng, isa):
    N, C, hw, O, g = case
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C // g, 1, 1)
    b = randn(rng, O)
    y = F.conv2d(x, w, b, groups=g, algorithm="gemm")
    assert F.last_algorithm() == "gemm"
    _check(y, x, w, b, g)
    # Auto selection takes gemm for pointwise convs unless a tiny-group or depthwise path fits.
    F.conv2d(x, w, None, groups=g)
    assert F.last_algorithm() in ("gemm", "group", "depthwise")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_gemm_threads(rng, threads):
    with num_threads(threads):
        x = randn(rng, 2, 40, 9, 7)
        w = randn(rng, 200, 40, 1, 1)
        y = F.conv2d(x, w, None, algorithm="gemm")
        _check(y, x, w, None, 1)


# Weights above 1 MB per group (engine/packing.h, kStreamedWeightBytes) in column chunks of a
# panel or two (K of 1031 per group): each task's calls stream in the next task's chunk
# (native/gemm/gemm-prefetch.h), which may be in the next group or image, or belong to another
# thread; the last chunk partial.
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", [(2, 1031, (5, 7), 300, 1), (1, 2062, (3, 5), 600, 2),
                                  (3, 1031, (1, 1), 263, 1)])
def test_gemm_streamed_chunks(case, rng, isa, threads):
    N, C, hw, O, g = case
    assert C // g * O // g * 4 > 1 << 20
    x, w, b = randn(rng, N, C, *hw), randn(rng, O, C // g, 1, 1), randn(rng, O)
    with num_threads(threads):
        y = F.conv2d(x, w, b, groups=g, algorithm="gemm")
    _check(y, x, w, b, g)


# Inputs of 1 MB or more with 48 or more columns per chunk run the -prfm kernels, which also
# prefetch the next tile's rows of A and C: a tail tile, both kernel shapes, groups, split K, the
# residual in the epilogue, and 1-2 threads (the prefetched rows belong to another thread's tile).
PREFETCH_CASES = [
    (1, 67, (61, 67), 53, 1),       # 6x16, 4087 pixels: a 1-row tail tile
    (1, 67, (61, 67), 72, 1),       # 4x24
    (1, 67, (61, 67), 80, 1),       # AVX-512 8x16
    (1, 67, (61, 67), 120, 1),      # AVX-512 6x40 (72 above: 8x24)
    (1, 67, (61, 67), 48, 1),       # AVX-512 6x48
    (1, 134, (37, 59), 98, 2),      # 49 columns per group
    (1, 4099, (8, 9), 50, 1),       # split K
]


def _gemm_with_residual(rng, case, threads, clamp):
    """A 1x1 conv (N, C, hw) -> O with groups g through the gemm algorithm, with a residual and
    a clamp, and its float64 reference: (x, w, b, y, ref)."""
    N, C, hw, O, g = case
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C // g, 1, 1)
    b = randn(rng, O)
    res = randn(rng, N, O, *hw)
    with num_threads(threads):
        op = prepare_conv(2, x.shape, w, b, groups=g, algorithm="gemm", clamp=clamp)
        y = op.run(x, res)
    ref = np.clip(R.conv2d(x, w, b, 1, 0, 1, g).astype(np.float64) + res, *clamp)
    return x, w, b, y, ref


# Weights above 512 KB, A within it, at least as many columns as rows: on 2+ threads the columns
# alone are split, in a multiple of the threads of chunks (engine/gemm_conv.cpp), unless the
# panels do not share out evenly (960 -> 160: five panels); prime c_out, a single row, the
# residual and clamp in the epilogue.
COLUMN_SPLIT_CASES = [(1, 464, (7, 7), 1024, 1), (1, 331, (5, 3), 509, 1), (1, 960, (7, 7), 160, 1),
                      (1, 300, (1, 1), 700, 1), (1, 1031, (3, 3), 263, 1)]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", COLUMN_SPLIT_CASES, ids=[str(c) for c in COLUMN_SPLIT_CASES])
def test_gemm_column_split(case, rng, isa, threads):
    N, C, hw, O, g = case
    assert C * O * 4 > 512 * 1024 and C * hw[0] * hw[1] * 4 <= 512 * 1024 and O >= hw[0] * hw[1]
    _, _, _, y, ref = _gemm_with_residual(rng, case, threads, (-3.0, 4.0))
    assert_close(y, ref, atol=conv_atol(C), what="column-split gemm vs reference")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", PREFETCH_CASES, ids=[str(c) for c in PREFETCH_CASES])
def test_gemm_prefetching_kernels(case, rng, isa, threads):
    N, C, hw, O, g = case
    assert N * C * hw[0] * hw[1] * 4 >= 1 << 20 and O // g >= 48
    _, _, _, y, ref = _gemm_with_residual(rng, case, threads, (-3.0, 4.0))
    assert_close(y, ref, atol=conv_atol(C // g), what="prefetching gemm vs reference")


def test_gemm_split_k(rng, isa):
    # K above 4096 is split into blocks that accumulate into the output.
    x = randn(rng, 2, 4099, 3, 2)
    w = randn(rng, 7, 4099, 1, 1)
    b = randn(rng, 7)
    op = prepare_conv(2, x.shape, w, b, algorithm="gemm", clamp=(-20.0, 25.0))
    _check(op.run(x), x, w, b, 1, clamp=(-20.0, 25.0))
    res = randn(rng, 2, 7, 3, 2)
    op = prepare_conv(2, x.shape, w, b, algorithm="gemm", activation="silu")
    ref = R.conv2d(x, w, b, 1, 0, 1, 1).astype(np.float64) + res
    assert_close(op.run(x, res), ref / (1 + np.exp(-ref)), atol=conv_atol(4099), what="split K + silu + residual")


# Tiles of one row (a batch-1 Gemm, a 1x1 image, the last row when MR does not divide M) run the
# 1xNR kernels, which cut K into 4 quarters with their own accumulators: K below 4, not a
# multiple of 4, split into K blocks; both panel widths (16: 17, 100 columns; 24: 24, 72); a
# partial last panel; groups; pixel counts with a 1-row tail tile (7 = 6 + 1, 5 = 4 + 1).
ROW_CASES = [
    (1, 1, (1, 1), 17, 1),
    (2, 3, (1, 1), 24, 1),
    (1, 5, (1, 1), 100, 1),
    (1, 9, (1, 1), 72, 1),
    (3, 130, (1, 1), 34, 2),
    (1, 4099, (1, 1), 40, 1),       # split K: the row kernel accumulates into C
    (1, 9001, (1, 1), 19, 1),
    (1, 37, (7, 1), 50, 1),         # 6x16: a 1-row tail tile
    (1, 38, (5, 1), 48, 1),         # 4x24: a 1-row tail tile
    (1, 41, (9, 1), 16, 1),         # AVX-512 8x16: a 1-row tail tile
    (1, 41, (7, 1), 48, 1),         # AVX-512 6x48: a 1-row tail tile (1x48)
    (1, 11, (1, 1), 120, 1),        # AVX-512 1x40 (24, 72 above: 1x24)
    (1, 13, (7, 1), 39, 1),         # AVX-512 6x40: a 1-row tail tile, a partial panel
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ROW_CASES, ids=[str(c) for c in ROW_CASES])
def test_gemm_row_kernel(case, rng, isa, threads):
    C, g = case[1], case[4]
    x, w, b, y, ref = _gemm_with_residual(rng, case, threads, (-2.0, 3.0))
    assert_close(y, ref, atol=conv_atol(C // g), what="row kernel + residual")
    with num_threads(threads):
        y0 = F.conv2d(x, w, b, groups=g, algorithm="gemm")
    _check(y0, x, w, b, g)


def test_gemm_1d_3d(rng, isa):
    x = randn(rng, 2, 9, 13)
    w = randn(rng, 11, 9, 1)
    assert_close(F.conv1d(x, w, None, algorithm="gemm"), R.conv1d(x, w, None), atol=conv_atol(9))
    x = randn(rng, 1, 6, 3, 4, 5)
    w = randn(rng, 20, 3, 1, 1, 1)
    assert_close(F.conv3d(x, w, None, groups=2, algorithm="gemm"), R.conv3d(x, w, None, groups=2),
                 atol=conv_atol(3))


@pytest.mark.parametrize("clamp", [(0.0, np.inf), (0.0, 6.0), (-0.5, 0.25)])
def test_gemm_fused_clamp(rng, isa, clamp):
    x = randn(rng, 3, 21, 5, 5)
    w = randn(rng, 30, 21, 1, 1)
    b = randn(rng, 30)
    op = prepare_conv(2, x.shape, w, b, algorithm="gemm", clamp=clamp)
    _check(op.run(x), x, w, b, 1, clamp)


@pytest.mark.parametrize("act", ["hardswish", "leaky_relu", "sigmoid"])
@pytest.mark.parametrize("groups", [1, 3])
def test_gemm_activation_residual(rng, isa, act, groups):
    x = randn(rng, 3, 12, 5, 7)
    w = randn(rng, 27, 12 // groups, 1, 1)
    b = randn(rng, 27)
    res = randn(rng, 3, 27, 5, 7)
    v = R.conv2d(x, w, b, 1, 0, 1, groups).astype(np.float64) + res
    expect = {"hardswish": v * np.clip(v + 3, 0, 6) / 6, "leaky_relu": np.where(v < 0, 0.1 * v, v),
              "sigmoid": 1 / (1 + np.exp(-v))}[act]
    op = prepare_conv(2, x.shape, w, b, groups=groups, algorithm="gemm", activation=act, alpha=0.1)
    assert_close(op.run(x, res), expect, atol=conv_atol(12), what=act)


def test_gemm_inplace_residual(rng, isa):
    # The residual given as the output buffer itself (a skip connection accumulated in place).
    x = randn(rng, 2, 5, 6, 50)
    w = randn(rng, 20, 19, 1, 1)
    b = randn(rng, 20)
    op = prepare_conv(2, (2, 19, 5, 6), w, b, algorithm="gemm")
    y_full = randn(rng, 2, 5, 6, 20)
    ref = R.conv2d(np.ascontiguousarray(x[..., 3:22].transpose(0, 3, 1, 2)), w, b, 1, 0, 1, 1)
    ref = ref.transpose(0, 2, 3, 1) + y_full
    y = y_full.copy()
    op.run_nhwc(np.ascontiguousarray(x[..., 3:22]), y, y)
    assert_close(y, ref, atol=conv_atol(19), what="in-place residual")


# A kernel covering the whole unpadded input (one output pixel per image; VGG's ConvMlp head):
# each image is one GEMM row of taps x C, the batch its rows. Batches across the row tiles of
# every kernel (1, 7, 13 images), strides (which then change nothing), one input channel,
# the column tails of the AVX-512 kernels.
WHOLE = [
    (1, 5, (7, 7), 33, 1), (7, 13, (3, 5), 40, 2), (13, 3, (4, 4), 47, 3), (2, 1, (5, 5), 24, 1),
    (3, 8, (1, 9), 80, 1), (9, 29, (2, 2), 144, 2)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", WHOLE, ids=[str(c) for c in WHOLE])
def test_gemm_whole_window(case, threads, rng, isa):
    N, C, hw, O, stride = case
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C, *hw)
    b = randn(rng, O)
    with num_threads(threads):
        y = F.conv2d(x, w, b, stride=stride)
        assert F.last_algorithm() == "gemm"
        yi = F.conv2d(x, w, b, stride=stride, algorithm="igemm")
    ref = R.conv2d(x, w, b, stride, 0, 1, 1)
    assert y.shape == (N, O, 1, 1)
    assert_close(y, ref, atol=conv_atol(C * hw[0] * hw[1]), what="vs reference")
    assert_close(y, yi, atol=conv_atol(C * hw[0] * hw[1]), what="vs igemm")
    if HAVE_TORCH:
        yt = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride)
        assert_close(y, yt.numpy(), atol=conv_atol(C * hw[0] * hw[1]), what="vs torch")


def test_gemm_whole_window_ranks_activation_residual(rng, isa):
    """Rank 1 and 3, and the fused activation and residual of a whole-window kernel."""
    x1 = randn(rng, 4, 6, 11)
    w1 = randn(rng, 17, 6, 11)
    assert_close(F.conv1d(x1, w1, None, algorithm="gemm"), R.conv1d(x1, w1, None),
                 atol=conv_atol(66))
    x3 = randn(rng, 3, 5, 2, 3, 4)
    w3 = randn(rng, 19, 5, 2, 3, 4)
    assert_close(F.conv3d(x3, w3, None, algorithm="gemm"), R.conv3d(x3, w3, None),
                 atol=conv_atol(120))
    x = randn(rng, 5, 7, 3, 3)
    w = randn(rng, 27, 7, 3, 3)
    b = randn(rng, 27)
    res = randn(rng, 5, 27, 1, 1)
    v = R.conv2d(x, w, b, 1, 0, 1, 1).astype(np.float64) + res
    op = prepare_conv(2, x.shape, w, b, algorithm="auto", activation="hardswish", padding=0)
    assert op.algorithm == "gemm"
    assert_close(op.run(x, res), v * np.clip(v + 3, 0, 6) / 6, atol=conv_atol(63))


@pytest.mark.parametrize("threads", [1, 2])
def test_gemm_one_pixel_images_batch(rng, isa, threads):
    """1x1 on 1x1 images, a batch across row tiles: one GEMM over the images, with a residual
    apart from and in the output."""
    x = randn(rng, 19, 23, 1, 1)
    w = randn(rng, 50, 23, 1, 1)
    b = randn(rng, 50)
    res = randn(rng, 19, 50, 1, 1)
    with num_threads(threads):
        op = prepare_conv(2, x.shape, w, b, algorithm="gemm")
        y = op.run(x, res)
        out = res.transpose(0, 2, 3, 1).copy()
        op.run_nhwc(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), out, out)
    ref = R.conv2d(x, w, b, 1, 0, 1, 1) + res
    assert_close(y, ref, atol=conv_atol(23), what="residual")
    assert_close(out.transpose(0, 3, 1, 2), ref, atol=conv_atol(23), what="in-place residual")


def test_gemm_does_not_apply(rng):
    x = randn(rng, 1, 4, 5, 5)
    for kw in (dict(stride=2), dict(padding=1)):
        with pytest.raises(ValueError, match="does not apply"):
            F.conv2d(x, randn(rng, 4, 4, 1, 1), None, algorithm="gemm", **kw)
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, randn(rng, 4, 4, 3, 3), None, algorithm="gemm")
    with pytest.raises(ValueError, match="does not apply"):
        F.conv_transpose2d(x, randn(rng, 4, 4, 1, 1), None, algorithm="gemm")
    # a kernel the size of the input, but padded, grouped or dilated
    for kw in (dict(padding=1), dict(groups=2)):
        with pytest.raises(ValueError, match="does not apply"):
            F.conv2d(x, randn(rng, 4, 4 // kw.get("groups", 1), 5, 5), None, algorithm="gemm", **kw)
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, randn(rng, 4, 4, 3, 3), None, dilation=2, algorithm="gemm")
