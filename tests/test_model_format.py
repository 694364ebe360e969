"""The model file format (docs/model-format.md): exact round trips, the shipped JSON Schema,
and one test per kind of broken or hostile file, each of which must raise ModelError."""
import json
import math
import os
import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convengine
from convengine import model as M
from convengine.model import (CUSTOM_DOMAIN, DTYPES, Graph, Model, ModelError, Node, ValueInfo,
                              load)
from convengine._graph.ops import OPS, REQUIRED
from convengine._graph.validate import _kind_ok, attr_kind, validate_model

try:
    import jsonschema
except ImportError:  # pragma: no cover - optional
    jsonschema = None

needs_jsonschema = pytest.mark.skipif(jsonschema is None, reason="jsonschema is not installed")

INF = float("inf")


def base_model():
    """A small valid model that uses every kind of attribute value, the custom domain, int64 and
    float initializers and a Constant with a tensor attribute."""
    r = np.random.default_rng(0)
    f32 = lambda *s: r.standard_normal(s).astype(np.float32)  # noqa: E731
    inits = {
        "W1": f32(8, 3, 3, 3), "B1": f32(8), "W2": f32(8, 1, 3, 3), "W3": f32(4, 16, 1, 1),
        "seW1": f32(2, 4), "seB1": f32(2), "seW2": f32(4, 2), "seB2": f32(4),
        "locW": f32(4, 4, 4, 4, 1, 1), "locB": f32(4, 4, 4), "flat_shape": np.array([0, -1]),
        "fcW": f32(10, 4), "fcB": f32(10),
    }
    C = CUSTOM_DOMAIN
    nodes = [
        Node("Conv", ["x", "W1", "B1"], ["c1"], "conv1",
             {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1],
              "dilations": [1, 1], "group": 1, "auto_pad": "NOTSET"}),
        Node("Relu", ["c1"], ["r1"], "relu1"),
        Node("ChannelShuffle", ["r1"], ["s1"], "shuf", {"group": 2}, C),
        Node("MaxPool", ["s1"], ["p1"], "pool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Node("LeakyRelu", ["p1"], ["l1"], "leaky", {"alpha": 0.1}),
        Node("Conv", ["l1", "W2"], ["c2"], "conv2",
             {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": 8}),
        Node("Concat", ["p1", "c2"], ["cat"], "cat", {"axis": 1}),
        Node("FusedConv", ["cat", "W3"], ["fc"], "fc",
             {"activation": "leaky_relu", "alpha": 0.2, "clip_min": -INF, "clip_max": 6.0}, C),
        Node("SqueezeExcite", ["fc", "seW1", "seB1", "seW2", "seB2"], ["se"], "se",
             {"gate": "hardsigmoid", "gate_alpha": 0.2, "gate_beta": 0.5,
              "activation": "none", "clip_min": 0.0, "clip_max": INF}, C),
        Node("LocalConv", ["se", "locW", "locB"], ["loc"], "local", {"kernel_shape": [1, 1]}, C),
        Node("GlobalAveragePool", ["loc"], ["gap"], "gap"),
        Node("Reshape", ["gap", "flat_shape"], ["flat"], "flatten"),
        Node("Gemm", ["flat", "fcW", "fcB"], ["logits"], "gemm",
             {"alpha": 1.0, "beta": 1.0, "transB": 1}),
        Node("Softmax", ["logits"], ["prob"], "softmax", {"axis": -1}),
        Node("Constant", [], ["k"], "k", {"value": np.array([[1.5, -2.0]], np.float32)}),
        Node("Constant", [], ["ki"], "ki", {"value": np.array([1, 4], np.int64)}),
    ]
    g = Graph(nodes, [ValueInfo("x", ["N", 3, 8, 8])],
              [ValueInfo("prob", ["N", 10]), ValueInfo("k", [1, 2]),
               ValueInfo("ki", [2], "int64")], inits, "base")
    return Model(g, 17, "tests", "a test model", {"author": "tests"})


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.json"
    base_model().save(path)
    return path


def test_base_model_is_valid(saved):
    m = load(saved)
    assert [n.name for n in m.graph.nodes][:3] == ["conv1", "relu1", "shuf"]
    validate_model(base_model())


# ---------------------------------------------------------------------------------------------
# round trips

def same(a, b):
    """Equal values of the same Python type (int stays int, float stays float), NaN == NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape):
            return False
        if a.dtype.kind != "f":
            return a.tobytes() == b.tobytes()
        nan = np.isnan(a)  # a NaN in an attribute tensor is written "nan": its payload is lost
        return np.array_equal(nan, np.isnan(b)) and a[~nan].tobytes() == b[~nan].tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def assert_models_equal(a: Model, b: Model):
    assert (a.opset, a.producer, a.doc, a.metadata) == (b.opset, b.producer, b.doc, b.metadata)
    ga, gb = a.graph, b.graph
    assert ga.name == gb.name
    assert ga.inputs == gb.inputs and ga.outputs == gb.outputs
    assert len(ga.nodes) == len(gb.nodes)
    for x, y in zip(ga.nodes, gb.nodes):
        assert (x.op_type, x.inputs, x.outputs, x.name, x.domain) == \
            (y.op_type, y.inputs, y.outputs, y.name, y.domain)
        assert same(x.attrs, y.attrs), (x.name, x.attrs, y.attrs)
    assert list(ga.initializers) == list(gb.initializers)
    for k in ga.initializers:
        x, y = np.asarray(ga.initializers[k]), gb.initializers[k]
        assert y.dtype == x.dtype.newbyteorder("<") or y.dtype == x.dtype, k
        assert y.shape == x.shape, k
        assert np.ascontiguousarray(x, y.dtype).tobytes() == y.tobytes(), k


def test_round_trip_base(saved):
    assert_models_equal(base_model(), load(saved))


def test_round_trip_twice_is_byte_identical(saved, tmp_path):
    m = load(saved)
    m.save(tmp_path / "again.json")
    a = saved.read_text().replace('"m.bin"', '"again.bin"')
    assert (tmp_path / "again.json").read_text() == a
    assert (tmp_path / "again.bin").read_bytes() == (tmp_path / "m.bin").read_bytes()


def test_round_trip_attribute_types(tmp_path):
    attrs = {
        "i": 1, "f_integral": 1.0, "f": 0.1, "neg": -3, "big": (1 << 63) - 1, "small": -(1 << 63),
        "tiny": 5e-324, "inf": INF, "ninf": -INF, "nan": float("nan"),
        "s": "SAME_UPPER", "su": "ünïcødé ✓ \"quoted\"\n",
        "ints": [1, 2, 3], "floats_integral": [1.0, 2.0], "floats": [0.5, -INF, float("nan")],
        "strs": ["a", "b"], "empty": [], "np_int": np.int64(7), "np_float": np.float32(0.25),
        "t_f32": np.array([[1.0, 2.5]], np.float32), "t_scalar": np.array(3.0, np.float64),
        "t_empty": np.zeros((0, 3), np.int32), "t_bool": np.array([True, False]),
        "t_i8": np.array([-128, 127], np.int8), "t_u8": np.array([0, 255], np.uint8),
        "t_f16": np.array([65504.0, -0.0, np.inf, np.nan], np.float16),
        "t_i64": np.array([-(1 << 63), (1 << 63) - 1], np.int64),
    }
    m = Model(Graph([Node("Identity", ["x"], ["y"], "n", attrs)], [ValueInfo("x")],
                    [ValueInfo("y")]))
    m.save(tmp_path / "a.json")
    back = load(tmp_path / "a.json", validate=False).graph.nodes[0].attrs
    want = dict(attrs, np_int=7, np_float=0.25)
    assert same(back, want), {k: (want[k], back[k]) for k in want if not same(want[k], back[k])}
    assert type(back["f_integral"]) is float and type(back["i"]) is int
    assert all(type(v) is float for v in back["floats_integral"])
    # a list with a float in it is a list of floats
    m.graph.nodes[0].attrs = {"mixed": [1, 2.5]}
    m.save(tmp_path / "b.json")
    assert same(load(tmp_path / "b.json", validate=False).graph.nodes[0].attrs,
                {"mixed": [1.0, 2.5]})


def test_round_trip_initializer_dtypes_and_shapes(tmp_path):
    r = np.random.default_rng(1)
    inits = {}
    for dt in DTYPES:
        for shape in [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]:
            a = (r.standard_normal(shape) * 100).astype(DTYPES[dt])
            inits[f"{dt}_{'x'.join(map(str, shape)) or 'scalar'}"] = a
    inits["big_endian"] = np.arange(6, dtype=">f4").reshape(2, 3)
    inits["strided"] = np.arange(20, dtype=np.float32)[::3]
    inits["fortran"] = np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))
    inits["nan_payload"] = np.array([0x7FC00001, 0xFF800000], np.uint32).view(np.float32)
    inits["rank8"] = np.ones((1,) * 8, np.float32)
    m = Model(Graph([Node("Identity", ["x"], ["y"])], [ValueInfo("x")], [ValueInfo("y")],
                    inits))
    m.save(tmp_path / "d.json")
    back = load(tmp_path / "d.json")
    assert_models_equal(m, back)
    for k, a in back.graph.initializers.items():
        assert a.dtype.byteorder in "<|=" and a.dtype == DTYPES[M.dtype_name(a.dtype)], k
    assert back.graph.initializers["big_endian"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back.graph.initializers["float32_scalar"].shape == ()


def test_round_trip_unicode_names(tmp_path):
    names = ["входной", "画像", "x.y/z:0", "emoji 🚀", "quote\"back\\slash", "tab\tnl\n"]
    nodes = [Node("Relu", [names[0]], [names[1]], "узел 1"),
             Node("Add", [names[1], names[2]], [names[3]], "ノード 2")]
    m = Model(Graph(nodes, [ValueInfo(names[0], ["バッチ", 3])], [ValueInfo(names[3])],
                    {names[2]: np.ones(3, np.float32)}, "グラフ"),
              doc="ドキュメント ✓", metadata={"ключ": "значение", "": "empty key"})
    m.save(tmp_path / "モデル.json")
    assert os.path.exists(tmp_path / "モデル.bin")
    back = load(tmp_path / "モデル.json")
    assert_models_equal(m, back)
    raw = (tmp_path / "モデル.json").read_bytes()
    assert "画像".encode() in raw  # written as UTF-8, not escaped


def test_saved_json_is_strict_and_aligned(saved, tmp_path):
    raw = saved.read_bytes()

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    doc = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    assert doc["format"] == "convengine.model" and doc["format_version"] == 1
    size = (tmp_path / "m.bin").stat().st_size
    assert size % 64 == 0
    ends = []
    for e in doc["graph"]["initializers"]:
        x = e["external_data"]
        assert x["location"] == "m.bin" and x["offset"] % 64 == 0
        ends.append((x["offset"], x["offset"] + x["length"]))
    ends.sort()
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:]))  # no overlap
    assert ends[-1][1] <= size


def test_loaded_initializers_are_readonly_memory_maps(saved):
    m = load(saved)
    w = m.graph.initializers["W1"]
    assert not w.flags.writeable and not w.flags.owndata
    assert isinstance(w.base, np.memmap) or isinstance(getattr(w.base, "base", None), np.memmap)
    with pytest.raises(ValueError):
        w[0, 0, 0, 0] = 1.0


def test_save_appends_json_suffix(tmp_path):
    base_model().save(tmp_path / "noext")
    assert sorted(os.listdir(tmp_path)) == ["noext.bin", "noext.json"]
    assert_models_equal(base_model(), load(tmp_path / "noext.json"))


def test_save_over_a_loaded_model_keeps_old_views_valid(saved, tmp_path):
    old = load(saved)
    before = old.graph.initializers["W1"].copy()
    new = base_model()
    new.graph.initializers["W1"] = np.full((8, 3, 3, 3), 7.0, np.float32)
    new.save(saved)
    # the old memory map still reads the old (replaced, not overwritten) file
    assert np.array_equal(old.graph.initializers["W1"], before)
    assert np.all(load(saved).graph.initializers["W1"] == 7.0)
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.json"]


def test_failed_save_leaves_existing_files_untouched(saved, tmp_path):
    files = {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path)}
    bad = base_model()
    bad.graph.nodes[0].attrs["bad"] = {"not": "a value"}
    with pytest.raises(ModelError, match=r"graph.nodes\[0\] \(conv1\).attributes.bad"):
        bad.save(saved)
    bad = base_model()
    bad.graph.initializers["obj"] = np.array([object()])
    with pytest.raises(ModelError, match=r"unsupported dtype object"):
        bad.save(saved)
    bad = base_model()
    bad.graph.inputs[0].shape = [-1, 3, 8, 8]
    with pytest.raises(ModelError, match=r"graph.inputs\[0\] \(x\).shape\[0\]"):
        bad.save(saved)
    assert {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path)} == files


def test_failed_rename_cleans_temporary_files(saved, tmp_path, monkeypatch):
    real = os.replace
    calls = []

    def flaky(a, b):
        calls.append(b)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(a, b)
    monkeypatch.setattr(M.os, "replace", flaky)
    with pytest.raises(ModelError, match="No space left"):
        base_model().save(saved)
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.json"]


def test_save_writes_through_temporary_files(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(a, b):
        seen.append((os.path.basename(a), os.path.basename(b)))
        return real(a, b)
    monkeypatch.setattr(M.os, "replace", spy)
    base_model().save(tmp_path / "m.json")
    assert [b for _, b in seen] == ["m.bin", "m.json"]  # weights first, then the graph
    assert all(a.startswith(".") and a.endswith(".tmp") for a, _ in seen)


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        base_model().save(tmp_path / "nope" / "m.json")


def test_from_json_builds_a_model(saved, tmp_path):
    doc = json.loads(saved.read_text())
    m = convengine.model.from_json(doc, str(tmp_path))
    assert_models_equal(base_model(), m)


def test_large_sparse_weights_are_mapped_not_read(tmp_path):
    n = 1 << 28  # 1 GiB of float32, a sparse file
    with open(tmp_path / "big.bin", "wb") as f:
        f.truncate(n * 4)
    doc = {"format": "convengine.model", "format_version": 1, "graph": {
        "inputs": [{"name": "x"}], "outputs": [{"name": "y"}],
        "initializers": [{"name": "w", "dtype": "float32", "shape": [n],
                          "external_data": {"location": "big.bin", "offset": 0,
                                            "length": n * 4}}],
        "nodes": [{"op_type": "Add", "inputs": ["x", "w"], "outputs": ["y"]}]}}
    (tmp_path / "big.json").write_text(json.dumps(doc))
    tracemalloc.start()
    try:
        m = load(tmp_path / "big.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert m.graph.initializers["w"].shape == (n,)
    assert peak < 8 << 20, f"load allocated {peak} bytes"


# ---------------------------------------------------------------------------------------------
# hostile and broken files: each mutation of a valid saved model raises ModelError

KEEP = object()  # the mutation wrote the files itself


def nd(doc, name):
    return next(n for n in doc["graph"]["nodes"] if n["name"] == name)


def at(doc, name):
    return nd(doc, name).setdefault("attributes", {})


def ini(doc, name):
    return next(e for e in doc["graph"]["initializers"] if e["name"] == name)


def ext(doc, name="W1"):
    return ini(doc, name)["external_data"]


def raw(doc):
    return json.dumps(doc, indent=1).encode()


def put(obj, key, value):
    obj[key] = value


def drop(obj, key):
    del obj[key]


def all_locations(doc, loc):
    for e in doc["graph"]["initializers"]:
        e["external_data"]["location"] = loc


def huge_file(doc, d):
    with open(d / "m.json", "wb") as f:
        f.write(raw(doc))
        f.truncate(M.MAX_JSON_BYTES + 1)
    return KEEP


def many_values(doc, d):
    return raw(doc).replace(b'"alpha": 0.1', b'"alpha": [' + b"0," * M.MAX_JSON_ITEMS + b"0]")


def json_dir(doc, d):
    os.remove(d / "m.json")
    os.mkdir(d / "m.json")
    return KEEP


def json_fifo(doc, d):
    os.remove(d / "m.json")
    os.mkfifo(d / "m.json")
    return KEEP


def symlink_out(doc, d):
    outside = d.parent / f"outside-{d.name}.bin"
    outside.write_bytes((d / "m.bin").read_bytes())
    os.symlink(outside, d / "link.bin")
    all_locations(doc, "link.bin")


def dotdot(doc, d):
    (d.parent / f"up-{d.name}.bin").write_bytes((d / "m.bin").read_bytes())
    all_locations(doc, f"../up-{d.name}.bin")


def loc_dir(doc, d):
    os.mkdir(d / "dir.bin")
    all_locations(doc, "dir.bin")


def loc_fifo(doc, d):
    os.mkfifo(d / "f.bin")
    all_locations(doc, "f.bin")


def truncate_bin(doc, d):
    with open(d / "m.bin", "r+b") as f:
        f.truncate(100)


def swap_nodes(doc, i, j):
    ns = doc["graph"]["nodes"]
    ns[i], ns[j] = ns[j], ns[i]


def retype(doc, name, op, attrs, inputs=None, domain=None):
    n = nd(doc, name)
    n["op_type"] = op
    n["attributes"] = attrs
    n.pop("domain", None)
    if domain:
        n["domain"] = domain
    if inputs is not None:
        n["inputs"] = inputs


def deep(n):
    return "[" * n + "1" + "]" * n


# (id, mutation(doc, folder) -> None | bytes | KEEP, message fragment, schema verdict)
# schema verdict: "reject" = the JSON Schema rejects the mutated document too; "accept" = the
# document is schema-valid (the problem is semantic); None = not a JSON-level question, or one
# JSON Schema cannot express (see docs/model-format.md).
R, A = "reject", "accept"
HOSTILE = [
    # bytes and files
    ("truncated_json", lambda doc, d: raw(doc)[: len(raw(doc)) // 2], "not valid JSON", None),
    ("empty_file", lambda doc, d: b"", "not valid JSON", None),
    ("not_utf8", lambda doc, d: raw(doc).replace(b'"conv1"', b'"conv\xff1"'), "not UTF-8",
     None),
    ("utf16", lambda doc, d: raw(doc).decode().encode("utf-16"), "not UTF-8", None),
    ("nan_token", lambda doc, d: raw(doc).replace(b'"alpha": 0.1', b'"alpha": NaN'),
     "JSON constant NaN", None),
    ("infinity_token", lambda doc, d: raw(doc).replace(b'"alpha": 0.1', b'"alpha": -Infinity'),
     "JSON constant -Infinity", None),
    ("duplicate_key", lambda doc, d: raw(doc).replace(b'"opset": 17', b'"opset": 17, "opset": 9'),
     "duplicate JSON object key 'opset'", None),
    ("nesting_bomb", lambda doc, d: deep(200000).encode(), "nested too deeply", None),
    ("nesting_bomb_in_attribute",
     lambda doc, d: raw(doc).replace(b'"alpha": 0.1', b'"alpha": ' + deep(100000).encode()),
     "nested too deeply", None),
    ("huge_number", lambda doc, d: raw(doc).replace(b'"opset": 17', b'"opset": 1' + b"0" * 5000),
     "not valid JSON", None),
    ("huge_file", huge_file, "larger than 64 MiB", None),
    ("too_many_values", many_values, "more than 4000000 values", None),
    ("top_level_list", lambda doc, d: b"[1, 2]", "top level must be a JSON object", None),
    ("missing_json", lambda doc, d: (os.remove(d / "m.json"), KEEP)[1], "cannot read model file",
     None),
    ("json_is_directory", json_dir, "not a regular file", None),
    ("json_is_fifo", json_fifo, "not a regular file", None),
    # document structure
    ("unknown_top_key", lambda doc, d: put(doc, "extra", 1), "unknown keys ['extra']", R),
    ("missing_format", lambda doc, d: drop(doc, "format"), "missing required key 'format'", R),
    ("wrong_format", lambda doc, d: put(doc, "format", "onnx"), "expected 'convengine.model'", R),
    ("future_version", lambda doc, d: put(doc, "format_version", 2), "2 is not supported", R),
    ("version_string", lambda doc, d: put(doc, "format_version", "1"),
     "format_version must be an integer, got str", R),
    ("version_float", lambda doc, d: put(doc, "format_version", 1.0),
     "format_version must be an integer, got float", None),
    ("opset_zero", lambda doc, d: put(doc, "opset", 0), "opset: 0 is out of range", R),
    ("opset_bool", lambda doc, d: put(doc, "opset", True), "opset must be an integer, got true",
     R),
    ("metadata_not_string", lambda doc, d: put(doc["metadata"], "k", 1),
     "metadata.k: values must be strings", R),
    ("missing_graph", lambda doc, d: drop(doc, "graph"), "missing required key 'graph'", R),
    ("graph_unknown_key", lambda doc, d: put(doc["graph"], "value_info", []),
     "unknown keys ['value_info']", R),
    ("missing_nodes", lambda doc, d: drop(doc["graph"], "nodes"),
     "graph: missing required key 'nodes'", R),
    ("nodes_not_list", lambda doc, d: put(doc["graph"], "nodes", {}),
     "graph.nodes must be a list, got dict", R),
    ("node_not_object", lambda doc, d: doc["graph"]["nodes"].append("Relu"),
     "graph.nodes[16] must be an object", R),
    ("node_unknown_key", lambda doc, d: put(nd(doc, "conv1"), "doc_string", "x"),
     "graph.nodes[0]: unknown keys ['doc_string']", R),
    ("node_missing_op_type", lambda doc, d: drop(nd(doc, "conv1"), "op_type"),
     "graph.nodes[0]: missing required key 'op_type'", R),
    ("empty_op_type", lambda doc, d: put(nd(doc, "relu1"), "op_type", ""),
     "graph.nodes[1].op_type must not be empty", R),
    ("op_type_not_string", lambda doc, d: put(nd(doc, "relu1"), "op_type", 5),
     "graph.nodes[1].op_type must be a string, got int", R),
    ("node_inputs_string", lambda doc, d: put(nd(doc, "relu1"), "inputs", "c1"),
     "(relu1).inputs must be a list, got str", R),
    ("node_input_not_string", lambda doc, d: put(nd(doc, "relu1"), "inputs", [3]),
     "(relu1).inputs[0]: tensor names are strings", R),
    ("graph_input_empty_name", lambda doc, d: put(doc["graph"]["inputs"][0], "name", ""),
     "graph.inputs[0].name must not be empty", R),
    ("value_info_unknown_key", lambda doc, d: put(doc["graph"]["inputs"][0], "layout", "NCHW"),
     "unknown keys ['layout']", R),
    ("dim_negative", lambda doc, d: put(doc["graph"]["inputs"][0], "shape", [-1, 3, 8, 8]),
     "shape[0]: dimension -1 is out of range", R),
    ("dim_bool", lambda doc, d: put(doc["graph"]["inputs"][0], "shape", [True, 3, 8, 8]),
     "shape[0]: dimension must be an int", R),
    ("dim_float", lambda doc, d: put(doc["graph"]["inputs"][0], "shape", [1.5, 3, 8, 8]),
     "dimension must be an int, null or a name, got 1.5", R),
    ("dim_too_big", lambda doc, d: put(doc["graph"]["inputs"][0], "shape", [1 << 31, 3]),
     "dimension 2147483648 is out of range", R),
    ("input_rank_9", lambda doc, d: put(doc["graph"]["inputs"][0], "shape", [1] * 9),
     "rank 9 is above 8", R),
    ("input_unknown_dtype", lambda doc, d: put(doc["graph"]["inputs"][0], "dtype", "complex64"),
     "unknown dtype 'complex64'", R),
    # attribute encoding
    ("attr_bool", lambda doc, d: put(at(doc, "leaky"), "alpha", True),
     "attribute values are numbers, strings, lists or tensors, got true", R),
    ("attr_null", lambda doc, d: put(at(doc, "leaky"), "alpha", None),
     "attribute values are numbers, strings, lists or tensors, got null", R),
    ("attr_nested_list", lambda doc, d: put(at(doc, "conv1"), "kernel_shape", [[3], [3]]),
     "kernel_shape[0]: list attributes hold numbers or strings only", R),
    ("attr_deep_list", lambda doc, d: put(at(doc, "conv1"), "pads", json.loads(deep(50))),
     "list attributes hold numbers or strings only", R),
    ("attr_mixed_list", lambda doc, d: put(at(doc, "conv1"), "pads", [1, "a", 1, 1]),
     "a list attribute mixes strings and numbers", R),
    ("attr_object", lambda doc, d: put(at(doc, "conv1"), "group", {"int": 1}),
     "unsupported attribute value", R),
    ("attr_bad_nonfinite", lambda doc, d: put(at(doc, "leaky"), "alpha", {"float": "infinity"}),
     "a non-finite float is written", R),
    ("attr_int_beyond_int64", lambda doc, d: put(at(doc, "conv1"), "group", 1 << 70),
     "does not fit in int64", None),
    ("attr_empty_name", lambda doc, d: put(at(doc, "conv1"), "", 1),
     "an attribute name is empty", R),
    ("attributes_not_object", lambda doc, d: put(nd(doc, "conv1"), "attributes", [1]),
     "attributes must be an object, got list", R),
    ("tensor_count_mismatch",
     lambda doc, d: put(at(doc, "k")["value"]["tensor"], "values", [1.5]),
     "values: 1 values for shape [1, 2] (2)", None),
    ("tensor_unknown_dtype",
     lambda doc, d: put(at(doc, "k")["value"]["tensor"], "dtype", "bfloat16"),
     "tensor.dtype: unknown dtype 'bfloat16'", R),
    ("tensor_int_with_fraction",
     lambda doc, d: put(at(doc, "ki")["value"]["tensor"], "values", [1.5, 4]),
     "an int64 tensor holds integers, got 1.5", R),
    ("tensor_uint8_range", lambda doc, d: at(doc, "ki")["value"]["tensor"].update(
        dtype="uint8", values=[300, 4]), "300 is out of the uint8 range", R),
    ("tensor_float16_overflow", lambda doc, d: at(doc, "k")["value"]["tensor"].update(
        dtype="float16", values=[1e6, 1.0]), "1000000.0 is out of the float16 range", None),
    ("tensor_bool_as_int", lambda doc, d: at(doc, "ki")["value"]["tensor"].update(
        dtype="bool", values=[1, 0]), "a bool tensor holds true/false", R),
    ("tensor_extra_key", lambda doc, d: put(at(doc, "k")["value"]["tensor"], "raw", ""),
     "unknown keys ['raw']", R),
    ("tensor_with_sibling", lambda doc, d: put(at(doc, "k")["value"], "doc", ""),
     "a tensor attribute is", R),
    ("tensor_shape_symbolic",
     lambda doc, d: put(at(doc, "k")["value"]["tensor"], "shape", ["N", 2]),
     "tensor.shape[0]: dimension must be an int, got 'N'", R),
    # initializers and the weights file
    ("length_mismatch", lambda doc, d: put(ext(doc), "length", 868),
     "length: 868 bytes, but shape [8, 3, 3, 3] of float32 needs 864", None),
    ("shape_mismatch", lambda doc, d: put(ini(doc, "W1"), "shape", [8, 3, 3, 2]),
     "shape [8, 3, 3, 2] of float32 needs 576", None),
    ("dtype_mismatch", lambda doc, d: put(ini(doc, "W1"), "dtype", "float64"),
     "of float64 needs 1728", None),
    ("init_unknown_dtype", lambda doc, d: put(ini(doc, "W1"), "dtype", "bfloat16"),
     "(W1).dtype: unknown dtype 'bfloat16'", R),
    ("negative_offset", lambda doc, d: put(ext(doc), "offset", -64), "offset: -64 is negative",
     R),
    ("negative_length", lambda doc, d: put(ext(doc), "length", -1), "length: -1 is negative", R),
    ("offset_past_end", lambda doc, d: put(ext(doc), "offset", 1 << 20),
     "lie past the end of 'm.bin'", None),
    ("offset_huge", lambda doc, d: put(ext(doc), "offset", 1 << 70),
     "lie past the end of 'm.bin'", None),
    ("offset_unaligned", lambda doc, d: put(ext(doc), "offset", 4),
     "offset: 4 is not a multiple of 64", R),
    ("offset_float", lambda doc, d: put(ext(doc), "offset", 0.0),
     "offset must be an integer, got float", None),
    ("offset_string", lambda doc, d: put(ext(doc), "offset", "0"),
     "offset must be an integer, got str", R),
    ("element_count_overflow", lambda doc, d: ini(doc, "W1").update(
        shape=[(1 << 31) - 1] * 8), "has more than 2^34 elements", None),
    ("byte_size_overflows_int64", lambda doc, d: ini(doc, "W1").update(
        dtype="float64", shape=[(1 << 31) - 1] * 3), "has more than 2^34 elements", None),
    ("ten_gb_shape_tiny_file", lambda doc, d: (ini(doc, "W1").update(shape=[50000, 50000]),
                                               put(ext(doc), "length", 10 ** 10)),
     "bytes [0, 10000000000) lie past the end of 'm.bin'", None),
    ("init_rank_9", lambda doc, d: put(ini(doc, "W1"), "shape", [1] * 9), "rank 9 is above 8", R),
    ("init_dim_null", lambda doc, d: put(ini(doc, "W1"), "shape", [None, 3, 3, 3]),
     "dimension must be an int, got None", R),
    ("init_missing_external_data", lambda doc, d: drop(ini(doc, "W1"), "external_data"),
     "missing required key 'external_data'", R),
    ("external_data_unknown_key", lambda doc, d: put(ext(doc), "checksum", "abc"),
     "unknown keys ['checksum']", R),
    ("duplicate_initializer", lambda doc, d: put(ini(doc, "B1"), "name", "W1"),
     "duplicate initializer name (also graph.initializers[0])", None),
    ("initializer_empty_name", lambda doc, d: put(ini(doc, "B1"), "name", ""),
     "graph.initializers[1].name must not be empty", R),
    ("location_dotdot", dotdot, "escapes the model's folder ('..')", R),
    ("location_dotdot_inside", lambda doc, d: all_locations(doc, "sub/../../m.bin"),
     "escapes the model's folder ('..')", R),
    ("location_absolute", lambda doc, d: all_locations(doc, str(d / "m.bin")),
     "must be a relative path inside the model's folder", R),
    ("location_backslash_root", lambda doc, d: all_locations(doc, "\\etc\\passwd"),
     "must be a relative path", R),
    ("location_symlink_outside", symlink_out, "escapes the model's folder (it resolves to", None),
    ("location_nul", lambda doc, d: all_locations(doc, "m\u0000.bin"), "NUL character", R),
    ("location_empty", lambda doc, d: all_locations(doc, ""), "weights file name is empty", R),
    ("missing_weights_file", lambda doc, d: os.remove(d / "m.bin"),
     "cannot open the weights file 'm.bin'", None),
    ("weights_is_directory", loc_dir, "'dir.bin' is not a regular file", None),
    ("weights_is_fifo", loc_fifo, "'f.bin' is not a regular file", None),
    ("two_weights_files", lambda doc, d: put(ext(doc, "B1"), "location", "other.bin"),
     "a model has one weights file", None),
    ("weights_file_truncated", truncate_bin, "lie past the end of 'm.bin' (100 bytes)", None),
    # graph semantics
    ("unknown_op", lambda doc, d: put(nd(doc, "relu1"), "op_type", "Relu6"),
     "graph.nodes[1] (relu1): unknown op 'Relu6'", A),
    ("unknown_domain", lambda doc, d: put(nd(doc, "relu1"), "domain", "com.example"),
     "unknown op 'Relu' in domain 'com.example'", A),
    ("custom_op_without_domain", lambda doc, d: drop(nd(doc, "shuf"), "domain"),
     "unknown op 'ChannelShuffle' (ChannelShuffle is in domain 'ai.convengine')", A),
    ("unknown_attribute", lambda doc, d: put(at(doc, "conv1"), "kernel", [3, 3]),
     "(conv1): op Conv has no attribute 'kernel'", A),
    ("kernel_shape_string", lambda doc, d: put(at(doc, "conv1"), "kernel_shape", "3,3"),
     "(conv1).attributes.kernel_shape: must be a list of ints, got '3,3'", A),
    ("kernel_shape_floats", lambda doc, d: put(at(doc, "conv1"), "kernel_shape", [3.0, 3.0]),
     "kernel_shape: must be a list of ints, got [3.0, 3.0]", A),
    ("group_float", lambda doc, d: put(at(doc, "conv1"), "group", 1.0),
     "group: must be an int, got 1.0", A),
    ("alpha_string", lambda doc, d: put(at(doc, "leaky"), "alpha", "0.1"),
     "alpha: must be a number, got '0.1'", A),
    ("alpha_list", lambda doc, d: put(at(doc, "leaky"), "alpha", [0.1]),
     "alpha: must be a number", A),
    ("alpha_infinite", lambda doc, d: put(at(doc, "leaky"), "alpha", {"float": "inf"}),
     "alpha: must be finite, got inf", A),
    ("group_infinite", lambda doc, d: put(at(doc, "conv1"), "group", {"float": "inf"}),
     "group: must be an int, got inf", A),
    ("dim_infinite", lambda doc, d: put(ini(doc, "W1"), "shape", [{"float": "inf"}, 3, 3, 3]),
     "dimension must be an int, got {'float': 'inf'}", R),
    ("auto_pad_list", lambda doc, d: put(at(doc, "conv1"), "auto_pad", ["SAME_UPPER"]),
     "auto_pad: must be a string", A),
    ("tensor_for_ints", lambda doc, d: put(at(doc, "conv1"), "pads", {"tensor": {
        "dtype": "int64", "shape": [4], "values": [1, 1, 1, 1]}}), "pads: must be a list of ints",
     A),
    ("missing_required_attribute", lambda doc, d: drop(at(doc, "cat"), "axis"),
     "(cat): missing required attribute 'axis'", A),
    ("concat_axis_float", lambda doc, d: put(at(doc, "cat"), "axis", 1.5),
     "axis: must be an int, got 1.5", A),
    ("pool_missing_kernel", lambda doc, d: drop(at(doc, "pool"), "kernel_shape"),
     "(pool): missing required attribute 'kernel_shape'", A),
    ("duplicate_graph_input", lambda doc, d: doc["graph"]["inputs"].append(
        dict(doc["graph"]["inputs"][0])), "duplicate graph input 'x' (also graph.inputs[0])", A),
    ("graph_input_is_initializer", lambda doc, d: doc["graph"]["inputs"].append({"name": "W1"}),
     "'W1' is also graph.inputs[1]", A),
    ("duplicate_node_name", lambda doc, d: put(nd(doc, "relu1"), "name", "conv1"),
     "duplicate node name 'conv1' (also graph.nodes[0])", A),
    ("output_shadows_graph_input", lambda doc, d: put(nd(doc, "relu1"), "outputs", ["x"]),
     "output 'x' is already graph.inputs[0]", A),
    ("output_shadows_initializer", lambda doc, d: put(nd(doc, "relu1"), "outputs", ["B1"]),
     "output 'B1' is already an initializer", A),
    ("output_produced_twice", lambda doc, d: put(nd(doc, "relu1"), "outputs", ["c1"]),
     "output 'c1' is already produced by graph.nodes[0] (conv1)", A),
    ("missing_tensor", lambda doc, d: put(nd(doc, "relu1"), "inputs", ["nope"]),
     "input 'nope' is no graph input, initializer or output of any node", A),
    ("cycle", lambda doc, d: put(nd(doc, "conv1"), "inputs", ["s1", "W1", "B1"]),
     "the graph has a cycle: graph.nodes[0] (conv1) -> graph.nodes[1] (relu1) -> "
     "graph.nodes[2] (shuf) -> graph.nodes[0] (conv1)", A),
    ("self_loop", lambda doc, d: put(nd(doc, "relu1"), "inputs", ["r1"]),
     "consumes its own output 'r1' (a cycle)", A),
    ("not_topological", lambda doc, d: swap_nodes(doc, 0, 1),
     "input 'c1' is produced by graph.nodes[1] (conv1), which comes later", A),
    ("dangling_graph_output", lambda doc, d: put(doc["graph"]["outputs"][0], "name", "nothing"),
     "'nothing' is not produced by any node", A),
    ("duplicate_graph_output", lambda doc, d: doc["graph"]["outputs"].append({"name": "prob"}),
     "duplicate graph output 'prob'", A),
    ("no_graph_outputs", lambda doc, d: put(doc["graph"], "outputs", []),
     "the graph has no outputs", A),
    ("too_many_inputs", lambda doc, d: nd(doc, "relu1")["inputs"].append("x"),
     "Relu takes 1..1 inputs, got 2", A),
    ("required_input_empty", lambda doc, d: put(nd(doc, "conv1"), "inputs", ["x", "", "B1"]),
     "input 1 of Conv is required but empty", A),
    ("required_output_empty", lambda doc, d: put(nd(doc, "k"), "outputs", [""]),
     "output 0 of Constant is required but empty", A),
    ("conv_rank_vs_kernel", lambda doc, d: put(at(doc, "conv1"), "kernel_shape", [3, 3, 3]),
     "kernel_shape [3, 3, 3] has 3 spatial axes, but weight 'W1' of shape [8, 3, 3, 3] has 2",
     A),
    ("conv_kernel_vs_weight", lambda doc, d: put(at(doc, "conv1"), "kernel_shape", [5, 5]),
     "kernel_shape: [5, 5] differs from the kernel [3, 3] of weight 'W1'", A),
    ("conv_weight_rank_2", lambda doc, d: put(nd(doc, "conv1"), "inputs", ["x", "fcW"]),
     "weight initializer 'fcW' has rank 2; Conv needs rank >= 3", A),
    ("conv_weight_int64", lambda doc, d: put(nd(doc, "conv1"), "inputs", ["x", "flat_shape"]),
     "weight initializer 'flat_shape' has dtype int64; it must be a float tensor", A),
    ("pads_negative", lambda doc, d: put(at(doc, "conv1"), "pads", [-1, 1, 1, 1]),
     "pads: entries must be >= 0, got [-1, 1, 1, 1]", A),
    ("pads_length", lambda doc, d: put(at(doc, "conv1"), "pads", [1, 1]),
     "pads: [1, 1] has 2 entries, but kernel_shape [3, 3] means 2 spatial axes (4 entries)", A),
    ("strides_zero", lambda doc, d: put(at(doc, "conv1"), "strides", [0, 1]),
     "strides: entries must be >= 1, got [0, 1]", A),
    ("dilations_length", lambda doc, d: put(at(doc, "conv2"), "dilations", [1, 1, 1]),
     "dilations: [1, 1, 1] has 3 entries", A),
    ("group_zero", lambda doc, d: put(at(doc, "conv1"), "group", 0), "group: must be >= 1", A),
    ("group_does_not_divide", lambda doc, d: put(at(doc, "conv1"), "group", 3),
     "group 3 does not divide the 8 output channels of weight 'W1'", A),
    ("auto_pad_value", lambda doc, d: put(at(doc, "conv1"), "auto_pad", "SAME"),
     "auto_pad: 'SAME' is not one of", A),
    ("conv_bias_shape", lambda doc, d: put(nd(doc, "conv1"), "inputs", ["x", "W1", "seB1"]),
     "bias initializer 'seB1' has shape [2]; weight 'W1' of shape [8, 3, 3, 3] needs [8]", A),
    ("pool_pads_not_below_kernel", lambda doc, d: put(at(doc, "pool"), "pads", [2, 0, 0, 0]),
     "the padding of axis 0 must be smaller than the (dilated) kernel 2", A),
    ("pool_ceil_mode_2", lambda doc, d: put(at(doc, "pool"), "ceil_mode", 2),
     "ceil_mode: must be 0 or 1, got 2", A),
    ("shuffle_group_zero", lambda doc, d: put(at(doc, "shuf"), "group", 0),
     "(shuf).attributes.group: must be >= 1, got 0", A),
    ("gemm_trans_flag", lambda doc, d: put(at(doc, "gemm"), "transB", 2),
     "transB: must be 0 or 1", A),
    ("transpose_perm", lambda doc, d: retype(doc, "leaky", "Transpose", {"perm": [0, 2, 2, 1]}),
     "perm: [0, 2, 2, 1] is not a permutation of 0..3", A),
    ("fused_activation", lambda doc, d: put(at(doc, "fc"), "activation", "swish_beta"),
     "activation: 'swish_beta' is not one of", A),
    ("fused_clip_order", lambda doc, d: put(at(doc, "fc"), "clip_min", 7.0),
     "clip_min 7.0 must be <= clip_max 6.0", A),
    ("fused_clip_nan", lambda doc, d: put(at(doc, "fc"), "clip_max", {"float": "nan"}),
     "must be <= clip_max nan (and not NaN)", A),
    ("resize_mode", lambda doc, d: retype(doc, "leaky", "Resize", {"mode": "bicubic"}),
     "mode: 'bicubic' is not one of ['nearest', 'linear', 'cubic']", A),
    ("split_num_outputs", lambda doc, d: retype(doc, "leaky", "Split", {"num_outputs": 2}),
     "num_outputs: 2, but the node has 1 outputs", A),
    ("dropout_ratio", lambda doc, d: retype(doc, "leaky", "Dropout", {"ratio": 1.5}),
     "ratio: must be in [0, 1), got 1.5", A),
    ("cast_to", lambda doc, d: retype(doc, "leaky", "Cast", {"to": 99}),
     "to: 99 is not an ONNX TensorProto data type", A),
    ("constant_two_values", lambda doc, d: put(at(doc, "k"), "value_float", 1.0),
     "Constant takes exactly one of", A),
    ("local_weight_rank", lambda doc, d: put(nd(doc, "local"), "inputs", ["se", "W1"]),
     "weight initializer 'W1' has rank 4; LocalConv takes (H_out, W_out, C_out, C_in, kh, kw)",
     A),
    ("local_bias_shape", lambda doc, d: put(nd(doc, "local"), "inputs", ["se", "locW", "seB2"]),
     "bias initializer 'seB2' has shape [4]", A),
    ("se_weights_mismatch",
     lambda doc, d: put(nd(doc, "se"), "inputs", ["fc", "seW1", "seB1", "seW1", "seB2"]),
     "W1 [2, 4] (mid, C) and W2 [2, 4] (C, mid) do not match", A),
    ("se_gate", lambda doc, d: put(at(doc, "se"), "gate", "relu"),
     "gate: 'relu' is not one of ['sigmoid', 'hardsigmoid']", A),
]


def _apply(case, tmp_path):
    _, mutate, _, _ = case
    path = tmp_path / "m.json"
    base_model().save(path)
    doc = json.loads(path.read_text())
    out = mutate(doc, tmp_path)
    if out is KEEP:
        return path, None
    if isinstance(out, bytes):
        path.write_bytes(out)
        return path, None
    path.write_text(json.dumps(doc, indent=1))
    return path, doc


def test_hostile_table_size():
    assert len(HOSTILE) >= 40
    assert len({c[0] for c in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_file_raises_model_error(case, tmp_path):
    path, _ = _apply(case, tmp_path)
    with pytest.raises(ModelError, match=re.escape(case[2])):
        load(path)


SCHEMA_CASES = [c for c in HOSTILE if c[3]]


@needs_jsonschema
@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_schema_agrees_with_loader(case, tmp_path):
    _, doc = _apply(case, tmp_path)
    v = jsonschema.Draft202012Validator(M.json_schema())
    errors = list(v.iter_errors(doc))
    if case[3] == "reject":
        assert errors, "the schema accepts a document the loader rejects at the schema level"
    else:
        assert not errors, [e.message for e in errors]


def test_hostile_json_does_not_hang_or_allocate(tmp_path):
    """The biggest hostile inputs are refused before parsing, within a small memory budget."""
    path = tmp_path / "m.json"
    path.write_bytes(b"[" + b"[]," * (M.MAX_JSON_ITEMS // 2 + 1) + b"[]]")
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match="values"):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


# ---------------------------------------------------------------------------------------------
# the schema shipped in the package

def test_schema_is_package_data():
    from importlib import resources
    res = resources.files("convengine").joinpath("schema", "model.schema.json")
    assert res.is_file()
    schema = json.loads(res.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == M.json_schema()
    assert schema["properties"]["format_version"]["const"] == M.FORMAT_VERSION
    assert schema["$defs"]["dtype"]["enum"] == list(DTYPES)


@needs_jsonschema
def test_schema_is_valid_and_accepts_saved_models(saved, tmp_path):
    schema = M.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    v.validate(json.loads(saved.read_text()))
    test_round_trip_attribute_types(tmp_path)
    v.validate(json.loads((tmp_path / "a.json").read_text()))
    test_round_trip_unicode_names(tmp_path)
    v.validate(json.loads((tmp_path / "モデル.json").read_text()))


# ---------------------------------------------------------------------------------------------
# property tests

_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
_ints = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
_scalar_attr = st.one_of(_ints, _floats, st.text(max_size=10))
_list_attr = st.one_of(st.lists(_ints, max_size=5), st.lists(_floats, min_size=1, max_size=5),
                       st.lists(st.text(max_size=5), min_size=1, max_size=5))


@st.composite
def _arrays(draw):
    dt = draw(st.sampled_from(sorted(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    n = int(np.prod(shape)) if shape else 1
    raw_bytes = draw(st.binary(min_size=n * DTYPES[dt].itemsize,
                               max_size=n * DTYPES[dt].itemsize))
    if dt == "bool":  # canonical bools: one byte 0 or 1
        return (np.frombuffer(raw_bytes, np.uint8) != 0).reshape(shape)
    return np.frombuffer(raw_bytes, dtype=DTYPES[dt]).reshape(shape).copy()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attrs=st.dictionaries(_names, st.one_of(_scalar_attr, _list_attr, _arrays()),
                             max_size=6),
       inits=st.dictionaries(_names, _arrays(), max_size=5),
       name=_names)
def test_round_trip_property(tmp_path_factory, attrs, inits, name):
    d = tmp_path_factory.mktemp("rt")
    inits = {k: v for k, v in inits.items() if k not in ("x", "y")}
    m = Model(Graph([Node("Identity", ["x"], ["y"], name, attrs)], [ValueInfo("x")],
                    [ValueInfo("y")], inits), metadata={name: name})
    m.save(d / "p.json")
    back = load(d / "p.json", validate=False)
    assert_models_equal(m, back)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=10)


@pytest.fixture(scope="module")
def base_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    base_model().save(d / "m.json")
    return d, (d / "m.json").read_bytes()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_structural_fuzz_raises_only_model_error(base_files, data):
    """Replacing any part of a valid document with any JSON value loads or raises ModelError;
    never another exception."""
    d, text = base_files
    doc = json.loads(text)
    paths = list(_paths(doc))
    path = data.draw(st.sampled_from(paths[1:]))
    value = data.draw(_json_values)
    target = doc
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    out = d / "fuzz.json"
    out.write_text(json.dumps(doc))
    try:
        load(out)
    except ModelError:
        pass


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_byte_fuzz_raises_only_model_error(base_files, data):
    d, text = base_files
    b = bytearray(text)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    out = d / "bytes.json"
    out.write_bytes(bytes(b))
    try:
        load(out)
    except ModelError:
        pass


# ---------------------------------------------------------------------------------------------
# validation of in-memory models

def test_every_op_attribute_has_a_kind():
    for (domain, op), s in OPS.items():
        for name, default in s.attrs.items():
            kind = attr_kind(op, name, default)
            if default is not None and default is not REQUIRED:
                assert _kind_ok(kind, default), (op, name, kind, default)


def test_empty_node_names_may_repeat_and_inputs_may_be_outputs():
    g = Graph([Node("Relu", ["x"], ["a"]), Node("Relu", ["a"], ["b"])], [ValueInfo("x")],
              [ValueInfo("b"), ValueInfo("x")])
    validate_model(Model(g))


def test_in_memory_attribute_kinds():
    def check(attrs, match=None):
        m = Model(Graph([Node("Conv", ["x", "w"], ["y"], "c", attrs)], [ValueInfo("x")],
                        [ValueInfo("y")], {"w": np.zeros((4, 2, 3, 3), np.float32)}))
        if match is None:
            validate_model(m)
        else:
            with pytest.raises(ModelError, match=match):
                validate_model(m)
    check({"kernel_shape": (3, 3), "pads": [np.int64(1)] * 4, "group": np.int32(2)})
    check({"group": True}, "group: must be an int")
    check({"pads": np.array([1, 1, 1, 1])}, "pads: must be a list of ints")
    check({"strides": [1, 1], "kernel_shape": [3]}, "kernel_shape: .3. differs|has 1 spatial")
    with pytest.raises(ModelError, match="initializers are numpy arrays"):
        validate_model(Model(Graph([Node("Relu", ["x"], ["y"])], [ValueInfo("x")],
                                   [ValueInfo("y")], {"w": [1, 2]})))
    with pytest.raises(TypeError):
        validate_model("not a model")


def test_long_chain_and_long_cycle():
    n = 20000
    nodes = [Node("Relu", [f"t{i}"], [f"t{i + 1}"], f"n{i}") for i in range(n)]
    g = Graph(nodes, [ValueInfo("t0")], [ValueInfo(f"t{n}")])
    validate_model(Model(g))
    nodes[0].inputs = [f"t{n}"]
    with pytest.raises(ModelError, match="the graph has a cycle"):
        validate_model(Model(g))
    nodes[0].inputs = ["t0"]
    nodes.reverse()
    with pytest.raises(ModelError, match="topological order"):
        validate_model(Model(g))


def test_docs_example_is_what_save_writes(tmp_path, monkeypatch):
    """docs/model-format.md's complete example: its Python writes exactly its JSON."""
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "model-format.md"),
               encoding="utf-8").read()
    example = doc[doc.index("## A complete example"):]
    json_text = re.search(r"```json\n(.*?)```", example, re.S).group(1)
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "model-format.md", "exec"), {})
    assert (tmp_path / "tiny.json").read_text(encoding="utf-8") == json_text
    assert (tmp_path / "tiny.bin").stat().st_size == 192
    m = load(tmp_path / "tiny.json")
    assert m.graph.nodes[2].domain == CUSTOM_DOMAIN


def test_bad_paths_and_in_memory_objects(tmp_path):
    with pytest.raises(ModelError, match="cannot read model file"):
        load(str(tmp_path / "a\0b.json"))
    with pytest.raises(ModelError, match=r"graph.nodes\[0\] must be a Node"):
        validate_model(Model(Graph(["Relu"], [], [])))
    with pytest.raises(ModelError, match="attributes: names are non-empty strings"):
        Model(Graph([Node("Relu", ["x"], ["y"], "r", {1: 2})], [ValueInfo("x")],
                    [ValueInfo("y")])).save(tmp_path / "m.json")
    with pytest.raises(ModelError, match="metadata: keys must be strings"):
        Model(Graph([], [ValueInfo("x")], [ValueInfo("x")]), metadata={1: "a"}).save(
            tmp_path / "m.json")
    assert os.listdir(tmp_path) == []
