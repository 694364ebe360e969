"""Pad on runtime tensors, every ONNX mode (constant, reflect, edge, wrap), against numpy.pad:
inputs in the engine's channels-last layout (after a conv) and plain, ranks 2 to 5, pads on
some axes only, negative pads (crop first, then pad, as onnxruntime does), wrap wider than the
axis, and the errors for pads that cannot apply; hostile Pad and Resize sizes refused by name."""
import numpy as np
import pytest

import convengine as ce
from conftest import needs_torch, pad_inputs
from convengine import reference
from convengine.model import Graph, Model, ModelError, Node, ValueInfo

MODES = ("constant", "reflect", "edge", "wrap")


def _r(rng, *s):
    return rng.standard_normal(s).astype(np.float32)


def _pad_model(shape, pads, mode, axes=None, value=None, conv=None):
    """x -> [1x1 conv] -> Pad -> y; outputs the pad's input too (the oracle pads that)."""
    inits, pins = pad_inputs(pads, value, axes)
    nodes, src = [], "x"
    if conv is not None:
        inits["w"] = conv
        nodes.append(Node("Conv", ["x", "w"], ["a"], "conv"))
        src = "a"
    else:
        nodes.append(Node("Relu", ["x"], ["a"], "relu"))
        src = "a"
    nodes.append(Node("Pad", [src] + pins, ["y"], "pad", {"mode": mode}))
    return Model(Graph(nodes, [ValueInfo("x", list(shape))], [ValueInfo("a", None),
                                                               ValueInfo("y", None)], inits))


def _numpy_pad(a, pads, mode, axes=None, value=0.0):
    axes = list(range(a.ndim)) if axes is None else [ax % a.ndim for ax in axes]
    k = len(axes)
    begin, end = [0] * a.ndim, [0] * a.ndim
    for i, ax in enumerate(axes):
        begin[ax], end[ax] = pads[i], pads[k + i]
    a = a[tuple(slice(max(0, -b), a.shape[i] - max(0, -e)) for i, (b, e)
                in enumerate(zip(begin, end)))]
    width = [(max(0, b), max(0, e)) for b, e in zip(begin, end)]
    if mode == "constant":
        return np.pad(a, width, mode="constant", constant_values=value)
    return np.pad(a, width, mode=mode)


CASES = [
    # shape, pads (ONNX order: all begins, then all ends), axes
    ((1, 5, 7, 6), [0, 0, 2, 1, 0, 0, 1, 3], None),
    ((2, 3, 5, 4), [0, 1, 1, 3, 0, 2, 4, 0], None),              # channels and batch too
    ((1, 7, 9, 11), [0, 0, -2, 3, 0, 0, 1, -4], None),           # crop one side, pad the other
    ((1, 3, 4, 5), [2, 3, 1, 1], [2, -1]),                        # axes input, negative axis
    ((1, 13, 6, 3), [0, 0, 0, 2, 0, 0, 5, 2], None),             # prime channels, narrow width
    ((2, 3, 9), [0, 0, 4, 0, 0, 3], None),                        # 1D (N, C, L)
    ((1, 2, 3, 4, 5), [0, 0, 1, 2, 3, 0, 0, 2, 1, 1], None),      # 3D
    ((5, 6), [1, 2, 3, 4], None),                                 # rank 2
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pads,axes", CASES)
@pytest.mark.parametrize("after_conv", [False, True])
def test_pad_matches_numpy(rng, isa, mode, shape, pads, axes, after_conv):
    if after_conv and len(shape) < 3:
        pytest.skip("a conv needs (N, C, spatial...)")
    conv = None
    if after_conv:  # the conv's output is channels-last in the engine: Pad reads that layout
        conv = _r(rng, shape[1], shape[1], *([1] * (len(shape) - 2)))
    value = 1.5 if mode == "constant" else None
    m = _pad_model(shape, pads, mode, axes, value, conv)
    x = _r(rng, *shape)
    a, y = ce.InferenceSession(m).run(None, {"x": x})
    want = _numpy_pad(a, pads, mode, axes, 0.0 if value is None else value)
    assert y.shape == want.shape
    np.testing.assert_array_equal(y, want)


def test_wrap_wider_than_the_axis(rng):
    m = _pad_model((1, 2, 3, 2), [0, 0, 7, 5, 0, 0, 8, 4], "wrap")
    x = _r(rng, 1, 2, 3, 2)
    a, y = ce.InferenceSession(m).run(None, {"x": x})
    np.testing.assert_array_equal(y, np.pad(a, [(0, 0), (0, 0), (7, 8), (5, 4)], mode="wrap"))


def test_edge_of_a_single_element_axis(rng):
    m = _pad_model((1, 3, 1, 4), [0, 0, 3, 0, 0, 0, 2, 1], "edge")
    x = _r(rng, 1, 3, 1, 4)
    a, y = ce.InferenceSession(m).run(None, {"x": x})
    np.testing.assert_array_equal(y, np.pad(a, [(0, 0), (0, 0), (3, 2), (0, 1)], mode="edge"))


def test_reflect_feeding_a_conv_matches_the_reference(rng):
    """ReflectionPad2d then a 3x3 conv (style-transfer and pix2pix generators)."""
    w = _r(rng, 8, 5, 3, 3)
    nodes = [Node("Pad", ["x", "pads"], ["p"], "pad", {"mode": "reflect"}),
             Node("Conv", ["p", "w"], ["y"], "conv")]
    m = Model(Graph(nodes, [ValueInfo("x", [1, 5, 10, 9])], [ValueInfo("y", None)],
                    {"w": w, "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}))
    x = _r(rng, 1, 5, 10, 9)
    (y,) = ce.InferenceSession(m).run(None, {"x": x})
    p = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)], mode="reflect")
    want = reference.conv2d(p, w, None)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pads,mode,match", [
    ([0, 0, 5, 0, 0, 0, 0, 0], "reflect", "reflect pads"),      # axis of 5: at most 4
    ([0, 0, 0, 0, 0, 0, 0, 6], "reflect", "reflect pads"),
    ([0, 0, -3, 0, 0, 0, -2, 0], "edge", "crop"),               # 5 rows cropped to nothing
    ([0, 0, 1, 1, 0, 0, 1, 1], "symmetric", "mode"),
])
def test_bad_pads_name_the_problem(pads, mode, match):
    with pytest.raises(ModelError, match=match):
        ce.InferenceSession(_pad_model((1, 2, 5, 6), pads, mode))


@pytest.mark.parametrize("mode", ["reflect", "edge", "wrap"])
def test_wide_pads_take_a_few_copies(rng, mode):
    """A pad far wider than the axis (or, for reflect, nearly the axis) is a handful of strided
    copies, not one per padded row: plan time and step count stay small."""
    n = 2 if mode != "reflect" else 3001
    p = 3000
    m = _pad_model((1, 2, 3, n), [0, 0, 1, p, 0, 0, 2, p], mode)
    sess = ce.InferenceSession(m)
    steps = [r for r in sess.describe() if r["node"].startswith("pad")]
    assert len(steps) <= 2 + 2 * 14, len(steps)
    x = _r(rng, 1, 2, 3, n)
    a, y = sess.run(None, {"x": x})
    np.testing.assert_array_equal(y, np.pad(a, [(0, 0), (0, 0), (1, 2), (p, p)], mode=mode))


@needs_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pads,axes", CASES[:5])
def test_to_torch_pads_like_the_session(rng, mode, shape, pads, axes):
    """The torch module the model bench compares against pads the same way."""
    import torch

    from convengine.torch_export import to_torch
    m = _pad_model(shape, pads, mode, axes, 2.5 if mode == "constant" else None)
    x = _r(rng, *shape)
    a, y = ce.InferenceSession(m).run(None, {"x": x})
    with torch.no_grad():
        ta, ty = to_torch(m)(torch.from_numpy(x))
    np.testing.assert_array_equal(ty.numpy(), y)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("p", [2 ** 40, 2 ** 62])
def test_hostile_pad_sizes_are_refused_by_name(mode, p):
    with pytest.raises(ModelError, match="more than the limit|more than 2147483648|reflect pads"):
        ce.InferenceSession(_pad_model((1, 2, 3, 8), [0, 0, 1, p, 0, 0, 2, p], mode))


@pytest.mark.parametrize("scales,constant", [
    ([1, 1, 1e9, 1e9], False), ([1, 1, 1e30, 1], False), ([1, 1, 1e7, 1], False),
    ([1, 1, 1e9, 1e9], True), ([1, 1, 1e30, 1], True)])  # constants: folded by the evaluator
def test_hostile_resize_sizes_are_refused_by_name(scales, constant):
    """Before the limits, 1e9 x 1e9 scales got the process killed (index tables built first)."""
    src = "c" if constant else "x"
    nodes = [Node("Resize", [src, "", "sc"], ["r"], "rz", {"mode": "linear"}),
             Node("Add", ["x", "r"], ["y"], "add")]
    m = Model(Graph(nodes, [ValueInfo("x", [1, 2, 3, 4])], [ValueInfo("y", None)],
                    {"sc": np.array(scales, np.float32), "c": np.ones((1, 2, 3, 4), np.float32)}))
    with pytest.raises(ModelError, match=r"rz.*too large"):
        ce.InferenceSession(m)
