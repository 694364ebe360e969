"""The fused conv epilogue y = clamp(f(conv + bias + residual)) on every conv algorithm that
applies, against the Cython reference followed by the same formula in float64."""
import numpy as np
import pytest

from convengine._functional.conv import prepare_conv
from conftest import randn
from conv_checks import EPILOGUE_SHAPES, check_conv_epilogue, epilogue_shape_id


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

@pytest.mark.parametrize("shape", EPILOGUE_SHAPES, ids=epilogue_shape_id)
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
