"""The README's supported-op table is the one generated from the op table and the planner."""
import os

from convengine._graph import op_docs
from convengine._graph.ops import OPS

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_readme_op_table_is_generated():
    if not os.path.exists(README):  # an installed package tested without the source tree
        return
    text = open(README, encoding="utf-8").read()
    assert op_docs.BEGIN in text and op_docs.END in text, "README lacks the op-table markers"
    start = text.index(op_docs.BEGIN)
    table = text[start:text.index(op_docs.END, start) + len(op_docs.END)]
    assert table == op_docs.markdown(), (
        "README's op table is stale: replace it with the output of `python -m convengine ops`")


def test_every_op_is_listed_once():
    rows = [ln for ln in op_docs.markdown().splitlines() if ln.startswith("| ") and
            not ln.startswith("| op ")]
    assert len(rows) == len(OPS)
    assert "| Conv | ai.onnx | 2-3 | tensors |" in op_docs.markdown()
    assert any(r.startswith("| Constant |") and "constants" in r for r in rows)
