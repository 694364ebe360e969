"""Pickled sessions (convengine/_session_pickle.py): every zoo model round-trips through pickle,
in this process and in a spawned child, with outputs equal to the original session's bit for
bit; sessions from a .json, .onnx (inline and external data) and .cem path and from an
in-memory Model; pickle_by="path" sends only paths and checksums and refuses a missing or
changed file; the constructor's options survive; what a pickle costs is what the class doc
says (about the weights file)."""
from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import convengine
from convengine import InferenceSession, ModelError, _session_pickle, zoo
from test_zoo import REDUCED

from conftest import num_threads


def _feed(session, batch=2, seed=0):
    v = session.get_inputs()[0]
    x = np.random.default_rng(seed).standard_normal([batch, *v.shape[1:]]).astype(np.float32)
    return {v.name: x}


def _assert_identical(got, want, what):
    assert len(got) == len(want), what
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        assert a.tobytes() == b.tobytes(), f"{what}: outputs differ (max|diff| {np.abs(a - b).max():.3g})"


def _run_in_child(session, feed):
    return os.getpid(), type(session).__name__, session.run(None, feed)


@pytest.fixture(scope="module")
def child():
    """One spawned process (a fresh interpreter, as on another machine): sessions reach it
    pickled, as arguments."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.mark.parametrize("name", zoo.list())
def test_zoo_round_trip_here_and_in_a_spawned_child(name, child):
    session = InferenceSession(zoo.get(name, seed=11, **REDUCED.get(name, {})))
    feed = _feed(session)
    want = session.run(None, feed)
    data = pickle.dumps(session, protocol=pickle.HIGHEST_PROTOCOL)
    back = pickle.loads(data)
    assert type(back) is InferenceSession and back is not session
    assert back.get_inputs() == session.get_inputs() and back.get_outputs() == session.get_outputs()
    _assert_identical(back.run(None, feed), want, f"{name} after pickle.loads")
    # the pickle is the model: about its weights, never much more
    weights = sum(a.nbytes for a in session._source.graph.initializers.values())
    assert weights <= len(data) <= 1.1 * weights + (2 << 20), (len(data), weights)
    # in a fresh interpreter, the session passed as an argument (pickled by multiprocessing)
    pid, kind, got = child.submit(_run_in_child, session, feed).result(timeout=600)
    assert pid != os.getpid() and kind == "InferenceSession"
    _assert_identical(got, want, f"{name} unpickled in a spawned process")


# ---------------------------------------------------------------------------------------------
# sources: .json, .onnx (inline / external data), .cem, Model

SMALL = dict(name="mobilenet_v3_small", seed=4, size=64)


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    """Sessions here load their files: one restored from the on-disk load-time cache has no
    model in memory until it needs one (test_a_session_from_the_disk_cache_pickles)."""
    monkeypatch.setenv("CONVENGINE_CACHE", "0")


@pytest.fixture(scope="module")
def small_model():
    return zoo.get(SMALL["name"], seed=SMALL["seed"], size=SMALL["size"])


def _write(kind, model, folder):
    if kind == "json":
        model.save(folder / "m.json")
        return folder / "m.json"
    if kind in ("onnx", "onnx-external"):
        import onnx
        from convengine.onnx_export import to_onnx
        path = folder / "m.onnx"
        if kind == "onnx":
            onnx.save_model(to_onnx(model), str(path))
        else:
            onnx.save_model(to_onnx(model), str(path), save_as_external_data=True,
                            all_tensors_to_one_file=True, location="m.data", size_threshold=0)
        return path
    assert kind == "cem"
    InferenceSession(model).save_compiled(folder / "m.cem", {"input": (3, 3, 64, 64)})
    return folder / "m.cem"


SOURCES = [("model", "model"), ("json", "model"), ("json", "path"), ("onnx", "model"),
           ("onnx", "path"), ("onnx-external", "path"), ("cem", "model"), ("cem", "path")]


@pytest.mark.parametrize("kind,form", SOURCES)
def test_sources_round_trip_here_and_in_a_child(kind, form, small_model, tmp_path, child):
    if kind.startswith("onnx"):
        pytest.importorskip("onnx")
    src = small_model if kind == "model" else _write(kind, small_model, tmp_path)
    session = InferenceSession(src)
    session.pickle_by = form
    feed = _feed(session, batch=3)
    want = session.run(None, feed)
    data = pickle.dumps(session)
    if form == "path":
        assert len(data) < 4096, f"pickled by path, {len(data)} bytes"
        assert str(tmp_path) in data.decode("latin-1")
    back = pickle.loads(data)
    assert back.pickle_by == form
    _assert_identical(back.run(None, feed), want, f"{kind} by {form}")
    _assert_identical(pickle.loads(pickle.dumps(back)).run(None, feed), want,
                      f"{kind} by {form}, pickled twice")
    _, _, got = child.submit(_run_in_child, session, feed).result(timeout=300)
    _assert_identical(got, want, f"{kind} by {form} in a spawned process")
    if kind == "cem":
        assert back.model is None  # still the compiled model, not a re-planned graph


def test_model_form_never_reads_the_file_again(small_model, tmp_path, monkeypatch):
    """By model, the pickle is the model the session loaded: the files may go away (or be
    replaced) after the session was made. (A session restored from the on-disk load-time cache
    never loaded it: see test_a_session_from_the_disk_cache_pickles.)"""
    path = _write("json", small_model, tmp_path)
    session = InferenceSession(path)
    feed = _feed(session)
    want = session.run(None, feed)
    zoo.get(SMALL["name"], seed=99, size=SMALL["size"]).save(tmp_path / "other.json")
    os.replace(tmp_path / "other.bin", tmp_path / "m.bin")
    os.replace(tmp_path / "other.json", path)
    _assert_identical(pickle.loads(pickle.dumps(session)).run(None, feed), want, "file replaced")
    os.unlink(path)
    _assert_identical(copy.deepcopy(session).run(None, feed), want, "file removed")


def test_a_session_from_the_disk_cache_pickles(small_model, tmp_path, monkeypatch):
    """A session restored from the on-disk cache (a fresh process: no in-process record) reads
    its model file when pickled by model; a file changed since is refused, never sent stale."""
    from convengine import _load_cache
    monkeypatch.setenv("CONVENGINE_CACHE", "1")
    monkeypatch.setenv("CONVENGINE_CACHE_DIR", str(tmp_path / "cache"))
    path = _write("json", small_model, tmp_path)
    first = InferenceSession(path)  # writes the disk entry
    feed = _feed(first)
    want = first.run(None, feed)
    del first
    _load_cache._shared.clear()  # as in a new process
    session = InferenceSession(path)
    assert session._source is None and session._lazy_model is not None  # restored from disk
    _assert_identical(pickle.loads(pickle.dumps(session)).run(None, feed), want, "disk hit")
    again = InferenceSession(path)  # in-process record: the source is shared, not re-read
    os.unlink(path)
    _assert_identical(pickle.loads(pickle.dumps(again)).run(None, feed), want, "file removed")
    _load_cache._shared.clear()
    zoo.get(SMALL["name"], seed=99, size=SMALL["size"]).save(tmp_path / "m.json")
    stale = InferenceSession(path)  # other weights: a miss, a new entry
    assert not np.array_equal(stale.run(None, feed)[0], want[0])


# ---------------------------------------------------------------------------------------------
# pickle_by="path": checksums

@pytest.mark.parametrize("kind,victim", [("json", "m.bin"), ("json", "m.json"),
                                         ("onnx-external", "m.data"), ("onnx", "m.onnx"),
                                         ("cem", "m.cem")])
def test_path_form_refuses_a_changed_or_missing_file(kind, victim, small_model, tmp_path):
    if kind.startswith("onnx"):
        pytest.importorskip("onnx")
    session = InferenceSession(_write(kind, small_model, tmp_path))
    session.pickle_by = "path"
    data = pickle.dumps(session)
    pickle.loads(data)  # unchanged: loads
    target = tmp_path / victim
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x40  # same size, one bit flipped: only the checksum sees it
    target.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=rf"{victim} changed since the session was pickled "
                                         r"\(sha256 [0-9a-f]{12}\.\.\., expected"):
        pickle.loads(data)
    target.write_bytes(bytes(raw) + b"\0")
    with pytest.raises(ModelError, match=rf"{victim} changed .*\({len(raw) + 1} bytes, "
                                         rf"expected {len(raw)}\)"):
        pickle.loads(data)
    target.unlink()
    with pytest.raises(ModelError, match=rf"{victim}: No such file or directory; the model's "
                                         "files must be at the same paths"):
        pickle.loads(data)


def test_path_form_refuses_to_pickle_a_file_replaced_since_creation(small_model, tmp_path):
    path = _write("json", small_model, tmp_path)
    session = InferenceSession(path)
    session.pickle_by = "path"
    zoo.get(SMALL["name"], seed=5, size=SMALL["size"]).save(path)  # another model, same path
    with pytest.raises(pickle.PicklingError, match=r"m\.json changed \(or went away\) since "
                                                   "the session was made from it"):
        pickle.dumps(session)
    session.pickle_by = "model"  # the advice in the message works
    feed = _feed(session)
    _assert_identical(pickle.loads(pickle.dumps(session)).run(None, feed),
                      session.run(None, feed), "by model after the file changed")


def test_pickle_by_is_checked(small_model):
    session = InferenceSession(small_model)
    assert session.pickle_by == "model"
    with pytest.raises(ValueError, match="needs a session made from a file"):
        session.pickle_by = "path"
    with pytest.raises(ValueError, match=r"pickle_by must be one of \['model', 'path'\], got 'file'"):
        session.pickle_by = "file"
    assert session.pickle_by == "model"


def test_another_state_version_is_refused_clearly():
    with pytest.raises(ModelError, match="pickled in state version 99; this convengine reads "
                                         f"version {_session_pickle.STATE_VERSION}"):
        _session_pickle.restore(InferenceSession, {"version": 99, "form": "model"})


# ---------------------------------------------------------------------------------------------
# options

def _steps(session, shapes):
    return [(r["node"], r["op"], r["algorithm"]) for r in session.describe(shapes)]


def test_options_survive():
    model = zoo.get("resnet18", seed=2, size=64)
    shapes = {"input": (1, 3, 64, 64)}
    plain = InferenceSession(model)
    conv = next(r["node"] for r in plain.describe(shapes) if r["algorithm"] == "winograd_f2")
    cases = [
        dict(precision="fast"),
        dict(algorithms={conv: "igemm"}),
        dict(disabled_passes=["fuse_residual", "fuse_activation"]),
        dict(optimize=False),
        dict(zero_copy_concat=False, precision="fast"),
    ]
    feed = _feed(plain, batch=1)
    for options in cases:
        s = InferenceSession(model, **options)
        back = pickle.loads(pickle.dumps(s))
        assert back._origin.options == s._origin.options
        assert _steps(back, shapes) == _steps(s, shapes), options
        assert [n.op_type for n in back.model.graph.nodes] == [n.op_type for n in s.model.graph.nodes]
        _assert_identical(back.run(None, feed), s.run(None, feed), str(options))
    # the options make a difference that the checks above would see
    assert _steps(InferenceSession(model, precision="fast"), shapes) != _steps(plain, shapes)
    forced = dict((n, a) for n, _, a in _steps(pickle.loads(pickle.dumps(
        InferenceSession(model, algorithms={conv: "igemm"}))), shapes))
    assert forced[conv] == "igemm" != dict((n, a) for n, _, a in _steps(plain, shapes))[conv]
    ops = [n.op_type for n in pickle.loads(pickle.dumps(
        InferenceSession(model, disabled_passes=["fuse_residual"]))).model.graph.nodes]
    assert "Add" in ops and "Add" not in [n.op_type for n in plain.model.graph.nodes]


def test_num_threads_is_the_constructors(small_model):
    with num_threads(2):
        s = InferenceSession(small_model, num_threads=1)
        convengine.set_num_threads(2)
        pickle.loads(pickle.dumps(s))
        assert convengine.get_num_threads() == 1  # as InferenceSession(..., num_threads=1) does
        convengine.set_num_threads(2)
        pickle.loads(pickle.dumps(InferenceSession(small_model)))
        assert convengine.get_num_threads() == 2  # None keeps the receiver's setting


class MySession(InferenceSession):
    pass


def test_subclass_is_kept(small_model):
    back = pickle.loads(pickle.dumps(MySession(small_model)))
    assert type(back) is MySession
