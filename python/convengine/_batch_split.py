"""Batch split: a batch of at least two images on two or more threads runs as one chunk of
images per thread, each chunk through the whole network on one core, when the graph never
mixes images.

Measured (bench/batch_split.py, Zen 4, 2 threads): against splitting every layer over the
threads (a barrier after each), images/s mobilenet_v2 1.72x at batch 2, 1.23x at 8, 1.04x at 32;
resnet18 1.19x at 2; resnet50 0.99-1.06x. Never measurably slower, so every separable batch
splits. The chunks' plans are the session's plans for those batch sizes (cached like any other).

Separable: the plan for the whole batch and the plan for one chunk have the same steps, every
step's outputs have one axis that is the batch (B in one, the chunk's size in the other, the
other axes equal), the graph outputs lead with it,
and no node reduces, normalises, gathers, splits or permutes along axis 0 (attributes read
with their ONNX defaults). An op this module does not know with an axis 0 refuses the split.
"""
from __future__ import annotations

import numpy as np

from . import _native

# op -> the attribute whose ONNX default involves axis 0 when it is absent
_DEFAULT_AXIS0 = {"Gather": "axis", "GatherElements": "axis", "ArgMax": "axis",
                  "ArgMin": "axis", "Split": "axis", "Compress": "axis",
                  "MeanVarianceNormalization": "axes", "ReduceMean": "axes", "ReduceSum": "axes",
                  "ReduceMax": "axes", "ReduceMin": "axes", "ReduceProd": "axes",
                  "ReduceL1": "axes", "ReduceL2": "axes", "ReduceLogSumExp": "axes",
                  "ReduceSumSquare": "axes", "ReduceLogSum": "axes"}
# ops whose image mixing is not read from attributes here: never split
_NEVER = {"CumSum", "Einsum", "GatherND", "ScatterND", "ScatterElements", "Scatter", "NonZero",
          "Unique", "Loop", "Scan", "If", "TopK", "NonMaxSuppression", "RoiAlign", "Range",
          "ConstantOfShape", "ReverseSequence"}
# ops that take their axes as an input (later opsets): read from an initializer, else no split
_AXES_INPUT = {"Slice": 3, "Squeeze": 1, "Unsqueeze": 1, "ReduceMean": 1, "ReduceSum": 1,
               "ReduceMax": 1, "ReduceMin": 1, "ReduceProd": 1, "ReduceL1": 1, "ReduceL2": 1,
               "ReduceLogSumExp": 1, "ReduceSumSquare": 1, "ReduceLogSum": 1}


def chunk_sizes(batch: int, threads: int) -> list[int]:
    n = min(threads, batch)
    return [batch // n + (i < batch % n) for i in range(n)]


def _axis0(value, rank) -> bool:
    vals = value if isinstance(value, (list, tuple)) else [value]
    for a in vals:
        if not isinstance(a, (int, np.integer)):
            return True
        if a == 0 or (a < 0 and (rank is None or a + rank <= 0)):
            return True
    return False


def graph_mixes_images(model, rows) -> bool:
    """True when a node of `model` may combine values of different images (see the module
    docstring); rows (a plan's) give ranks."""
    rank = {r["node"]: (len(r["inputs"][0]) if r["inputs"] else None) for r in rows}
    inits = model.graph.initializers
    for n in model.graph.nodes:
        op, r = n.op_type, rank.get(n.name)
        if op in _NEVER:
            return True
        k = _AXES_INPUT.get(op)
        axes_input = k is not None and len(n.inputs) > k and bool(n.inputs[k])
        if axes_input:
            axes = inits.get(n.inputs[k])
            if axes is None or _axis0([int(a) for a in np.ravel(axes)], r):
                return True
        elif op == "Slice" and len(n.inputs) > 1:
            return True  # every axis sliced: a reversed batch keeps its shape
        for key in ("axis", "axes"):
            if key in n.attrs:
                if _axis0(n.attrs[key], r):
                    return True
            elif _DEFAULT_AXIS0.get(op) == key and not axes_input:
                return True
        if op == "Transpose":
            perm = n.attrs.get("perm")
            if not perm or perm[0] != 0:
                return True
    return False


def separable(plan_b, plan_c, b, c, model) -> bool:
    """plan_b (batch b) and plan_c (batch c < b) plan the same graph image by image."""
    if plan_b.const_outputs or plan_c.const_outputs:
        return False
    rb = {r["node"]: r for r in plan_b.rows}
    rc = {r["node"]: r for r in plan_c.rows}
    if set(rb) != set(rc):
        return False
    for name, r in rb.items():
        for ob, oc in zip(r["outputs"], rc[name]["outputs"]):
            # one axis scales with the batch (not always the first: the Gemm step writes
            # (1, N, batch)), the others equal
            diff = [i for i, (x, y) in enumerate(zip(ob, oc)) if x != y]
            if len(ob) != len(oc) or len(diff) != 1 or ob[diff[0]] != b or oc[diff[0]] != c:
                return False
    for ob, oc in zip(plan_b.output_shapes, plan_c.output_shapes):
        if not ob or ob[0] != b or oc[0] != c or tuple(ob[1:]) != tuple(oc[1:]):
            return False
    return not graph_mixes_images(model, plan_b.rows)


def run(session, plan, arrays):
    """The outputs of `plan` for `arrays` computed chunk by chunk on the pool's threads, or
    None when the batch does not split (one thread, one image, a graph that mixes images, a
    compiled model)."""
    threads = _native.get_num_threads()
    if threads < 2 or session._compiled:
        return None
    if not arrays or any(a.ndim == 0 for a in arrays):
        return None
    batch = arrays[0].shape[0]
    if batch < 2 or any(a.shape[0] != batch for a in arrays):
        return None
    sizes = chunk_sizes(batch, threads)
    names = [v.name for v in session._inputs]

    def plan_for(n):
        return session._plan_for({k: (n,) + tuple(a.shape[1:]) for k, a in zip(names, arrays)})

    sep = getattr(plan, "batch_separable", None)
    if sep is None:
        try:
            chunk = plan_for(sizes[-1])
        except (ValueError, TypeError, MemoryError):
            # a graph whose constants fix the batch (indices, shapes) does not plan for another
            chunk = None
        sep = chunk is not None and separable(plan, chunk, batch, sizes[-1], session.model)
        plan.batch_separable = sep
    if not sep:
        return None
    plans = {n: plan_for(n) for n in set(sizes)}
    return _native.run_batch_split([plans[n].plan for n in sizes], arrays, sizes)
