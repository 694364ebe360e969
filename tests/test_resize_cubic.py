"""Resize mode 'cubic' (torch 'bicubic'): the planner's 4-tap tables and the engine's 4 x 4
accumulation, against the numpy interpreter's dense interpolation matrices (every coordinate
transformation, cubic_coeff_a, exclude_outside, up- and down-scaling, odd sizes) and against
torch's bicubic interpolate."""
import numpy as np
import pytest

import convengine as ce
from convengine._graph.evaluate import eval_node
from convengine.model import Graph, Model, Node, ValueInfo
from conftest import needs_torch, num_threads, resize_inputs

CTMS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]


def _resize(x, attrs, scales=None, sizes=None, threads=1):
    inits, ins = resize_inputs(scales, sizes)
    node = Node("Resize", ins, ["y"], "r", {"mode": "cubic", **attrs})
    m = Model(Graph([node], [ValueInfo("x", list(x.shape))], [ValueInfo("y", None)], inits))
    with num_threads(threads):
        got = ce.InferenceSession(m).run(None, {"x": x})[0]
    ref = eval_node(node, [x, None, inits.get("s"), inits.get("z")])[0]
    return got, ref


@pytest.mark.parametrize("ctm", CTMS)
@pytest.mark.parametrize("shape,out", [((2, 3, 7, 5), (2, 3, 15, 11)), ((1, 17, 9, 13), (1, 17, 4, 6)),
                                       ((1, 5, 1, 8), (1, 5, 3, 3)), ((1, 2, 6, 6), (1, 2, 6, 13))])
@pytest.mark.parametrize("a,excl", [(-0.75, 0), (-0.5, 0), (-0.75, 1)])
@pytest.mark.parametrize("threads", [1, 2])
def test_cubic_matches_the_interpreter(rng, ctm, shape, out, a, excl, threads):
    x = rng.standard_normal(shape).astype(np.float32)
    got, ref = _resize(x, {"coordinate_transformation_mode": ctm, "cubic_coeff_a": a,
                           "exclude_outside": excl}, sizes=out, threads=threads)
    assert got.shape == tuple(out)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scales", [(1, 1, 2.0, 2.0), (1, 1, 0.5, 0.75), (1, 1, 1.7, 3.0)])
def test_cubic_with_scales(rng, scales):
    x = rng.standard_normal((1, 4, 10, 9)).astype(np.float32)
    got, ref = _resize(x, {}, scales=scales)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_cubic_keeps_a_constant_image_constant():
    x = np.full((1, 3, 5, 7), 2.5, np.float32)
    got, _ = _resize(x, {"exclude_outside": 1}, sizes=(1, 3, 12, 3))
    np.testing.assert_allclose(got, 2.5, rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(16, 14), (5, 3), (7, 7)])
def test_cubic_matches_torch_bicubic(rng, align, size):
    import torch
    import torch.nn.functional as F
    x = rng.standard_normal((2, 6, 7, 9)).astype(np.float32)
    ctm = "align_corners" if align else "half_pixel"
    got, _ = _resize(x, {"coordinate_transformation_mode": ctm}, sizes=(2, 6, *size))
    want = F.interpolate(torch.from_numpy(x), size=size, mode="bicubic", align_corners=align).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)


@needs_torch
def test_to_torch_runs_cubic_as_bicubic(rng):
    import torch
    from convengine.torch_export import to_torch
    x = rng.standard_normal((1, 3, 6, 5)).astype(np.float32)
    node = Node("Resize", ["x", "", "", "z"], ["y"], "r", {"mode": "cubic"})
    m = Model(Graph([node], [ValueInfo("x", list(x.shape))], [ValueInfo("y", None)],
                    {"z": np.array([1, 3, 11, 9], np.int64)}))
    with torch.no_grad():
        want = to_torch(m)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ce.InferenceSession(m).run(None, {"x": x})[0], want, rtol=1e-5, atol=2e-5)
