"""Locally connected convolution (unshared weights): functional vs the Cython reference on both
ISAs, vs torch unfold + einsum, the shared-weights identity with conv2d, bad inputs."""
import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from conftest import GOOD_WINDOW_FORMS as GOOD_FORMS
from conftest import HAVE_TORCH, assert_close, conv_atol, needs_torch, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


def pads4(padding):
    """(top, left, bottom, right) of an int, (pH, pW) or ONNX 4-tuple."""
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_hw(H, W, k, stride, padding, dilation):
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(stride), pair(dilation)
    pt, pl, pb, pr = pads4(padding)
    return ((H + pt + pb - dh * (kh - 1) - 1) // sh + 1, (W + pl + pr - dw * (kw - 1) - 1) // sw + 1)


def make_case(rng, N, C, O, H, W, k, stride, padding, dilation, bias):
    kh, kw = pair(k)
    Ho, Wo = out_hw(H, W, k, stride, padding, dilation)
    x = randn(rng, N, C, H, W)
    w = randn(rng, Ho, Wo, O, C, kh, kw)
    b = randn(rng, O, Ho, Wo) if bias else None
    return x, w, b


# id: (N, C, O, H, W, k, stride, padding, dilation, bias)
CASES = {
    "3x3-pad1": (1, 3, 5, 6, 7, 3, 1, 1, 1, True),
    "3x3-s2-asym-pads-batch3": (3, 5, 17, 8, 9, 3, 2, (1, 0, 2, 1), 1, True),
    "2x3-dil2-pad(0,1)": (2, 7, 3, 9, 8, (2, 3), 1, (0, 1), 2, False),
    "1x1-prime-33out": (1, 13, 33, 5, 5, 1, 1, 0, 1, True),
    "batch5-pad2": (5, 4, 16, 6, 6, 3, 1, 2, 1, True),
    "taps-all-in-padding": (3, 1, 1, 4, 4, 3, 1, 3, 1, True),
    "stride(2,1)-dil(1,2)": (2, 6, 9, 9, 10, (3, 2), (2, 1), (1, 2), (1, 2), True),
    "deepface-like": (1, 16, 16, 12, 12, 3, 1, 0, 1, True),
    "1x1-image": (2, 3, 2, 1, 1, 1, 1, 0, 1, True),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_vs_reference(case, isa, rng):
    N, C, O, H, W, k, stride, padding, dilation, bias = CASES[case]
    x, w, b = make_case(rng, N, C, O, H, W, k, stride, padding, dilation, bias)
    y = F.local_conv2d(x, w, b, stride, padding, dilation)
    ref = R.local_conv2d(x, w, b, stride, padding, dilation)
    kh, kw = pair(k)
    assert_close(y, ref, atol=conv_atol(C * kh * kw), what=f"{case} [{isa}]")


def torch_local_conv2d(x, w, b, stride, padding, dilation):
    pt, pl, pb, pr = pads4(padding)
    Ho, Wo, O, C, kh, kw = w.shape
    xp = TF.pad(torch.from_numpy(x).double(), (pl, pr, pt, pb))
    cols = TF.unfold(xp, (kh, kw), dilation=pair(dilation), stride=pair(stride))  # (N, C*kh*kw, L)
    wt = torch.from_numpy(w).double().reshape(Ho * Wo, O, C * kh * kw)
    out = torch.einsum("nkl,lok->nol", cols, wt).reshape(x.shape[0], O, Ho, Wo)
    if b is not None:
        out = out + torch.from_numpy(b).double()[None]
    return out.numpy()


@needs_torch
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_vs_torch(case, rng):
    N, C, O, H, W, k, stride, padding, dilation, bias = CASES[case]
    x, w, b = make_case(rng, N, C, O, H, W, k, stride, padding, dilation, bias)
    y = F.local_conv2d(x, w, b, stride, padding, dilation)
    kh, kw = pair(k)
    assert_close(y, torch_local_conv2d(x, w, b, stride, padding, dilation),
                 atol=conv_atol(C * kh * kw), what=f"{case} vs torch")


@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding,dilation", [
    (1, 3, 5, 7, 6, 3, 1, 1, 1),
    (3, 8, 20, 9, 8, (2, 3), 2, (1, 0, 2, 1), 1),
    (2, 5, 4, 10, 9, 3, 1, 2, 2),
])
def test_shared_weights_equal_conv2d(N, C, O, H, W, k, stride, padding, dilation, isa, rng):
    kh, kw = pair(k)
    Ho, Wo = out_hw(H, W, k, stride, padding, dilation)
    x = randn(rng, N, C, H, W)
    w = randn(rng, O, C, kh, kw)
    b = randn(rng, O)
    wl = np.broadcast_to(w, (Ho, Wo, O, C, kh, kw))
    bl = np.broadcast_to(b[:, None, None], (O, Ho, Wo))
    y = F.local_conv2d(x, wl, bl, stride, padding, dilation)
    yc = F.conv2d(x, w, b, stride, padding, dilation)
    assert_close(y, yc, atol=conv_atol(C * kh * kw), what="shared weights vs conv2d")


def test_each_position_uses_its_own_weights(rng):
    # Zero every position's weights but one: only that output pixel may be nonzero.
    x, w, _ = make_case(rng, 2, 3, 4, 5, 5, 3, 1, 1, 1, False)
    w2 = np.zeros_like(w)
    w2[2, 3] = w[2, 3]
    y = F.local_conv2d(x, w2, None, padding=1)
    mask = np.zeros(y.shape, bool)
    mask[:, :, 2, 3] = True
    assert not y[~mask].any()
    assert_close(y, R.local_conv2d(x, w2, None, padding=1), atol=conv_atol(27))


# ---------------------------------------------------------------------------------- bad inputs
def good(rng, **over):
    """Valid arguments (C=3, O=4, 3x3, padding 1 on a 5x6 input) with overrides."""
    x, w, b = make_case(rng, 2, 3, 4, 5, 6, 3, 1, 1, 1, True)
    args = dict(input=x, weight=w, bias=b, stride=1, padding=1, dilation=1)
    args.update(over)
    return args


BAD = [
    ("int-input", lambda r, a: dict(input=a["input"].astype(np.int32)), TypeError, "input"),
    ("int-weight", lambda r, a: dict(weight=a["weight"].astype(np.int16)), TypeError, "weight"),
    ("complex-bias", lambda r, a: dict(bias=a["bias"].astype(np.complex64)), TypeError, "bias"),
    ("input-3d", lambda r, a: dict(input=a["input"][0]), ValueError, "input must have 4"),
    ("weight-4d", lambda r, a: dict(weight=a["weight"][0, 0]), ValueError, "weight must have 6"),
    ("weight-cin", lambda r, a: dict(weight=a["weight"][:, :, :, :2]), ValueError,
     r"weight.shape\[3\] must equal the input channels \(3\)"),
    ("weight-positions", lambda r, a: dict(weight=a["weight"][:4]), ValueError,
     r"weight.shape\[0:2\] must equal the output size \(5, 6\)"),
    ("weight-positions-stride", lambda r, a: dict(stride=2), ValueError,
     r"weight.shape\[0:2\] must equal the output size \(3, 3\)"),
    ("bias-shape", lambda r, a: dict(bias=a["bias"][0]), ValueError, "bias must have 3"),
    ("bias-size", lambda r, a: dict(bias=a["bias"][:, :4]), ValueError,
     r"bias must have shape \(4, 5, 6\)"),
    ("stride-0", lambda r, a: dict(stride=0), ValueError, "stride must be >= 1"),
    ("dilation-0", lambda r, a: dict(dilation=(0, 1)), ValueError, "dilation must be >= 1"),
    ("negative-padding", lambda r, a: dict(padding=(1, -1)), ValueError, "padding must be >= 0"),
    ("padding-3-values", lambda r, a: dict(padding=(1, 1, 1)), ValueError, "padding must be an int or 2"),
    ("output-empty", lambda r, a: dict(input=a["input"][:, :, :1, :1], padding=0), ValueError,
     "output size along spatial axis 0 would be"),
]


@pytest.mark.parametrize("name,change,exc,match", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs(name, change, exc, match, rng):
    args = good(rng)
    args.update(change(rng, args))
    with pytest.raises(exc, match=match):
        F.local_conv2d(**args)
    with pytest.raises(exc, match=match):
        R.local_conv2d(**args)


@pytest.mark.parametrize("form", list(GOOD_FORMS), ids=list(GOOD_FORMS))
def test_good_arguments_are_good(form, rng):
    """The arguments the bad cases start from are accepted by the engine and the reference,
    each through its own checks, in every spelling, with the same output shape and values."""
    args = good(rng)
    base = R.local_conv2d(**args)
    args.update(GOOD_FORMS[form])
    for extra in ({}, dict(bias=None), dict(input=args["input"].astype(np.float64))):
        a = {**args, **extra}
        y, r = F.local_conv2d(**a), R.local_conv2d(**a)
        assert y.shape == r.shape == (2, 4, 5, 6), (y.shape, r.shape)
        assert_close(y, r, atol=conv_atol(27), what=f"{form} {list(extra)}")
        if not extra:
            assert_close(r, base, atol=0, rtol=0, what=form)
