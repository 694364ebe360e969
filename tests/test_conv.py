"""Convolutions (1D/2D/3D, transposed, true convolution, grouped, dilated, strided, padded) and
the compositions built from them, checked against the Cython reference on both ISAs and against
torch where it is installed."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import convengine
import convengine.functional as F
import convengine.reference as R
from conftest import HAVE_TORCH, assert_close, conv_atol, num_threads, randn
from conv_checks import check_conv

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


# (N, C, (H, W), O, k, stride, padding, dilation, groups)
CONV2D = [
    (1, 1, (1, 1), 1, 1, 1, 0, 1, 1),
    (2, 3, (11, 13), 5, 3, 1, 1, 1, 1),
    (1, 7, (5, 7), 13, 3, 2, 1, 1, 1),
    (3, 17, (9, 10), 17, 3, 1, 1, 1, 17),       # depthwise
    (1, 8, (12, 11), 16, 3, 1, 1, 1, 8),        # depthwise, multiplier 2
    (1, 6, (10, 10), 6, 3, 1, 2, 2, 2),         # grouped, dilated
    (2, 12, (7, 9), 9, 3, 2, (0, 1, 2, 1), 1, 3),  # asymmetric ONNX pads, 3 groups
    (1, 5, (13, 3), 11, (1, 5), (1, 2), (0, 2), 1, 1),
    (1, 31, (8, 8), 29, 1, 1, 0, 1, 1),          # pointwise, prime channels
    (1, 24, (6, 7), 24, 1, 1, 0, 1, 3),          # pointwise grouped
    (1, 3, (17, 19), 19, 7, 2, 3, 1, 1),         # stem-like 7x7 s2
    (1, 4, (6, 6), 4, 4, 3, 1, 1, 2),            # even kernel, stride 3
    (2, 2, (5, 5), 3, 5, 1, "same", 1, 1),
    (1, 3, (9, 8), 2, 3, 1, "same", 3, 1),
    (1, 3, (9, 8), 2, 3, 2, "valid", 1, 1),
    (1, 64, (14, 14), 64, 3, 1, 1, 1, 1),
    (1, 16, (2, 3), 7, 3, 1, (2, 0, 0, 2), 1, 1),  # smaller than the kernel, pads on one side
    (1, 3, (3, 3), 40, 3, 1, 4, 2, 1),           # padding wider than the image
    (2, 9, (7, 11), 80, 3, 1, 1, 1, 1),          # AVX-512: igemm 8x16, 5 panels
    (1, 5, (9, 9), 33, 3, 2, 1, 1, 1),           # AVX-512: igemm 8x16, 1-column tail
    (1, 6, (8, 9), 96, 3, 1, 1, 1, 2),           # AVX-512: 2 groups of 48 columns, igemm 8x16
]


@pytest.mark.parametrize("case", CONV2D, ids=[str(c) for c in CONV2D])
def test_conv2d(case, rng, isa):
    N, C, hw, O, k, s, p, d, g = case
    check_conv(2, rng, N, C, hw, O, k, s, p, d, g, algorithm="igemm")
    check_conv(2, rng, N, C, hw, O, k, s, p, d, g, bias=False)


# Packed weights above 1 MB per group (engine/igemm_conv.cpp, kStreamedWeights) run one task
# per NR-column panel over every tile, each call streaming in part of the next task's panel:
# batch and groups (the next panel in another image or group), tail tiles and panels,
# asymmetric pads, a strided 1x1, 1-3 threads.
STREAMED_IGEMM = [
    (2, 131, (9, 7), 260, 3, 2, (1, 0, 2, 1), 1, 1),
    (1, 262, (7, 9), 600, 3, 1, 1, 1, 2),
    (1, 1031, (5, 7), 300, 1, 2, 0, 1, 1),
]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", STREAMED_IGEMM, ids=[str(c) for c in STREAMED_IGEMM])
def test_conv2d_streamed_weights(case, rng, isa, threads):
    N, C, hw, O, k, s, p, d, g = case
    assert C // g * k * k * O // g * 4 > 1 << 20
    with num_threads(threads):
        check_conv(2, rng, N, C, hw, O, k, s, p, d, g, algorithm="igemm")


CONV1D = [
    (1, 1, (1,), 1, 1, 1, 0, 1, 1),
    (2, 3, (50,), 6, 5, 2, 0, 3, 3),
    (3, 7, (19,), 5, 4, 1, (0, 3), 1, 1),        # causal padding (begin, end)
    (1, 13, (23,), 26, 3, 1, "same", 4, 13),     # dilated depthwise, multiplier 2
    (1, 16, (30,), 8, 1, 1, 0, 1, 2),
]


@pytest.mark.parametrize("case", CONV1D, ids=[str(c) for c in CONV1D])
def test_conv1d(case, rng, isa):
    check_conv(1, rng, *case)


CONV3D = [
    (1, 1, (1, 1, 1), 1, 1, 1, 0, 1, 1),
    (2, 3, (4, 7, 6), 5, 3, 1, 1, 1, 1),
    (1, 4, (5, 6, 7), 6, (3, 1, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), 2),
    (1, 5, (3, 5, 5), 5, 3, 1, (0, 1, 1, 2, 1, 0), 1, 5),
]


@pytest.mark.parametrize("case", CONV3D, ids=[str(c) for c in CONV3D])
def test_conv3d(case, rng, isa):
    check_conv(3, rng, *case)


def check_transpose(ndim, rng, N, C, spatial, O, k, stride, padding, output_padding, dilation,
                    groups, bias=True):
    x = randn(rng, N, C, *spatial)
    kk = (k,) * ndim if isinstance(k, int) else k
    w = randn(rng, C, O // groups, *kk)
    b = randn(rng, O) if bias else None
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[ndim]
    rfn = {1: R.conv_transpose1d, 2: R.conv_transpose2d, 3: R.conv_transpose3d}[ndim]
    y = fn(x, w, b, stride, padding, output_padding, groups, dilation)
    ref = rfn(x, w, b, stride, padding, output_padding, groups, dilation)
    atol = conv_atol(C // groups * int(np.prod(kk)))
    assert_close(y, ref, atol=atol, what="vs reference")
    if HAVE_TORCH:
        tfn = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[ndim]
        yt = tfn(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                 stride, padding, output_padding, groups, dilation)
        assert_close(y, yt.numpy(), atol=atol, what="vs torch")


# (N, C, spatial, O, k, stride, padding, output_padding, dilation, groups)
TRANSPOSED2D = [
    (1, 1, (1, 1), 1, 1, 1, 0, 0, 1, 1),
    (2, 4, (5, 6), 3, 4, 2, 1, 0, 1, 1),
    (1, 6, (7, 5), 4, 3, 3, 1, 2, 1, 2),
    (1, 4, (5, 5), 4, 3, 2, 2, 1, 2, 4),         # depthwise, dilated, output_padding < dilation
    (1, 5, (6, 6), 7, (2, 3), (2, 3), (0, 1), (1, 2), 1, 1),
    (3, 7, (3, 4), 11, 5, 2, 2, 1, 1, 1),
    (1, 9, (4, 4), 6, 2, 4, 0, 3, 1, 3),         # stride > kernel: phases with no taps
    (1, 2, (3, 3), 3, 3, 2, 0, 0, 2, 1),         # dilation shares a factor with the stride
    (1, 64, (7, 7), 32, 4, 2, 1, 0, 1, 1),
]


@pytest.mark.parametrize("case", TRANSPOSED2D, ids=[str(c) for c in TRANSPOSED2D])
def test_conv_transpose2d(case, rng, isa):
    check_transpose(2, rng, *case)


@pytest.mark.parametrize("case", [
    (2, 3, (9,), 4, 3, 2, 1, 1, 1, 1),
    (1, 6, (5,), 6, 4, 3, 0, 2, 2, 3),
], ids=str)
def test_conv_transpose1d(case, rng, isa):
    check_transpose(1, rng, *case)


@pytest.mark.parametrize("case", [
    (1, 3, (3, 4, 5), 4, 3, 2, 1, 1, 1, 1),
    (2, 4, (2, 3, 3), 6, (2, 3, 2), (1, 2, 2), (0, 1, 0), (0, 1, 1), 1, 2),
], ids=str)
def test_conv_transpose3d(case, rng, isa):
    check_transpose(3, rng, *case)


# ----- true convolution ---------------------------------------------------------------------

def _full_convolve2d(a, k):
    """scipy.signal.convolve2d(a, k, mode='full') from its definition."""
    H, W = a.shape
    KH, KW = k.shape
    out = np.zeros((H + KH - 1, W + KW - 1))
    for i in range(KH):
        for j in range(KW):
            out[i:i + H, j:j + W] += k[i, j] * a
    return out


def test_convolve2d_is_signal_processing_convolution(rng, isa):
    a = randn(rng, 9, 12)
    k = randn(rng, 3, 4)
    y = F.convolve2d(a[None, None], k[None, None], padding=(2, 3))
    expect = _full_convolve2d(a.astype(np.float64), k.astype(np.float64))
    assert_close(y[0, 0], expect, atol=conv_atol(12))
    try:
        import scipy.signal
        assert_close(y[0, 0], scipy.signal.convolve2d(a, k, mode="full"), atol=conv_atol(12))
    except ImportError:
        pass
    # Flipping matters: an asymmetric kernel gives a different answer from cross-correlation.
    assert not np.allclose(y, F.conv2d(a[None, None], k[None, None], padding=(2, 3)), atol=1e-3)


def test_convolve2d_multichannel(rng, isa):
    x = randn(rng, 2, 6, 8, 7)
    w = randn(rng, 4, 3, 3, 2)
    b = randn(rng, 4)
    y = F.convolve2d(x, w, b, stride=2, padding=(1, 0, 1, 1), groups=2)
    assert_close(y, R.convolve2d(x, w, b, 2, (1, 0, 1, 1), 1, 2), atol=conv_atol(18))


# ----- compositions ---------------------------------------------------------------------------

def test_depthwise_separable(rng, isa):
    """Depthwise 3x3 (multiplier 1) then pointwise 1x1: the MobileNet / Xception block."""
    x = randn(rng, 2, 13, 15, 11)
    wd, bd = randn(rng, 13, 1, 3, 3), randn(rng, 13)
    wp, bp = randn(rng, 21, 13, 1, 1), randn(rng, 21)
    y = F.conv2d(F.conv2d(x, wd, bd, 2, 1, groups=13), wp, bp)
    ref = R.conv2d(R.conv2d(x, wd, bd, 2, 1, groups=13), wp, bp)
    assert_close(y, ref, atol=conv_atol(13 * 9))
    if HAVE_TORCH:
        t = TF.conv2d(TF.conv2d(torch.from_numpy(x), torch.from_numpy(wd), torch.from_numpy(bd), 2, 1,
                                groups=13), torch.from_numpy(wp), torch.from_numpy(bp))
        assert_close(y, t.numpy(), atol=conv_atol(13 * 9))


def test_spatially_separable_equals_rank_one_kernel(rng, isa):
    """k x 1 then 1 x k equals one k x k conv whose kernel is the outer product (Sobel)."""
    x = randn(rng, 1, 1, 16, 13)
    col = np.array([1, 2, 1], np.float32).reshape(1, 1, 3, 1)
    row = np.array([1, 0, -1], np.float32).reshape(1, 1, 1, 3)
    y = F.conv2d(F.conv2d(x, col, padding=(1, 0)), row, padding=(0, 1))
    sobel = (col[0, 0] @ row[0, 0]).reshape(1, 1, 3, 3)
    assert_close(y, F.conv2d(x, sobel, padding=1), atol=1e-5)
    assert_close(y, R.conv2d(x, sobel, padding=1), atol=1e-5)


def test_spatially_separable_multichannel(rng, isa):
    """Inception-v3 style 1x7 then 7x1 with channel mixing in both."""
    x = randn(rng, 2, 12, 17, 17)
    w1, w2 = randn(rng, 10, 12, 1, 7), randn(rng, 12, 10, 7, 1)
    y = F.conv2d(F.conv2d(x, w1, padding=(0, 3)), w2, padding=(3, 0))
    ref = R.conv2d(R.conv2d(x, w1, padding=(0, 3)), w2, padding=(3, 0))
    assert_close(y, ref, atol=conv_atol(12 * 7 * 10 * 7) * 3)


def test_flattened_convolution(rng, isa):
    """Flattened conv: lateral 1x1 over channels, then per-channel vertical k x 1, then
    horizontal 1 x k. For one input channel this equals one rank-one 3D filter."""
    x = randn(rng, 2, 7, 12, 10)
    lateral, vert, horiz = randn(rng, 5, 7, 1, 1), randn(rng, 5, 1, 5, 1), randn(rng, 5, 1, 1, 5)
    b = randn(rng, 5)
    y = F.conv2d(F.conv2d(F.conv2d(x, lateral), vert, padding=(2, 0), groups=5), horiz, b,
                 padding=(0, 2), groups=5)
    # The same filter written as one dense conv: w[o, c, i, j] = lateral[o, c] * vert[o, i] * horiz[o, j].
    dense = (lateral[:, :, 0, 0][:, :, None, None] * vert[:, 0, :, 0][:, None, :, None]
             * horiz[:, 0, 0, :][:, None, None, :])
    assert_close(y, R.conv2d(x, dense, b, padding=2), atol=conv_atol(7 * 25) * 2)


def test_pointwise_grouped_and_shuffled_grouped(rng, isa):
    """ShuffleNet unit: 1x1 grouped conv, channel shuffle, depthwise 3x3, 1x1 grouped conv."""
    g = 3
    x = randn(rng, 2, 24, 9, 9)
    w1, w2, w3 = randn(rng, 12, 8, 1, 1), randn(rng, 12, 1, 3, 3), randn(rng, 24, 4, 1, 1)

    def unit(M):
        h = M.conv2d(x, w1, groups=g)
        h = M.channel_shuffle(h, g)
        h = M.conv2d(h, w2, padding=1, groups=12)
        return M.conv2d(h, w3, groups=g)

    y = unit(F)
    assert_close(y, unit(R), atol=conv_atol(8 * 9 * 4))
    if HAVE_TORCH:
        t = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w1), groups=g)
        t = TF.channel_shuffle(t, g) if hasattr(TF, "channel_shuffle") else torch.nn.ChannelShuffle(g)(t)
        t = TF.conv2d(t, torch.from_numpy(w2), padding=1, groups=12)
        t = TF.conv2d(t, torch.from_numpy(w3), groups=g)
        assert_close(y, t.numpy(), atol=conv_atol(8 * 9 * 4))


def test_dilated_equals_zero_inserted_kernel(rng, isa):
    """A dilation-d conv equals a dense conv with d-1 zeros inserted between the taps."""
    x = randn(rng, 1, 4, 20, 20)
    w = randn(rng, 6, 4, 3, 3)
    holes = np.zeros((6, 4, 7, 7), np.float32)
    holes[:, :, ::3, ::3] = w
    assert_close(F.conv2d(x, w, padding=3, dilation=3), F.conv2d(x, holes, padding=3),
                 atol=conv_atol(36))


def test_transposed_is_adjoint_of_conv(rng, isa):
    """<conv(x), y> == <x, conv_transpose(y)> for the same weights: the defining property."""
    x = randn(rng, 2, 6, 11, 9)
    w = randn(rng, 4, 3, 3, 4)
    y = F.conv2d(x, w, stride=2, padding=(1, 2), dilation=(1, 2), groups=2)
    r = randn(rng, *y.shape)
    # output_padding recovers the input size where the strided conv dropped a remainder.
    xt = F.conv_transpose2d(r, w, stride=2, padding=(1, 2), groups=2, dilation=(1, 2),
                            output_padding=(x.shape[2] - ((y.shape[2] - 1) * 2 - 2 + 3),
                                            x.shape[3] - ((y.shape[3] - 1) * 2 - 4 + 7)))
    assert xt.shape == x.shape
    lhs = float(np.sum(y.astype(np.float64) * r))
    rhs = float(np.sum(x.astype(np.float64) * xt))
    assert abs(lhs - rhs) <= 1e-4 * max(1.0, abs(lhs)) * 10


# ----- algorithms, threads, dtypes ----------------------------------------------------------

def test_algorithm_choice_and_forcing(rng):
    x = randn(rng, 1, 8, 10, 10)
    w = randn(rng, 8, 1, 3, 3)
    F.conv2d(x, randn(rng, 4, 8, 3, 3), stride=2)  # stride 1 3x3 goes to Winograd
    assert F.last_algorithm() == "igemm"
    y_igemm = F.conv2d(x, w, padding=1, groups=8, algorithm="igemm")
    assert F.last_algorithm() == "igemm"
    with pytest.raises(ValueError, match="algorithm must be one of"):
        F.conv2d(x, w, groups=8, algorithm="fft")
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, randn(rng, 4, 8, 3, 3), algorithm="depthwise")
    assert_close(y_igemm, R.conv2d(x, w, padding=1, groups=8), atol=conv_atol(9))


@pytest.mark.parametrize("threads", [2, 3, 5, 8])
def test_threads_give_identical_results(rng, threads):
    # Each thread starts on its own contiguous share of the tasks and then takes what is left
    # of the others': with more threads than tasks (the 1x1 image, the tiny depthwise) some
    # shares are empty.
    x = randn(rng, 2, 32, 23, 21)
    w = randn(rng, 48, 16, 3, 3)
    dw = randn(rng, 48, 1, 3, 3)
    small, w_small = randn(rng, 1, 48, 1, 1), randn(rng, 7, 48, 1, 1)
    outs = []
    for t in (1, threads):
        with num_threads(t):
            assert convengine.get_num_threads() == t
            y = F.conv2d(x, w, padding=1, groups=2)
            outs.append((y, F.conv2d(y, dw, padding=1, groups=48), F.conv2d(small, w_small)))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    assert_close(outs[1][1], R.conv2d(outs[0][0], dw, padding=1, groups=48), atol=conv_atol(9))


def test_python_threads_share_the_pool(rng):
    from concurrent.futures import ThreadPoolExecutor
    xs = [randn(rng, 1, 16, 20, 20) for _ in range(6)]
    w = randn(rng, 16, 16, 3, 3)
    serial = [F.conv2d(x, w, padding=1) for x in xs]
    with ThreadPoolExecutor(4) as ex:
        parallel = list(ex.map(lambda x: F.conv2d(x, w, padding=1), xs))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_float64_and_float16_are_converted(rng):
    x = rng.standard_normal((1, 3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    y = F.conv2d(x, w)
    assert y.dtype == np.float32
    assert_close(y, R.conv2d(x.astype(np.float32), w.astype(np.float32)), atol=conv_atol(27))
    assert F.conv2d(x.astype(np.float16), w).dtype == np.float32


def test_non_contiguous_input(rng):
    x = randn(rng, 1, 4, 12, 10)[:, ::-1, ::2, 1:]
    w = randn(rng, 3, 4, 3, 3)
    assert_close(F.conv2d(x, w), R.conv2d(np.ascontiguousarray(x), w), atol=conv_atol(36))


# ----- hypothesis ---------------------------------------------------------------------------

@st.composite
def conv_cases(draw, transposed):
    g = draw(st.integers(1, 3))
    cin = g * draw(st.integers(1, 4))
    cout = g * draw(st.integers(1, 4))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    hw = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    if transposed:
        p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
        out = [(h - 1) * si - 2 * pi + di * (ki - 1) + 1 + o for h, si, pi, di, ki, o in zip(hw, s, p, d, k, op)]
        if min(out) < 1:
            p = (0, 0)
        return dict(N=draw(st.integers(1, 2)), cin=cin, cout=cout, k=k, s=s, d=d, hw=hw, g=g, p=p, op=op)
    p = tuple(draw(st.integers(0, 3)) for _ in range(4))
    span = [di * (ki - 1) + 1 for di, ki in zip(d, k)]
    hw = tuple(max(h, sp - p[i] - p[i + 2]) for i, (h, sp) in enumerate(zip(hw, span)))
    return dict(N=draw(st.integers(1, 2)), cin=cin, cout=cout, k=k, s=s, d=d, hw=hw, g=g, p=p)


@settings(max_examples=60, deadline=None)
@given(conv_cases(False), st.integers(0, 2**31 - 1))
def test_conv2d_random(c, seed):
    rng = np.random.default_rng(seed)
    x = randn(rng, c["N"], c["cin"], *c["hw"])
    w = randn(rng, c["cout"], c["cin"] // c["g"], *c["k"])
    b = randn(rng, c["cout"])
    y = F.conv2d(x, w, b, c["s"], c["p"], c["d"], c["g"])
    assert_close(y, R.conv2d(x, w, b, c["s"], c["p"], c["d"], c["g"]),
                 atol=conv_atol(c["cin"] * c["k"][0] * c["k"][1]))


@settings(max_examples=60, deadline=None)
@given(conv_cases(True), st.integers(0, 2**31 - 1))
def test_conv_transpose2d_random(c, seed):
    rng = np.random.default_rng(seed)
    x = randn(rng, c["N"], c["cin"], *c["hw"])
    w = randn(rng, c["cin"], c["cout"] // c["g"], *c["k"])
    b = randn(rng, c["cout"])
    args = (c["s"], c["p"], c["op"], c["g"], c["d"])
    y = F.conv_transpose2d(x, w, b, *args)
    ref = R.conv_transpose2d(x, w, b, *args)
    assert_close(y, ref, atol=conv_atol(c["cin"] * c["k"][0] * c["k"][1]))
    if HAVE_TORCH:
        t = TF.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), *args)
        assert_close(y, t.numpy(), atol=conv_atol(c["cin"] * c["k"][0] * c["k"][1]))


# ----- bad input ----------------------------------------------------------------------------

X = np.zeros((1, 4, 8, 8), np.float32)
W = np.zeros((6, 4, 3, 3), np.float32)


BAD_CONV = [
    (lambda: F.conv2d(X[0], W), ValueError, r"input must have 4 dimensions.*got 3"),
    (lambda: F.conv2d(X, W[0]), ValueError, r"weight must have 4 dimensions"),
    (lambda: F.conv1d(X, W), ValueError, r"input must have 3 dimensions"),
    (lambda: F.conv2d(X, np.zeros((6, 2, 3, 3), np.float32), groups=3), ValueError,
     r"input channels \(4\) must be divisible by groups \(3\)"),
    (lambda: F.conv2d(X, np.zeros((5, 2, 3, 3), np.float32), groups=2), ValueError,
     r"output channels .* divisible by groups"),
    (lambda: F.conv2d(X, np.zeros((6, 3, 3, 3), np.float32)), ValueError, r"weight.shape\[1\] must be"),
    (lambda: F.conv2d(X, W, np.zeros(5, np.float32)), ValueError, r"bias must have shape \(6,\), got \(5,\)"),
    (lambda: F.conv2d(X, W, np.zeros((6, 1), np.float32)), ValueError, r"bias must have 1 dimensions"),
    (lambda: F.conv2d(X, W, stride=0), ValueError, r"stride must be >= 1"),
    (lambda: F.conv2d(X, W, stride=(1, -2)), ValueError, r"stride must be >= 1"),
    (lambda: F.conv2d(X, W, dilation=0), ValueError, r"dilation must be >= 1"),
    (lambda: F.conv2d(X, W, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: F.conv2d(X, W, padding=(1, 2, 3)), ValueError, r"padding must be an int or 2 ints"),
    (lambda: F.conv2d(X, W, padding="full"), ValueError, r"padding must be .* 'same' or 'valid'"),
    (lambda: F.conv2d(X, W, stride=2, padding="same"), ValueError, r"'same' requires stride 1"),
    (lambda: F.conv2d(X, np.zeros((6, 4, 9, 9), np.float32)), ValueError, r"output size .* would be 0"),
    (lambda: F.conv2d(X, W, dilation=5), ValueError, r"output size"),
    (lambda: F.conv2d(X, W, groups=0), ValueError, r"groups must be >= 1"),
    (lambda: F.conv2d(X, W, groups=1.5), TypeError, r"groups must be an int"),
    (lambda: F.conv2d(X, W, stride=1.0), TypeError, r"stride must be an int"),
    (lambda: F.conv2d(X.astype(np.int32), W), TypeError, r"input must be a floating-point array.*int32"),
    (lambda: F.conv2d(X, W.astype(np.complex64)), TypeError, r"weight must be a floating-point"),
    (lambda: F.conv2d(X.astype(bool), W), TypeError, r"input must be a floating-point"),
    (lambda: F.conv2d(None, W), TypeError, r"input must be an array"),
    (lambda: F.conv2d(np.zeros((0, 4, 8, 8), np.float32), W), ValueError, r"empty dimension"),
    (lambda: F.conv2d(X, np.zeros((0, 4, 3, 3), np.float32)), ValueError, r"output channels must be >= 1"),
    (lambda: F.conv2d(X, W, padding=10**9), ValueError, r"out of range"),
    (lambda: F.conv2d(X, W, padding=2**23), ValueError, r"more than the limit"),
    (lambda: F.conv2d(X, W, stride=2**40), ValueError, r"out of range"),
    (lambda: F.conv_transpose2d(X, W), ValueError, r"weight.shape\[0\] must equal the input channels"),
    (lambda: F.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), stride=2, output_padding=2),
     ValueError, r"output_padding must be smaller than stride or dilation"),
    (lambda: F.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), padding=5), ValueError,
     r"output size"),
    (lambda: F.conv_transpose2d(X, np.zeros((4, 2, 3, 3), np.float32), padding="same"), ValueError,
     r"not supported for transposed"),
    (lambda: convengine.set_num_threads(0), ValueError, r"num_threads must be >= 1"),
]


@pytest.mark.parametrize("call, exc, match", BAD_CONV, ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("call, exc, match", [c for c in BAD_CONV if "F" in c[0].__code__.co_names],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_reference_rejects_bad_input_alike(call, exc, match):
    """The same calls on convengine.reference, which checks them with its own code."""
    ref_call = type(call)(call.__code__, {**call.__globals__, "F": R})
    with pytest.raises(exc, match=match):
        ref_call()


def test_inputs_are_not_modified(rng):
    x = randn(rng, 1, 3, 5, 5)
    w = randn(rng, 2, 3, 3, 3)
    x0, w0 = x.copy(), w.copy()
    F.conv2d(x, w, padding=1)
    F.convolve2d(x, w)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_thread_pool_resizing_under_concurrent_callers(rng):
    """Switching the pool size between parallel regions while other Python threads compute:
    every result must equal the serial one (and nothing may hang)."""
    import threading
    x = randn(rng, 1, 8, 12, 12)
    w = randn(rng, 8, 8, 3, 3)
    expect = F.conv2d(x, w, padding=1)
    old = convengine.get_num_threads()
    errors = []

    def worker():
        for _ in range(30):
            if not np.array_equal(F.conv2d(x, w, padding=1), expect):
                errors.append("mismatch")

    threads = [threading.Thread(target=worker) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for n in [1, 2, 3, 1, 2, 4, 2] * 5:
            convengine.set_num_threads(n)
            np.testing.assert_array_equal(F.conv2d(x, w, padding=1), expect)
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a caller hung"
    finally:
        convengine.set_num_threads(old)
    assert not errors


@pytest.mark.parametrize("stride,pad,dil,hw", [((3, 100000), (1, 0), (1, 1), (3, 2)),
                                               ((50000, 2), (0, 1), (3, 1), (3, 2)),
                                               ((9, 11), (2, 3), (2, 2), (3, 2)),
                                               ((1 << 24, 1 << 24), (1, 0), (1, 1), (1, 1))])
def test_conv_transpose_stride_far_above_the_kernel(rng, isa, stride, pad, dil, hw):
    """A stride far above the kernel leaves most outputs to bias only: the work is the phases
    some tap reaches (at most the kernel's size per axis), not one per residue of the stride
    (3 x 100000 phases took 0.17 s to build; strides of 2^24 over a one-pixel input, a 3 x 5
    output, would have taken 2^48 phases)."""
    import time
    x = randn(rng, 2, 3, *hw)
    w = randn(rng, 3, 4, 5, 5)
    b = randn(rng, 4)
    t0 = time.perf_counter()
    y = F.conv_transpose2d(x, w, b, stride, pad, 0, 1, dil)
    assert time.perf_counter() - t0 < 5
    assert_close(y, R.conv_transpose2d(x, w, b, stride, pad, 0, 1, dil), atol=1e-5, rtol=1e-5)


def test_conv_transpose_outputs_no_tap_reaches_get_the_activation(rng):
    """Outputs of phases with no taps hold act(bias) (here Relu(bias) with a negative bias
    entry) and, with a residual, act(bias + residual), as torch's ConvTranspose + Add + Relu."""
    from convengine.model import Graph, Model, Node, ValueInfo
    x = randn(rng, 1, 3, 4, 3)
    w = randn(rng, 3, 2, 2, 2)
    b = np.array([-0.5, 0.75], np.float32)
    stride = [5, 4]
    r = randn(rng, 1, 2, 17, 10)
    nodes = [Node("ConvTranspose", ["x", "w", "b"], ["y"], "deconv", {"strides": stride}),
             Node("Relu", ["y"], ["z"], "relu"),
             Node("Add", ["y", "r"], ["s"], "add"), Node("Relu", ["s"], ["t"], "relu2")]
    m = Model(Graph(nodes, [ValueInfo("x", list(x.shape)), ValueInfo("r", list(r.shape))],
                    [ValueInfo("z", None), ValueInfo("t", None)], {"w": w, "b": b}))
    z, t = convengine.InferenceSession(m).run(None, {"x": x, "r": r})
    want = R.conv_transpose2d(x, w, b, stride)
    assert_close(z, np.maximum(want, 0), atol=1e-5, rtol=1e-5)
    assert_close(t, np.maximum(want + r, 0), atol=1e-5, rtol=1e-5)
    assert (z[0, 0, 2, 2] == 0) and (z[0, 1, 2, 2] == np.float32(0.75))  # reached by no tap
