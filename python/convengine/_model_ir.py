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
        graph = Graph([_copy.deepcopy(n) for n in g.nodes], _copy.deepcopy(g.inputs),
                      _copy.deepcopy(g.outputs), dict(g.initializers), g.name)
        return Model(graph, self.opset, self.producer, self.doc, dict(self.metadata))
