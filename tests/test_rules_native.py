"""The C++ window rules (engine/rules.h, exposed as _native.rules_*) against independent ones.

Output sizes, pads, ceil_mode and transposed output_padding are checked against the reference's
own argument module (convengine.reference._args, written apart from the engine). Where the
reference has no such rule (ONNX auto_pad with strides, ceil_mode with asymmetric pads,
ConvTranspose's output_shape and auto_pad) onnxruntime is the oracle: the op run with the
auto_pad / output_shape attribute must equal the op run with the explicit pads the C++ rule
computed. Every case has a name saying what is awkward about it.
"""
import warnings

import numpy as np
import pytest

from convengine import _native
from convengine.reference import _args

# (name, in, kernel, stride, dilation, pad_begin, pad_end)
WINDOWS = [
    ("exact_fit", 7, 3, 1, 1, 0, 0),
    ("one_by_one", 1, 1, 1, 1, 0, 0),
    ("kernel_larger_than_input", 2, 3, 1, 1, 0, 0),
    ("fits_only_with_padding", 2, 3, 1, 1, 1, 0),
    ("stride_leaves_remainder", 10, 3, 3, 1, 0, 0),
    ("stride_larger_than_input", 3, 1, 5, 1, 0, 0),
    ("dilated_exact_span", 9, 3, 1, 4, 0, 0),
    ("dilated_span_past_input", 8, 3, 1, 4, 0, 0),
    ("asymmetric_pads", 5, 4, 2, 1, 0, 3),
    ("stride_dilation_and_pads", 37, 5, 7, 3, 2, 6),
    ("padding_only_window", 1, 3, 2, 1, 2, 2),
]


@pytest.mark.parametrize("case", WINDOWS, ids=[c[0] for c in WINDOWS])
def test_window_output_matches_reference(case):
    _, n, k, s, d, pb, pe = case
    want = _args.window_out(n, k, s, pb, pe, d)
    assert _native.rules_window_output(n, k, s, d, pb, pe) == want
    assert _native.rules_window_output(n, k, s, d, pb, pe, ceil_mode=False) == want


# (name, in, kernel, stride, dilation, pad) with torch's symmetric pooling pads
CEIL = [
    ("ceil_adds_partial_window", 6, 3, 2, 1, 0),
    ("ceil_exact_no_change", 7, 3, 2, 1, 0),
    ("last_window_starts_in_end_padding", 5, 2, 2, 1, 1),
    ("last_window_starts_at_input_end", 6, 2, 2, 1, 1),
    ("last_window_starts_in_input", 6, 3, 2, 1, 1),
    ("dilated_ceil", 10, 3, 3, 2, 2),
    ("stride_one_ceil_is_floor", 9, 3, 1, 1, 1),
    ("window_overhangs_padded_input", 2, 3, 2, 1, 0),
    ("big_stride_ceil", 11, 2, 5, 1, 1),
    ("single_window", 3, 3, 3, 1, 0),
]


@pytest.mark.parametrize("case", CEIL, ids=[c[0] for c in CEIL])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_matches_reference(case, ceil_mode):
    _, n, k, s, d, p = case
    want = _args.pool_out(n, k, s, p, d, ceil_mode)
    assert _native.rules_window_output(n, k, s, d, p, p, ceil_mode) == want


@pytest.mark.parametrize("case", CEIL, ids=[c[0] for c in CEIL])
def test_ceil_mode_matches_torch(case):
    torch = pytest.importorskip("torch")
    _, n, k, s, d, p = case
    if 2 * p > k:  # torch's own limit (kernel_size, not the dilated span)
        pytest.skip("torch refuses padding above half the kernel")
    x = torch.zeros(1, 1, n)
    try:
        want = torch.nn.functional.max_pool1d(x, k, s, p, d, ceil_mode=True).shape[-1]
    except RuntimeError:
        want = 0
    got = _native.rules_window_output(n, k, s, d, p, p, True)
    assert got == want or (got < 1 and want < 1)


# (name, kernel, dilation, pad): torch allows pads up to half the dilated kernel
POOL_PADS = [
    ("half_kernel", 3, 1, 1),
    ("over_half_kernel", 3, 1, 2),
    ("even_kernel_half", 4, 1, 2),
    ("dilation_widens_limit", 3, 2, 2),
    ("over_dilated_half", 3, 2, 3),
    ("no_padding", 1, 1, 0),
]


@pytest.mark.parametrize("case", POOL_PADS, ids=[c[0] for c in POOL_PADS])
def test_pool_pads_limit_matches_reference(case):
    _, k, d, p = case
    x = np.zeros((1, 1, 9, 9), np.float32)
    try:
        _args.max_pool2d(x, k, 1, p, d, False, False)
        reference_ok = True
    except ValueError:
        reference_ok = False
    assert _native.rules_pool_pads_fit(k, d, p, p) == reference_ok
    assert _native.rules_pool_pads_fit(k, d, 0, p) == reference_ok
    assert _native.rules_pool_pads_fit(k, d, p, 0) == reference_ok


# (name, in, kernel, stride, dilation, pad_begin, pad_end, output_padding)
TRANSPOSED = [
    ("plain", 5, 3, 1, 1, 0, 0, 0),
    ("stride_two_output_padding", 5, 3, 2, 1, 1, 1, 1),
    ("dilated_output_padding_below_dilation", 4, 3, 1, 3, 0, 0, 2),
    ("asymmetric_pads", 6, 4, 3, 1, 2, 0, 0),
    ("pads_eat_whole_output", 1, 2, 1, 1, 1, 1, 0),
    ("stride_larger_than_kernel", 3, 2, 5, 1, 0, 0, 4),
    ("one_pixel", 1, 1, 1, 1, 0, 0, 0),
]


@pytest.mark.parametrize("case", TRANSPOSED, ids=[c[0] for c in TRANSPOSED])
def test_transposed_output_matches_reference(case):
    _, n, k, s, d, pb, pe, op = case
    assert (_native.rules_transposed_output(n, k, s, d, pb, pe, op)
            == _args.transposed_out(n, k, s, pb, pe, d, op))


@pytest.mark.parametrize("op, stride, dilation", [
    (0, 1, 1), (1, 2, 1), (1, 1, 2), (1, 1, 1), (2, 2, 2), (2, 3, 1), (3, 2, 3), (3, 3, 3)])
def test_output_padding_limit_matches_reference(op, stride, dilation):
    x = np.zeros((1, 1, 6), np.float32)
    w = np.zeros((1, 1, 3), np.float32)
    try:
        _args.conv(x, w, None, 1, stride, 0, dilation, 1, op, True)
        reference_ok = True
    except ValueError:
        reference_ok = False
    assert _native.rules_output_padding_fits(op, stride, dilation) == reference_ok


# (name, in sizes, kernel, strides, dilations, pads (begins then ends)) over 1-3 spatial axes
GEOMETRY = [
    ("1d_asymmetric", [11], [4], [3], [1], [0, 2]),
    ("2d_dilated_strided", [9, 14], [3, 2], [2, 3], [2, 1], [1, 0, 2, 1]),
    ("3d_mixed", [4, 7, 5], [1, 3, 5], [1, 2, 1], [1, 1, 2], [0, 1, 2, 0, 1, 3]),
    ("2d_stride_past_input", [3, 3], [1, 1], [4, 5], [1, 1], [0, 0, 0, 0]),
]


@pytest.mark.parametrize("case", GEOMETRY, ids=[c[0] for c in GEOMETRY])
def test_conv_geometry_matches_reference(case):
    _, sizes, kernel, strides, dilations, pads = case
    n = len(sizes)
    x = np.zeros((1, 2, *sizes), np.float32)
    w = np.zeros((3, 2, *kernel), np.float32)
    want = _args.conv(x, w, None, n, strides, pads, dilations, 1, 0, False)
    pb, pe, out = _native.rules_conv_geometry(sizes, kernel, strides, dilations, pads)
    assert (tuple(pb), tuple(pe), tuple(out)) == (want.pad_begin, tuple(pads[n:]), want.out)


@pytest.mark.parametrize("case", GEOMETRY, ids=[c[0] for c in GEOMETRY])
def test_conv_transpose_geometry_matches_reference(case):
    _, sizes, kernel, strides, dilations, pads = case
    n = len(sizes)
    op = [min(s, d) - 1 for s, d in zip(strides, dilations)]
    x = np.zeros((1, 2, *sizes), np.float32)
    w = np.zeros((2, 3, *kernel), np.float32)
    want = _args.conv(x, w, None, n, strides, pads, dilations, 1, op, True)
    pb, pe, out = _native.rules_conv_transpose_geometry(sizes, kernel, strides, dilations, pads, op)
    assert (tuple(pb), tuple(out)) == (want.pad_begin, want.out)


@pytest.mark.parametrize("sizes, kernel, dilations", [
    ([7], [3], [1]), ([6], [4], [1]), ([8, 5], [3, 2], [2, 3]), ([3, 4, 5], [3, 3, 2], [1, 2, 1])])
def test_same_and_valid_at_stride_one_match_reference(sizes, kernel, dilations):
    n = len(sizes)
    ones = [1] * n
    for auto_pad, form in (("SAME_UPPER", "same"), ("VALID", "valid")):
        begin, end = _args.pads(form, n, kernel, ones, dilations)
        pb, pe, out = _native.rules_conv_geometry(sizes, kernel, ones, dilations, [], auto_pad)
        assert (tuple(pb), tuple(pe)) == (begin, end)
        assert tuple(out) == tuple(_args.window_out(i, k, 1, b, e, d) for i, k, b, e, d
                                   in zip(sizes, kernel, begin, end, dilations))


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        _native.rules_conv_geometry([5, 5], [3], [1, 1], [1, 1])
    with pytest.raises(ValueError):
        _native.rules_conv_geometry([5], [3], [1], [1], [0, 1, 2])
    with pytest.raises(ValueError):
        _native.rules_conv_geometry([5], [3], [0], [1])
    with pytest.raises(ValueError):
        _native.rules_conv_geometry([5], [3], [1], [1], [-1, 0])
    with pytest.raises(ValueError):
        _native.rules_conv_geometry([5], [3], [1], [1], [], "SAME")
    with pytest.raises(ValueError):  # larger than any input of this size gives
        _native.rules_conv_transpose_geometry([4], [3], [2], [1], output_shape=[12])


# ---------------------------------------------------------------------------------------------
# ONNX's auto_pad, output_shape and ceil_mode with asymmetric pads: the op run with the attribute
# must equal the op run with the explicit pads the C++ rule computed. The oracle is onnxruntime
# where it implements the spec; for SAME with dilation (onnxruntime refuses it for Conv and
# ignores the dilation for pooling) and for a transposed SAME output past the full output
# (onnxruntime keeps the full output; the spec asks for in * stride) it is onnx.reference.

def _run(oracle, op, x, w=None, **attrs):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    inputs, inits = ["x"], []
    if w is not None:
        inits.append(numpy_helper.from_array(w, "w"))
        inputs.append("w")
    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if oracle == "onnx.reference":
            from onnx.reference import ReferenceEvaluator
            return ReferenceEvaluator(model).run(None, {"x": x})[0]
        ort = pytest.importorskip("onnxruntime")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # onnx's shape inference has no dropped ceil_mode window
        sess = ort.InferenceSession(model.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        return sess.run(None, {"x": x})[0]


def _rng_array(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# (name, in sizes, kernel, strides, dilations, oracle)
AUTO_PAD = [
    ("1d_stride_3_odd_total", [10], [4], [3], [1], "onnxruntime"),
    ("1d_stride_2_even_input", [8], [3], [2], [1], "onnxruntime"),
    ("2d_strided_zero_total_on_w", [9, 11], [3, 2], [2, 3], [1, 1], "onnxruntime"),
    ("2d_negative_total", [8, 8], [1, 1], [2, 2], [1, 1], "onnxruntime"),
    ("3d_mixed", [5, 6, 7], [3, 2, 3], [2, 1, 3], [1, 1, 1], "onnxruntime"),
    ("2d_dilated_strided", [9, 11], [3, 2], [2, 3], [2, 1], "onnx.reference"),
    ("3d_dilated", [5, 6, 7], [3, 2, 3], [2, 1, 3], [1, 2, 1], "onnx.reference"),
]


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("case", AUTO_PAD, ids=[c[0] for c in AUTO_PAD])
def test_conv_auto_pad_matches_onnx(case, auto_pad):
    _, sizes, kernel, strides, dilations, oracle = case
    x = _rng_array((1, 2, *sizes), 1)
    w = _rng_array((3, 2, *kernel), 2)
    pb, pe, out = _native.rules_conv_geometry(sizes, kernel, strides, dilations, [], auto_pad)
    attrs = dict(kernel_shape=kernel, strides=strides, dilations=dilations)
    want = _run(oracle, "Conv", x, w, auto_pad=auto_pad, **attrs)
    got = _run(oracle, "Conv", x, w, pads=list(pb) + list(pe), **attrs)
    assert tuple(want.shape[2:]) == tuple(out)
    np.testing.assert_array_equal(got, want)


# onnxruntime's pooling takes SAME without dilation and with a total padding >= 0.
POOL_AUTO_PAD = [c for c in AUTO_PAD if c[5] == "onnxruntime" and c[0] != "2d_negative_total"]


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("case", POOL_AUTO_PAD, ids=[c[0] for c in POOL_AUTO_PAD])
def test_pool_auto_pad_matches_onnxruntime(case, auto_pad):
    _, sizes, kernel, strides, dilations, oracle = case
    x = _rng_array((1, 2, *sizes), 3)
    pb, pe, out = _native.rules_conv_geometry(sizes, kernel, strides, dilations, [], auto_pad)
    attrs = dict(kernel_shape=kernel, strides=strides)
    want = _run(oracle, "MaxPool", x, auto_pad=auto_pad, **attrs)
    got = _run(oracle, "MaxPool", x, pads=list(pb) + list(pe), **attrs)
    assert tuple(want.shape[2:]) == tuple(out)
    np.testing.assert_array_equal(got, want)


# (name, in, kernel, stride, dilation, pad_begin, pad_end): ceil_mode with ONNX's asymmetric pads
CEIL_ASYMMETRIC = [
    ("end_pad_window_dropped", 6, 3, 2, 1, 0, 2),
    ("begin_pad_only", 6, 3, 2, 1, 1, 0),
    ("end_pad_window_kept", 5, 2, 2, 1, 0, 1),
    ("long_stride", 9, 3, 4, 1, 1, 0),
    ("dilated", 10, 3, 3, 2, 1, 2),
]


@pytest.mark.parametrize("case", CEIL_ASYMMETRIC, ids=[c[0] for c in CEIL_ASYMMETRIC])
def test_ceil_mode_asymmetric_pads_match_onnxruntime(case):
    _, n, k, s, d, pb, pe = case
    x = _rng_array((1, 1, n), 4)
    y = _run("onnxruntime", "MaxPool", x, kernel_shape=[k], strides=[s], dilations=[d],
             pads=[pb, pe], ceil_mode=1)
    assert _native.rules_window_output(n, k, s, d, pb, pe, True) == y.shape[-1]
    pads, _, out = _native.rules_conv_geometry([n], [k], [s], [d], [pb, pe], "NOTSET", True)
    assert out == [y.shape[-1]] and pads == [pb]


# (name, in sizes, kernel, strides, dilations, output_padding, auto_pad, output_shape, oracle)
TRANSPOSE_AUTO = [
    ("1d_odd_total_upper", [5], [3], [2], [1], [0], "SAME_UPPER", None, "onnxruntime"),
    ("1d_odd_total_lower", [5], [3], [2], [1], [0], "SAME_LOWER", None, "onnxruntime"),
    ("1d_output_shape_odd_total", [5], [3], [2], [1], [0], "NOTSET", [10], "onnxruntime"),
    ("1d_output_shape_past_full", [4], [2], [3], [1], [1], "NOTSET", [13], "onnxruntime"),
    ("2d_output_shape", [4, 5], [3, 3], [2, 2], [1, 1], [0, 0], "NOTSET", [8, 9], "onnxruntime"),
    ("2d_dilated_upper", [4, 5], [3, 3], [2, 2], [2, 1], [1, 1], "SAME_UPPER", None, "onnxruntime"),
    ("2d_dilated_lower", [4, 5], [3, 3], [2, 2], [2, 1], [1, 1], "SAME_LOWER", None, "onnxruntime"),
    ("3d_upper", [2, 3, 4], [2, 3, 3], [1, 2, 2], [1, 1, 1], [0, 1, 0], "SAME_UPPER", None,
     "onnxruntime"),
    ("3d_lower", [2, 3, 4], [2, 3, 3], [1, 2, 2], [1, 1, 1], [0, 1, 0], "SAME_LOWER", None,
     "onnxruntime"),
    # in * stride past the full output: onnxruntime keeps the full output, and onnx.reference's
    # SAME_UPPER rounds the negative half the other way; its SAME_LOWER follows the spec.
    ("same_past_full_lower", [4, 5], [3, 2], [2, 3], [2, 1], [1, 0], "SAME_LOWER", None,
     "onnx.reference"),
]


@pytest.mark.parametrize("case", TRANSPOSE_AUTO, ids=[c[0] for c in TRANSPOSE_AUTO])
def test_conv_transpose_auto_pad_matches_onnx(case):
    _, sizes, kernel, strides, dilations, op, auto_pad, output_shape, oracle = case
    x = _rng_array((1, 2, *sizes), 5)
    w = _rng_array((2, 3, *kernel), 6)
    pb, pe, out = _native.rules_conv_transpose_geometry(sizes, kernel, strides, dilations, [], op,
                                                        auto_pad, output_shape)
    attrs = dict(kernel_shape=kernel, strides=strides, dilations=dilations, output_padding=op)
    if output_shape is not None:
        want = _run(oracle, "ConvTranspose", x, w, output_shape=output_shape, **attrs)
    else:
        want = _run(oracle, "ConvTranspose", x, w, auto_pad=auto_pad, **attrs)
    assert tuple(want.shape[2:]) == tuple(out)
    # The pads crop the full output (a negative end pad extends it past the full output, where
    # there is nothing to compare).
    full = _run(oracle, "ConvTranspose", x, w, **attrs)
    keep = [min(o, f - b) for o, f, b in zip(out, full.shape[2:], pb)]
    crop = tuple(slice(b, b + n) for b, n in zip(pb, keep))
    region = tuple(slice(0, n) for n in keep)
    np.testing.assert_array_equal(want[(..., *region)], full[(..., *crop)])
