"""numpy reference (ONNX semantics) of the element-wise math, activations and comparisons ops, registered into
`evaluate`'s op table with its `_op` decorator."""
from __future__ import annotations
