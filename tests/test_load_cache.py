"""The load-time cache (python/convengine/_load_cache.py): in-process sharing and the on-disk
entry of the optimised, planned model, keyed by the model file's checksum and the options."""
import gc
import glob
import os
import subprocess
import sys

import convengine
import numpy as np
import pytest
from convengine import _load_cache, zoo
from convengine.model import ModelError, save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "squeezenet1_1"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("CONVENGINE_CACHE_DIR", str(d))
    monkeypatch.delenv("CONVENGINE_CACHE", raising=False)
    _forget()
    yield d
    _forget()


def _forget():
    """Drops this process's shared entries (a new session then reads the disk, as a fresh
    process would)."""
    gc.collect()
    _load_cache._shared.clear()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("m") / f"{MODEL}.json")
    save(zoo.get(MODEL), path)
    return path


def _x(batch=1, seed=1):
    shape = list(next(iter(zoo.info(MODEL)["inputs"].values())))
    shape[0] = batch
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _run(sess, x):
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _entries(d):
    return sorted(glob.glob(os.path.join(str(d), "*" + _load_cache.SUFFIX)))


def _uncached(path, x, monkeypatch, **kw):
    with monkeypatch.context() as m:
        m.setenv("CONVENGINE_CACHE", "0")
        _forget()
        y = _run(convengine.InferenceSession(path, **kw), x)
    _forget()
    return y


def test_disk_hit_is_bit_identical_and_skips_the_passes(cache, model_file, monkeypatch):
    x, x4 = _x(), _x(4, seed=2)
    want, want4 = _uncached(model_file, x, monkeypatch), _uncached(model_file, x4, monkeypatch)
    s = convengine.InferenceSession(model_file)  # miss: builds and writes the entry
    assert s._model is not None
    assert len(_entries(cache)) == 1
    assert np.array_equal(_run(s, x), want)
    del s
    _forget()
    s = convengine.InferenceSession(model_file)  # hit: the compiled model, no graph
    assert s._model is None, "a disk hit must not run the graph passes"
    assert np.array_equal(_run(s, x), want)
    # another batch needs the optimised graph: loaded lazily, same answer as without the cache
    assert np.array_equal(_run(s, x4), want4)
    assert s._model is not None


def test_describe_and_sizes_match_an_uncached_session(cache, model_file, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("CONVENGINE_CACHE", "0")
        _forget()
        ref = convengine.InferenceSession(model_file)
        want = (ref.describe(), ref.weights_bytes, ref.arena_bytes,
                [(v.name, v.shape, v.type) for v in ref.get_inputs() + ref.get_outputs()])
        del ref
    convengine.InferenceSession(model_file)
    _forget()
    s = convengine.InferenceSession(model_file)
    assert s._model is None
    got = (s.describe(), s.weights_bytes, s.arena_bytes,
           [(v.name, v.shape, v.type) for v in s.get_inputs() + s.get_outputs()])
    assert got == want


def test_sessions_in_one_process_share_the_model_and_plan(cache, model_file):
    a = convengine.InferenceSession(model_file)
    b = convengine.InferenceSession(model_file)
    assert a.model is b.model
    (key,) = a._plans
    assert b._plans[key] is a._plans[key]
    c = convengine.InferenceSession(model_file, precision="fast")  # other options: not shared
    assert c.model is not a.model
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "flip-header", "garbage", "empty"])
def test_a_damaged_entry_is_ignored_and_rewritten(cache, model_file, monkeypatch, damage):
    x = _x()
    want = _uncached(model_file, x, monkeypatch)
    convengine.InferenceSession(model_file)
    _forget()
    (entry,) = _entries(cache)
    data = bytearray(open(entry, "rb").read())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":  # one bit of a weight in the compiled model
        data[len(data) // 2] ^= 0x10
    elif damage == "flip-header":  # still valid JSON, but the sizes it records are wrong
        i = data.index(b'"weights_bytes": ') + len(b'"weights_bytes": ')
        data[i] = ord("1") if data[i] != ord("1") else ord("2")
    elif damage == "garbage":
        data = bytearray(b"not a cache entry" * 100)
    else:
        data = bytearray()
    with open(entry, "wb") as f:
        f.write(data)
    s = convengine.InferenceSession(model_file)
    assert s._model is not None, "a damaged entry must not be used"
    assert np.array_equal(_run(s, x), want)
    del s
    _forget()
    assert _load_cache.read_entry(os.path.basename(entry)[:-len(_load_cache.SUFFIX)]) is not None
    s = convengine.InferenceSession(model_file)  # the rewritten entry is used again
    assert s._model is None
    assert np.array_equal(_run(s, x), want)


def test_an_edited_model_misses(cache, tmp_path, monkeypatch):
    path = str(tmp_path / "m.json")
    save(zoo.get(MODEL), path)
    x = _x()
    before = _run(convengine.InferenceSession(path), x)
    _forget()
    bin_path = path[:-5] + ".bin"
    st = os.stat(bin_path)
    with open(bin_path, "r+b") as f:  # the same size, the same mtime: only the bytes differ
        f.seek(4096)
        w = np.frombuffer(f.read(64), np.float32) * 3
        f.seek(4096)
        f.write(w.tobytes())
    os.utime(bin_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    s = convengine.InferenceSession(path)
    assert s._model is not None, "an edited weights file must miss"
    after = _run(s, x)
    assert not np.array_equal(after, before)
    assert np.array_equal(after, _uncached(path, x, monkeypatch))
    assert len(_entries(cache)) == 2


def test_the_file_changing_under_a_restored_session_is_a_clear_error(cache, tmp_path):
    path = str(tmp_path / "m.json")
    save(zoo.get(MODEL), path)
    convengine.InferenceSession(path)
    _forget()
    s = convengine.InferenceSession(path)
    assert s._model is None
    save(zoo.get(MODEL, seed=5), path)
    assert np.isfinite(_run(s, _x())).all()  # the default shapes: the cached plan still runs
    with pytest.raises(ModelError, match="changed since this session was created"):
        _run(s, _x(2))


def test_cache_0_disables_the_disk_cache(cache, model_file, monkeypatch):
    monkeypatch.setenv("CONVENGINE_CACHE", "0")
    assert _load_cache.cache_dir() is None
    convengine.InferenceSession(model_file)
    _forget()
    s = convengine.InferenceSession(model_file)
    assert s._model is not None
    assert not os.path.exists(cache)


def test_an_unwritable_cache_dir_is_not_an_error(tmp_path, model_file, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CONVENGINE_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    _forget()
    assert np.isfinite(_run(convengine.InferenceSession(model_file), _x())).all()
    _forget()


def test_default_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("CONVENGINE_CACHE_DIR", raising=False)
    monkeypatch.delenv("CONVENGINE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _load_cache.cache_dir() == os.path.join(str(tmp_path), "convengine")


def test_prune_keeps_the_directory_under_its_bound(cache, model_file, monkeypatch):
    convengine.InferenceSession(model_file)
    convengine.InferenceSession(model_file, precision="fast")
    assert len(_entries(cache)) == 2
    monkeypatch.setenv("CONVENGINE_CACHE_MAX_MB", "0")
    _forget()
    convengine.InferenceSession(model_file, zero_copy_concat=False)
    assert len(_entries(cache)) == 1  # only the newest survives a bound of 0


_CHILD = r"""
import sys, numpy as np, convengine
s = convengine.InferenceSession(sys.argv[1])
x = np.random.default_rng(1).standard_normal([1] + list(s.get_inputs()[0].shape[1:])).astype(np.float32)
np.save(sys.argv[2], s.run(None, {s.get_inputs()[0].name: x})[0])
print("hit" if s._model is None else "miss")
"""


def test_two_processes_writing_at_once(cache, model_file, tmp_path, monkeypatch):
    want = _uncached(model_file, _x(), monkeypatch)
    # the package under test, wherever it is installed (the source tree holds no extension
    # in CI, which installs it)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(convengine.__file__)))
    env = dict(os.environ, PYTHONPATH=pkg, CONVENGINE_CACHE_DIR=str(cache))
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, model_file, str(tmp_path / f"{i}.npy")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for i in range(2):
        assert np.array_equal(np.load(tmp_path / f"{i}.npy"), want)
    assert len(_entries(cache)) == 1
    assert not glob.glob(os.path.join(str(cache), "*.tmp*")), "a temporary file was left"
    out = subprocess.run([sys.executable, "-c", _CHILD, model_file, str(tmp_path / "3.npy")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "hit", out.stderr
    assert np.array_equal(np.load(tmp_path / "3.npy"), want)


def test_onnx_files_are_cached_too(cache, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from convengine.onnx_export import to_onnx
    path = str(tmp_path / "m.onnx")
    with open(path, "wb") as f:
        f.write(to_onnx(zoo.get(MODEL)).SerializeToString())
    x = _x()
    want = _uncached(path, x, monkeypatch)
    convengine.InferenceSession(path)
    _forget()
    s = convengine.InferenceSession(path)
    assert s._model is None
    assert np.array_equal(_run(s, x), want)


def test_onnx_external_data_is_part_of_the_key(cache, tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from convengine.onnx_export import to_onnx
    path = str(tmp_path / "m.onnx")
    onnx.save_model(to_onnx(zoo.get(MODEL)), path, save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    x = _x()
    before = _run(convengine.InferenceSession(path), x)
    _forget()
    data = tmp_path / "m.data"
    raw = bytearray(data.read_bytes())
    w = np.frombuffer(bytes(raw[:64]), np.float32) * 3
    raw[:64] = w.tobytes()
    data.write_bytes(bytes(raw))
    s = convengine.InferenceSession(path)
    assert s._model is not None, "edited external data must miss"
    after = _run(s, x)
    assert not np.array_equal(after, before)
    assert np.array_equal(after, _uncached(path, x, monkeypatch))


@pytest.mark.parametrize("target", ["fifo", "dev-zero", "folder"])
def test_weights_that_are_not_a_regular_file_are_refused_not_hashed(cache, tmp_path, target):
    """The digest reads only regular files inside the model's folder (a FIFO or /dev/zero
    would never end): the loader's own error, promptly (fuzz seed 20, case 252 hung here)."""
    import threading
    onnx = pytest.importorskip("onnx")
    from convengine.onnx_export import to_onnx
    path = str(tmp_path / "m.onnx")
    onnx.save_model(to_onnx(zoo.get(MODEL)), path, save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    data = tmp_path / "m.data"
    data.unlink()
    if target == "fifo":
        os.mkfifo(data)
    elif target == "dev-zero":
        os.symlink("/dev/zero", data)
    else:
        data.mkdir()
    got = []
    t = threading.Thread(target=lambda: got.append(_load_cache.model_digest(path)), daemon=True)
    t.start()
    t.join(30)
    assert got == [None], "the digest must not read a non-regular file"
    with pytest.raises(ModelError):
        convengine.InferenceSession(path)
