"""numpy reference (ONNX semantics) of the normalisation and reductions ops, registered into
`evaluate`'s op table with its `_op` decorator."""
from __future__ import annotations
