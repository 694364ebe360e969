"""Grouped convolution with tiny groups vectorised across groups (algorithm "group"): every lane
mode (in-lane 4x4 and 2x2, broadcast cout_g = 8, generic permute), channel tails that are not a
multiple of 8 or 16, strides, dilation, asymmetric padding, 1D/3D, batch 3, fused clamp /
activation / residual, against the Cython reference on every ISA level and torch where
installed."""
import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, assert_close, conv_atol, num_threads, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

# (N, C, (H, W), O, k, stride, padding, dilation, groups)
CASES = [
    (1, 128, (9, 9), 128, 3, 1, 1, 1, 32),     # ResNeXt: 4 -> 4 per group (in-lane mode)
    (3, 12, (7, 5), 12, 3, 1, 1, 1, 3),        # 12 channels: one full block and a half block
    (2, 20, (6, 7), 20, 3, 2, 1, 1, 5),        # 4 per group, stride 2, tail block
    (1, 64, (5, 6), 64, 3, 1, (0, 1, 2, 1), 1, 8),   # 8 per group (broadcast mode), asymmetric pads
    (1, 40, (5, 5), 40, 3, 1, 2, 2, 5),        # 8 per group, dilation 2, tail-free
    (2, 24, (5, 4), 48, 3, 1, 1, 1, 6),        # 4 -> 8 (broadcast mode, cin_g < cout_g)
    (1, 18, (6, 6), 18, 3, 1, 1, 1, 9),        # 2 -> 2 (permute mode)
    (1, 10, (5, 5), 20, 3, 1, 1, 1, 5),        # 2 -> 4 (permute mode)
    (1, 7, (5, 6), 14, 3, 1, 1, 1, 7),         # 1 -> 2: depthwise multiplier 2
    (3, 13, (4, 5), 13, 3, 1, 1, 1, 13),       # depthwise, prime channels
    (1, 36, (7, 7), 36, 1, 1, 0, 1, 9),        # pointwise, 4 per group
    (1, 32, (3, 11), 32, (1, 5), 1, (0, 2), 1, 4),   # 1x5, 8 per group (C/4 groups)
    (1, 16, (8, 8), 16, 3, 1, 1, 1, 2),        # C/8 groups
    (1, 12, (2, 3), 12, 5, 1, 2, 1, 3),        # image smaller than the kernel
    # edges of the 16-channel blocks (AVX-512): tails of 2, 8 and 12 channels
    (1, 34, (5, 6), 34, 3, 1, 1, 1, 17),       # 2 -> 2 (in-lane), 16 + 16 + 2
    (1, 20, (5, 5), 40, 3, 1, (0, 1, 2, 1), 1, 5),   # 4 -> 8, 16 + 16 + 8
    (2, 44, (4, 5), 44, 3, 2, 1, 1, 11),       # 4 -> 4 (in-lane), 16 + 16 + 12, stride 2
    (1, 9, (5, 7), 36, 3, 1, 1, 2, 9),         # 1 -> 4, dilation 2, 16 + 16 + 4
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_group_conv(case, rng, isa):
    N, C, hw, O, k, s, p, d, g = case
    kk = (k, k) if isinstance(k, int) else k
    x = randn(rng, N, C, *hw)
    w = randn(rng, O, C // g, *kk)
    b = randn(rng, O)
    y = F.conv2d(x, w, b, s, p, d, g, algorithm="group")
    assert F.last_algorithm() == "group"
    ref = R.conv2d(x, w, b, s, p, d, g)
    atol = conv_atol(C // g * kk[0] * kk[1])
    assert_close(y, ref, atol=atol, what="vs reference")
    if HAVE_TORCH and not (isinstance(p, tuple) and len(p) == 4):
        yt = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), s, p, d, g)
        assert_close(y, yt.numpy(), atol=atol, what="vs torch")
    y2 = F.conv2d(x, w, None, s, p, d, g)
    assert F.last_algorithm() in ("group", "depthwise")
    assert_close(y2, ref - b[:, None, None], atol=atol, what="auto")


def test_group_1d_3d(rng, isa):
    x = randn(rng, 2, 16, 11)
    w = randn(rng, 16, 4, 3)
    assert_close(F.conv1d(x, w, None, 2, 1, 1, 4, algorithm="group"), R.conv1d(x, w, None, 2, 1, 1, 4),
                 atol=conv_atol(12))
    x = randn(rng, 1, 12, 4, 5, 6)
    w = randn(rng, 12, 4, 3, 3, 3)
    assert_close(F.conv3d(x, w, None, 1, 1, 1, 3, algorithm="group"), R.conv3d(x, w, None, 1, 1, 1, 3),
                 atol=conv_atol(108))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_group_threads(rng, threads):
    with num_threads(threads):
        for hw in ((1, 3), (9, 10)):   # few pixel tiles: channel chunks give the threads work
            x = randn(rng, 1, 64, *hw)
            w = randn(rng, 64, 4, 3, 3)
            assert_close(F.conv2d(x, w, None, 1, 1, 1, 16, algorithm="group"),
                         R.conv2d(x, w, None, 1, 1, 1, 16), atol=conv_atol(36))


@pytest.mark.parametrize("clamp", [(0.0, np.inf), (0.0, 6.0)])
def test_group_fused_clamp(rng, isa, clamp):
    x = randn(rng, 3, 24, 6, 5)
    w = randn(rng, 24, 4, 3, 3)
    b = randn(rng, 24)
    op = prepare_conv(2, x.shape, w, b, 1, 1, 1, 6, algorithm="group", clamp=clamp)
    assert_close(op.run(x), np.clip(R.conv2d(x, w, b, 1, 1, 1, 6), *clamp), atol=conv_atol(36))


@pytest.mark.parametrize("act", ["silu", "hardsigmoid", "tanh"])
def test_group_activation_residual(rng, isa, act):
    x = randn(rng, 3, 20, 5, 6)
    w = randn(rng, 20, 4, 3, 3)
    b = randn(rng, 20)
    res = randn(rng, 3, 20, 5, 6)
    v = R.conv2d(x, w, b, 1, 1, 1, 5).astype(np.float64) + res
    expect = {"silu": v / (1 + np.exp(-v)), "hardsigmoid": np.clip(0.2 * v + 0.5, 0, 1),
              "tanh": np.tanh(v)}[act]
    op = prepare_conv(2, x.shape, w, b, 1, 1, 1, 5, algorithm="group", activation=act, alpha=0.2, beta=0.5)
    assert_close(op.run(x, res), expect, atol=conv_atol(36), what=act)


def test_group_inplace_residual(rng, isa):
    x = randn(rng, 2, 5, 6, 12)
    w = randn(rng, 12, 4, 3, 3)
    op = prepare_conv(2, (2, 12, 5, 6), w, None, 1, 1, 1, 3, algorithm="group")
    y0 = randn(rng, 2, 5, 6, 12)
    ref = R.conv2d(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w, None, 1, 1, 1, 3).transpose(0, 2, 3, 1) + y0
    y = y0.copy()
    op.run_nhwc(x, y, y)
    assert_close(y, ref, atol=conv_atol(36), what="in-place residual")


def test_group_does_not_apply(rng):
    x = randn(rng, 1, 16, 5, 5)
    for O, g in ((16, 1), (32, 2), (24, 8)):    # cout_g 16, 16, 3
        with pytest.raises(ValueError, match="does not apply"):
            F.conv2d(x, randn(rng, O, 16 // g, 3, 3), None, groups=g, algorithm="group")
    with pytest.raises(ValueError, match="does not apply"):   # cin_g 8 > cout_g 4
        F.conv2d(x, randn(rng, 8, 8, 3, 3), None, groups=2, algorithm="group")
