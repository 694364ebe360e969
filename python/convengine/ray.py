"""Batch inference on Ray Data: `Predictor`, a callable class for `Dataset.map_batches`.

It loads the model once per actor and maps each batch (a dict of numpy arrays or a pandas
DataFrame) to the model's outputs; Ray itself is imported only to read the actor's CPUs
(`pip install convengine[ray]`).

    import ray
    from convengine.ray import Predictor
    ds = ray.data.from_numpy(images)                        # column "data", (n, 3, 224, 224) float32
    out = ds.map_batches(Predictor, fn_constructor_kwargs={"model": "resnet50.onnx"},
                         compute=ray.data.ActorPoolStrategy(size=4), num_cpus=2,
                         batch_size=64)

The model is a path (.json, .onnx, .cem), an InferenceSession (Ray pickles it: see
InferenceSession's doc for what that sends), a Model, or a function returning one of those
(called once in each actor, e.g. functools.partial(convengine.zoo.get, "resnet50")). The engine
gets as many threads as Ray assigned CPUs to the actor (num_cpus), unless num_threads is given.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["Predictor", "assigned_cpus"]


def assigned_cpus() -> int | None:
    """The CPUs Ray assigned to the calling actor or task (at least 1), or None outside Ray."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized():
        return None
    try:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # noqa: BLE001 - the driver has no assignment
        return None
    return max(1, int(cpus)) if cpus else None


class Predictor:
    """Runs a convengine model over batches (`Dataset.map_batches(Predictor, ...)`).

    model: a path, an InferenceSession, a Model, or a function returning one of these.
    input_column: the column feeding the model's input (default: the column named like the
    input, else "image", else "data", else the only column not kept), or {input name: column}
    for a model with several inputs. preprocess(array) -> float32 array, applied to each input
    column (e.g. uint8 HWC images to normalised NCHW); postprocess({output: array}) -> dict of
    columns (e.g. the top-1 label). keep_columns: columns copied to the result (ids, paths).
    max_batch: rows per engine run; a larger batch is split (any batch size works: a model
    with a fixed batch size gets chunks of that size, the last one padded). num_threads:
    default the CPUs Ray assigned to the actor. Other keywords are InferenceSession options
    (precision, algorithms, ...) for a path or a Model.

    The result is a dict of numpy arrays (one column per model output), or a DataFrame when
    the batch was one (outputs of more than one dimension become columns of arrays).
    """

    def __init__(self, model, *, input_column=None, preprocess=None, postprocess=None,
                 keep_columns=(), max_batch: int | None = None, num_threads: int | None = None,
                 **session_options):
        import convengine
        if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int)
                                      or max_batch < 1):
            raise ValueError(f"max_batch must be a positive int or None, got {max_batch!r}")
        if callable(model) and not isinstance(model, (convengine.InferenceSession, convengine.Model)):
            model = model()
        if isinstance(model, convengine.InferenceSession):
            if session_options:
                raise TypeError("session options apply to a path or a Model, not to a session "
                                f"(got {sorted(session_options)})")
            self.session = model
        elif isinstance(model, (str, os.PathLike, convengine.Model)):
            self.session = convengine.InferenceSession(model, **session_options)
        else:
            raise TypeError("Predictor takes a path, an InferenceSession, a Model or a function "
                            f"returning one, got {type(model).__name__}")
        self.num_threads = num_threads if num_threads is not None else assigned_cpus()
        if self.num_threads is not None:
            convengine.set_num_threads(self.num_threads)
        self._inputs = self.session.get_inputs()
        self._input_column = input_column
        self._preprocess = preprocess
        self._postprocess = postprocess
        self._keep = [keep_columns] if isinstance(keep_columns, str) else list(keep_columns)
        self._max_batch = max_batch
        fixed = {v.shape[0] for v in self._inputs if v.shape and isinstance(v.shape[0], int)}
        self._fixed_batch = fixed.pop() if len(fixed) == 1 else None

    def __call__(self, batch):
        frame = type(batch).__name__ == "DataFrame" and hasattr(batch, "columns")
        columns = list(batch.columns) if frame else list(batch)
        missing = [c for c in self._keep if c not in columns]
        if missing:
            raise KeyError(f"keep_columns {missing} are not in the batch (columns: {columns})")
        feed = {name: self._array(batch[col], col) for name, col in self._columns(columns).items()}
        rows = {len(a) for a in feed.values()}
        if len(rows) != 1:
            raise ValueError(f"input columns have different row counts: {sorted(rows)}")
        outputs = self._run(feed, rows.pop())
        if self._postprocess is not None:
            outputs = self._postprocess(outputs)
            if not isinstance(outputs, dict):
                raise TypeError(f"postprocess must return a dict of columns, got "
                                f"{type(outputs).__name__}")
        result = {c: _column(batch[c]) for c in self._keep}
        result.update(outputs)
        if frame:
            import pandas as pd
            return pd.DataFrame({k: list(v) if np.ndim(v) > 1 else v for k, v in result.items()})
        return result

    # ------------------------------------------------------------------ internals
    def _columns(self, columns):
        names = [v.name for v in self._inputs]
        col = self._input_column
        if isinstance(col, dict):
            if sorted(col) != sorted(names):
                raise ValueError(f"input_column maps {sorted(col)}, the model's inputs are {names}")
            mapping = dict(col)
        elif col is not None:
            if len(names) != 1:
                raise ValueError(f"the model has inputs {names}: give input_column as "
                                 "{input name: column}")
            mapping = {names[0]: col}
        elif all(n in columns for n in names):
            mapping = {n: n for n in names}
        elif len(names) == 1:
            rest = [c for c in columns if c not in self._keep]
            pick = next((c for c in ("image", "data") if c in columns), None)
            pick = pick or (rest[0] if len(rest) == 1 else None)
            if pick is None:
                raise ValueError(f"which column feeds input {names[0]!r}? the batch has "
                                 f"{columns}: pass input_column=")
            mapping = {names[0]: pick}
        else:
            raise ValueError(f"the model's inputs {names} are not all columns of the batch "
                             f"({columns}): pass input_column={{input: column}}")
        for c in mapping.values():
            if c not in columns:
                raise KeyError(f"input column {c!r} is not in the batch (columns: {columns})")
        return mapping

    def _array(self, values, col):
        a = _column(values)
        if a.dtype == object:  # one array per row (pandas, or rows of a ragged column)
            a = np.stack([np.asarray(r) for r in a]) if len(a) else a
        if self._preprocess is not None:
            a = np.asarray(self._preprocess(a))
        if a.dtype != np.float32:
            if a.dtype.kind != "f":
                raise TypeError(f"column {col!r} holds {a.dtype} values; the model takes float32: "
                                "pass preprocess= to convert them (e.g. images to normalised "
                                "float32)")
            a = a.astype(np.float32)
        return a

    def _run(self, feed, n):
        step = self._fixed_batch or self._max_batch or n
        if self._fixed_batch and self._max_batch and self._max_batch < self._fixed_batch:
            raise ValueError(f"max_batch {self._max_batch} is below the model's fixed batch "
                             f"size {self._fixed_batch}")
        names = [v.name for v in self.session.get_outputs()]
        parts = []
        for i in range(0, n, step):
            chunk = {k: v[i:i + step] for k, v in feed.items()}
            m = len(next(iter(chunk.values())))
            if self._fixed_batch and m < self._fixed_batch:  # pad the last chunk
                chunk = {k: np.concatenate([v, np.zeros((self._fixed_batch - m, *v.shape[1:]),
                                                        v.dtype)]) for k, v in chunk.items()}
            parts.append([o[:m] for o in self.session.run(None, chunk)])
        if not parts:
            raise ValueError("the batch has no rows")
        return {name: np.concatenate([p[j] for p in parts]) if len(parts) > 1 else parts[0][j]
                for j, name in enumerate(names)}


def _column(values):
    """A column of a batch as a numpy array (pandas Series and Ray tensor columns included)."""
    if isinstance(values, np.ndarray):
        return values
    to_numpy = getattr(values, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else values)
