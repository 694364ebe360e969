"""The model (docs/model-format.md): what users import to build, load and save a model.

A `Model` is a `Graph` plus metadata: typed inputs and outputs, nodes in topological order
(ONNX op and attribute names; ops ONNX lacks live in the domain ``CUSTOM_DOMAIN``) and
initializers (numpy arrays). On disk it is ``name.json`` (the graph) and ``name.bin`` (the
weights, memory-mapped on load); ``model.schema.json`` in this package is the JSON Schema of
``name.json``.

This module joins the parts and adds `load`, which validates: the IR lives in _model_ir.py,
the error type, dtypes and limits in _model_limits.py, the file format in _model_json.py. They
do not import this module, nor do _graph/ops.py and _graph/validate.py (load calls
validate_model).
"""
from __future__ import annotations

import os

from ._graph.validate import validate_model
from ._model_ir import Graph, Model, Node, ValueInfo
from ._model_json import (FORMAT, FORMAT_VERSION, MAX_JSON_BYTES, MAX_JSON_ITEMS, WEIGHTS_ALIGN,
                          json_schema, map_weights, parse_document, parse_json, read_json, save)
from ._model_limits import (CUSTOM_DOMAIN, DTYPES, INT64_MAX, INT64_MIN, MAX_DIM, MAX_ELEMENTS,
                            MAX_OPSET, MAX_RANK, ModelError, dtype_name)

__all__ = ["CUSTOM_DOMAIN", "DTYPES", "FORMAT", "FORMAT_VERSION", "INT64_MAX", "INT64_MIN",
           "MAX_DIM", "MAX_ELEMENTS", "MAX_JSON_BYTES", "MAX_JSON_ITEMS", "MAX_OPSET",
           "MAX_RANK", "WEIGHTS_ALIGN", "Graph", "Model", "ModelError", "Node", "ValueInfo",
           "dtype_name", "from_json", "json_schema", "load", "parse_json", "save"]


def from_json(doc, folder: str, what: str = "model", buffers: dict | None = None) -> Model:
    """Builds a Model from the parsed JSON document; weights are read relative to `folder`, or
    from `buffers` ({weights file name: bytes-like}) when given."""
    d = parse_document(doc, what)
    graph = Graph([Node(*n) for n in d.nodes], [ValueInfo(*v) for v in d.inputs],
                  [ValueInfo(*v) for v in d.outputs], map_weights(d.weights, folder, buffers),
                  d.name)
    return Model(graph, d.opset, d.producer, d.doc, d.metadata)


def load(path: str | os.PathLike, *, validate: bool = True) -> Model:
    """Reads a model written by `save` (or by hand, following docs/model-format.md). Every
    problem raises ModelError naming the JSON path or node. Initializers are read-only views
    of the memory-mapped weights file."""
    path = os.fspath(path)
    model = from_json(read_json(path), os.path.dirname(os.path.abspath(path)), path)
    if validate:
        validate_model(model)
    return model
