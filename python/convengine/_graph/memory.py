"""Memory planning: where the plan's activations live.

- Zero-copy concat: `concat_slots` finds the Concat inputs (along the channels of 3D-5D
  tensors) whose producers can write straight into their slice of the concat's output, and
  `concat_order` picks the memory order of a Concat's output.
- The arena: `place_arena` gives every arena root (one allocation of the planner) an offset by
  liveness, first-fit, largest first: roots whose step ranges do not overlap share memory.
"""
from __future__ import annotations

import numpy as np

from ..model import Model
from .rules_tensor import concat_axis
from .views import _cl_order, _layout_order

# producers that make views of their input (no step of their own writes the tensor)
VIEW_OPS = {"Identity", "Dropout", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
            "Slice", "Split", "Gather"}


def concat_order(ts, axis):
    """Memory order of a Concat's output: channels-last for a channel concat (the next conv
    wants it); otherwise (a stack of unit axes, any other axis) the first input's order with
    the concat axis moved outside the others (after the batch), so every input is one block.
    torch.stack(dim=1) of channels-last maps (SK-Net, ResNeSt split attention) put its new axis
    innermost under the channel rule: the attention Mul then ran rows of 2 elements
    (skresnet18: 8 ms of Mul)."""
    r = len(ts[0].shape)
    t0 = ts[0]
    if 3 <= r <= 5 and axis == 1 and any(t.shape[1] > 1 for t in ts):
        return _cl_order(r)
    base = [a for a in _layout_order(t0) if a != axis]
    pos = 1 if base and base[0] == 0 and axis != 0 else 0
    return base[:pos] + [axis] + base[pos:]


def concat_slots(model: Model, shapes: dict, vals: dict):
    """Concat inputs whose producers can write straight into the concat's output."""
    g = model.graph
    consumers: dict = {}
    producer = {}
    for n in g.nodes:
        for t in n.inputs:
            consumers[t] = consumers.get(t, 0) + 1
        for t in n.outputs:
            producer[t] = n
    outputs = {v.name for v in g.outputs}
    slots = {}
    for n in g.nodes:
        if n.op_type != "Concat" or n.domain:
            continue
        if n.outputs[0] not in shapes:
            continue
        r = len(shapes[n.outputs[0]])
        if not (3 <= r <= 5 and concat_axis(n, r) == 1):
            continue
        off = 0
        seen = set()
        for t in n.inputs:
            p = producer.get(t)
            ok = (p is not None and p.op_type not in VIEW_OPS and p.op_type != "Concat"
                  and consumers.get(t) == 1 and t not in outputs and t not in seen
                  and len(p.outputs) == 1 and not isinstance(vals.get(t), np.ndarray)
                  and t in shapes)
            if ok:
                slots[t] = (n.outputs[0], off)
            seen.add(t)
            if t not in shapes:
                break
            off += shapes[t][1]
    return slots


def place_arena(steps) -> int:
    """Sets the offset of every arena root the steps read or write (first-fit by liveness,
    largest first); returns the arena's size in floats."""
    roots = []
    for i, st in enumerate(steps):
        for t in st.reads + st.writes:
            if t is not None and t.root is not None:
                r = t.root
                if r.last < 0:
                    roots.append(r)
                r.first = min(r.first, i)
                r.last = max(r.last, i)
    placed = []
    for r in sorted(roots, key=lambda r: (-r.size, r.first)):
        cands = sorted((q.offset, q.offset + q.size) for q in placed
                       if not (q.last < r.first or r.last < q.first))
        off = 0
        for lo, hi in cands:
            if off + r.size <= lo:
                break
            off = max(off, hi)
        r.offset = off
        placed.append(r)
    return max((r.offset + r.size for r in placed), default=0)
