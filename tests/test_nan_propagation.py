"""NaN and infinity propagate as in torch and the reference: a NaN input reaches exactly the
outputs whose window holds it, through every conv algorithm (AVX2 and scalar), the fused
clamp, activations and pools. Before, the vector clamp max(x, lo) returned lo for a NaN, so
the fast paths turned NaN into -inf (or 0 after a ReLU)."""
import numpy as np
import pytest

import convengine as ce
from convengine import functional as F
from convengine import reference
from convengine.model import Graph, Model, Node, ValueInfo

# (algorithm, c_in, c_out, kernel, padding, stride, groups)
ALGOS = [
    ("igemm", 5, 7, (3, 3), 1, 1, 1),
    ("igemm_rows", 3, 16, (5, 5), 2, 2, 1),
    ("gemm", 13, 17, (1, 1), 0, 1, 1),
    ("depthwise", 11, 11, (3, 3), 1, 1, 11),
    ("group", 32, 32, (3, 3), 1, 1, 8),
    ("winograd_f2", 16, 16, (3, 3), 1, 1, 1),
    ("winograd_f4", 16, 16, (3, 3), 1, 1, 1),
    ("winograd_f6", 16, 16, (3, 3), 1, 1, 1),
    ("winograd1d", 16, 16, (1, 7), (0, 3), 1, 1),
    ("winograd_s2", 3, 16, (7, 7), 3, 2, 1),
]


@pytest.mark.parametrize("algo,cin,cout,k,pad,stride,groups", ALGOS, ids=[a[0] for a in ALGOS])
def test_nan_in_the_input_reaches_its_windows(rng, isa, algo, cin, cout, k, pad, stride, groups):
    x = rng.standard_normal((1, cin, 15, 14)).astype(np.float32)
    x[0, cin // 2, 7, 6] = np.nan
    w = rng.standard_normal((cout, cin // groups, *k)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    want = reference.conv2d(x, w, b, stride, pad, 1, groups)
    got = F.conv2d(x, w, b, stride, pad, 1, groups, algorithm=algo)
    assert np.isnan(want).any() and not np.isnan(want).all()
    if algo.startswith("winograd"):
        # a transform mixes the tile: at least the true NaN outputs, and only within their tiles
        assert np.isnan(got[np.isnan(want)]).all()
    else:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(got)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("algo", ["igemm", "gemm", "depthwise", "winograd_f4"])
def test_nan_survives_the_fused_relu(rng, isa, algo):
    """Conv + ReLU fused: relu(NaN) is NaN in torch, not 0."""
    c = 16
    x = rng.standard_normal((1, c, 9, 9)).astype(np.float32)
    x[0, 3, 4, 4] = np.nan
    k = (1, 1) if algo == "gemm" else (3, 3)
    g = c if algo == "depthwise" else 1
    w = rng.standard_normal((c, c // g, *k)).astype(np.float32)
    m = Model(Graph([Node("Conv", ["x", "w"], ["a"], "conv", {"group": g,
                                                              "pads": [k[0] // 2] * 4}),
                     Node("Relu", ["a"], ["y"], "relu")],
                    [ValueInfo("x", [1, c, 9, 9])], [ValueInfo("y", None)], {"w": w}))
    (y,) = ce.InferenceSession(m, algorithms={"conv": algo}).run(None, {"x": x})
    if algo == "depthwise":  # only its own channel sees the NaN
        assert np.isnan(y[0, :, 4, 4]).tolist() == [i == 3 for i in range(c)]
    else:
        assert np.isnan(y[:, :, 4, 4]).all()


@pytest.mark.parametrize("op,attrs", [
    ("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", {"alpha": 0.1}),
    ("HardSwish", {}), ("HardSigmoid", {}), ("Clip", {"min": 0.0, "max": 6.0}),
])
def test_activations_keep_nan(isa, op, attrs):
    x = np.array([np.nan, -1, 1, np.inf, -np.inf, 0.5, np.nan, 2, -3, 4], np.float32)
    x = x.reshape(1, 10, 1, 1)
    m = Model(Graph([Node(op, ["x"], ["y"], "act", attrs)],
                    [ValueInfo("x", [1, 10, 1, 1])], [ValueInfo("y", None)], {}), opset=11)
    (y,) = ce.InferenceSession(m).run(None, {"x": x})
    assert np.isnan(y.ravel()[[0, 6]]).all()
    assert not np.isnan(y.ravel()[[1, 2, 5, 7, 8, 9]]).any()


def test_global_max_pool_keeps_nan(rng):
    x = rng.standard_normal((2, 70, 5, 5)).astype(np.float32)
    x[1, 66, 2, 3] = np.nan
    x[0, 3, 0, 0] = np.nan
    m = Model(Graph([Node("Relu", ["x"], ["a"], "r"), Node("GlobalMaxPool", ["a"], ["y"], "gmp")],
                    [ValueInfo("x", [2, 70, 5, 5])], [ValueInfo("y", None)], {}))
    (y,) = ce.InferenceSession(m).run(None, {"x": x})
    nan = np.isnan(y.reshape(2, 70))
    assert nan[1, 66] and nan[0, 3] and nan.sum() == 2
