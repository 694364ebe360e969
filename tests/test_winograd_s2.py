"""Space-to-depth Winograd for 7x7 / 8x8 stride-2 convs ("winograd_s2", the ResNet stem): the
input's 2 x 2 blocks become channels, the conv a stride-1 4 x 4 one run by F(5 x 5, 4 x 4) on
the 8 points of F(6,3). Forced on awkward shapes against the Cython reference on both ISAs,
its error against float64, the fused epilogue and the automatic choice.

Error (measure_error below, AVX2), max |y - y64| / max(sum |w| |x|), He-scaled weights:

    data       C_in   H = W   error
    normal        3     224   2.4e-6
    normal       64      56   1.4e-6
    |x|, |w|      3     224   1.5e-6
    |x|, |w|     64      56   1.7e-6

The tests assert 2e-5, the bound of the other 8-point variants.
"""
import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, WINOGRAD_REL_BOUND, assert_close, num_threads, randn
from conv_checks import check_forced_epilogue

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

ALGO = "winograd_s2"
REL_BOUND = WINOGRAD_REL_BOUND[ALGO]


def scale_of(x, w, b, padding):
    return float(R.conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), 2, padding).max())


# (N, C_in, (H, W), C_out, k, padding)
SHAPES = [
    (1, 3, (224, 224), 64, 7, 3),             # ResNet stem
    (2, 3, (31, 29), 17, 7, 3),               # batch 2, odd sizes, prime C_out
    (1, 1, (9, 8), 5, 7, (0, 1, 2, 3)),       # one channel, asymmetric pads
    (1, 5, (16, 17), 33, 8, (3, 3, 4, 4)),    # 8x8 kernel
    (1, 4, (7, 7), 16, 7, 0),                 # one output pixel
    (1, 3, (30, 30), 64, 7, (3, 2)),
    (1, 2, (3, 4), 7, 7, 3),                  # image smaller than the kernel
    (1, 24, (20, 22), 70, 7, 3),              # several channel chunks, C_in*4 % 8 == 0
]


@pytest.mark.parametrize("case", SHAPES, ids=[str(c) for c in SHAPES])
def test_winograd_s2_shapes(case, rng, isa):
    N, C, hw, O, k, p = case
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C, k, k)
    b = randn(rng, O)
    y = F.conv2d(x, w, b, 2, p, algorithm=ALGO)
    assert F.last_algorithm() == ALGO
    ref = R.conv2d(x, w, b, 2, p)
    atol = REL_BOUND * scale_of(x, w, b, p)
    assert_close(y, ref, atol=atol, rtol=0, what=f"{ALGO} vs reference")
    if HAVE_TORCH and not (isinstance(p, tuple) and len(p) == 4):
        yt = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 2, p)
        assert_close(y, yt.numpy(), atol=2 * atol, rtol=0, what=f"{ALGO} vs torch")


@pytest.mark.parametrize("act", ["none", "hardswish", "silu"])
def test_winograd_s2_fused_activation_and_residual(act, rng, isa):
    fn = {"none": lambda v: v, "hardswish": lambda v: v * np.clip(v + 3, 0, 6) / 6,
          "silu": lambda v: v / (1 + np.exp(-v))}[act]
    x = randn(rng, 2, 3, 23, 26)
    w = randn(rng, 20, 3, 7, 7)
    b = randn(rng, 20)
    ref = R.conv2d(x, w, b, 2, 3).astype(np.float64)
    res = randn(rng, *ref.shape)
    expect = np.clip(fn(ref + res), 0.0, 4.0)
    op = prepare_conv(2, x.shape, w, b, 2, 3, 1, 1, 0, False, ALGO, (0.0, 4.0), act)
    assert op.algorithm == ALGO
    y = op.run(x, res)
    assert_close(y, expect, atol=REL_BOUND * scale_of(x, w, b, 3), rtol=1e-5, what=act)


@pytest.mark.parametrize("c", [1, 15, 16, 17, 31, 33])
def test_winograd_s2_channel_edges(c, rng, isa):
    """C_out = c at the edges of the output transform's 8- and 16-channel steps, 4 C_in = 4 c
    input channels (tails of 4 and 12), batch 2, asymmetric pads, residual and an activation."""
    check_forced_epilogue(rng, ALGO, (2, c, 15, 13), (c, c, 7, 7), 2, (3, 2, 1, 4), "hardswish",
                          lambda v: v * np.clip(v + 3, 0, 6) / 6, REL_BOUND, (0.0, 4.0))


def test_threads_give_identical_results(rng):
    x = randn(rng, 1, 3, 64, 64)
    w = randn(rng, 64, 3, 7, 7)
    with num_threads(1):
        y1 = F.conv2d(x, w, stride=2, padding=3, algorithm=ALGO)
    with num_threads(2):
        y2 = F.conv2d(x, w, stride=2, padding=3, algorithm=ALGO)
    np.testing.assert_array_equal(y1, y2)


def measure_error(rng, c_in, hw, dist):
    x = rng.standard_normal((1, c_in, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((32, c_in, 7, 7)) / np.sqrt(49 * c_in)).astype(np.float32)
    if dist == "abs":
        x, w = np.abs(x), np.abs(w)
    y = F.conv2d(x, w, stride=2, padding=3, algorithm=ALGO)
    from numpy.lib.stride_tricks import sliding_window_view
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (3, 3), (3, 3)))
    win = sliding_window_view(xp, (7, 7), axis=(2, 3))[:, :, ::2, ::2]
    y64 = np.einsum("nchwij,ocij->nohw", win, w.astype(np.float64), optimize=True)
    s = np.einsum("nchwij,ocij->nohw", np.abs(win), np.abs(w).astype(np.float64), optimize=True)
    return float(np.max(np.abs(y - y64)) / s.max())


@pytest.mark.parametrize("dist", ["normal", "abs"])
@pytest.mark.parametrize("c_in,hw", [(3, 224), (64, 56)])
def test_error_against_float64(c_in, hw, dist, rng, isa):
    e = measure_error(rng, c_in, hw, dist)
    assert e < REL_BOUND, f"relative error {e:.2e} above {REL_BOUND:.0e}"


def test_resnet_stem_is_chosen_when_fast(rng):
    x = randn(rng, 1, 3, 224, 224)
    w = randn(rng, 64, 3, 7, 7)
    F.conv2d(x, w, stride=2, padding=3, algorithm="fast")
    assert F.last_algorithm() == ALGO
    F.conv2d(x, w, stride=2, padding=3)  # accurate by default: 8-point Winograd is not chosen
    assert F.last_algorithm() != ALGO


@pytest.mark.parametrize("kw", [dict(stride=1, padding=3), dict(stride=2, padding=2, k=5),
                                dict(stride=2, padding=3, groups=3), dict(stride=2, padding=6, dilation=2)],
                         ids=["stride1", "5x5", "groups", "dilation"])
def test_winograd_s2_does_not_apply(kw, rng):
    kw = dict(kw)
    k, g = kw.pop("k", 7), kw.get("groups", 1)
    x = randn(rng, 1, 6, 20, 20)
    w = randn(rng, 12, 6 // g, k, k)
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, w, algorithm=ALGO, **kw)
