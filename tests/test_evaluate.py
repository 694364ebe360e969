"""The numpy reference interpreter (convengine._graph.evaluate): every op against onnxruntime
on single-node ONNX models, pooling and resize also against torch, the custom ops against
their definitions, run_numpy's feed checks and analyze()'s shapes."""
import math

import numpy as np
import pytest

from conftest import assert_close, needs_torch, randn
import convengine
from convengine import reference
from convengine.model import CUSTOM_DOMAIN, Graph, Model, ModelError, Node, ValueInfo
from convengine._graph.evaluate import eval_node, run_numpy
from convengine._graph.shape_inference import Sym, analyze
from graphs import onnx_to_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402


def run_ort(op, inputs, attrs, out_dtypes, opset):
    """Runs one ONNX node in onnxruntime (graph optimisations off). Float inputs are graph
    inputs, integer inputs initializers."""
    names, ginputs, inits, feeds = [], [], [], {}
    for i, a in enumerate(inputs):
        if a is None:
            names.append("")
            continue
        n = f"i{i}"
        names.append(n)
        if a.dtype.kind in "iub":
            inits.append(numpy_helper.from_array(a, n))
        else:
            ginputs.append(helper.make_tensor_value_info(
                n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape)))
            feeds[n] = a
    outs = [f"o{k}" for k in range(len(out_dtypes))]
    oattrs = {k: numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v
              for k, v in attrs.items()}
    node = helper.make_node(op, names, outs, **oattrs)
    graph = helper.make_graph(
        [node], "g", ginputs,
        [helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(np.dtype(d)), None)
         for o, d in zip(outs, out_dtypes)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def ours(op, inputs, attrs, nout=1, opset=17, domain=""):
    node = Node(op, [f"i{i}" if a is not None else "" for i, a in enumerate(inputs)],
                [f"o{k}" for k in range(nout)], "n", dict(attrs), domain)
    return eval_node(node, inputs, opset)


def I(*v):
    return np.array(v, np.int64)


def F(*v):
    return np.array(v, np.float32)


E = np.zeros(0, np.float32)


def _r(seed, *shape, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


X = _r(1, 2, 4, 7, 9)
X1 = _r(2, 2, 4, 11)
X3 = _r(3, 1, 4, 5, 6, 7)

# (id, op, inputs, attrs, outputs, opset)
CASES = [
    # convolutions
    ("conv2d_group_asym", "Conv", [X, _r(4, 6, 2, 3, 3), _r(5, 6)],
     dict(group=2, strides=[2, 1], pads=[1, 0, 2, 1]), 1, 17),
    ("conv2d_same_upper", "Conv", [X, _r(4, 6, 2, 3, 3)],
     dict(group=2, strides=[2, 3], auto_pad="SAME_UPPER"), 1, 17),
    ("conv2d_same_lower", "Conv", [X, _r(6, 5, 4, 2, 4)],
     dict(strides=[2, 2], auto_pad="SAME_LOWER"), 1, 17),
    ("conv2d_valid_dilated", "Conv", [X, _r(6, 5, 4, 2, 3)],
     dict(auto_pad="VALID", dilations=[3, 2], kernel_shape=[2, 3]), 1, 17),
    ("conv1d", "Conv", [X1, _r(7, 6, 2, 3), _r(8, 6)],
     dict(group=2, strides=[2], pads=[2, 1], dilations=[2]), 1, 17),
    ("conv1d_same", "Conv", [X1, _r(7, 6, 2, 3)], dict(group=2, strides=[3], auto_pad="SAME_LOWER"),
     1, 17),
    ("conv3d", "Conv", [X3, _r(9, 6, 4, 3, 2, 3), _r(10, 6)],
     dict(strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 2]), 1, 17),
    ("convT2d_notset", "ConvTranspose", [X, _r(11, 4, 3, 3, 3)], dict(strides=[2, 3]), 1, 17),
    ("convT2d_same_upper", "ConvTranspose", [X, _r(11, 4, 3, 3, 3)],
     dict(strides=[2, 3], auto_pad="SAME_UPPER"), 1, 17),
    ("convT2d_same_lower", "ConvTranspose", [X, _r(11, 4, 3, 3, 3)],
     dict(strides=[2, 2], auto_pad="SAME_LOWER"), 1, 17),
    ("convT2d_output_shape", "ConvTranspose", [X, _r(11, 4, 3, 3, 3), _r(12, 3)],
     dict(strides=[2, 3], output_shape=[14, 26]), 1, 17),
    ("convT2d_output_shape_larger", "ConvTranspose", [X, _r(11, 4, 3, 3, 3)],
     dict(strides=[2, 3], output_shape=[16, 28]), 1, 17),
    ("convT2d_pads_outpad_dil", "ConvTranspose", [X, _r(11, 4, 3, 3, 3)],
     dict(strides=[2, 3], pads=[1, 0, 0, 2], output_padding=[1, 2], dilations=[2, 1]), 1, 17),
    ("convT1d_group", "ConvTranspose", [X1, _r(13, 4, 2, 3), _r(14, 4)],
     dict(group=2, strides=[3], auto_pad="SAME_LOWER"), 1, 17),
    ("convT1d_output_shape_dil", "ConvTranspose", [X1, _r(13, 4, 2, 3)],
     dict(strides=[3], output_shape=[37], dilations=[2]), 1, 17),
    ("convT3d_group", "ConvTranspose", [X3, _r(15, 4, 3, 3, 2, 3)],
     dict(group=2, strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 2], output_padding=[1, 0, 1]), 1, 17),
    ("deform_v2_groups", "DeformConv",
     [X, _r(16, 6, 2, 3, 3), _r(17, 2, 36, 4, 9, scale=2), _r(18, 6),
      np.random.default_rng(19).random((2, 18, 4, 9)).astype(np.float32)],
     dict(group=2, offset_group=2, strides=[2, 1], pads=[1, 1, 1, 1]), 1, 19),
    ("deform_v1_dilated", "DeformConv", [X, _r(20, 6, 4, 3, 3), _r(21, 2, 18, 2, 4, scale=2)],
     dict(strides=[2, 2], dilations=[2, 1], pads=[0, 0, 1, 0]), 1, 19),
    ("batchnorm", "BatchNormalization",
     [X, _r(22, 4), _r(23, 4), _r(24, 4), np.abs(_r(25, 4)) + 0.1], dict(epsilon=1e-3), 1, 15),
    ("batchnorm_3d", "BatchNormalization",
     [X1, _r(22, 4), _r(23, 4), _r(24, 4), np.abs(_r(25, 4)) + 0.1], {}, 1, 15),
    # activations
    ("relu", "Relu", [X], {}, 1, 17),
    ("leakyrelu", "LeakyRelu", [X], dict(alpha=0.3), 1, 17),
    ("hardswish", "HardSwish", [X * 3], {}, 1, 17),
    ("hardsigmoid", "HardSigmoid", [X * 3], dict(alpha=0.3, beta=0.4), 1, 17),
    ("sigmoid", "Sigmoid", [X * 20], {}, 1, 17),
    ("tanh", "Tanh", [X * 2], {}, 1, 17),
    ("clip_inputs", "Clip", [X, F(-0.5), F(0.7)], {}, 1, 13),
    ("clip_max_only", "Clip", [X, None, F(0.7)], {}, 1, 13),
    ("clip_min_only", "Clip", [X, F(0.1)], {}, 1, 13),
    ("clip_attrs", "Clip", [X], dict(min=-0.2, max=0.3), 1, 7),
    ("clip_int", "Clip", [I(-5, 0, 3, 9), I(-1), I(4)], {}, 1, 13),
    # element-wise binary
    *[(f"{op.lower()}_{k}", op, ins, {}, 1, 17) for op in ("Add", "Sub", "Mul", "Div")
      for k, ins in (("bcast", [X, _r(26, 4, 1, 1)]),
                     ("bcast2", [X[:1, :1], _r(27, 3, 1, 7, 1)]),
                     ("int", [I(7, -7, 8, -9), I(2, 2, -3, -4)]))],
    # data movement
    ("concat", "Concat", [X, X[:, :2].copy()], dict(axis=1), 1, 13),
    ("concat_neg", "Concat", [X, X[:, :, :3].copy()], dict(axis=-2), 1, 13),
    ("split_input", "Split", [X, I(1, 3)], dict(axis=1), 2, 13),
    ("split_attr", "Split", [X], dict(axis=1, split=[1, 3]), 2, 11),
    ("split_equal", "Split", [X], dict(axis=2), 7, 13),
    ("split_num_outputs", "Split", [X], dict(axis=-1, num_outputs=4), 4, 18),
    ("split_num_outputs_even", "Split", [X], dict(axis=2, num_outputs=3), 3, 18),
    ("slice_axes_steps", "Slice", [X, I(1, -5), I(100, -1), I(1, 3), I(1, 2)], {}, 1, 13),
    ("slice_negative_steps", "Slice", [X, I(-1, 8, 3), I(-100, 0, -100), I(2, 3, 1),
                                       I(-2, -3, -1)], {}, 1, 13),
    ("slice_reverse", "Slice", [X, I(5), I(2), I(-1), I(-2)], {}, 1, 13),
    ("slice_default_axes", "Slice", [X, I(0), I(-1)], {}, 1, 13),
    ("slice_empty", "Slice", [X, I(20), I(30), I(3)], {}, 1, 13),
    *[(f"pad_{mode}_{k}", "Pad", [X] + ins, dict(mode=mode), 1, 19)
      for mode in ("constant", "reflect", "edge", "wrap")
      for k, ins in (("pos", [I(0, 1, 2, 3, 0, 0, 1, 2)]),
                     ("neg", [I(0, -1, 2, -3, 0, 2, -1, 2)]),
                     ("axes", [I(2, 1, 3, 2), None, I(2, -1)]))],
    ("pad_value", "Pad", [X, I(0, 1, 2, 3, 0, 0, 1, 2), F(1.5)], dict(mode="constant"), 1, 13),
    ("pad_attrs", "Pad", [X], dict(mode="constant", pads=[0, 1, 2, 3, 0, 0, 1, 2], value=2.0),
     1, 9),
    ("pad_attrs_reflect", "Pad", [X], dict(mode="reflect", pads=[0, 1, 2, 3, 0, 0, 1, 2]), 1, 9),
    ("gemm_all", "Gemm", [_r(28, 5, 3), _r(29, 4, 5), _r(30, 4)],
     dict(alpha=0.5, beta=2.0, transA=1, transB=1), 1, 13),
    ("gemm_plain", "Gemm", [_r(28, 3, 5), _r(29, 5, 4)], {}, 1, 13),
    ("gemm_scalar_c", "Gemm", [_r(28, 3, 5), _r(29, 5, 4), F(3).reshape(1, 1)], {}, 1, 13),
    ("matmul", "MatMul", [X, _r(31, 9, 3)], {}, 1, 13),
    ("matmul_vec", "MatMul", [_r(32, 9), _r(33, 2, 9, 3)], {}, 1, 13),
    ("matmul_bcast", "MatMul", [_r(34, 3, 1, 4, 9), _r(35, 2, 9, 3)], {}, 1, 13),
    *[(f"flatten_{a}", "Flatten", [X], dict(axis=a), 1, 13) for a in (0, 1, 2, -1, -4, 4)],
    ("reshape_zero_minus1", "Reshape", [X, I(0, -1, 9)], {}, 1, 13),
    ("reshape_flat", "Reshape", [X, I(-1)], {}, 1, 13),
    ("reshape_allowzero", "Reshape", [np.zeros((0, 3), np.float32), I(3, 0)], dict(allowzero=1),
     1, 14),
    ("transpose", "Transpose", [X], dict(perm=[0, 2, 3, 1]), 1, 13),
    ("transpose_default", "Transpose", [X], {}, 1, 13),
    ("squeeze_input", "Squeeze", [X[:, :1, :, :1].copy(), I(1, -1)], {}, 1, 13),
    ("squeeze_all", "Squeeze", [X[:, :1, :, :1].copy()], {}, 1, 13),
    ("squeeze_attr", "Squeeze", [X[:, :1, :, :1].copy()], dict(axes=[1]), 1, 11),
    ("unsqueeze_input", "Unsqueeze", [X, I(0, -1)], {}, 1, 13),
    ("unsqueeze_unsorted", "Unsqueeze", [X, I(5, 2)], {}, 1, 13),
    ("unsqueeze_attr", "Unsqueeze", [X], dict(axes=[0, 3]), 1, 11),
    *[(f"softmax_{o}_{a}", "Softmax", [X * 3], ({} if a is None else dict(axis=a)), 1, o)
      for o in (11, 13) for a in (None, 2, -1)],
    ("identity", "Identity", [X], {}, 1, 13),
    ("dropout_mask", "Dropout", [X], {}, 2, 12),
    ("dropout_ratio", "Dropout", [X, F(0.3).reshape(())], {}, 1, 13),
    ("dropout_old", "Dropout", [X], dict(ratio=0.2), 1, 7),
    ("constant_tensor", "Constant", [], dict(value=_r(36, 2, 3)), 1, 13),
    ("constant_floats", "Constant", [], dict(value_floats=[1.0, 2.5]), 1, 13),
    ("constant_int", "Constant", [], dict(value_int=3), 1, 13),
    ("shape", "Shape", [X], {}, 1, 13),
    ("shape_start_end", "Shape", [X], dict(start=1, end=-1), 1, 15),
    ("shape_clamped", "Shape", [X], dict(start=-10), 1, 15),
    ("gather_neg", "Gather", [X, I(0, -1, 2)], dict(axis=2), 1, 13),
    ("gather_2d", "Gather", [X, np.array([[1, 0], [2, 3]], np.int64)], dict(axis=1), 1, 13),
    ("gather_scalar", "Gather", [I(5, 6, 7), np.array(-1, np.int64)], dict(axis=0), 1, 13),
    ("cast_to_int", "Cast", [X * 10], dict(to=7), 1, 13),
    ("cast_to_float", "Cast", [I(1, 2, 3)], dict(to=1), 1, 13),
    # pooling
    *[(f"maxpool_ceil{c}_order{s}", "MaxPool", [X],
       dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=c,
            storage_order=s), 2, 12) for c in (0, 1) for s in (0, 1)],
    ("maxpool_same_upper", "MaxPool", [X], dict(kernel_shape=[3, 2], strides=[2, 2],
                                                auto_pad="SAME_UPPER"), 2, 12),
    ("maxpool_dilated", "MaxPool", [X], dict(kernel_shape=[2, 2], strides=[1, 2],
                                             dilations=[2, 3], pads=[1, 1, 0, 1]), 2, 12),
    ("maxpool_1d_ceil", "MaxPool", [X1], dict(kernel_shape=[3], strides=[2], ceil_mode=1), 2, 12),
    ("maxpool_3d", "MaxPool", [X3], dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2],
                                         pads=[0, 1, 1, 1, 0, 0]), 2, 12),
    ("maxpool_int8", "MaxPool", [(X * 10).astype(np.int8)],
     dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1]), 1, 12),
    *[(f"avgpool_cip{i}_ceil{c}", "AveragePool", [X],
       dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=i,
            ceil_mode=c), 1, 19) for i in (0, 1) for c in (0, 1)],
    ("avgpool_same_lower", "AveragePool", [X],
     dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER"), 1, 19),
    ("avgpool_same_lower_cip", "AveragePool", [X],
     dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER", count_include_pad=1),
     1, 19),
    ("avgpool_dilated_ceil", "AveragePool", [X],
     dict(kernel_shape=[3, 2], strides=[2, 3], pads=[0, 1, 2, 1], dilations=[2, 1],
          ceil_mode=1), 1, 19),
    ("avgpool_3d_cip", "AveragePool", [X3],
     dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2], pads=[0, 1, 1, 1, 0, 0],
          count_include_pad=1), 1, 19),
    ("avgpool_1d", "AveragePool", [X1], dict(kernel_shape=[4], strides=[3], pads=[2, 2]), 1, 19),
    # ceil_mode windows larger than the padded input (clipped, as torch and ORT do)
    *[(f"{op.lower()}_ceil_overhang_{i}", op, [_r(5, 1, 3, *hw)], dict(kernel_shape=[3, 4], strides=[2, 3],
                                                                       ceil_mode=1), 1, 19)
      for op in ("AveragePool", "MaxPool") for i, hw in enumerate([(2, 2), (2, 3), (7, 2)])],
    ("global_avg", "GlobalAveragePool", [X], {}, 1, 13),
    ("global_max", "GlobalMaxPool", [X], {}, 1, 13),
    ("global_avg_3d", "GlobalAveragePool", [X3], {}, 1, 13),
    *[(f"lppool_{name}", "LpPool", [x], attrs, 1, 18) for name, x, attrs in (
        ("1d_p1", X1, dict(kernel_shape=[3], strides=[2], pads=[1, 2], p=1)),
        ("2d_p2_ceil", X, dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1],
                                ceil_mode=1)),
        ("2d_same_lower_p3", X, dict(kernel_shape=[2, 3], strides=[2, 1], auto_pad="SAME_LOWER",
                                      p=3)),
        ("3d_p2", X3, dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2], pads=[0, 1, 1, 1, 0, 0])))],
    *[(f"global_lp_p{p}_{i}", "GlobalLpPool", [x], dict(p=p), 1, 2)
      for p in (1, 2, 3) for i, x in enumerate((X, X1, X3))],
    # resize
    *[(f"resize_nearest_{ctm}_{nm}_{i}", "Resize", [X, E, F(*sc)],
       dict(mode="nearest", coordinate_transformation_mode=ctm, nearest_mode=nm), 1, 19)
      for ctm in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                  "half_pixel_symmetric")
      for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
      for i, sc in enumerate(([1, 1, 2, 3], [1, 1, 0.5, 0.34], [1, 1, 1.7, 2.5]))],
    *[(f"resize_{mode}_{ctm}_sizes{i}", "Resize", [X, E, None, I(*sz)],
       dict(mode=mode, coordinate_transformation_mode=ctm), 1, 19)
      for ctm in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                  "half_pixel_symmetric")
      for mode in ("nearest", "linear", "cubic")
      for i, sz in enumerate(([2, 4, 14, 5], [2, 4, 3, 20], [2, 4, 1, 1]))],
    *[(f"resize_{mode}_{ctm}_scales", "Resize", [X, E, F(1, 1, 1.7, 0.6)],
       dict(mode=mode, coordinate_transformation_mode=ctm), 1, 19)
      for ctm in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                  "half_pixel_symmetric") for mode in ("linear", "cubic")],
    ("resize_cubic_exclude", "Resize", [X, E, F(1, 1, 1.7, 0.6)],
     dict(mode="cubic", exclude_outside=1, cubic_coeff_a=-0.5), 1, 19),
    *[(f"resize_{mode}_tf_crop_{i}", "Resize", [X, roi, F(1, 1, 1.6, 1.3)],
       dict(mode=mode, coordinate_transformation_mode="tf_crop_and_resize",
            extrapolation_value=-3.0), 1, 19)
      for mode in ("nearest", "linear", "cubic")
      for i, roi in enumerate((F(0, 0, 0.2, 0.1, 1, 1, 0.9, 0.7),
                               F(0, 0, -0.2, 0.1, 1, 1, 1.3, 0.7)))],
    *[(f"resize_{mode}_{pol}", "Resize", [X, E, None, I(5, 20)],
       dict(mode=mode, axes=[2, 3], keep_aspect_ratio_policy=pol), 1, 19)
      for mode in ("nearest", "linear") for pol in ("not_larger", "not_smaller")],
    ("resize_axes_scales", "Resize", [X, E, F(2.0, 0.5)], dict(mode="linear", axes=[3, 2]), 1, 19),
    ("resize_negative_axes_sizes", "Resize", [X, E, None, I(5, 20)],
     dict(mode="linear", axes=[-2, -1]), 1, 19),
    ("resize_negative_axes_scales", "Resize", [X, E, F(2.0, 0.5)],
     dict(mode="nearest", axes=[-2, -1]), 1, 19),
    ("resize_int_nearest", "Resize", [(X * 10).astype(np.int32), E, F(1, 1, 2, 1.5)],
     dict(mode="nearest"), 1, 13),
    ("resize_3d_linear", "Resize", [X3, E, F(1, 1, 2, 1.5, 0.7)], dict(mode="linear"), 1, 13),
    ("resize_3d_nearest", "Resize", [X3, E, F(1, 1, 2, 1.5, 0.7)],
     dict(mode="nearest", coordinate_transformation_mode="asymmetric"), 1, 13),
    ("resize10_nearest_up", "Resize", [X, F(1, 1, 2, 3)], dict(mode="nearest"), 1, 10),
    ("resize10_nearest_down", "Resize", [X, F(1, 1, 0.5, 0.6)], dict(mode="nearest"), 1, 10),
    ("resize10_linear", "Resize", [X, F(1, 1, 1.5, 2.3)], dict(mode="linear"), 1, 10),
    ("resize10_linear_down", "Resize", [X, F(1, 1, 0.5, 0.6)], dict(mode="linear"), 1, 10),
    ("upsample9_nearest", "Upsample", [X, F(1, 1, 2, 3)], dict(mode="nearest"), 1, 9),
    ("upsample9_nearest_frac", "Upsample", [X, F(1, 1, 1.5, 2.5)], dict(mode="nearest"), 1, 9),
    ("upsample9_linear", "Upsample", [X, F(1, 1, 1.5, 2.5)], dict(mode="linear"), 1, 9),
    ("upsample7_attr", "Upsample", [X], dict(mode="nearest", scales=[1.0, 1.0, 2.0, 2.0]), 1, 7),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_matches_onnxruntime(case):
    _, op, inputs, attrs, nout, opset = case
    got = ours(op, inputs, attrs, nout, opset)
    want = run_ort(op, inputs, attrs, [g.dtype for g in got], opset)
    assert len(got) == len(want) == nout
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.dtype == b.dtype, f"output {k}: dtype {a.dtype} != {b.dtype}"
        atol = 1e-5 * max(1.0, float(np.abs(b).max())) if b.size and b.dtype.kind == "f" else 0
        assert_close(a, b, atol=max(atol, 2e-6), rtol=1e-5, what=f"output {k}")


def test_maxpool_dilated_same_follows_the_onnx_spec():
    # onnxruntime pads as if undilated here (output 3x4); the ONNX spec says ceil(in / stride)
    y, idx = ours("MaxPool", [X], dict(kernel_shape=[3, 2], strides=[2, 2], dilations=[2, 2],
                                       auto_pad="SAME_UPPER"), 2, 12)
    assert y.shape == (2, 4, 4, 5)
    flat = X.reshape(-1)
    np.testing.assert_array_equal(flat[idx], y)


def test_resize_negative_axes_with_aspect_policy_follow_the_spec():
    # onnxruntime leaves the input as it is here; the spec counts negative axes from the end
    for pol in ("not_larger", "not_smaller"):
        neg = ours("Resize", [X, E, None, I(5, 20)],
                   dict(mode="nearest", axes=[-2, -1], keep_aspect_ratio_policy=pol), 1, 19)[0]
        pos = ours("Resize", [X, E, None, I(5, 20)],
                   dict(mode="nearest", axes=[2, 3], keep_aspect_ratio_policy=pol), 1, 19)[0]
        np.testing.assert_array_equal(neg, pos)
        assert neg.shape == {"not_larger": (2, 4, 5, 6), "not_smaller": (2, 4, 16, 20)}[pol]


# ---------------------------------------------------------------------------------------------
# against torch

@needs_torch
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("cip", [False, True])
def test_pools_match_torch(ceil, cip):
    import torch
    import torch.nn.functional as tf
    x = _r(40, 2, 3, 11, 8)
    t = torch.from_numpy(x)
    y = ours("AveragePool", [x], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                      ceil_mode=int(ceil), count_include_pad=int(cip)), 1, 19)[0]
    want = tf.avg_pool2d(t, 3, 2, 1, ceil_mode=ceil, count_include_pad=cip).numpy()
    assert_close(y, want, atol=1e-6)
    y, idx = ours("MaxPool", [x], dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                                       dilations=[2, 1], ceil_mode=int(ceil)), 2, 12)
    want, widx = tf.max_pool2d(t, (3, 2), 2, 1, dilation=(2, 1), ceil_mode=ceil,
                               return_indices=True)
    assert_close(y, want.numpy(), atol=0)
    plane = 11 * 8
    base = (np.arange(2)[:, None] * 3 + np.arange(3)[None, :]).reshape(2, 3, 1, 1) * plane
    np.testing.assert_array_equal(idx - base, widx.numpy())


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


@needs_torch
@pytest.mark.parametrize("cip", [False, True])
@pytest.mark.parametrize("hw", [(2, 2), (2, 3), (7, 2), (1, 1)])
def test_ceil_mode_windows_overhanging_the_input_match_torch(cip, hw):
    import torch
    from torch import nn
    x = torch.from_numpy(_r(6, 2, 3, *hw))
    for m in (nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=cip), nn.MaxPool2d(3, 2, ceil_mode=True),
              nn.AvgPool2d((3, 4), (2, 3), (1, 0), ceil_mode=True, count_include_pad=cip)):
        try:
            want = m(x).numpy()
        except RuntimeError:  # no window starts inside the input: both refuse
            op = "MaxPool" if isinstance(m, nn.MaxPool2d) else "AveragePool"
            k, st, p = (_pair(v) for v in (m.kernel_size, m.stride, m.padding))
            with pytest.raises(ModelError, match="larger than the padded input"):
                ours(op, [x.numpy()], dict(kernel_shape=k, strides=st, pads=p + p, ceil_mode=1))
            continue
        got = convengine.InferenceSession(convengine.from_torch(m, (x,))).run(None, {"input": x.numpy()})[0]
        assert_close(got, want, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("size", [(22, 12), (5, 3), (11, 8)])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bilinear-ac",
                                  "bicubic"])
def test_resize_matches_torch(size, mode):
    import torch
    import torch.nn.functional as tf
    x = _r(41, 2, 3, 11, 8)
    t = torch.from_numpy(x)
    attrs = {"nearest": dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                             nearest_mode="floor"),
             "nearest-exact": dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                                   nearest_mode="round_prefer_ceil"),
             "bilinear": dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
             "bilinear-ac": dict(mode="linear", coordinate_transformation_mode="align_corners"),
             "bicubic": dict(mode="cubic", coordinate_transformation_mode="pytorch_half_pixel",
                             cubic_coeff_a=-0.75)}[mode]
    y = ours("Resize", [x, E, None, I(2, 3, *size)], attrs, 1, 13)[0]
    kw = {"align_corners": mode == "bilinear-ac"} if mode.startswith("bi") else {}
    tmode = mode.replace("-ac", "")
    want = tf.interpolate(t, size=size, mode=tmode, **kw).numpy()
    assert_close(y, want, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# custom-domain ops against their definitions

def _conv_ref(x, w, b, pads):
    return reference.conv2d(x, w, b, padding=pads)


@pytest.mark.parametrize("act,alpha,beta,lo,hi", [
    ("none", 0, 0, -math.inf, math.inf), ("none", 0, 0, 0.0, 6.0),
    ("hardswish", 0, 0, -math.inf, math.inf), ("hardsigmoid", 0.2, 0.5, -math.inf, math.inf),
    ("sigmoid", 0, 0, 0.1, 0.8), ("silu", 0, 0, -math.inf, math.inf),
    ("tanh", 0, 0, 0.0, math.inf), ("leaky_relu", 0.1, 0, -math.inf, 1.0)])
def test_fused_conv_definition(rng, act, alpha, beta, lo, hi):
    x, w, b, r = randn(rng, 2, 4, 6, 5), randn(rng, 3, 4, 3, 3), randn(rng, 3), \
        randn(rng, 2, 3, 6, 5)
    y = ours("FusedConv", [x, w, b, r], dict(pads=[1, 1, 1, 1], activation=act, alpha=alpha,
                                             beta=beta, clip_min=lo, clip_max=hi),
             domain=CUSTOM_DOMAIN)[0]
    z = (_conv_ref(x, w, b, 1) + r).astype(np.float64)
    f = {"none": z, "hardswish": z * np.clip(z / 6 + 0.5, 0, 1),
         "hardsigmoid": np.clip(alpha * z + beta, 0, 1), "sigmoid": 1 / (1 + np.exp(-z)),
         "silu": z / (1 + np.exp(-z)), "tanh": np.tanh(z),
         "leaky_relu": np.where(z < 0, alpha * z, z)}[act]
    assert_close(y, np.clip(f, lo, hi), atol=1e-5)


def test_squeeze_excite_definition(rng):
    x, w1, b1, w2, b2 = (randn(rng, 2, 6, 4, 5), randn(rng, 3, 6), randn(rng, 3),
                         randn(rng, 6, 3), randn(rng, 6))
    y = ours("SqueezeExcite", [x, w1, b1, w2, b2],
             dict(clip_min=0.0, gate="hardsigmoid", gate_alpha=1 / 6, gate_beta=0.5),
             domain=CUSTOM_DOMAIN)[0]
    m = x.astype(np.float64).mean(axis=(2, 3))
    h = np.maximum(m @ w1.T + b1, 0)
    s = np.clip((h @ w2.T + b2) / 6 + 0.5, 0, 1)
    assert_close(y, x * s[:, :, None, None], atol=1e-5)
    with pytest.raises(ModelError, match="SqueezeExcite"):
        ours("SqueezeExcite", [x, w1, b1, w2.T, b2], {}, domain=CUSTOM_DOMAIN)


def test_channel_shuffle_and_local_conv(rng):
    x = randn(rng, 2, 6, 3, 4)
    y = ours("ChannelShuffle", [x], dict(group=3), domain=CUSTOM_DOMAIN)[0]
    np.testing.assert_array_equal(y, reference.channel_shuffle(x, 3))
    np.testing.assert_array_equal(y[:, 1], x[:, 2])   # (g=3, 2) -> channel 1 is old 2
    w, b = randn(rng, 2, 3, 5, 6, 3, 2), randn(rng, 5, 2, 3)
    y = ours("LocalConv", [x, w, b], dict(strides=[2, 1], pads=[1, 0, 1, 0]),
             domain=CUSTOM_DOMAIN)[0]
    xp = np.pad(x, [(0, 0), (0, 0), (1, 1), (0, 0)]).astype(np.float64)
    want = np.zeros((2, 5, 2, 3))
    for oy in range(2):
        for ox in range(3):
            patch = xp[:, :, oy * 2:oy * 2 + 3, ox:ox + 2]
            want[:, :, oy, ox] = np.einsum("ncij,ocij->no", patch, w[oy, ox]) + b[:, oy, ox]
    assert_close(y, want, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("op,inputs,attrs,match", [
    ("Conv", [X, _r(1, 6, 3, 3, 3)], {}, "input channels"),
    ("Conv", [X, _r(1, 6, 4, 3, 3)], dict(auto_pad="SAME"), "auto_pad"),
    ("Conv", [X, _r(1, 6, 4, 3, 3)], dict(kernel_shape=[2, 2]), "kernel_shape"),
    ("Conv", [X, _r(1, 6, 4, 9, 3)], {}, "larger than the padded input"),
    ("ConvTranspose", [X1, _r(13, 4, 2, 3)], dict(strides=[3], output_shape=[38],
                                                  dilations=[2]), "output_shape"),
    ("Reshape", [X, I(5, -1)], {}, "cannot reshape"),
    ("Add", [X, _r(1, 3)], {}, "broadcast"),
    ("Add", [X, I(1)], {}, "dtypes"),
    ("Gather", [X, I(7)], dict(axis=1), "out of range"),
    ("Concat", [X, X[:, :, :2].copy()], dict(axis=1), "concatenate"),
    ("Split", [X], dict(axis=1, split=[1, 2]), "split"),
    ("Squeeze", [X, I(1)], {}, "squeeze"),
    ("Transpose", [X], dict(perm=[0, 1, 1, 2]), "perm"),
    ("Pad", [X, I(0, 0, 9, 0, 0, 0, 0, 0)], dict(mode="reflect"), "reflect"),
    ("Resize", [X, E, F(1, 1, 2, 2), I(1, 1, 1, 1)], {}, "exactly one"),
    ("Resize", [X, E, F(1, 1, 2, 2)], dict(antialias=1), "antialias"),
    ("BatchNormalization", [X, _r(1, 3), _r(1, 3), _r(1, 3), _r(1, 3)], {}, "scale"),
    ("Cast", [X], dict(to=99), "Cast"),
    ("Softmax", [I(1, 2)], {}, "floating"),
])
def test_errors_name_the_node(op, inputs, attrs, match):
    node = Node(op, [f"i{i}" for i in range(len(inputs))], ["o"], "mynode", attrs)
    with pytest.raises(ModelError, match="mynode") as e:
        eval_node(node, inputs, 13)
    assert match in str(e.value)


def test_unknown_op():
    with pytest.raises(ModelError, match="not supported"):
        eval_node(Node("Einsum", ["a"], ["b"]), [X], 13)
    with pytest.raises(ModelError, match="training"):
        eval_node(Node("Dropout", ["a", "", "t"], ["b"]), [X, None, np.array(True)], 13)


# ---------------------------------------------------------------------------------------------
# run_numpy and analyze

def _small_model():
    w = _r(50, 4, 3, 3, 3)
    nodes = [Node("Conv", ["x", "w"], ["c"], "conv", {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
             Node("Shape", ["c"], ["s"], "shape"),
             Node("Gather", ["s", "zero"], ["n"], "gather", {"axis": 0}),
             Node("Unsqueeze", ["n", "axes"], ["n1"], "unsq"),
             Node("Concat", ["n1", "minus1"], ["shape2"], "cat", {"axis": 0}),
             Node("Reshape", ["c", "shape2"], ["flat"], "reshape"),
             Node("Gemm", ["flat", "fc"], ["y"], "fc", {"transB": 1}),
             Node("MaxPool", ["c"], ["p", "pi"], "pool", {"kernel_shape": [2, 2],
                                                          "strides": [2, 2]})]
    inits = {"w": w, "zero": np.array(0, np.int64), "axes": I(0), "minus1": I(-1),
             "fc": _r(51, 5, 4 * 3 * 4)}
    g = Graph(nodes, [ValueInfo("x", [2, 3, 5, 7])], [ValueInfo("y"), ValueInfo("pi")], inits)
    return Model(g, 13)


def test_run_numpy_outputs_intermediates_and_feed_checks(rng):
    m = _small_model()
    x = randn(rng, 2, 3, 5, 7)
    out = run_numpy(m, {"x": x})
    assert set(out) == {"y", "pi"} and out["y"].shape == (2, 5)
    c = reference.conv2d(x, m.graph.initializers["w"], None, stride=2, padding=1)
    assert_close(out["y"], c.reshape(2, -1) @ m.graph.initializers["fc"].T, atol=1e-4)
    inter = run_numpy(m, {"x": x.astype(np.float64)}, outputs=["c", "s"])
    np.testing.assert_array_equal(inter["s"], [2, 4, 3, 4])
    with pytest.raises(ValueError, match="'x'.*shape"):
        run_numpy(m, {"x": randn(rng, 2, 3, 5, 6)})
    with pytest.raises(ValueError, match="not fed"):
        run_numpy(m, {})
    with pytest.raises(ValueError, match="not inputs"):
        run_numpy(m, {"x": x, "z": x})
    with pytest.raises(TypeError, match="dtype"):
        run_numpy(m, {"x": x.astype(np.int64)})
    with pytest.raises(ValueError, match="nope"):
        run_numpy(m, {"x": x}, outputs=["nope"])


def test_analyze_shapes_match_a_run(rng):
    m = _small_model()
    info = analyze(m)
    x = randn(rng, 2, 3, 5, 7)
    names = [t for n in m.graph.nodes for t in n.outputs]
    vals = run_numpy(m, {"x": x}, outputs=names)
    for t in names:
        assert info[t].shape == vals[t].shape, t
        assert info[t].dtype == vals[t].dtype, t
    np.testing.assert_array_equal(info["shape2"].value, [2, -1])
    assert info["c"].value is None
    sym = Model(Graph(m.graph.nodes, [ValueInfo("x", ["N", 3, 5, 7])], m.graph.outputs,
                      m.graph.initializers), 13)
    info = analyze(sym)
    n = info["c"].shape[0]
    assert isinstance(n, Sym) and info["c"].shape[1:] == (4, 3, 4)
    assert info["y"].shape == (n, 5) and info["p"].shape[0] == n
    assert info["s"].value is None and info["shape2"].value is None
    assert info["fc"].value is not None
    no_fold = analyze(m, fold=False)
    assert no_fold["s"].value is None and no_fold["s"].shape == (4,)


@needs_torch
def test_analyze_on_torch_export():
    import io
    import warnings

    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 8, 3, 2, 1)
            self.t = torch.nn.ConvTranspose2d(8, 4, 3, 2, 1, output_padding=1)
            self.fc = torch.nn.Linear(4, 5)

        def forward(self, x):
            y = torch.relu(self.c1(x))
            y = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
            y = torch.nn.functional.max_pool2d(y, 3, 2, 1, ceil_mode=True)
            y = self.t(y)
            y = torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1)
            return torch.softmax(self.fc(y), dim=1)

    torch.manual_seed(0)
    mod = Net().eval()
    x = torch.randn(2, 3, 13, 11)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(mod, (x,), f, dynamo=False, opset_version=13, input_names=["x"],
                          output_names=["y"], do_constant_folding=False)
    m = onnx_to_model(f.getvalue())
    info = analyze(m)
    names = [t for n in m.graph.nodes for t in n.outputs if t]
    vals = run_numpy(m, {"x": x.numpy()}, outputs=names)
    for t in names:
        assert info[t].shape == vals[t].shape, t
    with torch.no_grad():
        assert_close(vals["y"], mod(x).numpy(), atol=1e-5)

