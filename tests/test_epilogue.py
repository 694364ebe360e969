"""The fused conv epilogue y = clamp(f(conv + bias + residual)) on every conv algorithm that
applies, against the Cython reference followed by the same formula in float64."""
import numpy as np
import pytest

from convengine import _native, reference
from convengine._functional.conv import prepare_conv
from conftest import assert_close, conv_atol, conv_tol, randn


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


ACTS = {
    "none": lambda v, a, b: v,
    "hardswish": lambda v, a, b: v * np.clip(v + 3, 0, 6) / 6,
    "hardsigmoid": lambda v, a, b: np.clip(a * v + b, 0, 1),
    "sigmoid": lambda v, a, b: _sigmoid(v),
    "silu": lambda v, a, b: v * _sigmoid(v),
    "tanh": lambda v, a, b: np.tanh(v),
    "leaky_relu": lambda v, a, b: np.where(v < 0, a * v, v),
}

# (c_in, c_out, groups, kernel, stride, padding, dilation, transposed, size)
SHAPES = [
    (5, 7, 1, 3, 1, 1, 1, False, (9, 11)),
    (6, 6, 6, 3, 1, (1, 0, 2, 1), 1, False, (8, 13)),   # depthwise, asymmetric pads
    (4, 8, 4, 5, 2, 2, 1, False, (11, 7)),              # depthwise multiplier 2
    (6, 10, 2, 3, 1, 2, 2, False, (10, 9)),             # grouped, dilated
    (17, 33, 1, 1, 1, 0, 1, False, (7, 5)),             # pointwise, ragged tiles
    (8, 5, 1, 4, 2, 1, 1, True, (6, 7)),                # transposed
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
        ref = reference.conv_transpose2d(x, w, None, st, pad, 0, g, dil)
    else:
        w = randn(rng, c_out, c_in // g, k, k)
        ref = reference.conv2d(x, w, None, st, pad, dil, g)
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


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:4])) + ("T" if s[7] else ""))
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("with_residual", [False, True])
def test_conv_epilogue(rng, isa, shape, act, with_residual):
    alpha, beta = (0.1, 0.0) if act == "leaky_relu" else (0.25, 0.4)
    lo, hi = (-0.5, 2.0) if act in ("none", "leaky_relu", "hardswish", "silu") else (-np.inf, np.inf)
    check_conv_epilogue(rng, shape, act, alpha, beta, lo, hi, ACTS[act], with_residual, batch=3)


def test_epilogue_residual_shape_is_checked(rng):
    x = randn(rng, 1, 3, 5, 5)
    w = randn(rng, 4, 3, 3, 3)
    op = prepare_conv(2, x.shape, w, None, 1, 1, activation="silu")
    with pytest.raises(ValueError, match="residual"):
        op.run(x, np.zeros((1, 4, 5, 4), np.float32))


def test_epilogue_unknown_activation(rng):
    w = randn(rng, 4, 3, 3, 3)
    with pytest.raises(ValueError, match="unknown activation"):
        prepare_conv(2, (1, 3, 5, 5), w, None, 1, 1, activation="erf")
