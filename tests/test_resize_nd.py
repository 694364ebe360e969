"""Resize of 3D (N, C, L) and 5D (N, C, D, H, W) tensors: the planner runs them on the 2D
resize kernel (3D as (N, C, 1, L); 5D as (H, W) with the depth axis folded into the batch,
then D with H x W merged, which is exact because every mode is separable). Checked against the
numpy interpreter and torch's interpolate ('linear', 'trilinear', 'nearest')."""
import numpy as np
import pytest

import convengine as ce
from convengine import ModelError
from convengine._graph.evaluate import eval_node
from convengine.model import Graph, Model, Node, ValueInfo
from conftest import needs_torch, num_threads, resize_inputs

CTMS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]


def _model(shape, attrs, scales=None, sizes=None, concat=False, sliced=False):
    inits, ins = resize_inputs(scales, sizes)
    nodes = []
    if sliced:  # a channel slice of a Relu output: a view with a pixel stride wider than C
        r = len(shape)
        inits.update(st=np.array([1], np.int64), en=np.array([shape[1] + 1], np.int64),
                     ax=np.array([1], np.int64))
        nodes += [Node("Relu", ["x"], ["xr"], "relu"), Node("Slice", ["xr", "st", "en", "ax"], ["xs"], "sl")]
        ins[0] = "xs"
        del r
    nodes.append(Node("Resize", ins, ["y"], "r", attrs))
    out = "y"
    if concat:
        nodes += [Node("Relu", ["y"], ["y2"], "r2"), Node("Concat", ["y", "y2"], ["yc"], "cat", {"axis": 1})]
        out = "yc"
    full = (shape[0], shape[1] + (1 if sliced else 0), *shape[2:])
    m = Model(Graph(nodes, [ValueInfo("x", list(full))], [ValueInfo(out, None)], inits))
    return m, full


def _reference(x, attrs, scales, sizes, concat, sliced):
    if sliced:
        x = np.maximum(x, 0)[:, 1:]
    node = Node("Resize", ["x", "", "s" if scales is not None else "", *(["z"] if sizes is not None else [])],
                ["y"], "r", attrs)
    y = eval_node(node, [x, None, None if scales is None else np.array(scales, np.float32),
                         None if sizes is None else np.array(sizes, np.int64)])[0]
    return np.concatenate([y, np.maximum(y, 0)], 1) if concat else y


CASES = [  # (input shape, scales or None, sizes or None)
    ((2, 3, 7), (1, 1, 2.5), None),
    ((1, 5, 13), None, (1, 5, 6)),
    ((3, 1, 1), (1, 1, 4.0), None),
    ((1, 4, 3, 5, 6), (1, 1, 2, 1.5, 0.7), None),
    ((2, 3, 4, 1, 7), None, (2, 3, 7, 3, 4)),
    ((1, 17, 2, 3, 3), (1, 1, 1, 2, 2), None),
    ((1, 2, 5, 4, 4), (1, 1, 0.6, 1, 1), None),
]


@pytest.mark.parametrize("shape,scales,sizes", CASES)
@pytest.mark.parametrize("mode,ctm,nmode", [
    *[("linear", c, "round_prefer_floor") for c in CTMS],
    *[("nearest", c, n) for c in ("half_pixel", "asymmetric", "align_corners")
      for n in ("round_prefer_floor", "floor", "ceil")],
    ("cubic", "half_pixel", "round_prefer_floor"), ("cubic", "align_corners", "round_prefer_floor")])
def test_resize_nd_matches_the_interpreter(rng, shape, scales, sizes, mode, ctm, nmode):
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm, "nearest_mode": nmode}
    x = rng.standard_normal(shape).astype(np.float32)
    m, _ = _model(shape, attrs, scales, sizes)
    want = _reference(x, attrs, scales, sizes, False, False)
    for threads in (1, 2):
        with num_threads(threads):
            got = ce.InferenceSession(m).run(None, {"x": x})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("shape,scales", [((2, 3, 7), (1, 1, 2.5)), ((2, 4, 3, 5, 6), (1, 1, 2, 1.5, 0.7))])
@pytest.mark.parametrize("concat,sliced", [(True, False), (False, True), (True, True)])
def test_resize_nd_on_strided_views(rng, shape, scales, concat, sliced):
    attrs = {"mode": "linear"}
    m, full = _model(shape, attrs, scales, None, concat, sliced)
    x = rng.standard_normal(full).astype(np.float32)
    got = ce.InferenceSession(m).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, _reference(x, attrs, scales, None, concat, sliced),
                               rtol=2e-5, atol=2e-5)


def test_resize_of_batch_or_channels_is_refused():
    m, _ = _model((1, 2, 5), {"mode": "linear"}, (1, 2, 2.0), None)
    with pytest.raises(ModelError, match="only the spatial axes"):
        ce.InferenceSession(m)
    m, _ = _model((2, 5), {"mode": "linear"}, (1, 2.0), None)
    with pytest.raises(ModelError, match="only the spatial axes"):
        ce.InferenceSession(m)


@needs_torch
@pytest.mark.parametrize("mode,shape,kw", [
    ("linear", (2, 3, 11), dict(scale_factor=2.0)),
    ("linear", (1, 4, 9), dict(size=5, align_corners=True)),
    ("nearest", (2, 3, 11), dict(scale_factor=3.0)),
    ("trilinear", (1, 3, 4, 5, 6), dict(scale_factor=2.0)),
    ("trilinear", (2, 2, 3, 5, 4), dict(size=(5, 4, 9), align_corners=True)),
    ("nearest", (1, 3, 4, 5, 6), dict(scale_factor=(2.0, 1.0, 3.0))),
])
def test_resize_nd_matches_torch(rng, mode, shape, kw):
    import torch
    from torch import nn

    class Up(nn.Module):
        def forward(self, x):
            return nn.functional.interpolate(x, mode=mode, **kw)

    x = rng.standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = Up()(torch.from_numpy(x)).numpy()
    sess = ce.InferenceSession(ce.from_torch(Up(), (torch.from_numpy(x),)))
    got = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,scales", [((1, 2, 5, 7), (1, 1, 0.6, 1.4)), ((1, 3, 6, 4, 5), (1, 1, 0.6, 1.5, 2.2)),
                                          ((2, 2, 9), (1, 1, 0.6))])
@pytest.mark.parametrize("ctm", ["half_pixel", "asymmetric", "pytorch_half_pixel"])
@pytest.mark.parametrize("nmode", ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"])
def test_nearest_ties_match_onnxruntime(rng, shape, scales, ctm, nmode):
    # (o + 0.5) / 0.6 - 0.5 is an exact integer for odd o; ORT computes it in float32
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nmode}
    m, _ = _model(shape, attrs, scales, None)
    x = rng.standard_normal(shape).astype(np.float32)
    from convengine.onnx_export import to_onnx
    want = ort.InferenceSession(to_onnx(m).SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    del onnx
    np.testing.assert_array_equal(ce.InferenceSession(m).run(None, {"x": x})[0], want)
