"""Resize with `scales` (not sizes): the session (the planner's tables, the C++ kernels), the
numpy interpreter and onnxruntime agree on up- and downsampling by non-integer factors of odd
sizes, for nearest (every nearest_mode), linear and cubic and every coordinate transformation.

With scales, the output length is int(n_in * scale) and the resized length in the coordinate
formulas (align_corners, pytorch_half_pixel, tf_crop_and_resize) is that integer, as in
onnxruntime and torch. The ONNX reference implementation uses the unrounded n_in * scale
there, and so did the planner before both paths followed rules.py: 7 -> 17 by 2.5 with
align_corners put the last sample at 16 * 6 / 16.5 = 5.82 instead of on input pixel 6. torch's
interpolate with scale_factor has the same semantics for align_corners=True and for
half_pixel (align_corners=False) in bilinear and bicubic."""
import numpy as np
import pytest

import convengine as ce
from convengine._graph.evaluate import run_numpy
from conftest import needs_torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

CTMS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
# (input shape, scales): 7 -> 17 and 5 -> 3, 9 -> 4 and 11 -> 18, 13 -> 3 and 5 -> 15, a 3D
# and a 5D input
CASES = [((1, 3, 7, 5), (1, 1, 2.5, 0.6)),
         ((2, 2, 9, 11), (1, 1, 0.45, 1.7)),
         ((1, 2, 13, 5), (1, 1, 0.3, 3.0)),
         ((2, 3, 11), (1, 1, 1.45)),
         ((1, 2, 5, 7, 3), (1, 1, 1.6, 0.55, 2.4))]


def _proto(shape, scales, attrs, opset=19, roi=None):
    inits = [numpy_helper.from_array(np.array(scales, np.float32), "scales")]
    if opset < 11:
        ins = ["x", "scales"]
    else:
        ins = ["x", "roi" if roi is not None else "", "scales"]
        if roi is not None:
            inits.append(numpy_helper.from_array(np.array(roi, np.float32), "roi"))
    node = helper.make_node("Resize", ins, ["y"], **attrs)
    g = helper.make_graph([node], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _ort(proto, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(proto.SerializeToString(), so,
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def _ours(proto, x):
    model = ce.from_onnx(proto.SerializeToString())
    got = ce.InferenceSession(model).run(None, {"x": x})[0]
    return got, run_numpy(model, {"x": x})["y"]


def _check(proto, x, exact):
    want = _ort(proto, x)
    got, ref = _ours(proto, x)
    assert got.shape == ref.shape == want.shape
    for a, what in ((got, "session"), (ref, "interpreter")):
        if exact:
            np.testing.assert_array_equal(a, want, err_msg=what)
        else:
            np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-5, err_msg=what)
    return got


@pytest.mark.parametrize("shape,scales,mode", [  # onnxruntime's cubic takes 2D images only
    (shape, scales, mode) for shape, scales in CASES for mode in ("linear", "cubic")
    if mode == "linear" or len(shape) == 4])
@pytest.mark.parametrize("ctm", CTMS)
def test_interpolating_resize_with_scales_matches_onnxruntime(rng, shape, scales, ctm, mode):
    x = rng.standard_normal(shape).astype(np.float32)
    _check(_proto(shape, scales, dict(mode=mode, coordinate_transformation_mode=ctm)), x, False)


@pytest.mark.parametrize("shape,scales", CASES)
@pytest.mark.parametrize("ctm", CTMS)
@pytest.mark.parametrize("nmode", NEAREST)
def test_nearest_resize_with_scales_matches_onnxruntime(rng, shape, scales, ctm, nmode):
    x = rng.standard_normal(shape).astype(np.float32)
    attrs = dict(mode="nearest", coordinate_transformation_mode=ctm, nearest_mode=nmode)
    _check(_proto(shape, scales, attrs), x, True)


def test_align_corners_with_scales_divides_by_the_output_length(rng):
    # 7 -> 17 by 2.5: the last output sample is the last input pixel (17 - 1 intervals), where
    # dividing by 7 * 2.5 - 1 would stop short of it
    x = rng.standard_normal((1, 1, 1, 7)).astype(np.float32)
    proto = _proto(x.shape, (1, 1, 1, 2.5), dict(mode="linear",
                                                coordinate_transformation_mode="align_corners"))
    got = _check(proto, x, False)
    assert got.shape == (1, 1, 1, 17)
    np.testing.assert_allclose(got[..., [0, 8, 16]], x[..., [0, 3, 6]], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,scales", [((1, 2, 9, 7), (1, 1, 0.45, 2.5)),
                                          ((2, 1, 5, 11), (1, 1, 1.5, 0.6))])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_opset10_resize_with_scales_matches_onnxruntime(rng, shape, scales, mode):
    # opset 10: scales is input 1, asymmetric coordinates, nearest rounds down when upsampling
    # and up when downsampling
    x = rng.standard_normal(shape).astype(np.float32)
    _check(_proto(shape, scales, dict(mode=mode), opset=10), x, mode == "nearest")


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("roi", [(0, 0, 0.2, 0.1, 1, 1, 0.9, 0.7),
                                 (0, 0, -0.2, 0.1, 1, 1, 1.3, 0.7)])
def test_tf_crop_and_resize_with_scales(rng, mode, roi):
    # the interpreter matches onnxruntime; the planner refuses the mode by name
    x = rng.standard_normal((1, 2, 9, 7)).astype(np.float32)
    attrs = dict(mode=mode, extrapolation_value=-3.0,
                 coordinate_transformation_mode="tf_crop_and_resize")
    proto = _proto(x.shape, (1, 1, 1.6, 0.6), attrs, roi=roi)
    model = ce.from_onnx(proto.SerializeToString())
    np.testing.assert_allclose(run_numpy(model, {"x": x})["y"], _ort(proto, x),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ce.ModelError, match="tf_crop_and_resize is not supported"):
        ce.InferenceSession(model)


@needs_torch
@pytest.mark.parametrize("shape,scales", [((1, 3, 7, 5), (2.5, 0.6)), ((2, 2, 9, 11), (0.45, 1.7)),
                                          ((1, 2, 13, 5), (0.3, 3.0))])
@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_resize_with_scales_matches_torch_interpolate(rng, shape, scales, align, mode):
    import torch
    import torch.nn.functional as F
    x = rng.standard_normal(shape).astype(np.float32)
    ctm = "align_corners" if align else "half_pixel"
    proto = _proto(shape, (1, 1, *scales), dict(mode=mode, coordinate_transformation_mode=ctm))
    got, ref = _ours(proto, x)
    want = F.interpolate(torch.from_numpy(x), scale_factor=scales, align_corners=align,
                         mode="bilinear" if mode == "linear" else "bicubic").numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(ref, want, rtol=1e-5, atol=2e-5)
