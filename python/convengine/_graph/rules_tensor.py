"""ONNX's rules of the tensor ops, each written once: Reshape targets, Shape's start/end, Pad's
pads by opset, Split's part sizes by opset, Slice's ranges, Squeeze's and Unsqueeze's axes,
Concat's and Flatten's shapes, Transpose's perm and Gather's indices; Expand's shape, Tile's
repeats, DepthToSpace / SpaceToDepth block sizes, the source indices of GatherElements and
GatherND, and the element limit of what they make.

Pure functions of shapes, attribute values and constant inputs (a Node is read only for its
attributes, with the op table's defaults), used by the numpy interpreter (eval_tensor.py,
eval_data.py; the shape inference evaluates these ops on stand-ins) and the planner
(lower_tensor.py, lower_data.py), so that
the tensors the planner makes as views are the ones the interpreter computes. Where an op
takes an attribute before some opset and an input after (Split's split, Squeeze's and
Unsqueeze's axes), the input wins when both are there. A broken rule raises rules._Err (a
ValueError) with the reason; the caller names the node.
"""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from .rules import _a, _axis, _Err, _in, _ints


def reshape_target(in_shape, shape, allowzero=False):
    """Reshape's output shape: 0 copies the input dimension (unless allowzero), one -1 is
    inferred."""
    shape = list(shape)
    out = []
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            if i >= len(in_shape):
                raise _Err(f"shape {shape}: 0 at position {i} has no input dimension to copy")
            out.append(in_shape[i])
        else:
            out.append(d)
    if out.count(-1) > 1 or any(d < -1 for d in out):
        raise _Err(f"shape {shape} is not a valid reshape target")
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in out:
        rest = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if rest == 0 or total % rest:
            raise _Err(f"cannot reshape {tuple(in_shape)} to {shape}")
        out[out.index(-1)] = total // rest
    if int(np.prod(out, dtype=np.int64)) != total:
        raise _Err(f"cannot reshape {tuple(in_shape)} to {shape}")
    return tuple(out)


def shape_value(shape, node):
    """Shape's output for an input of `shape`: the dims from start to end, both clamped."""
    r = len(shape)
    start = int(_a(node, "start", 0))
    end = _a(node, "end")
    end = r if end is None else int(end)
    start = min(max(start + r if start < 0 else start, 0), r)
    end = min(max(end + r if end < 0 else end, 0), r)
    return np.array(shape[start:end], np.int64)


def pad_params(node, shape, ins, opset):
    """(mode, begin, end, value) of a Pad of an input of `shape`: per-axis pads (negative ones
    crop first) from the attributes (opset < 11) or from the pads / constant_value / axes inputs
    (`ins`, the constant inputs; ins[0], the data, is not read). reflect, edge and wrap need
    the cropped axis they pad to be non-empty, reflect pads smaller than it."""
    mode = _a(node, "mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise _Err(f"unknown mode {mode!r}")
    rank = len(shape)
    if opset < 11 or (len(node.inputs) < 2 and node.attrs.get("pads") is not None):
        pads = _ints(node.attrs.get("pads"))
        value = float(_a(node, "value", 0.0))
        axes = None
    else:
        pads = _ints(_in(ins, 1), "pads")
        cv = _in(ins, 2)
        value = np.asarray(cv).reshape(-1)[0] if cv is not None and np.size(cv) else 0
        axes = _ints(_in(ins, 3), "axes")
    if pads is None:
        raise _Err("pads are missing")
    axes = list(range(rank)) if axes is None else [_axis(a, rank, "axes") for a in axes]
    if len(pads) != 2 * len(axes):
        raise _Err(f"pads {pads} must have {2 * len(axes)} values")
    begin, end = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[len(axes) + i]
    for i, (b, e) in enumerate(zip(begin, end)):
        kept = shape[i] - max(0, -b) - max(0, -e)
        b, e = max(0, b), max(0, e)
        if mode == "constant" or not (b or e):
            continue
        if kept <= 0:
            raise _Err(f"{mode} padding of an empty axis {i}")
        if mode == "reflect" and max(b, e) >= kept:
            raise _Err(f"reflect pads {b}, {e} must be smaller than axis {i} of size {kept}")
    return mode, begin, end, value



def split_parts(node, shape, split, opset):
    """(axis, part sizes) of a Split of an input of `shape` into len(node.outputs) parts.
    `split` is the split input's value (opset >= 13) or None; the attribute serves before.
    Without split: num_outputs (opset 18) gives parts of ceil(size / n) with a smaller (maybe
    empty) last one, as onnxruntime and ONNX's reference (refused when even that last part
    would be negative: 5 into 4); else (before opset 18) equal parts, refused when the axis
    does not divide evenly (ONNX's shape inference, onnxruntime). From opset 18 one of split
    and num_outputs must be given."""
    axis = _axis(int(_a(node, "axis", 0)), len(shape))
    dim, n = shape[axis], len(node.outputs)
    split = _ints(split, "split") if split is not None else _ints(node.attrs.get("split"), "split")
    num = node.attrs.get("num_outputs")
    if split is not None and num is not None:
        raise _Err(f"both split {split} and num_outputs {num} are given")
    if split is None and num is not None:
        num = int(num)
        if num != n:
            raise _Err(f"num_outputs {num} differs from the {n} outputs")
        chunk = -(-dim // num)
        split = [chunk] * (num - 1) + [dim - chunk * (num - 1)]
        if split[-1] < 0:
            raise _Err(f"axis {axis} of size {dim} does not split into num_outputs {num} parts "
                       f"of {chunk} with a smaller last one")
    elif split is None:
        if opset >= 18:
            raise _Err("neither the split input nor num_outputs is given (one is required "
                       "from opset 18)")
        if dim % n:
            raise _Err(f"axis {axis} of size {dim} does not split evenly into {n} parts; "
                       f"give split")
        split = [dim // n] * n
    if len(split) != n or sum(split) != dim or any(s < 0 for s in split):
        raise _Err(f"split {split} does not divide axis {axis} of size {dim} into {n} parts")
    return axis, split


def slice_ranges(shape, starts, ends, axes=None, steps=None):
    """Slice (the opset-10 form: starts, ends and the optional axes and steps as integer
    inputs) as (axis, first, step, count) per sliced axis: the elements first,
    first + step, ... (count of them) of that axis. A negative start or end counts from the
    end; then for a positive step both are clamped into [0, size], for a negative one the start
    into [0, size - 1] and the end into [-1, size - 1] (the ONNX text and onnxruntime: a start
    before the axis with a negative step keeps element 0, where numpy's slicing and ONNX's
    Python reference give nothing)."""
    starts, ends = _ints(starts, "starts"), _ints(ends, "ends")
    if starts is None or ends is None:
        raise _Err("starts and ends are required")
    axes = list(range(len(starts))) if axes is None else _ints(axes, "axes")
    steps = [1] * len(starts) if steps is None else _ints(steps, "steps")
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise _Err(f"starts {starts}, ends {ends}, axes {axes}, steps {steps} differ in length")
    out, seen = [], set()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, len(shape))
        if a in seen:
            raise _Err(f"axes {axes} repeat an axis")
        seen.add(a)
        if st == 0:
            raise _Err("steps must not be 0")
        d = shape[a]
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
            count = max(0, -(-(e - s) // st))
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
            count = max(0, -(-(s - e) // -st))
        out.append((a, s, st, count))
    return out


def _axes_of(node, axes):
    """The axes input's value if given, else the axes attribute (before opset 13)."""
    return _ints(axes, "axes") if axes is not None else _ints(node.attrs.get("axes"), "axes")


def squeeze_axes(node, shape, axes=None):
    """The sorted axes a Squeeze removes from an input of `shape` (`axes`: the axes input's
    value or None). None or empty axes remove every axis of size 1 (onnxruntime; ONNX's
    reference before opset 13)."""
    axes = _axes_of(node, axes)
    if not axes:
        return [i for i, d in enumerate(shape) if d == 1]
    out = [_axis(a, len(shape), "axes") for a in axes]
    if len(set(out)) != len(out):
        raise _Err(f"axes {axes} repeat")
    for a in out:
        if shape[a] != 1:
            raise _Err(f"cannot squeeze axis {a} of size {shape[a]}")
    return sorted(out)


def unsqueeze_axes(node, rank, axes=None):
    """The sorted axes of the output of an Unsqueeze of a rank-`rank` input that are new
    (size 1); negative axes count from the end of the output."""
    axes = _axes_of(node, axes)
    if axes is None:
        raise _Err("axes are missing")
    out = [_axis(a, rank + len(axes), "axes") for a in axes]
    if len(set(out)) != len(out):
        raise _Err(f"axes {axes} repeat")
    return sorted(out)


def concat_axis(node, rank):
    """Concat's axis in [0, rank)."""
    return _axis(int(_a(node, "axis")), rank)


def concat_shape(node, shapes):
    """(axis, output shape) of a Concat of inputs of `shapes` (equal off the axis)."""
    if not shapes:
        raise _Err("no inputs")
    r = len(shapes[0])
    axis = concat_axis(node, r)
    for s in shapes:
        if len(s) != r or any(s[i] != shapes[0][i] for i in range(r) if i != axis):
            raise _Err(f"input shapes {[tuple(s) for s in shapes]} do not concatenate along "
                       f"axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return axis, tuple(out)


def flatten_shape(node, shape):
    """Flatten's 2-D output shape: (prod(shape[:axis]), prod(shape[axis:])), axis in
    [-rank, rank]."""
    axis = _axis(int(_a(node, "axis", 1)), len(shape), allow_end=True)
    return math.prod(shape[:axis]), math.prod(shape[axis:])


def transpose_perm(node, rank):
    """Transpose's perm: the attribute, by default the axes reversed."""
    perm = _ints(_a(node, "perm"), "perm")
    if perm is None:
        return list(range(rank))[::-1]
    if sorted(perm) != list(range(rank)):
        raise _Err(f"perm {perm} is not a permutation of {rank} axes")
    return perm


def gather_params(node, shape, indices):
    """(axis, indices) of a Gather from an input of `shape`: the indices (integers, negative
    ones counting from the end of the axis) as int64 in [0, size)."""
    axis = _axis(int(_a(node, "axis", 0)), len(shape))
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise _Err(f"indices must be integers, got {idx.dtype}")
    d = shape[axis]
    if np.any(idx < -d) or np.any(idx >= d):
        raise _Err(f"indices out of range [{-d}, {d}) for axis {axis}")
    return axis, np.where(idx < 0, idx + d, idx).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# data movement: Expand, Tile, DepthToSpace / SpaceToDepth, GatherElements, GatherND

def _limit(shape, what="output"):
    n = math.prod(int(d) for d in shape)
    if n > MAX_ELEMENTS:
        raise _Err(f"{what} shape {tuple(shape)} has {n} elements, more than the limit of "
                   f"{MAX_ELEMENTS}")


def _int_vector(v, what):
    if v is None:
        raise _Err(f"{what} is missing")
    v = np.asarray(v)
    if v.dtype.kind not in "iu" or v.ndim != 1:
        raise _Err(f"{what} must be a 1-D integer tensor, got {v.dtype} of shape {list(v.shape)}")
    return [int(d) for d in v]


def expand_shape(in_shape, shape):
    """Output shape of Expand: the two shapes broadcast against each other (a 1 in `shape`
    keeps the input's dimension)."""
    if any(d < 0 for d in shape):
        raise _Err(f"shape {list(shape)} has a negative dimension")
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(in_shape), tuple(shape)))
    except ValueError:
        raise _Err(f"input shape {tuple(in_shape)} cannot be expanded to {list(shape)}") from None


def tile_repeats(node, x_shape, repeats):
    reps = _int_vector(repeats, "repeats")
    if len(reps) != len(x_shape):
        raise _Err(f"repeats {reps} must have one entry per input axis ({len(x_shape)})")
    if any(r < 0 for r in reps):
        raise _Err(f"repeats {reps} must be >= 0")
    return reps


def block_size(node, x_shape, space_to_depth):
    """The blocksize of DepthToSpace / SpaceToDepth, checked against the 4-D input shape."""
    b = int(_a(node, "blocksize"))
    if b < 1:
        raise _Err(f"blocksize must be >= 1, got {b}")
    if len(x_shape) != 4:
        raise _Err(f"input must be 4-D (N, C, H, W), got shape {tuple(x_shape)}")
    if space_to_depth:
        if x_shape[2] % b or x_shape[3] % b:
            raise _Err(f"height and width {tuple(x_shape[2:])} must be divisible by blocksize {b}")
    elif x_shape[1] % (b * b):
        raise _Err(f"channels {x_shape[1]} must be divisible by blocksize^2 = {b * b}")
    mode = _a(node, "mode", "DCR")
    if mode not in ("DCR", "CRD"):
        raise _Err(f"mode must be DCR or CRD, got {mode!r}")
    return b


# GatherElements, GatherND: the index of data each output element reads, as one integer array
# per data axis (each of the output's shape); the planner turns them into element offsets.

def _wrap(idx, size, axis):
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx[(idx < -size) | (idx >= size)].flat[0]
        raise _Err(f"index {int(bad)} is out of range [{-size}, {size}) for axis {axis}")
    return np.where(idx < 0, idx + size, idx)


def gather_elements_index(node, shape, idx):
    if idx.dtype.kind not in "iu":
        raise _Err(f"indices must be integers, got {idx.dtype}")
    idx = idx.astype(np.int64)
    r = len(shape)
    if r == 0 or idx.ndim != r:
        raise _Err(f"data (shape {tuple(shape)}) and indices (shape {idx.shape}) must have the "
                   f"same rank >= 1")
    axis = _axis(int(_a(node, "axis", 0)), r)
    for a in range(r):
        if a != axis and idx.shape[a] > shape[a]:
            raise _Err(f"indices shape {idx.shape} exceeds data shape {tuple(shape)} on axis {a}")
    _limit(idx.shape)
    return tuple(_wrap(idx, shape[a], a) if a == axis else
                 np.broadcast_to(np.arange(idx.shape[a]).reshape(
                     [-1 if b == a else 1 for b in range(r)]), idx.shape)
                 for a in range(r))


def gather_nd_index(node, shape, idx):
    if idx.dtype != np.int64:
        raise _Err(f"indices must be int64, got {idx.dtype}")
    r, q, b = len(shape), idx.ndim, int(_a(node, "batch_dims", 0))
    if r < 1 or q < 1:
        raise _Err(f"data (shape {tuple(shape)}) and indices (shape {idx.shape}) must have "
                   f"rank >= 1")
    if not 0 <= b < min(r, q):
        raise _Err(f"batch_dims {b} must be in [0, min(data rank {r}, indices rank {q}))")
    if tuple(idx.shape[:b]) != tuple(shape[:b]):
        raise _Err(f"the first batch_dims={b} axes of indices {idx.shape} and data "
                   f"{tuple(shape)} differ")
    k = idx.shape[-1]
    if not 1 <= k <= r - b:
        raise _Err(f"indices' last axis ({k}) must be in [1, {r - b}] (data rank - batch_dims)")
    tail = tuple(shape[b + k:])
    out = tuple(idx.shape[:-1]) + tail
    _limit(out)
    rank = len(out)

    def along(pos, n):
        return np.broadcast_to(np.arange(n).reshape([-1 if i == pos else 1
                                                     for i in range(rank)]), out)
    lead = (1,) * len(tail)
    return (tuple(along(a, shape[a]) for a in range(b)) +
            tuple(np.broadcast_to(_wrap(idx[..., j], shape[b + j], b + j).reshape(
                idx.shape[:-1] + lead), out) for j in range(k)) +
            tuple(along(q - 1 + t, n) for t, n in enumerate(tail)))
