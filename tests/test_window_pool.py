"""The window pool step (engine/steps_pool.cpp): every pool that is not on the 2D kernel
(1D and 3D MaxPool / AveragePool, LpPool, GlobalLpPool), through sessions, against torch and
onnxruntime over awkward shapes: odd channels, batch 2, strides that do not divide, pads,
dilation, ceil_mode windows over the edge."""
import numpy as np
import pytest

from conftest import assert_close, needs_torch
import convengine

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _r(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _one_node(op, shape, attrs, opset=18):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                      list(shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _session(m):
    return convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))


@needs_torch
@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("ceil", [False, True])
def test_window_pools_of_rank_1_and_3_match_torch(rank, ceil):
    """Dilation, strides that do not divide, pads, ceil_mode windows over the edge,
    count_include_pad, and a NaN that max keeps."""
    import torch
    from torch import nn
    shape = {1: (2, 5, 13), 3: (2, 5, 5, 7, 6)}[rank]
    x = torch.from_numpy(_r(11 + rank, *shape))
    x[1, 2].view(-1)[3] = float("nan")
    nd = {1: (nn.MaxPool1d, nn.AvgPool1d), 3: (nn.MaxPool3d, nn.AvgPool3d)}[rank]
    k = (3, 2, 3)[-rank:]
    mods = [nd[0](k, 2, 1, dilation=(2, 1, 1)[-rank:], ceil_mode=ceil), nd[0](2, 3, ceil_mode=ceil)]
    mods += [nd[1](k, (2, 3, 2)[-rank:], (1, 1, 0)[-rank:], ceil_mode=ceil, count_include_pad=c)
             for c in (False, True)]
    for m in mods:
        want = m(x).numpy()
        sess = convengine.InferenceSession(convengine.from_torch(m, (x,)))
        got = sess.run(None, {"input": x.numpy()})[0]
        assert got.shape == want.shape, m
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=str(m))
        assert_close(np.nan_to_num(got), np.nan_to_num(want), atol=1e-6)


LP_CASES = [
    ((2, 5, 13), dict(kernel_shape=[3], strides=[2], pads=[1, 2], p=2)),
    ((1, 7, 11), dict(kernel_shape=[4], strides=[3], ceil_mode=1, p=1)),
    ((2, 3, 7, 9), dict(kernel_shape=[3, 2], strides=[2, 1], p=1)),
    ((1, 3, 8, 9), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, dilations=[2, 1], p=2)),
    ((3, 2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", p=3)),
    ((1, 2, 7, 6), dict(kernel_shape=[2, 3], strides=[1, 2], auto_pad="SAME_LOWER", p=2)),
    ((2, 5, 5, 6, 7), dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2],
                           pads=[0, 1, 1, 1, 0, 0], p=3)),
]


@pytest.mark.parametrize("shape,attrs", LP_CASES, ids=[str(i) for i in range(len(LP_CASES))])
def test_lp_pool_matches_onnxruntime(shape, attrs):
    ort = pytest.importorskip("onnxruntime")
    x = _r(len(shape) * 7 + attrs["p"], *shape)
    m = _one_node("LpPool", shape, attrs)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) \
        .run(None, {"x": x})[0]
    sess = _session(m)
    assert "window-lp" in [r["algorithm"] for r in sess.describe()]
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape", [(2, 5, 7, 6), (1, 3, 9), (2, 3, 3, 4, 5)])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_global_lp_pool_is_the_p_norm_over_space(shape, p):
    x = _r(p, *shape)
    got = _session(_one_node("GlobalLpPool", shape, {"p": p})).run(None, {"x": x})[0]
    axes = tuple(range(2, len(shape)))
    want = (np.abs(x.astype(np.float64)) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
    assert_close(got, want.astype(np.float32), atol=1e-5, rtol=1e-5)


@needs_torch
def test_lp_pool_matches_torch_on_non_negative_inputs():
    """torch's LPPool sums x^p (no absolute value): the same as ONNX's on x >= 0."""
    import torch
    from torch import nn
    x = np.abs(_r(3, 2, 5, 9, 11))
    for m, attrs in ((nn.LPPool2d(2, (3, 2), (2, 3)), dict(kernel_shape=[3, 2], strides=[2, 3])),
                     (nn.LPPool2d(3, 2), dict(kernel_shape=[2, 2], strides=[2, 2]))):
        want = m(torch.from_numpy(x)).numpy()
        got = _session(_one_node("LpPool", x.shape, dict(attrs, p=int(m.norm_type)))).run(
            None, {"x": x})[0]
        assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("p", [0, -1, 65])
def test_lp_pool_p_out_of_range_is_refused(p):
    with pytest.raises(convengine.ModelError, match="p must be"):
        _session(_one_node("LpPool", (1, 2, 5, 5), dict(kernel_shape=[2, 2], p=p)))
