"""Rewrites the supported-op table in README.md (between its op-table markers) from the op table:
`PYTHONPATH=python python tools/update_readme_ops.py`."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from convengine._graph import op_docs  # noqa: E402

path = os.path.join(os.path.dirname(__file__), "..", "README.md")
text = open(path, encoding="utf-8").read()
start = text.index(op_docs.BEGIN)
end = text.index(op_docs.END, start) + len(op_docs.END)
open(path, "w", encoding="utf-8").write(text[:start] + op_docs.markdown() + text[end:])
print(f"README.md: op table with {len(op_docs.OPS)} ops")
