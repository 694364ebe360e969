"""ONNX's shape rules, each written once, and the readers every rules module shares.

Sliding windows (Conv, ConvTranspose, DeformConv, MaxPool, AveragePool; torch's conv and pool
sizes are the same arithmetic): output sizes, explicit pads and auto_pad, ceil_mode, the
transposed conv's output_padding and output_shape. Clip's bounds, Softmax's axis by opset,
Gemm's and MatMul's shapes, Dropout in inference, Cast targets, the axes of Reduce* and the
scale / bias forms of GroupNormalization. The tensor ops' rules (Reshape, Shape, Pad, Split,
Slice, Squeeze, Unsqueeze, Concat, Flatten, Transpose, Gather, Expand, Tile, DepthToSpace,
GatherElements, GatherND) are in rules_tensor.py, Resize's, Upsample's and GridSample's in
rules_resize.py; they read attributes and inputs with the helpers here (_a, _ints, _axis, _in)
and raise _Err.

Pure functions of shapes and attribute values (a Node is read only for its attributes, with the
op table's defaults). Used by the numpy interpreter (evaluate.py, eval_*.py), shape inference
(shape_inference.py), the graph passes, the planner and convengine.functional. The Cython
reference writes its rules again on purpose (reference/_args.py), so the tests compare two
independent writings. A broken rule raises _Err (a ValueError) with the reason; the caller
names the node or argument.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .._model_limits import DTYPES
from .ops import attr as _table_attr

# ONNX TensorProto data type numbers of the dtypes convengine stores
ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
               9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
               4: np.uint16}


class _Err(ValueError):
    """An op's inputs or attributes break its rule; eval_node and the planner prefix the node."""


# ---------------------------------------------------------------------------------------------
# reading attributes and inputs

def _a(node, name, default=None):
    """The node's attribute, else the op table's default, else `default`."""
    v = _table_attr(node, name)
    return default if v is None else v


def _ints(v, what="attribute"):
    """A list of ints from an int sequence or tensor (integral floats accepted), or None."""
    if v is None:
        return None
    arr = np.asarray(v)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise _Err(f"{what} must be integers, got {v!r}")
    return [int(i) for i in arr.reshape(-1)]


def _axis(a, rank, what="axis", allow_end=False):
    """A possibly negative axis as an index in [0, rank) ([0, rank] with allow_end)."""
    a = int(a)
    hi = rank + 1 if allow_end else rank
    if not -rank <= a < hi:
        raise _Err(f"axis {a} out of range for rank {rank}" if what == "axis" else
                   f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def _in(ins, i):
    return ins[i] if i < len(ins) else None


# ---------------------------------------------------------------------------------------------
# sliding windows

@dataclasses.dataclass
class Window:
    strides: list
    dilations: list
    pad_begin: list
    pad_end: list
    out: list


def span(kernel, dilation):
    """Input extent of one dilated window."""
    return (kernel - 1) * dilation + 1


def window_out(n_in, win_span, stride, pad_begin, pad_end, ceil_mode=False):
    """Number of windows along an axis (ONNX Conv / pooling, torch's conv and pooling output
    size): floor((n_in + pads - span) / stride) + 1, with ceil_mode the ceiling less a last
    window that would start in the end padding; 0 when no window fits."""
    padded = n_in + pad_begin + pad_end
    if ceil_mode:
        o = -(-(padded - win_span) // stride) + 1
        if (o - 1) * stride >= n_in + pad_begin:
            o -= 1
    else:
        o = (padded - win_span) // stride + 1
    return max(o, 0)


def same_pads(n_in, win_span, stride, upper=True):
    """auto_pad SAME_UPPER / SAME_LOWER (torch's padding='same' is SAME_UPPER at stride 1):
    (output size ceil(n_in / stride), begin pad, end pad), the odd pad at the end for UPPER."""
    out = -(-n_in // stride)
    total = max(0, (out - 1) * stride + win_span - n_in)
    begin = total // 2 if upper else (total + 1) // 2
    return out, begin, total - begin


def transposed_out(n_in, win_span, stride, pad_begin, pad_end, output_padding=0):
    """Output size of a transposed convolution along an axis (ONNX, torch)."""
    return stride * (n_in - 1) + output_padding + win_span - pad_begin - pad_end


def window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad, ceil_mode=False,
                    what="Conv") -> Window:
    """ONNX output size and pads of a sliding window (Conv, DeformConv, MaxPool, AveragePool)."""
    n = len(in_sp)
    strides = list(strides) if strides else [1] * n
    dilations = list(dilations) if dilations else [1] * n
    if len(kernel) != n or len(strides) != n or len(dilations) != n:
        raise _Err(f"{what}: kernel {list(kernel)}, strides {strides} and dilations {dilations} "
                   f"must each have {n} values (spatial rank of the input)")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or any(k < 1 for k in kernel):
        raise _Err(f"{what}: kernel, strides and dilations must be >= 1")
    spans = [span(k, d) for k, d in zip(kernel, dilations)]
    auto_pad = auto_pad or "NOTSET"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        same = [same_pads(i, sp, s, auto_pad == "SAME_UPPER")
                for i, sp, s in zip(in_sp, spans, strides)]
        return Window(strides, dilations, [b for _, b, _ in same], [e for _, _, e in same],
                      [o for o, _, _ in same])
    if auto_pad == "VALID":
        pb = pe = [0] * n
    elif auto_pad == "NOTSET":
        pads = list(pads) if pads else [0] * (2 * n)
        if len(pads) != 2 * n:
            raise _Err(f"{what}: pads {pads} must have {2 * n} values")
        if any(p < 0 for p in pads):
            raise _Err(f"{what}: pads {pads} must be >= 0")
        pb, pe = pads[:n], pads[n:]
    else:
        raise _Err(f"{what}: unknown auto_pad {auto_pad!r}")
    for i in range(n):
        padded = in_sp[i] + pb[i] + pe[i]
        # with ceil_mode a window may overhang the padded input's end (torch and ORT clip it)
        if padded + (strides[i] - 1 if ceil_mode else 0) < spans[i]:
            raise _Err(f"{what}: window {spans[i]} (kernel {kernel[i]}, dilation {dilations[i]}) "
                       f"is larger than the padded input {padded} on spatial axis {i}")
    out = [window_out(i, sp, s, b, e, ceil_mode)
           for i, sp, s, b, e in zip(in_sp, spans, strides, pb, pe)]
    return Window(strides, dilations, pb, pe, out)


def conv_geometry(node, x_shape, w_shape, transposed=False):
    """(group, Window, c_out) of a Conv / FusedConv / ConvTranspose with input and weight shapes.
    A transposed conv's pads may come out negative at the end (an output_shape longer than the
    full output: extra output padding)."""
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3 (N, C, spatial...), got shape {tuple(x_shape)}")
    if len(w_shape) != nd + 2:
        raise _Err(f"weight must have rank {nd + 2}, got shape {tuple(w_shape)}")
    group = int(_a(node, "group", 1))
    if group < 1:
        raise _Err(f"group must be >= 1, got {group}")
    kernel = list(w_shape[2:])
    ks = _ints(_a(node, "kernel_shape"))
    if ks is not None and ks != kernel:
        raise _Err(f"kernel_shape {ks} does not match the weight shape {tuple(w_shape)}")
    c = x_shape[1]
    if c % group:
        raise _Err(f"input channels {c} are not divisible by group {group}")
    if transposed:
        if w_shape[0] != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 0 must equal the input channels {c}")
        c_out = w_shape[1] * group
    else:
        if w_shape[1] * group != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 1 times group {group} must equal "
                       f"the input channels {c}")
        c_out = w_shape[0]
        if c_out % group:
            raise _Err(f"output channels {c_out} are not divisible by group {group}")
    strides = _ints(_a(node, "strides"))
    dilations = _ints(_a(node, "dilations"))
    pads = _ints(_a(node, "pads"))
    auto_pad = _a(node, "auto_pad", "NOTSET")
    in_sp = list(x_shape[2:])
    if not transposed:
        return group, window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad), c_out
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    if len(strides) != nd or len(dilations) != nd:
        raise _Err(f"strides {strides} and dilations {dilations} must have {nd} values")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
        raise _Err("strides and dilations must be >= 1")
    opad = _ints(_a(node, "output_padding")) or [0] * nd
    if len(opad) != nd:
        raise _Err(f"output_padding {opad} must have {nd} values")
    full = [transposed_out(i, span(k, d), s, 0, 0, op)
            for i, k, d, s, op in zip(in_sp, kernel, dilations, strides, opad)]
    out_shape = _ints(_a(node, "output_shape"))
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if out_shape is not None:
            if len(out_shape) == nd + 2:
                out_shape = out_shape[2:]
            if len(out_shape) != nd:
                raise _Err(f"output_shape {out_shape} must have {nd} values")
            out = out_shape
        else:
            out = [i * s for i, s in zip(in_sp, strides)]
        total = [f - o for f, o in zip(full, out)]
        for t, st, o in zip(total, strides, out):
            if -t >= st:
                raise _Err(f"output_shape {out} is larger than any input of this size can "
                           f"produce (full output {full}, strides {strides})")
        # the odd pixel is cut at the end for SAME_UPPER, at the start otherwise
        # a negative total (an output larger than the full one) extends the end, as
        # output_padding does
        if auto_pad == "SAME_UPPER":
            pb = [max(0, t // 2) for t in total]
        else:
            pb = [max(0, t - t // 2) for t in total]
        pe = [t - b for t, b in zip(total, pb)]
    else:
        if auto_pad == "VALID":
            pads = [0] * (2 * nd)
        elif auto_pad != "NOTSET":
            raise _Err(f"unknown auto_pad {auto_pad!r}")
        pads = pads or [0] * (2 * nd)
        if len(pads) != 2 * nd or any(p < 0 for p in pads):
            raise _Err(f"pads {pads} must be {2 * nd} values >= 0")
        pb, pe = pads[:nd], pads[nd:]
        out = [f - b - e for f, b, e in zip(full, pb, pe)]
    if any(o < 1 for o in out):
        raise _Err(f"output spatial size {out} is empty")
    return group, Window(strides, dilations, pb, pe, out), c_out


def lp_pool_p(node):
    """LpPool's / GlobalLpPool's exponent p, an integer in [1, 64]."""
    p = int(_a(node, "p", 2))
    if not 1 <= p <= 64:
        raise _Err(f"p must be in [1, 64], got {p}")
    return p


def pool_geometry(node, x_shape):
    """(kernel, Window) of a MaxPool / AveragePool."""
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3, got shape {tuple(x_shape)}")
    k = _ints(_a(node, "kernel_shape"))
    if k is None or len(k) != nd:
        raise _Err(f"kernel_shape {k} must have {nd} values")
    return k, window_geometry(list(x_shape[2:]), k, _ints(_a(node, "strides")),
                              _ints(_a(node, "dilations")), _ints(_a(node, "pads")),
                              _a(node, "auto_pad", "NOTSET"), bool(_a(node, "ceil_mode", 0)),
                              node.op_type)


# ---------------------------------------------------------------------------------------------
# element-wise, linear algebra, dtypes

def cast_dtype(to):
    """The numpy dtype of a Cast's `to` (an ONNX TensorProto number or a dtype name)."""
    if isinstance(to, str):
        if to not in DTYPES:
            raise _Err(f"unknown Cast target {to!r}")
        return DTYPES[to]
    if int(to) not in ONNX_DTYPES:
        raise _Err(f"unsupported Cast target type {to}")
    return np.dtype(ONNX_DTYPES[int(to)])


def clip_bounds(node, ins, opset):
    """(min, max) of a Clip node as numbers (None for a side without a bound), from its
    inputs (opset >= 11) or its attributes."""
    lo, hi = _in(ins, 1), _in(ins, 2)
    if lo is None and len(node.inputs) < 2 and node.attrs.get("min") is not None:
        lo = node.attrs["min"]
    if hi is None and len(node.inputs) < 3 and node.attrs.get("max") is not None:
        hi = node.attrs["max"]
    out = []
    for v, what in ((lo, "min"), (hi, "max")):
        if v is not None:
            v = np.asarray(v)
            if v.size != 1:
                raise _Err(f"Clip {what} must be a scalar, got shape {v.shape}")
            v = v.reshape(()).item()
        out.append(v)
    return out


def dropout_is_identity(node, ins, opset) -> bool | None:
    """True when a Dropout passes its input through (inference), None when that depends on a
    runtime input."""
    if int(node.attrs.get("is_test", 1)) == 0 and opset < 7:
        return False
    tm = _in(ins, 2)
    if len(node.inputs) > 2 and node.inputs[2] and tm is None:
        return None
    return tm is None or not bool(np.asarray(tm).reshape(-1)[0])


def softmax_axis(node, rank, opset):
    """(axis, flat) of a Softmax / LogSoftmax: the axis defaults to -1 from opset 13 and to 1
    before; before opset 13 (flat True) the input is taken as the 2-D
    (prod(shape[:axis]), prod(shape[axis:])) and normalised along its second axis."""
    if rank == 0:
        raise _Err("input must have rank >= 1")
    axis = node.attrs.get("axis")
    if axis is None:
        axis = -1 if opset >= 13 else 1
    return _axis(int(axis), rank), opset < 13


def gemm_shapes(node, a_shape, b_shape):
    """(M, K, N) of a Gemm: A' = transpose(A) with transA is (M, K), B' = transpose(B) with
    transB is (K, N)."""
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise _Err(f"A and B must be 2D, got {tuple(a_shape)} and {tuple(b_shape)}")
    m, k = a_shape[::-1] if int(_a(node, "transA", 0)) else a_shape
    kb, n = b_shape[::-1] if int(_a(node, "transB", 0)) else b_shape
    if k != kb:
        raise _Err(f"inner dimensions differ: A' {(m, k)}, B' {(kb, n)}")
    return m, k, n


def matmul_shape(a_shape, b_shape):
    """MatMul's output shape (numpy's matmul): a 1-D A is a row (1, K), a 1-D B a column
    (K, 1), whose axis the output drops; the batch axes broadcast."""
    a, b = tuple(a_shape), tuple(b_shape)
    if not a or not b:
        raise _Err(f"operands must have rank >= 1, got {a} and {b}")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise _Err(f"shapes {a} and {b} do not match")
    try:
        batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    except ValueError:
        raise _Err(f"batch axes of {a} and {b} do not broadcast") from None
    return batch + ((a2[-2],) if len(a) > 1 else ()) + ((b2[-1],) if len(b) > 1 else ())


# ---------------------------------------------------------------------------------------------
# reductions and normalisation

def reduce_axes(node, axes_input, rank):
    """The sorted axes a Reduce* node reduces over a rank-`rank` input: [] with
    noop_with_empty_axes and no axes (a reduction of every element alone: ReduceSumSquare
    squares, ReduceL1 takes |x|, as onnxruntime). `axes_input` is the value of the
    optional axes input (opset 18+, ReduceSum 13+) or None; the attribute form (older opsets)
    is read from the node. Every axis when neither gives any."""
    axes = _ints(axes_input, "axes") if axes_input is not None else _ints(_a(node, "axes"))
    if not axes:
        if int(_a(node, "noop_with_empty_axes", 0)):
            return []
        return list(range(rank))
    out = sorted(_axis(int(a), rank, "axes") for a in axes)
    if len(set(out)) != len(out):
        raise _Err(f"axes {axes} repeat an axis")
    return out


def reduce_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def group_params(p, c, groups, what):
    """GroupNormalization scale / bias as one value per channel: opset 18 gives one per group
    (shape (G,)), opset 21 one per channel (shape (C,)); the shape tells which (they agree
    when G == C), so both forms are taken at any opset."""
    p = np.asarray(p, np.float64)
    if p.shape == (c,):
        return p
    if p.shape == (groups,):
        return np.repeat(p, c // groups)
    raise _Err(f"{what} has shape {list(p.shape)}, expected [{groups}] (per group, opset 18) "
               f"or [{c}] (per channel, opset 21)")
