"""docs/ARCHITECTURE.md's layer map is the one the code gives (tools/layer_map.py)."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import layer_map  # noqa: E402


def test_architecture_layer_map_is_drawn_from_the_code():
    in_docs = layer_map.doc_block(layer_map.DOC.read_text())
    assert in_docs == layer_map.build_map(), (
        "docs/ARCHITECTURE.md's layer map is out of date: run python tools/layer_map.py --write")


def test_every_module_and_header_is_on_the_map():
    m = layer_map.build_map()
    for p in sorted((ROOT / "python" / "convengine").rglob("*.py")):
        if p.name != "__init__.py":
            assert f" {p.name} " in m, p
    for p in sorted((ROOT / "engine").glob("*.h")):
        assert f" {p.name} " in m, p
