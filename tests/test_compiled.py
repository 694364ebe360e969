"""Compiled models (.cem, docs/compiled-format.md) and the C API (include/convengine.h, driven
through ctypes on the symbols the extension module exports): every zoo model compiled and run
through the C API gives InferenceSession's outputs bit for bit; `convengine compile`; and the
compiled format's twin of the JSON format's hostile-file tests: truncated, corrupted and hostile
files get an error code and a message, never a crash."""
from __future__ import annotations

import ctypes
import os
import struct
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convengine as ce
from convengine import _capi, _native, zoo
from convengine.model import Graph, Model, Node, ValueInfo

CE_INVALID_ARGUMENT, CE_INVALID_FILE, CE_UNSUPPORTED, CE_IO_ERROR = 1, 2, 3, 4
HEADER = struct.Struct("<8sIIQQQQQQ")  # magic, version, header bytes, file bytes, meta, data, sum


@pytest.fixture(scope="module")
def lib():
    return _capi.library()


def _small_model(rng):
    """conv (odd channels, asymmetric pads) -> relu -> maxpool -> add of a constant -> softmax
    over channels, plus a second output (global average pool)."""
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    k = rng.standard_normal((1, 5, 1, 1)).astype(np.float32)
    nodes = [
        Node("Conv", ["x", "w", "b"], ["c"], "conv", {"pads": [0, 1, 2, 1]}),
        Node("Relu", ["c"], ["r"], "relu"),
        Node("MaxPool", ["r"], ["p"], "pool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Node("Add", ["p", "k"], ["a"], "add"),
        Node("Softmax", ["a"], ["y"], "softmax", {"axis": 1}),
        Node("GlobalAveragePool", ["r"], ["g"], "gap"),
    ]
    g = Graph(nodes, [ValueInfo("x", [2, 3, 11, 9])], [ValueInfo("y"), ValueInfo("g")],
              {"w": w, "b": b, "k": k})
    return Model(g)


class _Small(tuple):
    def __repr__(self):
        return f"<compiled small model, {len(self[0])} bytes>"


@pytest.fixture(scope="module")
def small_file():
    """(bytes of the compiled small model, its session)"""
    rng = np.random.default_rng(7)
    m = _small_model(rng)
    sess = ce.InferenceSession(m)
    from convengine._graph import planner
    return _Small((bytes(planner.build(sess.model, {"x": (2, 3, 11, 9)}, keep_file=True).file), sess))


def _fixed(shape):
    return [d if isinstance(d, int) else 1 for d in shape]  # a symbolic batch: 1


def _reseal(data: bytes) -> bytes:
    """The file with its header's checksum recomputed (for hostile files that must get past the
    checksum to test the checks behind it)."""
    h = list(HEADER.unpack_from(data))
    h[-1] = _native.model_checksum(data[64:])
    return HEADER.pack(*h) + data[64:]


def _c_load_error(lib, data):
    m = ctypes.c_void_p()
    st_ = lib.ce_model_load_from_memory(data, len(data), ctypes.byref(m))
    if not st_:
        lib.ce_model_free(m)
        return None
    code, msg = lib.ce_status_code(st_), lib.ce_status_message(st_).decode(errors="replace")
    lib.ce_status_free(st_)
    assert msg, "an error status must carry a message"
    assert not m.value, "a failed load must not return a model"
    return code, msg


# ------------------------------------------------------------------ the same outputs
@pytest.mark.parametrize("name", zoo.list())
def test_zoo_model_through_the_c_api_is_bit_identical(name, tmp_path, rng):
    sess = ce.InferenceSession(zoo.get(name))
    path = tmp_path / f"{name}.cem"
    n = sess.save_compiled(path)
    assert path.stat().st_size == n
    feeds = {i.name: rng.standard_normal(_fixed(i.shape)).astype(np.float32)
             for i in sess.get_inputs()}
    want = sess.run(None, feeds)
    cm = _capi.CModel(path)
    assert [n for n, _ in cm.inputs] == [i.name for i in sess.get_inputs()]
    assert [n for n, _ in cm.outputs] == [o.name for o in sess.get_outputs()]
    got = cm.run(*feeds.values())
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    again = ce.InferenceSession(path).run(None, feeds)
    for g, w in zip(again, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_fast_precision_and_forced_algorithms_are_kept(tmp_path, rng):
    m = zoo.get("resnet18", size=64)
    for sess in (ce.InferenceSession(m, precision="fast"),
                 ce.InferenceSession(m, algorithms={"conv1": "igemm"})):
        path = tmp_path / "m.cem"
        sess.save_compiled(path)
        loaded = ce.InferenceSession(path)
        assert [r["algorithm"] for r in loaded.describe()] == \
            [r["algorithm"] for r in sess.describe()]
        x = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
        np.testing.assert_array_equal(loaded.run(None, {"input": x})[0],
                                      sess.run(None, {"input": x})[0])


def test_save_compiled_takes_other_input_shapes(tmp_path, rng):
    sess = ce.InferenceSession(zoo.get("squeezenet1_1"))
    path = tmp_path / "b3.cem"
    sess.save_compiled(path, {"input": (3, 3, 224, 224)})
    x = rng.standard_normal((3, 3, 224, 224)).astype(np.float32)
    (got,) = _capi.CModel(path).run(x)
    np.testing.assert_array_equal(got, sess.run(None, {"input": x})[0])
    loaded = ce.InferenceSession(path)
    assert loaded.get_inputs()[0].shape == [3, 3, 224, 224]
    with pytest.raises(ValueError, match=r"expected shape \[3, 3, 224, 224\]"):
        loaded.run(None, {"input": x[:1]})


def test_integer_outputs_are_exact_and_typed(tmp_path, rng):
    nodes = [Node("ArgMax", ["x"], ["i"], "am", {"axis": 1}), Node("Shape", ["x"], ["s"], "sh")]
    m = Model(Graph(nodes, [ValueInfo("x", [2, 7, 5])], [ValueInfo("i"), ValueInfo("s")], {}))
    sess = ce.InferenceSession(m)
    path = tmp_path / "int.cem"
    sess.save_compiled(path)
    x = rng.standard_normal((2, 7, 5)).astype(np.float32)
    want = sess.run(None, {"x": x})
    got = ce.InferenceSession(path).run(None, {"x": x})
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g, w)
    i, s = _capi.CModel(path).run(x)  # the C API gives float32 holding the same integers
    np.testing.assert_array_equal(i, want[0].astype(np.float32))
    np.testing.assert_array_equal(s, [2, 7, 5])


def test_concurrent_runs_on_one_c_model(small_file, rng):
    data, sess = small_file
    cm = _capi.CModel(data)
    xs = [rng.standard_normal((2, 3, 11, 9)).astype(np.float32) for _ in range(6)]
    want = [sess.run(None, {"x": x}) for x in xs]
    got = [None] * len(xs)
    errors = []

    def work(i):
        try:
            for _ in range(20):
                got[i] = cm.run(xs[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for g, w in zip(got, want, strict=True):
        for a, b in zip(g, w, strict=True):
            np.testing.assert_array_equal(a, b)


def test_c_api_queries_and_null_arguments(lib, small_file, tmp_path):
    data, _ = small_file
    assert lib.ce_version().decode().startswith(ce.__version__)
    cm = _capi.CModel(data, lib)
    assert cm.inputs == [("x", (2, 3, 11, 9))]
    assert cm.outputs == [("y", (2, 5, 5, 4)), ("g", (2, 5, 1, 1))]
    h = cm.handle
    assert lib.ce_model_input_name(h, 1) is None and lib.ce_model_output_name(h, -1) is None
    assert lib.ce_model_input_shape(h, 3, None) == -1
    assert lib.ce_model_input_count(None) == -1
    st_ = lib.ce_model_run(h, None, None)
    assert lib.ce_status_code(st_) == CE_INVALID_ARGUMENT
    lib.ce_status_free(st_)
    lib.ce_status_free(None)
    lib.ce_model_free(None)
    assert lib.ce_status_code(None) == 0 and lib.ce_status_message(None) == b""
    out = ctypes.c_void_p()
    st_ = lib.ce_model_load(str(tmp_path / "missing.cem").encode(), ctypes.byref(out))
    assert lib.ce_status_code(st_) == CE_IO_ERROR and b"missing.cem" in lib.ce_status_message(st_)
    lib.ce_status_free(st_)
    st_ = lib.ce_model_load(str(tmp_path).encode(), ctypes.byref(out))  # a directory
    assert lib.ce_status_code(st_) == CE_IO_ERROR
    lib.ce_status_free(st_)
    n = lib.ce_get_num_threads()
    lib.ce_set_num_threads(1)
    assert lib.ce_get_num_threads() == 1
    lib.ce_set_num_threads(0)  # ignored
    assert lib.ce_get_num_threads() == 1
    lib.ce_set_num_threads(5000)  # above CE_MAX_THREADS: ignored
    assert lib.ce_get_num_threads() == 1
    lib.ce_set_num_threads(n)


def test_cli_compile_and_run(tmp_path, rng, capsys):
    from convengine._cli import main
    m = zoo.get("tcn_1d")
    m.save(tmp_path / "m.json")
    shape = _fixed(ce.InferenceSession(m).get_inputs()[0].shape)
    shape = [2, *shape[1:]]
    spec = "input=" + ",".join(map(str, shape))
    assert main(["compile", str(tmp_path / "m.json"), "-o", str(tmp_path / "m.cem"),
                 "--input-shape", spec]) == 0
    assert "wrote" in capsys.readouterr().out
    x = rng.standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(tmp_path / "m.cem"), "-i", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "y.npy")]) == 0
    want = ce.InferenceSession(m).run(None, {"input": x})[0]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want)
    assert main(["inspect", str(tmp_path / "m.cem")]) == 0
    assert main(["compile", str(tmp_path / "m.json"), "--input-shape", "nope=1,2"]) == 2
    assert main(["compile", str(tmp_path / "m.json"), "--input-shape", "input=1,x"]) == 2
    assert "unknown input name" in capsys.readouterr().err


# ------------------------------------------------------------------ hostile files
def test_every_truncation_is_an_invalid_file(lib, small_file):
    data, _ = small_file
    for n in list(range(0, 200)) + list(range(200, len(data), 97)) + [len(data) - 1]:
        err = _c_load_error(lib, data[:n])
        assert err is not None and err[0] == CE_INVALID_FILE, n
    assert _c_load_error(lib, data + b"\0") is not None  # padded


def test_every_corrupted_byte_is_caught(lib, small_file):
    data, _ = small_file
    for i in list(range(8, len(data), max(1, len(data) // 600))):
        if 8 <= i < 12:  # the version field: CE_UNSUPPORTED, tested below
            continue
        bad = bytearray(data)
        bad[i] ^= 0x5A
        err = _c_load_error(lib, bytes(bad))
        assert err is not None and err[0] == CE_INVALID_FILE, i


def test_wrong_magic_and_version(lib, small_file):
    data, _ = small_file
    assert "magic" in _c_load_error(lib, b"PK\3\4" + data[4:])[1]
    v2 = bytearray(data)
    struct.pack_into("<I", v2, 8, 2)
    code, msg = _c_load_error(lib, bytes(v2))
    assert code == CE_UNSUPPORTED and "version 2" in msg
    with pytest.raises(ValueError, match="version 2") as e:
        _native.load_compiled(bytes(v2))
    assert e.value.code == CE_UNSUPPORTED


def _one_step(method, args, ins=((1, 4),), outs=((1, 4),), arena=0, pool=None):
    w = _native.ModelWriter()
    for i, s in enumerate(ins):
        w.add_input(f"x{i}", "float32", list(s))
    for j, s in enumerate(outs):
        w.add_output(f"y{j}", "float32", list(s))
    w.set_arena_floats(arena)
    if pool is not None:
        w.add_pool_constant(pool)
    w.add_step(method, "s", "", args)
    return w.finish()


X = (2, 0, [1, 4], [4, 1])
Y = (3, 0, [1, 4], [4, 1])
CL = (0, 0, [1, 3, 5, 5], [75, 1, 15, 3])  # channels-last arena tensor
CL3 = (0, 0, [1, 3, 2, 5, 5], [150, 1, 75, 15, 3])  # the same, 3D
HOSTILE = {
    "ref past the input": ("add_copy", ["Copy", (2, 1, [1, 4], [4, 1]), Y], "outside its buffer"),
    "negative stride before the start": ("add_copy", ["Copy", (2, 0, [1, 4], [4, -1]), Y],
                                         "outside its buffer"),
    "ref into a buffer that does not exist": ("add_copy", ["Copy", (9, 0, [1, 4], [4, 1]), Y],
                                              "names buffer 9"),
    "write into the input": ("add_copy", ["Copy", Y, X], "writes into an input"),
    "overflowing shape": ("add_copy", ["Copy", (2, 0, [1 << 39, 1 << 39], [0, 0]), Y],
                          "too many elements"),
    "overflowing stride product": ("add_copy", ["Copy", (2, 0, [1 << 30, 4], [1 << 39, 1]), Y],
                                   "outside its buffer"),
    "unknown step": ("add_teleport", [X, Y], "unknown step kind 'add_teleport'"),
    "too few arguments": ("add_copy", ["Copy", X], "takes 3 arguments, got 2"),
    "wrong argument kind": ("add_copy", [1, X, Y], "argument 0 must be a string"),
    "unknown binary op": ("add_binary", ["Pow", X, X, Y], "unknown binary op Pow"),
    "conv weight of another rank": (
        "add_conv", [CL, CL, None, np.zeros((3, 3, 3), np.float32), None, 1, [1, 1, 1],
                     [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 0], False, "auto", "none", 0.0, 0.0,
                     -np.inf, np.inf], "ranks must match"),
    "conv groups zero": (
        "add_conv", [CL, CL, None, np.zeros((3, 3, 3, 3), np.float32), None, 0, [1, 1, 1],
                     [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 0], False, "auto", "none", 0.0, 0.0,
                     -np.inf, np.inf], "divisible by groups"),
    "conv output of another size": (
        "add_conv", [CL, CL, None, np.zeros((3, 3, 3, 3), np.float32), None, 1, [1, 1, 1],
                     [1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0], False, "auto", "none", 0.0,
                     0.0, -np.inf, np.inf], "planned output shape"),
    "conv huge dilation": (
        "add_conv", [CL, CL, None, np.zeros((3, 3, 3, 3), np.float32), None, 1, [1, 1, 1],
                     [1, 1 << 40, 1], [0, 1, 1], [0, 1, 1], [0, 0, 0], False, "auto", "none",
                     0.0, 0.0, -np.inf, np.inf], "conv"),
    "unknown algorithm": (
        "add_conv", [CL, CL, None, np.zeros((3, 3, 3, 3), np.float32), None, 1, [1, 1, 1],
                     [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 0], False, "warp", "none", 0.0,
                     0.0, -np.inf, np.inf], "warp"),
    "resize index outside the input": (
        "add_resize", [CL, CL, False, [0, 1, 2, 3, 9], [0] * 5, [1.0] * 5, [0.0] * 5,
                       [0, 1, 2, 3, 4], [0] * 5, [1.0] * 5, [0.0] * 5], "outside the input"),
    "gather offset outside the input": (
        "add_index_gather", ["GatherND", X, Y, np.array([0, 1, 2, 4])], "outside"),
    # a kernel of 2^31 - 2 that the run once walked tap by tap (found by tools/fuzz_compiled.py)
    "3D pool window larger than the input": (
        "add_pool", [CL3, CL3, True, [1, 2 ** 31 - 2, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0],
                     [0, 0, 0], False, False], "the window gives"),
    "3D pool output of another size": (
        "add_pool", [CL3, CL3, False, [1, 3, 3], [1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 0, 1],
                     False, True], "the window gives 4"),
    "lp pool with p 0": (
        "add_lp_pool", [CL3, CL3, 0, [1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                        False], "p must be in [1, 64]"),
    "pool with a zero kernel": (
        "add_pool", [CL, CL, True, [0, 1], [1, 1], [1, 1], [0, 0], [0, 0], False, False],
        "kernel, stride and dilation"),
}


def test_hostile_table_size():
    assert len(HOSTILE) >= 15


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_compiled_file(lib, case):
    method, args, match = HOSTILE[case]
    arena = 150 if any(a is CL3 for a in args) else 75 if any(a is CL for a in args) else 0
    data = _one_step(method, args, arena=arena)
    code, msg = _c_load_error(lib, data)
    assert code in (CE_INVALID_FILE, CE_UNSUPPORTED), msg
    assert match in msg, msg
    with pytest.raises(ValueError, match="node s|step 0|step s"):
        _native.load_compiled(data)


def _meta_patch(data, offset, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, 64 + offset, value)
    return _reseal(bytes(b))


def test_hostile_sections_behind_a_valid_checksum(lib, small_file):
    data, _ = small_file
    magic, ver, hb, fb, mo, mb, do, db, cs = HEADER.unpack_from(data)
    cases = {
        "meta past the end": (mo, mb + 10 ** 6),
        "data misaligned": (do + 4, db - 4),
        "data past the end": (do, db + 64),
    }
    for what, (o, n) in cases.items():
        h = HEADER.pack(magic, ver, hb, fb, mo, n if "meta" in what else mb,
                        o if "data" in what else do, n if "data" in what else db, cs)
        err = _c_load_error(lib, _reseal(h + data[64:]))
        assert err is not None and err[0] == CE_INVALID_FILE, what
    # the first string of the description is the producer: a length that lies
    err = _c_load_error(lib, _meta_patch(data, 0, "<I", 0xFFFFFFF0))
    assert err[0] == CE_INVALID_FILE and "too large" in err[1]
    err = _c_load_error(lib, _meta_patch(data, 0, "<I", 60000))
    assert err[0] == CE_INVALID_FILE and "past the end" in err[1]


@pytest.mark.parametrize("name", [b"\xff0", b"x\xc0", b"\xed\xa0", b"\xf4\x90"])
def test_names_must_be_utf8(lib, name):
    """Strings are UTF-8 (docs/compiled-format.md): a name that is not (invalid byte, overlong,
    surrogate, past U+10FFFF) is an invalid file, not a UnicodeDecodeError in Python or bytes
    handed to C callers as a name (found by tests/test_fuzz.py)."""
    data = _one_step("add_copy", ["Copy", X, Y])
    assert data.count(b"x0") == 1
    bad = _reseal(data.replace(b"x0", name))
    code, msg = _c_load_error(lib, bad)
    assert code == CE_INVALID_FILE and "not UTF-8" in msg, msg
    with pytest.raises(ValueError, match="not UTF-8") as e:
        _native.load_compiled(bad)
    assert type(e.value).__name__ == "CompiledModelError"
    assert _c_load_error(lib, _reseal(data.replace(b"x0", "é".encode()))) is None


def test_array_outside_the_data_section(lib):
    data = _one_step("add_batchnorm", [CL, CL] + [np.ones(3, np.float32)] * 4 + [1e-5],
                     arena=75)
    # the last array's byte offset is the last u64 before the epsilon (kind 2 + f64)
    meta_end = 64 + HEADER.unpack_from(data)[5]
    off_pos = meta_end - 9 - 8
    b = bytearray(data)
    struct.pack_into("<Q", b, off_pos, 1 << 40)
    code, msg = _c_load_error(lib, _reseal(bytes(b)))
    assert code == CE_INVALID_FILE and "outside the data section" in msg
    struct.pack_into("<Q", b, off_pos, 4)  # misaligned
    code, msg = _c_load_error(lib, _reseal(bytes(b)))
    assert code == CE_INVALID_FILE and "outside the data section" in msg


@settings(max_examples=int(os.environ.get("CE_FUZZ_EXAMPLES", 300)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_resealed_byte_fuzz_never_crashes(lib, small_file, data):
    """Random changes to the description behind a valid checksum: every load either builds a
    plan that stays inside its buffers or returns an error with a message."""
    f, _ = small_file
    meta = HEADER.unpack_from(f)[5]
    b = bytearray(f)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(64, 64 + meta - 1))
        b[i] = data.draw(st.integers(0, 255))
    try:
        cm = _capi.CModel(_reseal(bytes(b)), lib)
    except _capi.CError as e:
        assert e.code in (CE_INVALID_FILE, CE_UNSUPPORTED, 5) and e.message, e
        return
    if max(np.prod(s, dtype=np.float64) for _, s in cm.inputs + cm.outputs) > 1e7:
        return  # a valid plan of huge tensors: loading it was the test
    try:
        cm.run(*[np.ones(s, np.float32) for _, s in cm.inputs])
    except _capi.CError as e:
        assert e.message
