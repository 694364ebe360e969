"""The numpy interpreter of a Model: the oracle for the optimisation passes, the constant
folder and the runtime.

`eval_node` runs one node, `run_numpy` a whole graph (its feeds checked against the graph
inputs). The op implementations live in family modules that register into the op table of
eval_registry.py, and all of them are imported here, so eval_node knows every op:
eval_conv.py (Conv, ConvTranspose, DeformConv, LocalConv, FusedConv, SqueezeExcite),
eval_pool.py, eval_resize.py, eval_tensor.py (shapes, layout, indexing, constants),
eval_math.py, eval_nn.py and eval_data.py. ONNX semantics for every op of ops.py, the
opset-dependent forms included; the shape and coordinate rules they share with the planner are
in rules.py, rules_tensor.py and rules_resize.py, shape inference (analyze) is in
shape_inference.py.
"""
from __future__ import annotations

import numpy as np

from ..model import DTYPES, Model, ModelError, Node
from . import (eval_conv, eval_data, eval_math, eval_nn, eval_pool, eval_resize,  # noqa: F401
               eval_tensor)
from .eval_registry import _EVAL, _node_desc

__all__ = ["run_numpy", "eval_node"]


def eval_node(node: Node, inputs: list, opset: int = 17) -> list:
    """Evaluates one node on numpy inputs (None for an omitted optional input); returns one
    array per output name (None for an empty output name). Raises ModelError naming the
    node."""
    dom = "" if node.domain in ("", "ai.onnx") else node.domain
    fn = _EVAL.get((dom, node.op_type))
    if fn is None:
        raise ModelError(f"{_node_desc(node)}: op {node.op_type!r}"
                         f"{' in domain ' + repr(dom) if dom else ''} is not supported")
    ins = [None if a is None else np.asarray(a) for a in inputs]
    try:
        outs = fn(node, ins, opset)
    except (ValueError, TypeError, IndexError) as e:
        raise ModelError(f"{_node_desc(node)}: {e}") from None
    except MemoryError as e:
        raise ModelError(f"{_node_desc(node)}: result too large ({e})") from None
    res = []
    for i, name in enumerate(node.outputs):
        res.append(outs[i] if name and i < len(outs) else None)
    return res


def _check_feed(vi, value):
    arr = np.asarray(value)
    want = DTYPES.get(vi.dtype)
    if want is not None and arr.dtype != want:
        if arr.dtype.kind == want.kind == "f":
            arr = arr.astype(want)
        else:
            raise TypeError(f"input {vi.name!r}: expected dtype {vi.dtype}, got {arr.dtype}")
    if vi.shape is not None:
        ok = len(vi.shape) == arr.ndim and all(
            not isinstance(d, int) or d == s for d, s in zip(vi.shape, arr.shape))
        if not ok:
            raise ValueError(f"input {vi.name!r}: expected shape {vi.shape}, got "
                             f"{list(arr.shape)}")
    return arr


def run_numpy(model: Model, feeds: dict, outputs=None) -> dict:
    """Runs the model in numpy. Returns {name: array} for the graph outputs (or for the tensor
    names in `outputs`, intermediates included)."""
    g = model.graph
    env = dict(g.initializers)
    for vi in g.inputs:
        if vi.name in feeds:
            env[vi.name] = _check_feed(vi, feeds[vi.name])
        elif vi.name not in env:
            raise ValueError(f"input {vi.name!r} is not fed (feeds: {sorted(feeds)})")
    unknown = set(feeds) - {vi.name for vi in g.inputs}
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not inputs of the model (inputs: "
                         f"{[vi.name for vi in g.inputs]})")
    want = [v.name for v in g.outputs] if outputs is None else list(outputs)
    keep = set(want) | set(g.initializers)
    last = {}
    for i, n in enumerate(g.nodes):
        for t in n.inputs:
            last[t] = i
    for i, node in enumerate(g.nodes):
        ins = []
        for t in node.inputs:
            if not t:
                ins.append(None)
            elif t in env:
                ins.append(env[t])
            else:
                raise ModelError(f"{_node_desc(node)}: input {t!r} is not computed before it")
        for t, v in zip(node.outputs, eval_node(node, ins, model.opset)):
            if t:
                env[t] = v
        for t in node.inputs:
            if t and last.get(t) == i and t not in keep:
                env.pop(t, None)
    missing = [t for t in want if t not in env]
    if missing:
        raise ValueError(f"{missing} are not tensors of the model")
    return {t: env[t] for t in want}
