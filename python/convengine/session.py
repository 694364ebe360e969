"""InferenceSession: onnxruntime's interface over convengine's planner and C++ plan executor."""
from __future__ import annotations

import os
import statistics
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import _batch_split, _load_cache, _native, _session_pickle
from ._graph import passes, planner
from ._graph.compiled import LoadedPlan
from ._graph.validate import validate_model
from ._model_json import open_regular
from .model import Model, ModelError, ValueInfo, load
from .onnx_import import from_onnx


@dataclass(frozen=True)
class NodeArg:
    """A graph input or output as onnxruntime describes it."""
    name: str
    shape: list
    type: str = "tensor(float)"


_DEFAULT_BATCH = 1

# Plans a session keeps, one per set of input shapes; past this the least recently used is
# dropped. Plans share their packed weights (engine/shared_weights.h) and their pool of
# activation arenas, so a further plan costs its indirection tables and step objects.
MAX_CACHED_PLANS = 8


# precision -> the algorithm name convs are planned with when not forced
PRECISIONS = {"accurate": "auto", "fast": "fast"}


class InferenceSession:
    """Loads (or takes) a model, optimises it once and runs it.

        sess = convengine.InferenceSession("model.json")
        (y,) = sess.run(None, {"x": x})

    path_or_model: a Model, a path to a model .json, a path to an .onnx file (imported with
    from_onnx), or a compiled model (.cem, from save_compiled or `convengine compile`: planned
    for fixed input shapes, built by the C++ loader; the graph options do not apply); or, as
    onnxruntime takes them, a model's bytes (a serialized ONNX model, or a compiled model).
    num_threads: threads of the engine's pool (None keeps the current setting).
    Options: optimize (bool, default True) runs the graph passes; disabled_passes (names from
    convengine._graph.passes.PASSES); algorithms ({node name: conv algorithm}) forces
    algorithms; precision: "accurate" (default: convolutions about as accurate as direct
    summation, as torch and onnxruntime compute them) or "fast" (also the Winograd variants
    F(4x4), F(6x6) and the 8-point ones, which lose 3-4 bits: faster 3x3, 1x7/7x1 and 7x7
    stride-2 convs); zero_copy_concat (default True).

    run() executes the whole plan in one C++ call with the GIL released. Several threads may
    call run() on one session at once: the plan is read-only and every run gets its own
    activation arena (per-call arenas, no lock).
    Plans are built per set of input shapes and cached (at most MAX_CACHED_PLANS, least
    recently used dropped first). Symbolic dimensions (["N", 3, "H", "W"], as
    torch.onnx.export(dynamic_axes=...) writes) take any size: a model whose only symbolic
    dimension is the batch is planned at creation for batch 1, so errors surface there; one
    with other symbolic dimensions is planned at the first run that brings each shape.

    Pickling (pickle, multiprocessing, Ray, Spark, Dask) sends what rebuilds the session,
    never native state: the constructor's options and, by default (pickle_by = "model"), the
    model itself in the model file format (docs/model-format.md), as the session loaded it
    (the compiled file's bytes for a .cem). It costs about the model's weights file in bytes
    (ResNet-50: ~98 MiB; MobileNetV2: ~14 MiB) and, where it is unpickled, the session's
    creation time (passes and planning: plans are rebuilt, not sent). pickle_by = "path"
    (sessions made from a file) sends the absolute paths of the model's files with their
    sha256 instead (a few hundred bytes; hashing costs ~0.3 s per 100 MiB on each side):
    the files must be at the same paths where it is unpickled, and a missing or changed file
    is refused with a ModelError naming it.
    """

    # A batch of >= 2 images on >= 2 threads runs one chunk of images per thread when the graph
    # keeps images apart (_batch_split.py); False: every layer split over the threads instead.
    batch_split = True

    def __init__(self, path_or_model, num_threads: int | None = None, *, optimize: bool = True,
                 disabled_passes=(), algorithms=None, precision: str = "accurate",
                 zero_copy_concat: bool = True, **options):
        if options:
            raise TypeError(f"unknown session options: {sorted(options)}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        disabled_passes = tuple(disabled_passes)
        self._origin = _session_pickle.Origin(path_or_model, num_threads, dict(
            optimize=optimize, disabled_passes=disabled_passes, algorithms=dict(algorithms or {}),
            precision=precision, zero_copy_concat=zero_copy_concat))
        if num_threads is not None:
            from . import set_num_threads
            set_num_threads(num_threads)
        self._plans: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._lazy_model = self._source = self._load_cache = cache = None
        if isinstance(path_or_model, (bytes, bytearray, memoryview)):
            # a model's bytes, as onnxruntime takes them: a compiled model, else ONNX
            data = bytes(path_or_model)
            if data[:8] == b"CEMODEL\0":
                _no_graph_options(optimize, disabled_passes, algorithms, precision)
                self._load_compiled_bytes(data)
                return
            path_or_model = from_onnx(data)
        if isinstance(path_or_model, Model):
            model = path_or_model
        elif isinstance(path_or_model, (str, os.PathLike)):
            p = os.fspath(path_or_model)
            if p.endswith(".cem") or _is_compiled(p):
                _no_graph_options(optimize, disabled_passes, algorithms, precision)
                self._load_compiled(p)
                return
            cache = _load_cache.Entry.lookup(p, optimize, disabled_passes, algorithms,
                                             precision, zero_copy_concat) \
                if optimize or not disabled_passes else None
            if cache is not None and cache.restore(self):
                return
            if p.endswith(".onnx"):
                model = from_onnx(p)
            else:
                model = load(p)
        else:
            raise TypeError("InferenceSession takes a Model, a path or a model's bytes, got "
                            f"{type(path_or_model).__name__}")
        validate_model(model)
        self._source = model
        if optimize:
            model = passes.optimize(model, disabled=tuple(disabled_passes))
        elif disabled_passes:
            raise ValueError("disabled_passes given with optimize=False")
        known = {n.name for n in self._source.graph.nodes} | {n.name for n in model.graph.nodes}
        unknown = sorted(k for k in (algorithms or {}) if k not in known)
        if unknown:
            raise ValueError(f"algorithms names nodes the model does not have: {unknown}")
        self._adopt(model, dict(algorithms=algorithms, precision=precision,
                                zero_copy_concat=zero_copy_concat))
        if all(v.shape is not None and all(isinstance(d, int) for d in v.shape[1:])
               for v in self._inputs):
            # plan eagerly, so errors surface at creation (with its file for the disk cache)
            self._plan_for(self._shapes(None), keep_file=cache is not None and cache.on_disk)
        if cache is not None:
            cache.store(self)  # the load-time cache (_load_cache.py)

    def _adopt(self, model, options, inputs=None, outputs=None):
        """Takes the optimised `model` (None: loaded lazily, with the given inputs and
        outputs) and the graph options."""
        self.model = model
        self._algorithms = dict(options["algorithms"] or {})
        self._default_algorithm = PRECISIONS[options["precision"]]
        self._zero_copy = options["zero_copy_concat"]
        g = model.graph if model is not None else None
        self._inputs = inputs if g is None else [v for v in g.inputs
                                                 if v.name not in g.initializers]
        self._outputs = outputs if g is None else list(g.outputs)

    @property
    def _compiled(self):
        """Made from a compiled model: no graph, now or later."""
        return self._model is None and self._lazy_model is None

    @property
    def model(self):
        """The optimised graph (None for a compiled model)."""
        if self._model is None and self._lazy_model is not None:
            self._model = self._lazy_model()  # restored from the disk cache: load it now
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    # ------------------------------------------------------------------ onnxruntime API
    def get_inputs(self):
        return [NodeArg(v.name, list(v.shape) if v.shape is not None else None,
                        f"tensor({_ort_type(v.dtype)})") for v in self._inputs]

    def get_outputs(self):
        return [NodeArg(v.name, list(v.shape) if v.shape is not None else None,
                        f"tensor({_ort_type(v.dtype)})") for v in self._outputs]

    def run(self, output_names, input_feed, run_options=None):
        if run_options is not None and type(run_options).__name__ != "RunOptions":
            raise TypeError("run_options must be None (or an onnxruntime.RunOptions, which is "
                            f"ignored), got {type(run_options).__name__}")
        output_names = _output_names(output_names)
        plan, arrays = self._prepare(input_feed)
        outs = _batch_split.run(self, plan, arrays) if self.batch_split else None
        if outs is None:
            outs = plan.plan.run(arrays)
        for j, v in plan.const_outputs.items():
            outs[j] = v.copy()
        for j in plan.int64_outputs:
            outs[j] = outs[j].astype(np.int64)
        return self._select(plan, outs, output_names)

    def profile(self, input_feed, runs: int = 10, warmup: int = 2):
        """Per-step timings: a list of rows (node, op, algorithm, shapes, mflops, ms (median
        over `runs`), gflops)."""
        plan, arrays = self._prepare(input_feed)
        for _ in range(warmup):
            plan.plan.run(arrays)
        samples = []
        for _ in range(max(1, int(runs))):
            _, times = plan.plan.profile(arrays)
            samples.append(times)
        rows = []
        for i, row in enumerate(plan.rows):
            ms = statistics.median(s[i] for s in samples) * 1e3
            rows.append(dict(node=row["node"], op=row["op"], algorithm=row["algorithm"],
                             shapes=dict(inputs=row["inputs"], outputs=row["outputs"]),
                             mflops=row["mflops"], ms=ms,
                             gflops=(row["mflops"] / ms if ms > 0 and row["mflops"] else 0.0)))
        return rows

    def describe(self, input_shapes=None):
        """The planned steps for the given (or default) input shapes, without running."""
        plan = self._plan_for(self._shapes(input_shapes))
        return [dict(node=r["node"], op=r["op"], algorithm=r["algorithm"], inputs=r["inputs"],
                     outputs=r["outputs"], mflops=r["mflops"], params=r["params"])
                for r in plan.rows]

    def save_compiled(self, path, input_shapes=None):
        """Writes the plan for `input_shapes` (default: the declared shapes, batch 1) as a
        compiled model (.cem): the file the C API (include/convengine.h) and
        InferenceSession(path) load. It names no ISA: algorithms are chosen and weights packed
        for the CPU that loads it. Returns the number of bytes written."""
        if self.model is None:
            raise ValueError("this session was loaded from a compiled model; copy the file")
        plan = planner.build(self.model, self._shapes(input_shapes), self._algorithms,
                             self._zero_copy, self._default_algorithm, keep_file=True)
        data = plan.file
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as e:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise type(e)(e.errno, f"cannot write the compiled model {path}: "
                                   f"{e.strerror or e}") from None
        return len(data)

    @property
    def arena_bytes(self):
        return 4 * self._plan_for(self._shapes(None)).arena_floats

    @property
    def weights_bytes(self):
        return self._plan_for(self._shapes(None)).weights_bytes

    @property
    def pickle_by(self) -> str:
        """What pickling the session sends: "model" (default) or "path" (see the class doc)."""
        return self._origin.form

    @pickle_by.setter
    def pickle_by(self, form: str):
        _session_pickle.set_form(self._origin, form)

    def __reduce__(self):
        return _session_pickle.reduce(self)

    # ------------------------------------------------------------------ internals
    def _load_compiled(self, path):
        try:
            with open_regular(path, "compiled model") as f:
                data = f.read()
        except OSError as e:
            raise ModelError(f"cannot read compiled model {path}: {e.strerror or e}") from None
        self._load_compiled_bytes(data)

    def _load_compiled_bytes(self, data):
        plan = LoadedPlan(_native.load_compiled(data))
        self.model = None
        self._source = None
        self._algorithms, self._default_algorithm, self._zero_copy = {}, "auto", True
        self._inputs = [ValueInfo(n, list(s), "float32")
                        for n, s in zip(plan.input_names, plan.input_shapes)]
        self._outputs = [ValueInfo(n, list(s), "int64" if j in plan.int64_outputs else "float32")
                         for j, (n, s) in enumerate(zip(plan.output_names, plan.output_shapes))]
        self._plans[tuple(sorted((v.name, tuple(v.shape)) for v in self._inputs))] = plan

    def _shapes(self, input_shapes):
        if input_shapes is not None:
            return self._check_shapes(input_shapes)
        out = {}
        for v in self._inputs:
            if v.shape is None:
                raise ModelError(f"input {v.name!r} has no declared shape; pass input_shapes")
            symbolic = [d for d in v.shape[1:] if not isinstance(d, int)]
            if symbolic:
                raise ModelError(f"input {v.name!r} has symbolic dimensions {symbolic} "
                                 f"(shape {list(v.shape)}); pass input_shapes")
            out[v.name] = tuple(_DEFAULT_BATCH if not isinstance(d, int) else d for d in v.shape)
        return out

    def _check_shapes(self, input_shapes):
        """input_shapes ({name: shape}) checked against the model's inputs: every input named
        once, positive int dimensions, the declared rank and fixed dimensions."""
        if not isinstance(input_shapes, dict):
            raise TypeError(f"input_shapes must be a dict {{name: shape}}, got "
                            f"{type(input_shapes).__name__}")
        ins = {v.name: v for v in self._inputs}
        unknown = sorted(str(k) for k in input_shapes if k not in ins)
        if unknown:
            raise ValueError(f"input_shapes names unknown inputs {unknown}; the model's inputs "
                             f"are {sorted(ins)}")
        missing = sorted(k for k in ins if k not in input_shapes)
        if missing:
            raise ValueError(f"input_shapes lacks inputs {missing}")
        out = {}
        for k, shape in input_shapes.items():
            try:
                dims = tuple(shape)
            except TypeError:
                raise TypeError(f"input_shapes[{k!r}] must be a sequence of ints, got "
                                f"{type(shape).__name__}") from None
            if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims):
                raise TypeError(f"input_shapes[{k!r}] must hold ints, got {list(dims)}")
            dims = tuple(int(d) for d in dims)
            if any(d < 1 for d in dims):
                raise ValueError(f"input_shapes[{k!r}]: dimensions must be >= 1, got "
                                 f"{list(dims)}")
            decl = ins[k].shape
            if decl is not None and (len(decl) != len(dims) or any(
                    isinstance(d, int) and d != s for d, s in zip(decl, dims))):
                raise ValueError(f"input_shapes[{k!r}]: expected shape {list(decl)}, got "
                                 f"{list(dims)}")
            out[k] = dims
        return out

    def _plan_for(self, shapes, keep_file=False):
        key = tuple((n, shapes[n]) for n in sorted(shapes))
        plan = self._plans.get(key)  # each OrderedDict call is atomic under the GIL
        if plan is not None:
            try:
                self._plans.move_to_end(key)
            except KeyError:  # dropped by another thread meanwhile: it stays valid for this run
                pass
            return plan
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                return plan
            if self.model is None:
                want = {v.name: tuple(v.shape) for v in self._inputs}
                raise ValueError(f"this compiled model was planned for input shapes {want}, "
                                 f"got {dict(shapes)}")
            # Planned under the lock: concurrent first runs of one shape plan it once.
            plan = planner.build(self.model, shapes, self._algorithms, self._zero_copy,
                                 self._default_algorithm, keep_file=keep_file)
            if self._plans:  # one pool of activation arenas for all of the session's plans
                plan.plan.share_arenas(next(iter(self._plans.values())).plan)
            self._plans[key] = plan
            while len(self._plans) > MAX_CACHED_PLANS:
                self._plans.popitem(last=False)  # a run holding it keeps it alive
        return plan

    def _prepare(self, input_feed):
        if not isinstance(input_feed, dict):
            raise TypeError(f"input_feed must be a dict {{name: array}}, got "
                            f"{type(input_feed).__name__}")
        names = {v.name for v in self._inputs}
        for k in input_feed:
            if k not in names:
                raise ValueError(f"unknown input {k!r}; the model's inputs are {sorted(names)}")
        arrays = []
        shapes = {}
        for v in self._inputs:
            if v.name not in input_feed:
                raise ValueError(f"missing input {v.name!r}")
            a = input_feed[v.name]
            if not isinstance(a, np.ndarray):
                raise TypeError(f"input {v.name!r} must be a numpy array, got {type(a).__name__}")
            if a.dtype != np.float32:
                raise ValueError(f"input {v.name!r}: expected dtype float32, got {a.dtype}")
            if v.shape is not None:
                if a.ndim != len(v.shape) or any(isinstance(d, int) and d != s
                                                 for d, s in zip(v.shape, a.shape)):
                    raise ValueError(f"input {v.name!r}: expected shape {list(v.shape)}, got "
                                     f"{list(a.shape)}")
            if a.size == 0:
                raise ValueError(f"input {v.name!r}: empty arrays are not supported ({a.shape})")
            shapes[v.name] = tuple(a.shape)
            arrays.append(a)
        plan = self._plan_for(shapes)  # checks the sizes before a broadcast view is copied
        # (np.ascontiguousarray would make a 0-d input 1-d)
        return plan, [np.require(a, requirements="C") for a in arrays]

    def _select(self, plan, outs, output_names):
        if output_names is None:
            return list(outs)
        idx = {n: i for i, n in enumerate(plan.output_names)}
        res = []
        for n in output_names:
            if n not in idx:
                raise ValueError(f"unknown output {n!r}; the model's outputs are {plan.output_names}")
            res.append(outs[idx[n]])
        return res


def _no_graph_options(optimize, disabled_passes, algorithms, precision):
    if optimize is not True or disabled_passes or algorithms or precision != "accurate":
        raise ValueError("a compiled model was planned when it was compiled: optimize, "
                         "disabled_passes, algorithms and precision do not apply")


def _output_names(output_names):
    """None, or a list of output names (onnxruntime refuses a single string too)."""
    if output_names is None:
        return None
    if isinstance(output_names, (str, bytes)):
        raise TypeError(f"output_names must be None or a list of names, got the string "
                        f"{output_names!r} (write [{output_names!r}])")
    try:
        names = list(output_names)
    except TypeError:
        raise TypeError(f"output_names must be None or a list of names, got "
                        f"{type(output_names).__name__}") from None
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"output names must be strings, got {type(n).__name__} {n!r}")
    return names


def _is_compiled(path):
    try:
        with open_regular(path) as f:
            return f.read(8) == b"CEMODEL\0"
    except (OSError, ModelError):
        return False  # the loader that follows names the problem


def _ort_type(dt):
    return {"float32": "float", "float64": "double"}.get(dt, dt)
