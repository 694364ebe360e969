"""Non-convolution ops: activations, batch norm, channel shuffle, pooling, interpolate, linear.

Every op runs over a table of awkward shapes on both instruction sets (the `isa` fixture) and is
checked against the Cython reference (always) and torch (when importable). Bad arguments must
raise ValueError / TypeError with a message naming the argument.
"""
import math

import numpy as np
import pytest

import convengine.functional as F
import convengine.reference as R
from convengine import _native
from conftest import HAVE_TORCH, assert_close, conv_atol, needs_torch, num_threads, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


def tt(a):
    return torch.from_numpy(np.array(a, order="C"))  # (ascontiguousarray makes 0-d arrays 1-d)


def case_id(case):
    if isinstance(case, tuple) and any(isinstance(v, tuple) for v in case):
        return "-".join(case_id(v) for v in case)
    return str(case).replace(" ", "")


# ---------------------------------------------------------------------------------------------
# Element-wise activations

ACTIVATIONS = ["relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu"]
# Shapes cross the 32- and 8-float steps and their tails; () is a scalar, (0, 3) empty.
UNARY_SHAPES = [(), (1,), (7,), (3, 5), (1, 3, 7, 9), (3, 13, 5, 11), (2, 17, 33), (1, 8, 16, 16),
                (2, 3, 4, 5, 6), (0, 3), (40000,),
                (15,), (16,), (17,), (31,), (33,), (100,), (2, 79)]  # the 16- and 64-float steps


def torch_activation(name):
    return {"relu": TF.relu, "relu6": TF.relu6, "hardswish": TF.hardswish,
            "hardsigmoid": TF.hardsigmoid, "sigmoid": torch.sigmoid, "silu": TF.silu}[name]


def activation_input(rng, shape):
    # spread over the interesting ranges: the clamp knees (0, +-3, 6) and sigmoid's tails
    return (rng.standard_normal(shape) * 5).astype(np.float32)


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=case_id)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_reference(isa, rng, name, shape):
    x = activation_input(rng, shape)
    y = getattr(F, name)(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_close(y, getattr(R, name)(x), atol=1e-6, rtol=1e-6, what=f"{name} {shape} {isa}")


@needs_torch
@pytest.mark.parametrize("shape", UNARY_SHAPES[:7], ids=case_id)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(isa, rng, name, shape):
    x = activation_input(rng, shape)
    expected = torch_activation(name)(tt(x)).numpy()
    assert_close(getattr(F, name)(x), expected, atol=1e-6, rtol=1e-6, what=f"{name} vs torch")
    assert_close(getattr(R, name)(x), expected, atol=1e-6, rtol=1e-6, what=f"ref {name} vs torch")


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 1e-40, 3.0, -3.0, 6.0, 7.5,
                    17.0, 20.0, 87.0, -87.0, -87.5, -88.0, -90.0, 100.0, -100.0, -1000.0, 1000.0,
                    np.float32(3.4e38), np.float32(-3.4e38)], np.float32)


def assert_special_close(x, y, expected, what):
    """NaN exactly where expected, infinities equal, finite values close (absolute 1e-36 for the
    results below float32's normal range that sigmoid / silu flush to 0)."""
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(y), nan), f"{what}: NaN at x = {x[np.isnan(y) != nan]}"
    inf = np.isinf(expected)
    assert np.array_equal(y[inf], expected[inf]), f"{what}: infinities differ at x = {x[inf]}"
    ok = ~nan & ~inf
    assert_close(y[ok], expected[ok], atol=1e-36, rtol=1e-6, what=what)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_special_values(isa, name):
    # padded to 40 values so both the 32-wide loop and the masked tail see them
    x = np.concatenate([SPECIAL, SPECIAL[:15][::-1]])
    y = getattr(F, name)(x)
    assert_special_close(x, y, getattr(R, name)(x), f"{name} special values")
    if HAVE_TORCH:
        t = torch_activation(name)(tt(x)).numpy()
        # torch's float32 hardswish overflows x * relu6(x + 3) to inf for x > 5.7e37; ours
        # scales first and returns x there (as the float64 reference does)
        keep = np.abs(x) < 5e37 if name == "hardswish" else np.ones(x.shape, bool)
        assert_special_close(x[keep], y[keep], t[keep], f"{name} special values vs torch")


def test_sigmoid_wide_range_accuracy(isa):
    """Max relative error of sigmoid / silu against float64 over a dense sweep of [-100, 100]
    plus random float32 bit patterns. The vectorised exp (range reduction + degree-5 polynomial,
    one division) measures ~2.5e-7 (about 2 ulp); the bound asserted here is 4e-7."""
    rng = np.random.default_rng(7)
    dense = np.linspace(-100, 100, 1_000_003, dtype=np.float32)
    bits = rng.integers(0, 2**32, 1_000_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    bits = bits[np.isfinite(bits)]
    x = np.concatenate([dense, bits, np.float32([87.33, -87.33, 88.7, -103.9])])
    xd = x.astype(np.float64)
    with np.errstate(over="ignore"):
        sig = 1.0 / (1.0 + np.exp(-xd))
    # sigmoid(x) < 2^-126 below the cutoff, where the kernels return 0 (the engine flushes
    # denormals anyway); silu(x) = x * 0 there, |silu(x)| < 1.1e-36.
    covered = (xd >= -87.33) & (np.abs(sig) >= np.finfo(np.float32).tiny)
    for name, exact, flushed in (("sigmoid", sig, np.finfo(np.float32).tiny),
                                 ("silu", xd * sig, 1.1e-36)):
        y = getattr(F, name)(x).astype(np.float64)
        normal = covered & (np.abs(exact) >= np.finfo(np.float32).tiny)  # DAZ/FTZ below
        rel = np.abs(y[normal] - exact[normal]) / np.abs(exact[normal])
        worst = int(np.argmax(rel))
        assert rel[worst] < 4e-7, f"{name}: relative error {rel[worst]:.3g} at x = {x[normal][worst]!r}"
        assert np.all(np.abs(y[~normal] - exact[~normal]) <= flushed)
    y = F.sigmoid(np.float32([100, -100, 1e4, -1e4, np.inf, -np.inf, np.nan]))
    assert y[0] == 1.0 and y[2] == 1.0 and y[4] == 1.0
    assert 0.0 <= y[1] < 1e-38 and y[3] == 0.0 and y[5] == 0.0
    assert np.isnan(y[6])


def test_activation_inplace():
    x = np.linspace(-5, 5, 37, dtype=np.float32)
    expected = np.maximum(x, 0)
    y = F.relu(x, inplace=True)
    assert y is x and np.array_equal(x, expected)
    # no float32 memory to write into: a new array, the input untouched
    x64 = np.linspace(-5, 5, 37)
    y = F.relu6(x64, inplace=True)
    assert y is not x64 and y.dtype == np.float32 and x64.min() == -5
    # a writable float32 view (any strides) is written through, as torch writes a
    # non-contiguous tensor (the hostile campaign found it left unchanged)
    base = np.linspace(-5, 5, 40, dtype=np.float32)
    view = base[::-2]
    before = view.copy()
    y = F.hardswish(view, inplace=True)
    assert y is view
    assert_close(view, R.hardswish(before), atol=1e-6)
    assert np.array_equal(base[-2::-2], np.linspace(-5, 5, 40, dtype=np.float32)[-2::-2])
    with pytest.raises(ValueError, match="elements do not overlap"):
        F.relu(np.lib.stride_tricks.as_strided(base, (3, 4), (0, 4)), inplace=True)
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    assert F.silu(ro, inplace=True) is not ro
    assert F.relu(x, inplace=False) is not x


# ---------------------------------------------------------------------------------------------
# Batch norm

BN_CASES = [  # (shape, affine)
    ((3, 5), True), ((1, 7, 9, 11), False), ((3, 13, 5, 17), True), ((2, 3, 4, 5, 6), True),
    ((1, 33, 1, 1), True), ((2, 40, 3), False), ((1, 1, 1), True), ((2, 64, 3, 5), True),
    ((2, 100, 3), True), ((1, 79, 2, 3), False), ((1, 16, 2, 2), True), ((3, 15, 17), True),
]


def bn_params(rng, c, affine):
    mean = randn(rng, c)
    var = (rng.random(c) + 0.1).astype(np.float32)
    w = randn(rng, c) if affine else None
    b = randn(rng, c) if affine else None
    return mean, var, w, b


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("shape,affine", BN_CASES, ids=case_id)
def test_batch_norm_matches_reference(isa, rng, shape, affine, layout):
    """layout 'nchw': the functional API's per-plane kernel; 'nhwc': the engine's
    channels-innermost scale+shift (the graph runtime's path), through the binding."""
    x = randn(rng, *shape)
    mean, var, w, b = bn_params(rng, shape[1], affine)
    if layout == "nchw":
        y = F.batch_norm(x, mean, var, w, b, eps=1e-3)
    else:
        y = _native.batch_norm(x, mean, var, w, b, 1e-3, "nhwc")
    assert_close(y, R.batch_norm(x, mean, var, w, b, eps=1e-3), atol=3e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("shape,affine", BN_CASES, ids=case_id)
def test_batch_norm_matches_torch(isa, rng, shape, affine):
    x = randn(rng, *shape)
    mean, var, w, b = bn_params(rng, shape[1], affine)
    expected = TF.batch_norm(tt(x), tt(mean), tt(var), None if w is None else tt(w),
                             None if b is None else tt(b), training=False, eps=1e-5).numpy()
    assert_close(F.batch_norm(x, mean, var, w, b), expected, atol=3e-6, rtol=1e-5)
    assert_close(R.batch_norm(x, mean, var, w, b), expected, atol=3e-6, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Channel shuffle

SHUFFLE_CASES = [  # (shape, groups)
    ((1, 6, 5, 7), 2), ((1, 6, 5, 7), 3), ((1, 6, 5, 7), 6), ((3, 12, 4, 4), 4), ((2, 15, 3, 5), 5),
    ((1, 64, 7, 7), 2), ((1, 64, 3, 3), 4), ((2, 40, 9), 2), ((1, 44, 3, 3), 4), ((2, 9, 2, 3), 1),
    ((1, 116, 5, 5), 2), ((2, 3, 2, 2, 2), 3),
]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("shape,groups", SHUFFLE_CASES, ids=case_id)
def test_channel_shuffle_matches_reference(isa, rng, shape, groups, layout):
    """layout 'nchw' is the functional API's plane copy; 'nhwc' the engine's zip kernels (the
    graph runtime's path), reached through the binding."""
    x = randn(rng, *shape)
    y = F.channel_shuffle(x, groups) if layout == "nchw" else _native.channel_shuffle(x, groups, "nhwc")
    assert np.array_equal(y, R.channel_shuffle(x, groups))
    n, c = shape[:2]
    assert np.array_equal(y, x.reshape(n, groups, c // groups, -1).transpose(0, 2, 1, 3).reshape(shape))


@needs_torch
@pytest.mark.parametrize("shape,groups", SHUFFLE_CASES, ids=case_id)
def test_channel_shuffle_matches_torch(isa, rng, shape, groups):
    x = randn(rng, *shape)
    assert np.array_equal(F.channel_shuffle(x, groups), TF.channel_shuffle(tt(x), groups).numpy())


# ---------------------------------------------------------------------------------------------
# Max pooling

MAXPOOL_CASES = [  # (shape, kernel_size, stride, padding, dilation, ceil_mode)
    ((1, 3, 7, 7), 3, 2, 1, 1, False),
    ((3, 5, 10, 13), 3, 2, 1, 1, True),
    ((2, 17, 9, 11), (3, 2), (2, 1), (1, 0), 1, True),
    ((1, 8, 12, 12), 2, None, 0, 1, False),
    ((1, 37, 15, 16), 3, 2, 1, 2, True),          # dilated
    ((1, 3, 5, 5), 3, 3, 1, 1, True),             # ceil_mode drops a window starting in the padding
    ((1, 1, 1, 1), 1, 1, 0, 1, False),
    ((3, 64, 8, 9), 3, 2, 1, 1, False),           # 32-channel steps
    ((2, 45, 11, 10), (2, 3), (3, 2), (1, 1), (2, 1), True),
    ((1, 2, 4, 4), 2, 1, 1, 5, False),            # a window whose taps all fall in the padding
    ((5, 9, 9), 3, 2, 1, 1, True),                # unbatched (C, H, W)
    ((1, 3, 6, 17), (1, 4), (1, 3), (0, 2), 1, True),
    ((1, 100, 7, 7), 3, 2, 1, 1, False),          # 64 + 16 + 20: 64- and 16-channel steps, tail
    ((2, 79, 6, 5), 2, 2, 0, 1, True),
    ((1, 16, 5, 5), 3, 1, 1, 1, False),
]


@pytest.mark.parametrize("case", MAXPOOL_CASES, ids=case_id)
def test_max_pool2d_matches_reference(isa, rng, case):
    shape, k, s, p, d, ceil = case
    x = randn(rng, *shape)
    y = F.max_pool2d(x, k, s, p, d, ceil)
    assert np.array_equal(y, R.max_pool2d(x, k, s, p, d, ceil))


@needs_torch
@pytest.mark.parametrize("case", MAXPOOL_CASES, ids=case_id)
def test_max_pool2d_matches_torch(isa, rng, case):
    shape, k, s, p, d, ceil = case
    x = randn(rng, *shape)
    expected = TF.max_pool2d(tt(x), k, s, p, d, ceil).numpy()
    assert np.array_equal(F.max_pool2d(x, k, s, p, d, ceil), expected)
    assert np.array_equal(R.max_pool2d(x, k, s, p, d, ceil), expected)


def test_max_pool2d_nan_propagates(isa):
    x = np.zeros((1, 40, 4, 4), np.float32)
    x[0, ::3, 1, 2] = np.nan
    x[0, 1, 0, 0] = 5.0
    y = F.max_pool2d(x, 2, 2)
    ref = R.max_pool2d(x, 2, 2)
    assert np.array_equal(np.isnan(y), np.isnan(ref)) and np.isnan(y[0, ::3, 0, 1]).all()
    assert np.array_equal(np.nan_to_num(y), np.nan_to_num(ref))
    if HAVE_TORCH:
        assert np.array_equal(np.isnan(y), np.isnan(TF.max_pool2d(tt(x), 2, 2).numpy()))


# ---------------------------------------------------------------------------------------------
# Average pooling

AVGPOOL_CASES = [  # (shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((3, 5, 10, 13), 3, 2, 1, True, True, None),
    ((3, 5, 10, 13), 3, 2, 1, True, False, None),
    ((1, 3, 5, 5), 3, 3, 1, True, True, None),
    ((1, 3, 5, 5), 3, 3, 1, True, False, None),
    ((2, 17, 9, 11), (3, 2), (2, 1), (1, 0), True, False, None),
    ((2, 17, 9, 11), (3, 2), (2, 1), (1, 0), False, True, None),
    ((1, 8, 7, 7), 2, None, 0, True, True, None),   # the ceil window hangs past the input edge
    ((1, 8, 7, 7), 4, 3, 2, True, True, None),      # ... and past the padded edge
    ((1, 8, 7, 7), 4, 3, 2, True, False, None),
    ((2, 6, 8, 9), 3, 2, 1, False, True, 5),
    ((2, 6, 8, 9), 3, 2, 1, True, False, -3),
    ((3, 64, 8, 9), 3, 1, 1, False, False, None),
    ((1, 1, 1, 1), 1, 1, 0, False, True, None),
    ((7, 9, 10), (2, 3), (2, 2), (1, 1), True, True, None),  # unbatched
    ((1, 100, 7, 7), 3, 2, 1, False, True, None),   # 64- and 16-channel steps and a tail
    ((2, 31, 6, 6), 2, 2, 0, False, True, None),
]


@pytest.mark.parametrize("case", AVGPOOL_CASES, ids=case_id)
def test_avg_pool2d_matches_reference(isa, rng, case):
    shape, k, s, p, ceil, cip, div = case
    x = randn(rng, *shape)
    y = F.avg_pool2d(x, k, s, p, ceil, cip, div)
    assert_close(y, R.avg_pool2d(x, k, s, p, ceil, cip, div), atol=1e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("case", AVGPOOL_CASES, ids=case_id)
def test_avg_pool2d_matches_torch(isa, rng, case):
    shape, k, s, p, ceil, cip, div = case
    x = randn(rng, *shape)
    expected = TF.avg_pool2d(tt(x), k, s, p, ceil, cip, div).numpy()
    assert_close(F.avg_pool2d(x, k, s, p, ceil, cip, div), expected, atol=1e-6, rtol=1e-5)
    assert_close(R.avg_pool2d(x, k, s, p, ceil, cip, div), expected, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling

ADAPTIVE_CASES = [  # (shape, output_size)
    ((1, 3, 7, 7), 1), ((3, 64, 7, 7), 1), ((2, 130, 9, 9), (1, 1)), ((1, 70, 64, 64), 1),
    ((1, 37, 13, 17), (4, 5)), ((2, 8, 5, 5), (7, 3)), ((1, 3, 9, 10), (None, 4)),
    ((1, 1, 1, 1), 1), ((3, 19, 6, 6), 6), ((2, 5, 11, 7), (3, 7)), ((4, 12, 12), 5),
    ((1, 100, 5, 5), 1), ((2, 15, 3, 3), 1), ((1, 16, 4, 4), 1), ((1, 33, 1, 1), 1), ((1, 79, 8, 8), 1),
]


@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES, ids=case_id)
def test_adaptive_avg_pool2d_matches_reference(isa, rng, shape, out):
    x = randn(rng, *shape)
    expected = R.adaptive_avg_pool2d(x, out)
    assert_close(F.adaptive_avg_pool2d(x, out), expected, atol=1e-6, rtol=1e-5)
    if len(shape) == 4 and out in (1, (1, 1)):
        # the functional API reduces NCHW planes; the engine's channels-innermost global kernel
        # (the graph runtime's path) is reached through the binding's layout='nhwc'
        assert_close(_native.adaptive_avg_pool2d(x, 1, 1, "nhwc"), expected, atol=1e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("shape,out", ADAPTIVE_CASES, ids=case_id)
def test_adaptive_avg_pool2d_matches_torch(isa, rng, shape, out):
    x = randn(rng, *shape)
    expected = TF.adaptive_avg_pool2d(tt(x), out).numpy()
    assert_close(F.adaptive_avg_pool2d(x, out), expected, atol=1e-6, rtol=1e-5)
    assert_close(R.adaptive_avg_pool2d(x, out), expected, atol=1e-6, rtol=1e-5)


def test_global_avg_pool_threads_agree(rng):
    """The 1x1 path splits rows across threads when there are few channel blocks; partial sums
    are added in a fixed order, so the result does not depend on the thread count."""
    x = randn(rng, 1, 70, 96, 96)
    with num_threads(1):
        one = _native.adaptive_avg_pool2d(x, 1, 1, "nhwc")
    with num_threads(2):
        two = _native.adaptive_avg_pool2d(x, 1, 1, "nhwc")
    assert_close(one, R.adaptive_avg_pool2d(x, 1), atol=1e-6)
    assert np.array_equal(one, two)


# ---------------------------------------------------------------------------------------------
# Interpolate

INTERP_CASES = [  # (shape, size, scale_factor, mode, align_corners, recompute_scale_factor)
    ((1, 3, 5, 7), (9, 11), None, "nearest", None, None),
    ((2, 5, 8, 8), None, 2, "nearest", None, None),
    ((2, 5, 8, 8), None, 0.5, "nearest", None, None),
    ((1, 4, 5, 5), None, 2.1, "nearest", None, None),          # out == 2 * in special case
    ((1, 4, 5, 6), None, (1.0000001, 2.7), "nearest", None, None),  # out == in special case
    ((1, 3, 5, 5), None, 3.3, "nearest", None, True),
    ((1, 3, 7, 9), None, (1.7, 0.6), "nearest-exact", None, None),
    ((1, 3, 7, 9), (13, 4), None, "nearest-exact", None, None),
    ((3, 17, 6, 5), (11, 13), None, "bilinear", False, None),
    ((3, 17, 6, 5), (11, 13), None, "bilinear", True, None),
    ((1, 9, 12, 10), None, 0.37, "bilinear", False, None),
    ((1, 9, 12, 10), None, 0.37, "bilinear", True, None),
    ((1, 9, 12, 10), None, 1.33, "bilinear", False, True),
    ((1, 9, 12, 10), None, (1.33, 2.5), "bilinear", None, False),
    ((2, 33, 7, 7), (1, 1), None, "bilinear", True, None),
    ((2, 33, 7, 7), (1, 3), None, "bilinear", False, None),
    ((1, 2, 10, 10), None, 1.05, "bilinear", False, None),      # out == in: copy
    ((1, 16, 4, 4), 9, None, "bilinear", False, None),
    ((1, 1, 1, 1), (3, 2), None, "bilinear", True, None),
    ((1, 100, 5, 6), (7, 9), None, "bilinear", False, None),   # 32- and 16-channel steps, tail
    ((2, 31, 4, 4), (6, 5), None, "bilinear", True, None),
    ((1, 15, 3, 3), (5, 5), None, "bilinear", False, None),
]


def interp_kwargs(case):
    shape, size, sf, mode, ac, rsf = case
    return dict(size=size, scale_factor=sf, mode=mode, align_corners=ac,
                recompute_scale_factor=rsf)


@pytest.mark.parametrize("case", INTERP_CASES, ids=case_id)
def test_interpolate_matches_reference(isa, rng, case):
    x = randn(rng, *case[0])
    kw = interp_kwargs(case)
    assert_close(F.interpolate(x, **kw), R.interpolate(x, **kw), atol=1e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("case", INTERP_CASES, ids=case_id)
def test_interpolate_matches_torch(isa, rng, case):
    x = randn(rng, *case[0])
    kw = interp_kwargs(case)
    expected = TF.interpolate(tt(x), **kw).numpy()
    assert_close(F.interpolate(x, **kw), expected, atol=1e-6, rtol=1e-5)
    assert_close(R.interpolate(x, **kw), expected, atol=1e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("mode,ac", [("nearest", None), ("nearest-exact", None),
                                     ("bilinear", False), ("bilinear", True)])
def test_interpolate_coordinates_match_torch_exhaustively(mode, ac):
    """Source indices and weights for every small input/output size and a set of scale factors:
    one-hot inputs make each output the interpolation weight of one source pixel, so any index
    or float32 rounding difference shows up exactly."""
    for n_in in range(1, 10):
        eye = np.eye(n_in, dtype=np.float32).reshape(1, n_in, 1, n_in)
        calls = [dict(size=(1, n_out)) for n_out in range(1, 22)]
        calls += [dict(scale_factor=(1.0, sf)) for sf in (0.3, 0.5, 0.75, 1.05, 1.5, 1.9, 2.0,
                                                          2.1, 2.5, 3.3, 4.7)
                  if math.floor(n_in * sf) >= 1]
        for kw in calls:
            kw.update(mode=mode, align_corners=ac)
            expected = TF.interpolate(tt(eye), **kw).numpy()
            got = F.interpolate(eye, **kw)
            assert np.array_equal(got, expected), f"n_in={n_in} {kw}: {got[0, :, 0]} != {expected[0, :, 0]}"
            assert np.array_equal(R.interpolate(eye, **kw), expected), f"reference n_in={n_in} {kw}"


# ---------------------------------------------------------------------------------------------
# Linear

LINEAR_CASES = [  # (input shape, out_features, bias)
    ((7,), 5, True), ((3, 13), 10, True), ((2, 3, 33), 17, False), ((1, 1), 1, True),
    ((64, 100), 37, True), ((5, 2, 3, 9), 16, False), ((31, 8), 24, True),
]


@pytest.mark.parametrize("shape,out_f,bias", LINEAR_CASES, ids=case_id)
def test_linear_matches_reference(isa, rng, shape, out_f, bias):
    x = randn(rng, *shape)
    w = randn(rng, out_f, shape[-1])
    b = randn(rng, out_f) if bias else None
    y = F.linear(x, w, b)
    assert y.shape == (*shape[:-1], out_f)
    assert_close(y, R.linear(x, w, b), atol=conv_atol(shape[-1]), rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("shape,out_f,bias", LINEAR_CASES, ids=case_id)
def test_linear_matches_torch(isa, rng, shape, out_f, bias):
    x = randn(rng, *shape)
    w = randn(rng, out_f, shape[-1])
    b = randn(rng, out_f) if bias else None
    expected = TF.linear(tt(x), tt(w), None if b is None else tt(b)).numpy()
    assert_close(F.linear(x, w, b), expected, atol=conv_atol(shape[-1]), rtol=1e-5)
    assert_close(R.linear(x, w, b), expected, atol=conv_atol(shape[-1]), rtol=1e-5)


def test_empty_batches():
    x = np.zeros((0, 3, 8, 8), np.float32)
    assert F.max_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert F.avg_pool2d(x, 3, 2, 1).shape == (0, 3, 4, 4)
    assert F.adaptive_avg_pool2d(x, 1).shape == (0, 3, 1, 1)
    assert F.interpolate(x, scale_factor=2).shape == (0, 3, 16, 16)
    assert F.batch_norm(x, np.zeros(3), np.ones(3)).shape == x.shape
    assert F.channel_shuffle(x, 3).shape == x.shape
    assert F.relu(x).shape == x.shape
    y = F.linear(np.zeros((0, 4), np.float32), np.ones((2, 4), np.float32), np.float32([1, 2]))
    assert y.shape == (0, 2)


def test_float64_and_float16_inputs_are_converted():
    x = np.linspace(-4, 4, 48).reshape(1, 3, 4, 4)
    for a in (x, x.astype(np.float16)):
        assert F.sigmoid(a).dtype == np.float32
        assert_close(F.max_pool2d(a, 2), R.max_pool2d(a.astype(np.float32), 2))


# ---------------------------------------------------------------------------------------------
# Bad input

X4 = np.zeros((1, 4, 6, 6), np.float32)
V4 = np.zeros(4, np.float32)

BAD_INPUTS = [
    # activations
    (lambda: F.relu(np.arange(4)), TypeError, r"input must be a floating-point array.*int64"),
    (lambda: F.sigmoid(np.array([True])), TypeError, r"input must be a floating-point array.*bool"),
    (lambda: F.relu(None), TypeError, r"input must be an array, got None"),
    (lambda: F.silu(X4, inplace=1), TypeError, r"inplace must be a bool, got int"),
    # batch norm
    (lambda: F.batch_norm(X4, V4, V4, training=True), ValueError, r"training=True is not supported"),
    (lambda: F.batch_norm(X4, np.zeros(3), V4), ValueError, r"running_mean must have shape \(4,\).*got shape \(3,\)"),
    (lambda: F.batch_norm(X4, V4, np.zeros(5)), ValueError, r"running_var must have shape \(4,\).*\(5,\)"),
    (lambda: F.batch_norm(X4, V4, V4, weight=np.ones((2, 2))), ValueError, r"weight must have shape \(4,\).*\(2, 2\)"),
    (lambda: F.batch_norm(X4, V4, V4, bias=np.ones(1)), ValueError, r"bias must have shape \(4,\)"),
    (lambda: F.batch_norm(X4, None, V4), TypeError, r"running_mean must be an array, got None"),
    (lambda: F.batch_norm(V4, V4, V4), ValueError, r"input must have at least 2 dimensions.*got 1"),
    (lambda: F.batch_norm(X4, V4, V4, eps=-1.0), ValueError, r"eps must be a finite number >= 0, got -1.0"),
    (lambda: F.batch_norm(X4, V4, V4, eps="x"), TypeError, r"eps must be a real number"),
    (lambda: F.batch_norm(X4.astype(np.int32), V4, V4), TypeError, r"input must be a floating-point.*int32"),
    # channel shuffle
    (lambda: F.channel_shuffle(X4, 3), ValueError, r"channels \(4\) must be divisible by groups \(3\)"),
    (lambda: F.channel_shuffle(X4, 0), ValueError, r"groups must be >= 1, got 0"),
    (lambda: F.channel_shuffle(X4, 2.0), TypeError, r"groups must be an int, got float"),
    (lambda: F.channel_shuffle(np.zeros((2, 4), np.float32), 2), ValueError, r"at least 3 dimensions.*got 2"),
    # max pool
    (lambda: F.max_pool2d(X4, 2, return_indices=True), ValueError, r"return_indices=True is not supported"),
    (lambda: F.max_pool2d(X4, 0), ValueError, r"kernel_size must be >= 1, got \(0, 0\)"),
    (lambda: F.max_pool2d(X4, 2, stride=0), ValueError, r"stride must be >= 1, got \(0, 0\)"),
    (lambda: F.max_pool2d(X4, 2, dilation=(1, 0)), ValueError, r"dilation must be >= 1, got \(1, 0\)"),
    (lambda: F.max_pool2d(X4, 2, padding=-1), ValueError, r"padding must be >= 0, got \(-1, -1\)"),
    (lambda: F.max_pool2d(X4, 3, padding=2), ValueError, r"padding must be at most half of the kernel size \(1 along H\).*padding=\(2, 2\)"),
    (lambda: F.max_pool2d(X4, 3, dilation=2, padding=3), ValueError, r"at most half of the effective kernel size \(2 along H\)"),
    (lambda: F.max_pool2d(X4, 7), ValueError, r"max_pool2d: output size along H would be 0 \(< 1\)"),
    (lambda: F.max_pool2d(X4, (2, 2, 2)), ValueError, r"kernel_size must be an int or 2 ints, got 3 values"),
    (lambda: F.max_pool2d(X4, 2.5), TypeError, r"kernel_size must be an int, got float"),
    (lambda: F.max_pool2d(X4[0, 0], 2), ValueError, r"input must have 3 or 4 dimensions, got 2"),
    (lambda: F.max_pool2d(np.zeros((1, 0, 4, 4), np.float32), 2), ValueError, r"non-empty channel and spatial"),
    (lambda: F.max_pool2d(X4, 2, ceil_mode=None), TypeError, r"ceil_mode must be a bool"),
    # avg pool
    (lambda: F.avg_pool2d(X4, 2, divisor_override=0), ValueError, r"divisor_override must be a non-zero int"),
    (lambda: F.avg_pool2d(X4, 2, divisor_override=1.5), TypeError, r"divisor_override must be an int, got float"),
    (lambda: F.avg_pool2d(X4, 2, count_include_pad="yes"), TypeError, r"count_include_pad must be a bool"),
    (lambda: F.avg_pool2d(X4, 2, padding=2), ValueError, r"padding must be at most half of the kernel size \(1 along H\)"),
    (lambda: F.avg_pool2d(X4, (2, 9)), ValueError, r"avg_pool2d: output size along W would be 0"),
    (lambda: F.avg_pool2d(X4, 2, stride=(1, -1)), ValueError, r"stride must be >= 1, got \(1, -1\)"),
    (lambda: F.avg_pool2d(X4.astype(np.int64), 2), TypeError, r"input must be a floating-point.*int64"),
    # adaptive
    (lambda: F.adaptive_avg_pool2d(X4, 0), ValueError, r"output_size must be >= 1.*got 0"),
    (lambda: F.adaptive_avg_pool2d(X4, (2, 2, 2)), ValueError, r"output_size must be an int or 2 values.*\(2, 2, 2\)"),
    (lambda: F.adaptive_avg_pool2d(X4, 2.0), TypeError, r"output_size must be an int, got float"),
    (lambda: F.adaptive_avg_pool2d(X4[0, 0, 0], 1), ValueError, r"input must have 3 or 4 dimensions, got 1"),
    # interpolate
    (lambda: F.interpolate(X4, size=4, mode="bicubic"), ValueError, r"mode 'bicubic' is not supported; supported modes are 'nearest', 'nearest-exact', 'bilinear'"),
    (lambda: F.interpolate(X4, size=4, mode="area"), ValueError, r"mode 'area' is not supported"),
    (lambda: F.interpolate(X4, size=4, mode="bilinear", antialias=True), ValueError, r"antialias=True is not supported"),
    (lambda: F.interpolate(X4, size=4, mode="nearest", align_corners=True), ValueError, r"align_corners can only be set with mode 'bilinear'"),
    (lambda: F.interpolate(X4), ValueError, r"either size or scale_factor should be defined"),
    (lambda: F.interpolate(X4, size=4, scale_factor=2), ValueError, r"only one of size or scale_factor"),
    (lambda: F.interpolate(X4, size=4, recompute_scale_factor=True), ValueError, r"recompute_scale_factor is not meaningful"),
    (lambda: F.interpolate(X4, size=(0, 3)), ValueError, r"size must be >= 1, got \(0, 3\)"),
    (lambda: F.interpolate(X4, size=(2, 3, 4)), ValueError, r"size must be an int or 2 ints.*\(2, 3, 4\)"),
    (lambda: F.interpolate(X4, size=2.5), TypeError, r"size must be an int, got float"),
    (lambda: F.interpolate(X4, scale_factor=0.1), ValueError, r"output size would be \(0, 0\) \(< 1\)"),
    (lambda: F.interpolate(X4, scale_factor=-2.0), ValueError, r"scale_factor must be finite and > 0, got \(-2.0, -2.0\)"),
    (lambda: F.interpolate(X4, scale_factor=float("nan")), ValueError, r"scale_factor must be finite and > 0"),
    (lambda: F.interpolate(X4, scale_factor="2"), TypeError, r"scale_factor must be a real number, got str"),
    (lambda: F.interpolate(X4[0], size=4), ValueError, r"input must have 4 dimensions \(N, C, H, W\).*got 3"),
    (lambda: F.interpolate(X4, size=4, mode=3), TypeError, r"mode must be a str, got int"),
    (lambda: F.interpolate(X4, size=4, mode="bilinear", align_corners=1), TypeError, r"align_corners must be a bool"),
    # linear
    (lambda: F.linear(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)), ValueError, r"weight must have shape \(out_features, 3\).*got weight shape \(4, 5\)"),
    (lambda: F.linear(np.zeros((2, 3), np.float32), np.zeros(3, np.float32)), ValueError, r"weight must have 2 dimensions, got 1"),
    (lambda: F.linear(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32), np.zeros(3)), ValueError, r"bias must have shape \(4,\) \(out_features\), got \(3,\)"),
    (lambda: F.linear(np.float32(1.0), np.zeros((4, 1), np.float32)), ValueError, r"input must have at least 1 dimension"),
    (lambda: F.linear(np.zeros((2, 3), np.int32), np.zeros((4, 3), np.float32)), TypeError, r"input must be a floating-point.*int32"),
    (lambda: F.linear(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.complex64)), TypeError, r"weight must be a floating-point.*complex64"),
]


@pytest.mark.parametrize("i", range(len(BAD_INPUTS)))
def test_bad_input(i):
    fn, exc, match = BAD_INPUTS[i]
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("i", range(len(BAD_INPUTS)))
def test_reference_rejects_bad_input_alike(i):
    """The reference validates with its own code (reference/_args.py) and must refuse the
    same arguments with the same errors."""
    fn, exc, match = BAD_INPUTS[i]
    src = fn.__code__
    ref_fn = type(fn)(src, {**fn.__globals__, "F": R})
    with pytest.raises(exc, match=match):
        ref_fn()


def test_exports():
    import convengine._functional.ops as ops
    names = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "channel_shuffle", "hardsigmoid",
             "hardswish", "interpolate", "linear", "max_pool2d", "relu", "relu6", "sigmoid", "silu"]
    assert sorted(ops.__all__) == names
    import inspect
    for n in names:
        assert inspect.signature(getattr(R, n)) == inspect.signature(getattr(F, n)), n
        if HAVE_TORCH:
            tf = getattr(TF, n, None) or getattr(torch, n)
            try:
                tsig = inspect.signature(tf)
            except (TypeError, ValueError):
                continue  # a builtin without a Python signature
            ours = inspect.signature(getattr(F, n)).parameters
            for p, tp in tsig.parameters.items():
                if p in ours and tp.default is not inspect.Parameter.empty:
                    assert ours[p].default == tp.default, f"{n}({p}=) default differs from torch"
