"""Planner lowerings of the data movement and sampling ops: `op_<OpType>(node, ins, where)` methods
mixed into `planner.Planner` (they use its tensor helpers: rt, out, new, cl, step)."""
from __future__ import annotations


class DataLowering:
    pass
