"""numpy reference (ONNX semantics) of the data movement, sampling and shape arithmetic ops, registered into
`evaluate`'s op table with its `_op` decorator."""
from __future__ import annotations
