"""1D Winograd F(9 - r, r) ("winograd1d"): kernels 1 x r and r x 1 (Inception's spatially
separable pairs), 1D convs and r x 1 x 1, r in 3..7, on the 8 points of F(6,3). Forced on
awkward shapes against the Cython reference on both ISAs, its error against float64, the
fused epilogue, and the automatic choice.

Error, measured with measure_error below on the AVX2 kernels (1 x r, pad r // 2, C_out 32,
17 x 17 for C_in 64 and 512, 6 x 6 for 4096), as max |y - y64| / max(sum |w| |x|) (see
test_winograd.py):

    data      C_in    r=3      r=4      r=5      r=6      r=7
    normal      64   4.3e-7   4.6e-7   2.8e-7   3.4e-7   3.0e-7
    normal     512   6.9e-7   5.4e-7   3.7e-7   3.6e-7   2.8e-7
    normal    4096   3.9e-7   3.1e-7   2.5e-7   2.2e-7   3.3e-7
    |x|, |w|    64   5.3e-7   5.5e-7   6.8e-7   7.1e-7   7.9e-7
    |x|, |w|   512   1.4e-6   1.7e-6   1.8e-6   2.7e-6   2.7e-6
    |x|, |w|  4096   2.8e-6   6.5e-6   5.7e-6   5.3e-6   7.2e-6

Like the 2D variants the error does not grow with C_in relative to that scale; the bound
asserted, REL_BOUND, is the 2D F(6,3) one (2e-5), 2.8x the worst figure.
"""
import numpy as np
import pytest

import convengine
import convengine.functional as F
import convengine.reference as R
from convengine import _native
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, WINOGRAD_REL_BOUND, assert_close, num_threads, randn
from conv_checks import check_forced_epilogue

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

ALGO = "winograd1d"
REL_BOUND = WINOGRAD_REL_BOUND[ALGO]
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
REF = {1: R.conv1d, 2: R.conv2d, 3: R.conv3d}


def scale_of(ndim, x, w, b, padding, dilation, groups):
    """The largest sum of |w||x| (+ |b|) of any output: the scale the error is measured in."""
    return float(REF[ndim](np.abs(x), np.abs(w), None if b is None else np.abs(b), 1, padding,
                           dilation, groups).max())


# (ndim, N, C_in, spatial, C_out, kernel, padding, dilation, groups)
SHAPES = [
    (2, 1, 128, (17, 17), 128, (1, 7), (0, 3), 1, 1),          # Inception-v3 pair
    (2, 1, 128, (17, 17), 128, (7, 1), (3, 0), 1, 1),
    (2, 2, 19, (9, 13), 23, (1, 5), (0, 2), 1, 1),            # prime channels, partial tiles
    (2, 1, 17, (11, 5), 31, (3, 1), (1, 0), 1, 1),
    (2, 1, 24, (6, 9), 40, (1, 7), (0, 3, 0, 1), 1, 1),       # asymmetric pads
    (2, 3, 32, (5, 12), 32, (1, 6), (0, 2, 0, 3), 1, 2),      # even r, groups 2
    (2, 1, 33, (3, 10), 16, (1, 4), 0, (1, 2), 1),            # dilation 2 (two sub-grids)
    (2, 1, 32, (15, 6), 64, (7, 1), (3, 0), (3, 1), 2),       # dilation 3 along H, groups 2
    (2, 1, 9, (4, 4), 8, (1, 3), (0, 6), 1, 1),               # pads wider than the image
    (2, 1, 3, (1, 1), 5, (1, 7), (0, 3), 1, 1),               # 1x1 image
    (2, 1, 130, (6, 7), 70, (5, 1), (2, 0), 1, 1),            # several output-channel chunks
    (2, 1, 40, (25, 30), 40, (1, 3), (0, 1), 1, 1),           # several tile blocks
    (1, 2, 37, (29,), 41, (7,), 3, 1, 1),                     # conv1d
    (1, 1, 64, (40,), 64, (5,), 0, 3, 1),
    (1, 1, 16, (1,), 16, (3,), 1, 1, 1),
    (3, 1, 16, (5, 4, 3), 16, (3, 1, 1), (1, 0, 0), 1, 1),    # temporal r x 1 x 1
    (3, 2, 20, (2, 3, 11), 36, (1, 1, 7), (0, 0, 2), 1, 1),
]


@pytest.mark.parametrize("case", SHAPES, ids=[str(c) for c in SHAPES])
def test_winograd1d_shapes(case, rng, isa):
    nd, N, C, sp, O, k, p, d, g = case
    x = randn(rng, N, C, *sp)
    w = randn(rng, O, C // g, *k)
    b = randn(rng, O)
    y = CONV[nd](x, w, b, 1, p, d, g, algorithm=ALGO)
    assert F.last_algorithm() == ALGO
    ref = REF[nd](x, w, b, 1, p, d, g)
    atol = REL_BOUND * scale_of(nd, x, w, b, p, d, g)
    assert_close(y, ref, atol=atol, rtol=0, what=f"{ALGO} vs reference")
    if HAVE_TORCH and (not isinstance(p, tuple) or len(p) == nd):
        tf = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[nd]
        yt = tf(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 1, p, d, g)
        assert_close(y, yt.numpy(), atol=2 * atol, rtol=0, what=f"{ALGO} vs torch")


ACTS = {
    "none": lambda v: v,
    "hardswish": lambda v: v * np.clip(v + 3, 0, 6) / 6,
    "silu": lambda v: v / (1 + np.exp(-v)),
    "leaky_relu": lambda v: np.where(v < 0, 0.1 * v, v),
}


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("kernel,pad", [((1, 7), (0, 3, 0, 2)), ((5, 1), (1, 0, 3, 0))])
def test_winograd1d_fused_activation_and_residual(act, kernel, pad, rng, isa):
    """clamp(f(conv + bias + residual)), batch 3, groups 2, no bias: the output transform adds
    bias and residual at the axis' stride, the activation runs as a pass."""
    x = randn(rng, 3, 34, 11, 9)
    w = randn(rng, 36, 17, *kernel)
    ref = R.conv2d(x, w, None, 1, pad, 1, 2).astype(np.float64)
    res = randn(rng, *ref.shape)
    lo, hi = -0.5, 2.0
    expect = np.clip(ACTS[act](ref + res), lo, hi)
    op = prepare_conv(2, x.shape, w, None, 1, pad, 1, 2, 0, False, ALGO, (lo, hi), act,
                      0.1 if act == "leaky_relu" else 0.0)
    assert op.algorithm == ALGO
    y = op.run(x, res)
    atol = REL_BOUND * scale_of(2, x, w, None, pad, 1, 2)
    assert_close(y, expect, atol=atol, rtol=1e-5, what=f"{ALGO} {act}")


@pytest.mark.parametrize("kernel,pad", [((1, 7), (0, 3, 0, 2)), ((4, 1), (2, 0, 0, 0))])
@pytest.mark.parametrize("c", [1, 15, 16, 17, 31, 33])
def test_winograd1d_channel_edges(c, kernel, pad, rng, isa):
    """C_in = C_out = c at the edges of the 8- and 16-channel steps, batch 2, asymmetric pads,
    residual and an activation."""
    check_forced_epilogue(rng, ALGO, (2, c, 7, 10), (c, c, *kernel), 1, pad, "hardswish",
                          ACTS["hardswish"], REL_BOUND)


def test_threads_give_identical_results(rng):
    x = randn(rng, 1, 96, 17, 17)
    w = randn(rng, 128, 96, 7, 1)
    with num_threads(1):
        y1 = F.conv2d(x, w, padding=(3, 0), algorithm=ALGO)
    with num_threads(2):
        y2 = F.conv2d(x, w, padding=(3, 0), algorithm=ALGO)
    np.testing.assert_array_equal(y1, y2)


def measure_error(rng, r, c_in, hw, dist, c_out=32):
    """max |y - y64| / max(sum |w||x|) of a 1 x r conv (pad r // 2) on one random problem."""
    x = rng.standard_normal((1, c_in, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, 1, r)) / np.sqrt(r * c_in)).astype(np.float32)
    if dist == "abs":
        x, w = np.abs(x), np.abs(w)
    p = r // 2
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (0, 0), (p, r - 1 - p)))
    from numpy.lib.stride_tricks import sliding_window_view
    win = sliding_window_view(xp, r, axis=3)
    y64 = np.einsum("nchwk,ock->nohw", win, w[:, :, 0].astype(np.float64), optimize=True)
    s = np.einsum("nchwk,ock->nohw", np.abs(win), np.abs(w[:, :, 0]).astype(np.float64),
                  optimize=True)
    y = F.conv2d(x, w, padding=(0, p, 0, r - 1 - p), algorithm=ALGO)
    return float(np.max(np.abs(y - y64)) / s.max())


@pytest.mark.parametrize("dist", ["normal", "abs"])
@pytest.mark.parametrize("r", [3, 4, 5, 6, 7])
@pytest.mark.parametrize("c_in,hw", [(64, 17), (512, 8)])
def test_error_against_float64(r, c_in, hw, dist, rng, isa):
    e = measure_error(rng, r, c_in, hw, dist)
    assert e < REL_BOUND, f"r={r}: relative error {e:.2e} above {REL_BOUND:.0e}"


@pytest.mark.parametrize("case,expect", [
    # (C_in, C_out, H, W, kernel)
    ((128, 128, 17, 17, (1, 7)), "winograd1d"),
    ((160, 192, 17, 17, (7, 1)), "winograd1d"),
    ((256, 256, 14, 14, (1, 3)), "winograd1d"),
    ((3, 64, 56, 56, (1, 7)), "igemm"),
    # 8 output channels: igemm at both levels (its AVX-512 8x16 tile pads them to 16, as AVX2's
    # 6x16; a 32-wide panel made igemm 0.106 ms against winograd1d's 0.078 on Zen 4).
    ((8, 8, 56, 56, (1, 7)), "igemm"),
])
@pytest.mark.parametrize("level", ["avx512", "avx2"])
def test_automatic_choice(case, expect, level, rng):
    if not _native.cpu_supports_isa(level):
        pytest.skip(f"the CPU lacks {level} (best here: {_native.best_isa()})")
    expect = expect[level] if isinstance(expect, dict) else expect
    c_in, c_out, h, w_, k = case
    x = randn(rng, 1, c_in, h, w_)
    w = randn(rng, c_out, c_in, *k)
    old = _native.get_isa()
    try:
        _native.set_isa(level)
        F.conv2d(x, w, padding=(k[0] // 2, k[1] // 2), algorithm="fast")
        assert F.last_algorithm().startswith(expect)
        F.conv2d(x, w, padding=(k[0] // 2, k[1] // 2))  # accurate by default
        assert F.last_algorithm() != "winograd1d"
    finally:
        _native.set_isa(old)


@pytest.mark.parametrize("call", [
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 32, 1, 7), stride=(1, 2), algorithm=ALGO),
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 32, 1, 9), padding=(0, 4), algorithm=ALGO),
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 32, 1, 2), algorithm=ALGO),
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 32, 3, 3), algorithm=ALGO),
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 32, 1, 5), padding=(1, 2), algorithm=ALGO),
    lambda x: F.conv2d(x, randn(np.random.default_rng(0), 16, 8, 1, 5), groups=4, algorithm=ALGO),
    lambda x: F.conv_transpose2d(x, randn(np.random.default_rng(0), 32, 16, 1, 5), algorithm=ALGO),
], ids=["stride2", "r9", "r2", "3x3", "pad on the other axis", "8-channel groups", "transposed"])
def test_winograd1d_does_not_apply(call, rng):
    x = randn(rng, 1, 32, 8, 8)
    with pytest.raises(ValueError, match="does not apply"):
        call(x)


def test_session_reports_winograd1d(rng, tmp_path):
    """An Inception-style 1x7 -> 7x1 pair in a session with precision="fast" runs both convs on
    winograd1d (and neither by default)."""
    from convengine.model import Graph, Model, Node, ValueInfo
    import convengine
    w1 = randn(rng, 64, 48, 1, 7)
    w2 = randn(rng, 64, 64, 7, 1)
    b = randn(rng, 64)
    nodes = [Node("Conv", ["x", "w1", "b"], ["y1"], name="c1", attrs={"pads": [0, 3, 0, 3]}),
             Node("Relu", ["y1"], ["r1"], name="relu"),
             Node("Conv", ["r1", "w2", "b"], ["y"], name="c2", attrs={"pads": [3, 0, 3, 0]})]
    g = Graph(nodes=nodes, inputs=[ValueInfo("x", shape=[1, 48, 17, 17])],
              outputs=[ValueInfo("y")],
              initializers={"w1": w1, "w2": w2, "b": b})
    assert "winograd1d" not in {row["algorithm"] for row in convengine.InferenceSession(
        Model(g)).describe()}
    sess = convengine.InferenceSession(Model(g), precision="fast")
    x = randn(rng, 1, 48, 17, 17)
    y = sess.run(None, {"x": x})[0]
    ref = R.conv2d(np.maximum(R.conv2d(x, w1, b, 1, (0, 3)), 0), w2, b, 1, (3, 0))
    assert_close(y, ref, atol=REL_BOUND * 50 * float(np.abs(ref).max()), rtol=1e-4)
    algos = [row["algorithm"] for row in sess.describe() if "Conv" in row["op"]]
    assert algos == ["winograd1d", "winograd1d"]
