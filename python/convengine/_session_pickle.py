"""Pickling of InferenceSession: what `pickle.dumps(session)` sends, and how it is rebuilt.

The pickle holds the model and the options, never a native pointer; `pickle.loads` rebuilds an
equal session in any process.

Forms (`InferenceSession.pickle_by`):
- "model" (default): the session's source model in the model file format (docs/model-format.md),
  built in memory: the JSON text and one uint8 array of weights, which pickle protocol 5 (Ray,
  multiprocessing) passes out of band. For a session made from a .json or .onnx path this is
  the model as the session loaded it (so a file replaced since then does not leak in, and the
  receiver needs neither the file nor onnx); for a compiled model (.cem), the file's bytes.
- "path": the absolute path of each file the model is made of (the .json and its weights, the
  .onnx and its external data, the .cem) with its size and sha256; `pickle.loads` checks them
  and loads the files, refusing (ModelError) a file that is missing or changed.
Both carry the constructor's options (num_threads, optimize, disabled_passes, algorithms,
precision, zero_copy_concat); plans are rebuilt by the receiving session, never sent.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import weakref

import numpy as np

from .model import ModelError, from_json, parse_document, parse_json, read_json
from ._model_json import encode, weights_buffer

# The layout of the pickled state; a receiver refuses another version with a clear message.
STATE_VERSION = 1
FORMS = ("model", "path")
_WEIGHTS_NAME = "weights.bin"


class Origin:
    """What a session was made from: the path (absolute) and its stat at creation, or None for
    an in-memory Model, and the constructor's arguments."""
    __slots__ = ("path", "stat", "data", "num_threads", "options", "form", "digests",
                 "__weakref__")

    def __init__(self, path_or_model, num_threads, options):
        self.path = self.stat = self.data = None
        if isinstance(path_or_model, (bytes, bytearray, memoryview)):
            self.data = bytes(path_or_model)  # a model's bytes (ONNX or compiled)
        elif isinstance(path_or_model, (str, os.PathLike)):
            self.path = os.path.abspath(os.fspath(path_or_model))
            self.stat = _stat(self.path)
        self.num_threads = num_threads
        self.options = options
        self.form = "model"
        self.digests = None  # (stats of the files, [(name, size, sha256)]), for pickle_by="path"


def set_form(origin: Origin, form) -> None:
    if form not in FORMS:
        raise ValueError(f"pickle_by must be one of {list(FORMS)}, got {form!r}")
    if form == "path" and origin.path is None:
        raise ValueError("pickle_by='path' needs a session made from a file; this one was made "
                         "from an in-memory Model (it pickles by model)")
    origin.form = form


def reduce(session):
    """InferenceSession.__reduce__: (restore, (class, state))."""
    o = session._origin
    state = {"version": STATE_VERSION, "num_threads": o.num_threads, "options": dict(o.options)}
    # a compiled model has no graph (a session restored from the load-time cache has one,
    # loaded lazily: not loaded here)
    compiled = session._compiled
    if o.form == "path":
        _check_unchanged(o, "pickle it by model (session.pickle_by = 'model') or make a new "
                            "session")
        state.update(form="path", path=o.path, files=_digests(o, compiled))
    elif compiled and o.data is not None:
        state.update(form="compiled", data=np.frombuffer(o.data, np.uint8))
    elif compiled:
        _check_unchanged(o, "make a new session from it")
        try:
            with open(o.path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise pickle.PicklingError(f"cannot pickle the InferenceSession: cannot read "
                                       f"{o.path}: {e.strerror or e}") from None
        state.update(form="compiled", data=np.frombuffer(data, np.uint8))
    else:
        text, arrays, size = encode(_source_model(session), _WEIGHTS_NAME)
        state.update(form="model", json=text, weights=weights_buffer(arrays, size))
    return restore, (type(session), state)


def _source_model(session):
    """The model as the session loaded it, before the graph passes. A session restored from
    the on-disk load-time cache (_load_cache.py) never loaded it: it is read from its file then
    (once per process), which must be the file the session was made from."""
    if session._source is not None:
        return session._source
    shared = session._load_cache
    if shared is not None and shared.source is not None:
        return shared.source
    from ._graph.validate import validate_model
    from .model import load
    from .onnx_import import from_onnx
    o = session._origin
    _check_unchanged(o, "make a new session from it")
    model = from_onnx(o.path) if o.path.endswith(".onnx") else load(o.path)
    validate_model(model)
    if shared is not None:
        shared.source = model
    return model


def restore(cls, state):
    """Rebuilds the session `reduce` described (the unpickling side)."""
    version = state.get("version") if isinstance(state, dict) else None
    if version != STATE_VERSION:
        raise ModelError(f"cannot unpickle the InferenceSession: it was pickled in state "
                         f"version {version!r}; this convengine reads version {STATE_VERSION} "
                         "(pickle and unpickle with the same convengine)")
    threads, options, form = state["num_threads"], state["options"], state["form"]
    if form == "model":
        model = from_json(parse_json(bytes(state["json"]), "pickled session"), os.sep,
                          "pickled session", buffers={_WEIGHTS_NAME: state["weights"]})
        return cls(model, threads, **options)
    if form == "compiled":
        # The compiled-model loader reads a file: a private copy lives as long as the session,
        # so that the session can be pickled again.
        folder = tempfile.mkdtemp(prefix="convengine-session-")
        try:
            path = os.path.join(folder, "model.cem")
            with open(path, "wb") as f:
                f.write(memoryview(state["data"]))
            session = cls(path, threads, **options)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        weakref.finalize(session, shutil.rmtree, folder, True)
        return session
    if form == "path":
        _verify(state["path"], state["files"])
        session = cls(state["path"], threads, **options)
        session.pickle_by = "path"
        return session
    raise ModelError(f"cannot unpickle the InferenceSession: unknown form {form!r}")


# ---------------------------------------------------------------------------------------------

def _stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _check_unchanged(o: Origin, advice: str):
    if _stat(o.path) != o.stat:
        raise pickle.PicklingError(f"cannot pickle the InferenceSession: {o.path} changed (or "
                                   f"went away) since the session was made from it; {advice}")


def _model_files(path: str, compiled: bool) -> list[str]:
    """The files the model at `path` is made of, relative to its folder; the model file first."""
    names = [os.path.basename(path)]
    if compiled:
        return names
    if path.endswith(".onnx"):
        import onnx
        from onnx.external_data_helper import _get_all_tensors
        proto = onnx.load(path, load_external_data=False)
        locations = [{e.key: e.value for e in t.external_data}.get("location", "")
                     for t in _get_all_tensors(proto)
                     if t.data_location == onnx.TensorProto.EXTERNAL]
    else:
        locations = [w[3] for w in parse_document(read_json(path), path).weights]
    for loc in locations:
        if loc and loc not in names:
            names.append(loc)
    return names


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _digests(o: Origin, compiled: bool) -> list:
    """[(name, size, sha256)] of the model's files, hashed again only when a file's stat
    changed (the model file itself is checked unchanged since creation, so its list of weights
    files holds)."""
    folder = os.path.dirname(o.path)
    if o.digests is not None:
        names, stats, files = o.digests
        if [_stat(os.path.join(folder, n)) for n in names] == stats:
            return files
    try:
        names = _model_files(o.path, compiled)
        stats = [_stat(os.path.join(folder, n)) for n in names]
        files = [(n, st[0], _sha256(os.path.join(folder, n))) for n, st in zip(names, stats)]
    except (OSError, TypeError, ModelError) as e:  # TypeError: a stat of None (file missing)
        raise pickle.PicklingError(f"cannot pickle the InferenceSession by path: cannot read "
                                   f"the files of {o.path}: {getattr(e, 'strerror', None) or e}"
                                   ) from None
    o.digests = (names, stats, files)
    return files


def _verify(path: str, files) -> None:
    folder = os.path.dirname(path)
    for name, size, digest in files:
        full = os.path.join(folder, name)
        try:
            got_size = os.stat(full).st_size
            got = _sha256(full) if got_size == size else None
        except OSError as e:
            raise ModelError(f"cannot unpickle the InferenceSession (pickled by path): {full}: "
                             f"{e.strerror or e}; the model's files must be at the same paths "
                             "where it is unpickled") from None
        if got != digest:
            what = (f"{got_size} bytes, expected {size}" if got is None else
                    f"sha256 {got[:12]}..., expected {digest[:12]}...")
            raise ModelError(f"cannot unpickle the InferenceSession (pickled by path): {full} "
                             f"changed since the session was pickled ({what})")
