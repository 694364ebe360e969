"""The model IR: an ONNX-like graph of named tensors (docs/model-format.md). A `Model` is a
`Graph` plus metadata. A graph has typed inputs and outputs, nodes in topological order (ONNX
op names and attribute names; ops ONNX lacks live in the domain ``CUSTOM_DOMAIN``) and
initializers (constant tensors, numpy arrays). Users import it from convengine.model."""
from __future__ import annotations

import copy as _copy
import dataclasses
import os
from typing import Any

import numpy as np

from . import _model_json


@dataclasses.dataclass
class ValueInfo:
    """A graph input or output: name, shape (ints; a str or None is a symbolic dimension) and
    dtype name."""
    name: str
    shape: list | None = None
    dtype: str = "float32"


@dataclasses.dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str = ""
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    domain: str = ""

    def attr(self, name, default=None):
        return self.attrs.get(name, default)


@dataclasses.dataclass
class Graph:
    nodes: list[Node]
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    initializers: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    name: str = "graph"


@dataclasses.dataclass
class Model:
    graph: Graph
    opset: int = 17
    producer: str = "convengine"
    doc: str = ""
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the model to ``path`` (.json) and the weights beside it (.bin); see
        convengine.model.save."""
        _model_json.save(self, path)

    def copy(self) -> "Model":
        """A deep copy of the graph structure; initializer arrays are shared (treat them as
        read-only)."""
        g = self.graph
        graph = Graph([_copy_node(n) for n in g.nodes], [_copy_value_info(v) for v in g.inputs],
                      [_copy_value_info(v) for v in g.outputs], dict(g.initializers), g.name)
        return Model(graph, self.opset, self.producer, self.doc, dict(self.metadata))


_ATOMS = (int, float, str, bool, bytes, type(None))


def _copy_attr(v):
    """copy.deepcopy of an attribute value, without its memo machinery for the common kinds
    (numbers, strings and lists of them): the graph passes copy the model once per pass, and
    deepcopy was a quarter of ResNet-50's pass time."""
    t = type(v)
    if t in _ATOMS:
        return v
    if t is list:
        return [x if type(x) in _ATOMS else _copy_attr(x) for x in v]
    if t is tuple:
        return tuple(_copy_attr(x) for x in v)
    return _copy.deepcopy(v)


def _copy_node(n):
    c = _copy.copy(n)
    c.inputs, c.outputs = list(n.inputs), list(n.outputs)
    c.attrs = {k: _copy_attr(v) for k, v in n.attrs.items()}
    for k, v in vars(n).items():  # anything a pass attached beyond the dataclass's fields
        if k not in ("op_type", "inputs", "outputs", "name", "attrs", "domain"):
            setattr(c, k, _copy.deepcopy(v))
    return c


def _copy_value_info(v):
    c = _copy.copy(v)
    if isinstance(v.shape, list):
        c.shape = _copy_attr(v.shape)
    for k, val in vars(v).items():
        if k not in ("name", "shape", "dtype"):
            setattr(c, k, _copy.deepcopy(val))
    return c
