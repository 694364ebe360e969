"""What a model may hold, shared by the IR, its file format and validation: the error every
bad model raises, the tensor dtypes (name in the file -> numpy dtype), the size limits and the
domain of the custom ops (docs/model-format.md)."""
from __future__ import annotations

import math

import numpy as np

CUSTOM_DOMAIN = "ai.convengine"

# dtype names in the file -> little-endian numpy dtypes
DTYPES = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "float64": np.dtype("<f8"),
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("?"),
}

MAX_RANK = 8
MAX_DIM = (1 << 31) - 1
MAX_ELEMENTS = 1 << 34
MAX_OPSET = 1000
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class ModelError(ValueError):
    """A model file or graph that cannot be loaded or run; the message names the JSON path or
    the node."""


def dtype_name(dt) -> str:
    """The name in DTYPES of a numpy dtype (any byte order); else ModelError."""
    dt = np.dtype(dt)
    for name, d in DTYPES.items():
        if d.kind == dt.kind and d.itemsize == dt.itemsize:
            return name
    raise ModelError(f"unsupported tensor dtype {dt}")


def short(v, n=60):
    """repr(v) cut to n characters, for error messages."""
    r = repr(v)
    return r if len(r) <= n else r[:n - 3] + "..."


def shape_list(shape, where, allow_symbolic=True):
    """`shape` as a list of ints (and, when allow_symbolic, None or names for unknown
    dimensions) within the rank, dimension and element limits; else ModelError at `where`."""
    if not isinstance(shape, (list, tuple)):
        raise ModelError(f"{where} must be a list, got {type(shape).__name__}")
    if len(shape) > MAX_RANK:
        raise ModelError(f"{where}: rank {len(shape)} is above {MAX_RANK}")
    out = []
    for i, d in enumerate(shape):
        if isinstance(d, (bool, np.bool_)):
            raise ModelError(f"{where}[{i}]: dimension must be an int, got {d!r}")
        if isinstance(d, (int, np.integer)):
            d = int(d)
            if not 0 <= d <= MAX_DIM:
                raise ModelError(f"{where}[{i}]: dimension {short(d)} is out of range "
                                 "[0, 2^31 - 1]" + (" (write null or a name for an unknown "
                                                    "dimension)" if d < 0 and allow_symbolic
                                                    else ""))
            out.append(d)
        elif allow_symbolic and (d is None or isinstance(d, str)):
            out.append(d)
        else:
            kind = "an int, null or a name" if allow_symbolic else "an int"
            raise ModelError(f"{where}[{i}]: dimension must be {kind}, got {short(d)}")
    if all(isinstance(d, int) for d in out) and math.prod(out) > MAX_ELEMENTS:
        raise ModelError(f"{where}: {out} has more than 2^34 elements")
    return out

