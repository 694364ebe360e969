"""Load-time cache: a session of a model file reuses the optimised graph and the compiled model
of an earlier session of the same file, options, convengine build and CPU.

Keyed by a SHA-256 of the model file and every weights file it names (an edited file misses),
the session's graph options, convengine's version and build (the mtimes and sizes of its
Python sources and extension) and the CPU (model name and the engine's ISA). Two levels:

* In-process (always on): a weak cache of the optimised Model and of its plan for the default
  input shapes. A second InferenceSession of the same file in one process skips the graph
  passes and the planner and shares the first session's plan (plans are read-only; every run
  has its own arena), so it holds no second copy of the folded or packed weights. Entries
  live as long as a session holds them.
* On disk (default on): the compiled model (.cem) of the default-shape plan plus a JSON header
  (the declared inputs and outputs, the planner's rows), in one file
  ``<dir>/<key>.cecache``. The directory is $CONVENGINE_CACHE_DIR, else
  $XDG_CACHE_HOME/convengine, else ~/.cache/convengine; CONVENGINE_CACHE=0 disables it.
  A hit loads the compiled model with the C++ loader (no passes, no planner, no writer) and
  loads the optimised graph only when a run brings other input shapes (or describe / profile
  / save_compiled need it). Writes go to a temporary file renamed into place (atomic; two
  processes writing one entry each write a whole file). The header carries a SHA-256 of the
  JSON and the compiled model's length; the compiled model has its own checksum, which the
  C++ loader checks: a truncated, corrupted or foreign file is ignored and rewritten, never
  trusted. The
  directory is pruned to CONVENGINE_CACHE_MAX_MB (default 2048) MiB, oldest first.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import threading
import weakref

MAGIC = b"CECACHE1"
# magic, SHA-256 of the JSON header, its length, the compiled model's length (the compiled
# model carries its own checksum, which the C++ loader checks)
_HEADER = struct.Struct("<8s32sQQ")
SUFFIX = ".cecache"
DEFAULT_MAX_MB = 2048

_lock = threading.RLock()
_shared: weakref.WeakValueDictionary[str, Shared] = weakref.WeakValueDictionary()
_digests: dict = {}  # (path, stats of its files) -> sha256 hex, so a reopened file is not re-read
_fingerprint = None


# ---------------------------------------------------------------------------- configuration
def enabled_on_disk() -> bool:
    return os.environ.get("CONVENGINE_CACHE", "1").strip().lower() not in ("0", "false", "no",
                                                                           "off", "")


def cache_dir() -> str | None:
    """The on-disk cache's directory, or None when CONVENGINE_CACHE=0."""
    if not enabled_on_disk():
        return None
    d = os.environ.get("CONVENGINE_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "convengine")
    return d


def _build_fingerprint() -> str:
    """convengine's version and build: the sizes and mtimes of its Python sources and
    extension modules (a changed planner or kernel library misses every entry)."""
    global _fingerprint
    if _fingerprint is None:
        from . import __version__, _native
        from ._bench import cpu_description
        pkg = os.path.dirname(os.path.abspath(__file__))
        h = hashlib.sha256(f"{__version__}|{_native.get_isa()}|{cpu_description()}".encode())
        for root, dirs, files in os.walk(pkg):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "zoo", "reference"))
            for f in sorted(files):
                if f.endswith((".py", ".so", ".pyd")):
                    st = os.stat(os.path.join(root, f))
                    h.update(f"{os.path.relpath(os.path.join(root, f), pkg)}|{st.st_size}|"
                             f"{st.st_mtime_ns}\n".encode())
        _fingerprint = h.hexdigest()
    return _fingerprint


# ---------------------------------------------------------------------------- model digest
def _weights_files(path: str) -> list[str]:
    """The files a model file's weights live in (the JSON's external_data locations, an ONNX
    file's external data), relative to its folder."""
    locs = []
    if path.endswith(".onnx"):
        with open(path, "rb") as f:  # the key of an external_data entry; without it no
            if b"location" not in f.read():  # parse (importing onnx takes ~1 s)
                return locs
        import onnx
        m = onnx.load(path, load_external_data=False)
        tensors = list(m.graph.initializer)
        for n in m.graph.node:
            for a in n.attribute:
                if a.HasField("t"):
                    tensors.append(a.t)
        for t in tensors:
            for e in t.external_data:
                if e.key == "location" and e.value not in locs:
                    locs.append(e.value)
        return locs
    from ._model_json import parse_document, read_json
    for entry in parse_document(read_json(path), path).weights:
        if entry[3] not in locs:
            locs.append(entry[3])
    return locs


def _stat_key(paths):
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((p, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
    return tuple(out)


def model_digest(path: str) -> str | None:
    """SHA-256 over the model file and its weights files (None when they cannot be read: the
    session's own loader then reports the problem)."""
    try:
        path = os.path.realpath(path)
        folder = os.path.dirname(path)
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        files = [path]
        for loc in _weights_files(path):
            # only regular files inside the model's folder, as the loaders accept (a FIFO or
            # /dev/zero would never end): anything else is left to the loader to refuse
            full = os.path.realpath(os.path.join(folder, loc))
            if os.path.commonpath([full, folder]) != folder or \
                    not stat.S_ISREG(os.stat(full).st_mode):
                return None
            files.append(full)
        skey = _stat_key(files)
        d = _digests.get(skey)
        if d is not None:
            return d
        h = hashlib.sha256()
        for p in files:
            h.update(os.path.relpath(p, folder).encode() + b"\0")
            with open(p, "rb") as f:
                while True:
                    chunk = f.read(1 << 24)
                    if not chunk:
                        break
                    h.update(chunk)
            h.update(b"\0")
        d = h.hexdigest()
        if _stat_key(files) == skey:  # unchanged while it was read
            _digests[skey] = d
        return d
    except Exception:
        return None


def session_key(digest: str, optimize, disabled_passes, algorithms, precision,
                zero_copy_concat) -> str:
    opts = json.dumps(dict(optimize=bool(optimize), disabled=sorted(map(str, disabled_passes)),
                           algorithms=sorted((str(k), str(v)) for k, v in
                                             (algorithms or {}).items()),
                           precision=precision, zero_copy=bool(zero_copy_concat)),
                      sort_keys=True)
    return hashlib.sha256(f"{digest}|{opts}|{_build_fingerprint()}".encode()).hexdigest()


# ---------------------------------------------------------------------------- in-process
class Shared:
    """What sessions of one key share in a process: the optimised model (None until loaded,
    for a session restored from disk), the declared inputs and outputs, and the plan for the
    default input shapes. Sessions hold it strongly; the cache weakly."""

    def __init__(self, model, inputs, outputs, default_key=None, plan=None, source=None):
        self.model, self.inputs, self.outputs = model, inputs, outputs
        self.default_key, self.plan = default_key, plan
        self.source = source  # the model before the passes (what pickling sends), if loaded


# ---------------------------------------------------------------------------- on disk
def entry_path(key: str) -> str | None:
    d = cache_dir()
    return None if d is None else os.path.join(d, key + SUFFIX)


def read_entry(key: str):
    """(meta dict, compiled-model bytes) of a valid entry, else None (a missing, truncated,
    corrupted or foreign file is ignored; the caller rewrites it)."""
    p = entry_path(key)
    if p is None:
        return None
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < _HEADER.size:
        return None
    magic, digest, jlen, clen = _HEADER.unpack_from(data)
    body = memoryview(data)[_HEADER.size:]
    if magic != MAGIC or jlen + clen != len(body) or \
            hashlib.sha256(body[:jlen]).digest() != digest:
        return None
    try:
        meta = json.loads(bytes(body[:jlen]).decode())
        if not isinstance(meta, dict) or meta.get("key") != key:
            return None
    except ValueError:
        return None
    try:
        os.utime(p)  # recently used: pruned last
    except OSError:
        pass
    return meta, bytes(body[jlen:])


def write_entry(key: str, meta: dict, compiled: bytes) -> bool:
    """Writes the entry atomically (temporary file, then rename); False when the directory is
    not writable (the cache is an optimisation: never an error)."""
    p = entry_path(key)
    if p is None:
        return False
    j = json.dumps(dict(meta, key=key)).encode()
    h = hashlib.sha256(j)
    tmp = f"{p}.tmp{os.getpid()}.{threading.get_ident()}"
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_HEADER.pack(MAGIC, h.digest(), len(j), len(compiled)))
            f.write(j)
            f.write(compiled)
        os.replace(tmp, p)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    _prune(os.path.dirname(p), keep=p)
    return True


def _prune(folder, keep):
    try:
        limit = int(os.environ.get("CONVENGINE_CACHE_MAX_MB", DEFAULT_MAX_MB)) << 20
    except ValueError:
        limit = DEFAULT_MAX_MB << 20
    try:
        entries = []
        for e in os.scandir(folder):
            if e.name.endswith(SUFFIX) and e.is_file():
                st = e.stat()
                entries.append((st.st_mtime, st.st_size, e.path))
    except OSError:
        return
    total = sum(s for _, s, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path == keep:
            continue
        try:
            os.unlink(path)
            total -= size
        except OSError:
            pass


# ---------------------------------------------------------------------------- the session's hook
def _shapes_key(shapes):
    return tuple((n, tuple(shapes[n])) for n in sorted(shapes))


class Entry:
    """The cache's view of one InferenceSession(path, options): `restore` sets a session up
    from the cache (True) or leaves it to load the model (False); `store` records what the
    session built; `load_model` is the session's lazy loader of the optimised graph."""

    def __init__(self, path, key, digest, options):
        self.path, self.key, self.digest, self.options = path, key, digest, options
        self.on_disk = cache_dir() is not None

    @classmethod
    def lookup(cls, path, optimize, disabled_passes, algorithms, precision, zero_copy_concat):
        """An Entry for a model file, or None when it cannot be cached (unreadable file)."""
        digest = model_digest(path)
        if digest is None:
            return None
        options = dict(optimize=optimize, disabled_passes=tuple(disabled_passes),
                       algorithms=dict(algorithms or {}), precision=precision,
                       zero_copy_concat=zero_copy_concat)
        return cls(path, session_key(digest, **options), digest, options)

    # -- reading
    def restore(self, sess) -> bool:
        shared = _shared.get(self.key)
        if shared is None and self.on_disk:
            shared = self._from_disk()
        if shared is None:
            return False
        sess._adopt(shared.model, self.options, shared.inputs, shared.outputs)
        sess._lazy_model = self.load_model
        sess._load_cache = shared
        if shared.plan is not None:
            sess._plans[shared.default_key] = shared.plan
        else:  # a model with symbolic non-batch dimensions: planned at its first run
            default = _default_shapes(sess)
            if default is not None:
                sess._plan_for(default)
                shared.default_key = _shapes_key(default)
                shared.plan = sess._plans[shared.default_key]
        return True

    def _from_disk(self):
        got = read_entry(self.key)
        if got is None:
            return None
        meta, compiled = got
        from . import _native
        from ._graph.compiled import LoadedPlan
        from .model import ValueInfo
        try:
            inputs = [ValueInfo(n, s, dt) for n, s, dt in meta["inputs"]]
            outputs = [ValueInfo(n, s, dt) for n, s, dt in meta["outputs"]]
            rows = [dict(r, inputs=[tuple(s) for s in r["inputs"]],
                         outputs=[tuple(s) for s in r["outputs"]]) for r in meta["rows"]]
            default = {n: tuple(s) for n, s in meta["default_shapes"]}
            plan = LoadedPlan(_native.load_compiled(compiled))
            if (len(rows) != len(plan.rows) or [v.name for v in outputs] != plan.output_names
                    or [default.get(n) for n in plan.input_names] != plan.input_shapes
                    or sorted(default) != sorted(v.name for v in inputs)):
                return None
            plan.rows = rows
            plan.weights_bytes = int(meta["weights_bytes"])
        except Exception:
            return None
        with _lock:
            shared = _shared.get(self.key)  # another thread restored it meanwhile
            if shared is None:
                shared = Shared(None, inputs, outputs, _shapes_key(default), plan)
                _shared[self.key] = shared
        return shared

    def load_model(self):
        """The optimised graph of a session restored from disk (on the first run with other
        input shapes, or describe / save_compiled); loaded once per process."""
        with _lock:
            shared = _shared.get(self.key)
            if shared is not None and shared.model is not None:
                return shared.model
            from ._graph import passes
            from ._graph.validate import validate_model
            from .model import ModelError, load
            from .onnx_import import from_onnx
            if model_digest(self.path) != self.digest:
                raise ModelError(f"{self.path}: the model file changed since this session was "
                                 "created; create a new session")
            model = from_onnx(self.path) if self.path.endswith(".onnx") else load(self.path)
            validate_model(model)
            if shared is not None:
                shared.source = model
            if self.options["optimize"]:
                model = passes.optimize(model, disabled=self.options["disabled_passes"])
            if shared is not None:
                shared.model = model
            return model

    # -- writing
    def store(self, sess):
        """Records the session's optimised model and default plan (in process) and writes the
        default plan's compiled model to disk when it was built with its file."""
        default = _default_shapes(sess)
        sk = _shapes_key(default) if default is not None else None
        plan = sess._plans.get(sk) if sk is not None else None
        shared = Shared(sess.model, sess._inputs, sess._outputs, sk, plan, sess._source)
        sess._load_cache = shared
        with _lock:
            _shared[self.key] = shared
        data = getattr(plan, "file", None)
        if plan is None or not data:
            return
        plan.file = None
        if not self.on_disk or plan.const_outputs:
            return
        meta = dict(inputs=[(v.name, list(v.shape), v.dtype) for v in sess._inputs],
                    outputs=[(v.name, list(v.shape) if v.shape is not None else None, v.dtype)
                             for v in sess._outputs],
                    default_shapes=[(n, list(s)) for n, s in sk],
                    rows=[{k: r[k] for k in ("node", "method", "op", "params", "algorithm",
                                             "mflops", "inputs", "outputs")} for r in plan.rows],
                    weights_bytes=plan.weights_bytes, source=os.path.basename(self.path))
        write_entry(self.key, meta, data)


def _default_shapes(sess):
    """The session's default input shapes when every non-batch dimension is fixed (the plan
    built at creation), else None."""
    if all(v.shape is not None and all(isinstance(d, int) for d in v.shape[1:])
           for v in sess._inputs):
        return sess._shapes(None)
    return None
