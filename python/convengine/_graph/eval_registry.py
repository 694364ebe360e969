"""The numpy interpreter's op table: `_op` registers an op implementation
fn(node, inputs, opset) -> outputs under its (domain, ONNX name), and the input helpers the
eval_*.py families share. evaluate.py imports every family and runs the table."""
from __future__ import annotations

from .rules import _Err, _ints

_EVAL = {}


def _op(*names, domain=""):
    def deco(fn):
        for n in names:
            _EVAL[(domain, n)] = fn
        return fn
    return deco


def _node_desc(node):
    return f"node {node.name!r} ({node.op_type})" if node.name else f"{node.op_type} node"


def _need(x, what):
    if x is None:
        raise _Err(f"{what} is missing")
    return x


def _const_ints(x, what):
    return _ints(_need(x, what), what)


def _float_input(x, what="input"):
    if x.dtype.kind != "f":
        raise _Err(f"{what} must be a floating-point tensor, got dtype {x.dtype}")
    return x
