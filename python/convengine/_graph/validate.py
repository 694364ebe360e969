"""Semantic checks of a loaded model (schema-level checks are in model.py's loader)."""
from __future__ import annotations

from ..model import Model, ModelError
from .ops import REQUIRED, spec


def validate_model(model: Model) -> None:
    g = model.graph
    produced: dict[str, str] = {}
    for v in g.inputs:
        if v.name in produced:
            raise ModelError(f"graph.inputs: duplicate tensor name {v.name!r}")
        produced[v.name] = "graph input"
    for name in g.initializers:
        if name in produced:
            raise ModelError(f"graph.initializers: {name!r} is also a graph input")
        produced[name] = "initializer"
    for i, n in enumerate(g.nodes):
        where = f"graph.nodes[{i}] ({n.name or n.op_type})"
        s = spec(n.domain, n.op_type)
        if s is None:
            dom = f" in domain {n.domain!r}" if n.domain else ""
            raise ModelError(f"{where}: unknown op {n.op_type!r}{dom}")
        for a in n.attrs:
            if a not in s.attrs:
                raise ModelError(f"{where}: op {n.op_type} has no attribute {a!r}")
        for a, d in s.attrs.items():
            if d is REQUIRED and a not in n.attrs:
                raise ModelError(f"{where}: missing required attribute {a!r}")
        lo, hi = s.inputs
        if not lo <= len(n.inputs) <= hi:
            raise ModelError(f"{where}: {n.op_type} takes {lo}..{hi} inputs, got {len(n.inputs)}")
        lo, hi = s.outputs
        if not lo <= len(n.outputs) <= hi:
            raise ModelError(f"{where}: {n.op_type} has {lo}..{hi} outputs, got {len(n.outputs)}")
        for t in n.inputs:
            if t and t not in produced:
                raise ModelError(f"{where}: input {t!r} is not produced before this node "
                                 "(missing tensor, or the nodes are not in topological order "
                                 "or form a cycle)")
        for t in n.outputs:
            if not t:
                continue
            if t in produced:
                raise ModelError(f"{where}: output {t!r} is already produced by {produced[t]}")
            produced[t] = where
    for v in g.outputs:
        if v.name not in produced:
            raise ModelError(f"graph.outputs: {v.name!r} is not produced by any node, input or "
                             "initializer")
