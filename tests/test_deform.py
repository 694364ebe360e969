"""Deformable convolution (v1 and v2, groups, offset groups): functional vs the Cython reference
on both ISAs, vs an independent torch implementation (grid_sample per tap + einsum, which
reproduces torchvision.ops.deform_conv2d's sampling), identities with conv2d, bad inputs."""
import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from conftest import GOOD_WINDOW_FORMS as GOOD_FORMS
from conftest import HAVE_TORCH, assert_close, conv_atol, needs_torch, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


def out_size(n, k, s, pb, pe, d):
    return (n + pb + pe - (d * (k - 1) + 1)) // s + 1


def pads4(padding):
    """(top, left, bottom, right) of an int, (pH, pW) or ONNX 4-tuple."""
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


def make_case(rng, N, C, O, H, W, k, stride, padding, dilation, groups, og, scale, mask,
              offsets="normal"):
    kh, kw = (k, k) if isinstance(k, int) else k
    s = (stride, stride) if isinstance(stride, int) else stride
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    pt, pl, pb, pr = pads4(padding)
    Ho, Wo = out_size(H, kh, s[0], pt, pb, d[0]), out_size(W, kw, s[1], pl, pr, d[1])
    x = randn(rng, N, C, H, W)
    w = randn(rng, O, C // groups, kh, kw)
    b = randn(rng, O)
    shape = (N, 2 * og * kh * kw, Ho, Wo)
    if offsets == "integer":  # exact pixel hits, including y == -1 and y == H
        off = rng.integers(-3, 4, size=shape).astype(np.float32)
    elif offsets == "half":   # halfway between pixels
        off = (rng.integers(-6, 7, size=shape) * 0.5).astype(np.float32)
    else:
        off = (scale * rng.standard_normal(shape)).astype(np.float32)
    m = None
    if mask == "rand":
        m = rng.random((N, og * kh * kw, Ho, Wo)).astype(np.float32)
    elif mask == "signed":
        m = randn(rng, N, og * kh * kw, Ho, Wo)
    return x, off, w, b, m


# id: (N, C, O, H, W, k, stride, padding, dilation, groups, offset_groups, offset scale, mask, offsets)
CASES = {
    "v1-3x3": (1, 5, 7, 9, 11, 3, 1, 1, 1, 1, 1, 2.0, None, "normal"),
    "v2-og2-batch3": (3, 6, 4, 8, 7, 3, 1, 1, 1, 1, 2, 2.0, "rand", "normal"),
    "groups2-og3-misaligned": (2, 6, 10, 7, 9, 3, 2, 1, 1, 2, 3, 3.0, "rand", "normal"),
    "depthwise-groupsC": (1, 7, 7, 10, 10, 3, 1, 1, 1, 7, 1, 1.5, "rand", "normal"),
    "depthwise-mult2-ogC": (2, 5, 10, 6, 8, 3, 1, 1, 1, 5, 5, 1.5, "signed", "normal"),
    "2x3-s2-d2-asym-pads": (3, 3, 5, 13, 12, (2, 3), 2, (1, 0, 2, 1), 2, 1, 1, 2.0, "rand", "normal"),
    "3x2-stride(1,2)-pad(2,0)": (1, 4, 6, 7, 9, (3, 2), (1, 2), (2, 0), (2, 1), 2, 2, 2.0, None, "normal"),
    "1x1-prime": (2, 13, 11, 6, 5, 1, 1, 0, 1, 1, 1, 1.0, "rand", "normal"),
    "offsets-leave-image": (1, 4, 3, 6, 6, 3, 1, 1, 1, 1, 2, 20.0, None, "normal"),
    "zero-offsets": (2, 5, 6, 7, 7, 3, 1, 1, 1, 1, 1, 0.0, "rand", "normal"),
    "integer-offsets": (2, 3, 4, 5, 6, 3, 1, 1, 1, 1, 1, 0.0, "rand", "integer"),
    "half-offsets": (1, 4, 6, 6, 5, 3, 1, 2, 1, 2, 2, 0.0, None, "half"),
    "37ch-19out": (1, 37, 19, 6, 6, 3, 1, 1, 1, 1, 1, 2.0, "rand", "normal"),
    "130ch-groupsC-og2": (1, 130, 130, 5, 5, 3, 1, 1, 1, 130, 2, 1.5, "rand", "normal"),
    "70ch-groups10-og5": (2, 70, 20, 5, 6, 3, 1, 1, 1, 10, 5, 1.5, "rand", "normal"),
    "width1": (2, 3, 4, 6, 1, (3, 1), 1, (1, 0), 1, 1, 1, 1.0, "rand", "normal"),
}


def atol_for(C, groups, k):
    kh, kw = (k, k) if isinstance(k, int) else k
    return 2 * conv_atol(C // groups * kh * kw)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_vs_reference(case, isa, rng):
    N, C, O, H, W, k, stride, padding, dilation, groups, og, scale, mask, kind = CASES[case]
    x, off, w, b, m = make_case(rng, N, C, O, H, W, k, stride, padding, dilation, groups, og,
                                scale, mask, kind)
    y = F.deform_conv2d(x, off, w, b, stride, padding, dilation, mask=m)
    ref = R.deform_conv2d(x, off, w, b, stride, padding, dilation, mask=m)
    assert_close(y, ref, atol=atol_for(C, groups, k), what=f"{case} [{isa}]")


def torch_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """Independent implementation: per offset group and tap, torch grid_sample (bilinear,
    align_corners=True, zero padding) at the deformed positions, then an einsum with the
    weights. The input gets a one-pixel zero border first, so grid_sample's zero padding
    reproduces torchvision's rule (a sample at y <= -1 or y >= H is 0; outside corners are 0)
    and sizes are >= 3 for align_corners' (size - 1) normalisation. Computed in float64."""
    xt = TF.pad(torch.from_numpy(x).double(), (1, 1, 1, 1))
    off = torch.from_numpy(offset).double()
    msk = None if mask is None else torch.from_numpy(mask).double()
    N, C, H, W = x.shape
    O, cin_g, kh, kw = weight.shape
    K = kh * kw
    og = offset.shape[1] // (2 * K)
    cin_og = C // og
    Ho, Wo = offset.shape[2:]
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    pt, pl = pads4(padding)[:2]
    oy = (torch.arange(Ho, dtype=torch.float64) * sh - pt)[:, None]
    ox = (torch.arange(Wo, dtype=torch.float64) * sw - pl)[None, :]
    cols = torch.zeros(N, C, K, Ho, Wo, dtype=torch.float64)
    for g in range(og):
        xs = xt[:, g * cin_og:(g + 1) * cin_og]
        for i in range(kh):
            for j in range(kw):
                t = i * kw + j
                y = oy + i * dh + off[:, 2 * (g * K + t)] + 1       # +1: the zero border
                xx = ox + j * dw + off[:, 2 * (g * K + t) + 1] + 1
                grid = torch.stack([2 * xx / (W + 1) - 1, 2 * y / (H + 1) - 1], dim=-1)
                s = TF.grid_sample(xs, grid, mode="bilinear", padding_mode="zeros",
                                   align_corners=True)
                if msk is not None:
                    s = s * msk[:, g * K + t][:, None]
                cols[:, g * cin_og:(g + 1) * cin_og, t] = s
    G = C // cin_g
    wt = torch.from_numpy(weight).double().reshape(G, O // G, cin_g, K)
    out = torch.einsum("gock,ngckhw->ngohw", wt, cols.reshape(N, G, cin_g, K, Ho, Wo))
    out = out.reshape(N, O, Ho, Wo)
    if bias is not None:
        out = out + torch.from_numpy(bias).double()[None, :, None, None]
    return out.numpy()


@needs_torch
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_vs_torch(case, rng):
    N, C, O, H, W, k, stride, padding, dilation, groups, og, scale, mask, kind = CASES[case]
    x, off, w, b, m = make_case(rng, N, C, O, H, W, k, stride, padding, dilation, groups, og,
                                scale, mask, kind)
    y = F.deform_conv2d(x, off, w, b, stride, padding, dilation, mask=m)
    yt = torch_deform_conv2d(x, off, w, b, stride, padding, dilation, m)
    assert_close(y, yt, atol=atol_for(C, groups, k), what=f"{case} vs torch")


@needs_torch
def test_torch_implementation_matches_reference(rng):
    # The two oracles agree with each other, independently of the engine.
    x, off, w, b, m = make_case(rng, 2, 6, 4, 7, 8, 3, 1, 1, 1, 2, 3, 3.0, "rand")
    assert_close(R.deform_conv2d(x, off, w, b, 1, 1, 1, m),
                 torch_deform_conv2d(x, off, w, b, 1, 1, 1, m), atol=1e-4, what="oracles")


# (N, C, O, H, W, k, stride, padding, dilation, groups)
CONV_LIKE = [
    (1, 5, 7, 9, 8, 3, 1, 1, 1, 1),
    (3, 6, 9, 10, 7, 3, 2, (1, 0, 2, 1), 1, 3),
    (2, 4, 4, 8, 8, (2, 3), 1, (0, 1), 2, 4),
    (1, 13, 5, 6, 6, 1, 1, 0, 1, 1),
]


@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding,dilation,groups", CONV_LIKE)
def test_zero_offsets_equal_conv2d(N, C, O, H, W, k, stride, padding, dilation, groups, isa, rng):
    x, off, w, b, _ = make_case(rng, N, C, O, H, W, k, stride, padding, dilation, groups, 1, 0.0,
                                None)
    assert not off.any()
    y = F.deform_conv2d(x, off, w, b, stride, padding, dilation)
    yc = F.conv2d(x, w, b, stride, padding, dilation, groups)
    assert_close(y, yc, atol=atol_for(C, groups, k), what="zero offsets vs conv2d")


@pytest.mark.parametrize("og", [1, 2])
def test_mask_of_ones_equals_v1(og, isa, rng):
    x, off, w, b, m = make_case(rng, 2, 6, 5, 8, 9, 3, 1, 1, 1, 1, og, 2.0, "rand")
    ones = np.ones_like(m)
    y1 = F.deform_conv2d(x, off, w, b, padding=1)
    y2 = F.deform_conv2d(x, off, w, b, padding=1, mask=ones)
    assert_close(y2, y1, atol=1e-6, rtol=1e-6, what="mask of ones vs v1")


def test_mask_scales_linearly(rng):
    x, off, w, _, m = make_case(rng, 1, 4, 3, 6, 6, 3, 1, 1, 1, 1, 1, 1.0, "rand")
    y = F.deform_conv2d(x, off, w, None, padding=1, mask=m)
    y2 = F.deform_conv2d(x, off, w, None, padding=1, mask=2 * m)
    assert_close(y2, 2 * y, atol=conv_atol(36), what="mask linearity")


def test_float64_and_float16_inputs_are_accepted(rng):
    x, off, w, b, m = make_case(rng, 1, 3, 2, 5, 5, 3, 1, 1, 1, 1, 1, 1.0, "rand")
    y = F.deform_conv2d(x.astype(np.float64), off.astype(np.float64), w, b, padding=1, mask=m)
    assert y.dtype == np.float32
    assert_close(y, F.deform_conv2d(x, off, w, b, padding=1, mask=m), atol=1e-6)


# ---------------------------------------------------------------------------------- bad inputs
def good(rng, **over):
    """Valid arguments (C=6, groups 2, offset_groups 3, 3x3, padding 1) with overrides."""
    x, off, w, b, m = make_case(rng, 2, 6, 4, 7, 8, 3, 1, 1, 1, 2, 3, 1.0, "rand")
    args = dict(input=x, offset=off, weight=w, bias=b, stride=1, padding=1, dilation=1, mask=m)
    args.update(over)
    return args


BAD = [
    ("int-input", lambda r, a: dict(input=a["input"].astype(np.int32)), TypeError, "input"),
    ("int-offset", lambda r, a: dict(offset=a["offset"].astype(np.int64)), TypeError, "offset"),
    ("bool-mask", lambda r, a: dict(mask=a["mask"] > 0.5), TypeError, "mask"),
    ("int-weight", lambda r, a: dict(weight=np.ones((4, 3, 3, 3), np.int32)), TypeError, "weight"),
    ("input-3d", lambda r, a: dict(input=a["input"][0]), ValueError, "input must have 4"),
    ("offset-3d", lambda r, a: dict(offset=a["offset"][0]), ValueError, "offset must have 4"),
    ("weight-5d", lambda r, a: dict(weight=a["weight"][None]), ValueError, "weight must have 4"),
    ("cin-not-divisible-by-weight", lambda r, a: dict(weight=randn(r, 4, 4, 3, 3)), ValueError,
     r"input channels \(6\) must be divisible by weight.shape\[1\] \(4\)"),
    ("cout-not-divisible-by-groups", lambda r, a: dict(weight=randn(r, 5, 3, 3, 3), bias=None),
     ValueError, r"output channels \(weight.shape\[0\] = 5\) must be divisible"),
    ("offset-channels", lambda r, a: dict(offset=a["offset"][:, :17]), ValueError,
     r"offset.shape\[1\] must be a positive multiple of 2 \* kh \* kw = 18"),
    ("cin-not-divisible-by-offset-groups",
     lambda r, a: dict(offset=randn(r, 2, 72, 7, 8), mask=None), ValueError,
     r"input channels \(6\) must be divisible by offset_groups \(4"),
    ("offset-spatial", lambda r, a: dict(offset=a["offset"][:, :, :6]), ValueError,
     r"offset spatial size must equal the output size \(7, 8\)"),
    ("offset-batch", lambda r, a: dict(offset=a["offset"][:1]), ValueError, "offset batch size"),
    ("mask-channels", lambda r, a: dict(mask=a["mask"][:, :9]), ValueError,
     r"mask must have shape \(2, 27, 7, 8\)"),
    ("mask-spatial", lambda r, a: dict(mask=a["mask"][:, :, 1:]), ValueError, "mask must have shape"),
    ("bias-shape", lambda r, a: dict(bias=randn(r, 5)), ValueError, r"bias must have shape \(4,\)"),
    ("stride-0", lambda r, a: dict(stride=0), ValueError, "stride must be >= 1"),
    ("dilation-0", lambda r, a: dict(dilation=(1, 0)), ValueError, "dilation must be >= 1"),
    ("negative-padding", lambda r, a: dict(padding=-1), ValueError, "padding must be >= 0"),
    ("float-stride", lambda r, a: dict(stride=1.5), TypeError, "stride must be an int"),
    ("output-empty", lambda r, a: dict(input=a["input"][:, :, :1, :1], padding=0), ValueError,
     "output size along spatial axis 0 would be"),
]


@pytest.mark.parametrize("name,change,exc,match", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs(name, change, exc, match, rng):
    args = good(rng)
    args.update(change(rng, args))
    with pytest.raises(exc, match=match):
        F.deform_conv2d(**args)
    with pytest.raises(exc, match=match):
        R.deform_conv2d(**args)


@pytest.mark.parametrize("form", list(GOOD_FORMS), ids=list(GOOD_FORMS))
def test_good_arguments_are_good(form, rng):
    """The arguments the bad cases start from are accepted by the engine and the reference,
    each through its own checks, in every spelling, with the same output shape and values."""
    args = good(rng)
    base = R.deform_conv2d(**args)
    args.update(GOOD_FORMS[form])
    for extra in ({}, dict(mask=None), dict(bias=None),
                  dict(input=args["input"].astype(np.float64))):
        a = {**args, **extra}
        y, r = F.deform_conv2d(**a), R.deform_conv2d(**a)
        assert y.shape == r.shape == (2, 4, 7, 8), (y.shape, r.shape)
        assert_close(y, r, atol=2 * conv_atol(27), what=f"{form} {list(extra)}")
        if not extra:
            assert_close(r, base, atol=0, rtol=0, what=form)
