"""convengine: a CPU inference engine for convolutional networks.

convengine.reference (the Cython oracle) does not need the compiled engine: when
convengine._native cannot be imported, the package still imports so that the reference can,
and every engine feature raises ImportError naming the cause.
"""
from __future__ import annotations

import operator

__version__ = "0.1.0"

try:
    from . import _native
except ImportError as _e:
    _native_error = _e
else:
    _native_error = None

_ENGINE = ["functional", "set_num_threads", "get_num_threads", "load", "Model", "ModelError",
           "Graph", "Node", "ValueInfo", "InferenceSession", "NodeArg", "from_onnx", "from_torch",
           "zoo", "OutOfMemoryError"]
__all__ = _ENGINE + ["__version__"]

if _native_error is None:
    def set_num_threads(n: int) -> None:
        """Sets the number of threads of the engine's pool (the calling thread included)."""
        # any integer (numpy's too, as torch.set_num_threads takes); not bool, float or str
        if isinstance(n, bool) or not hasattr(type(n), "__index__") or \
                type(n).__name__ in ("bool_", "bool"):
            raise TypeError(f"num_threads must be an int, got {type(n).__name__}")
        n = operator.index(n)
        if n < 1:
            raise ValueError(f"num_threads must be >= 1, got {n}")
        if n > MAX_THREADS:
            raise ValueError(f"num_threads must be <= {MAX_THREADS}, got {n}")
        _native.set_num_threads(n)

    # The pool's bound (ThreadPool::kMaxThreads, CE_MAX_THREADS in the C API).
    MAX_THREADS = getattr(_native, "MAX_THREADS", 1024)

    def get_num_threads() -> int:
        """The number of threads the engine computes with."""
        return _native.get_num_threads()

    # A plan or allocation that does not fit in memory (a MemoryError): the message names the
    # plan's input shapes, what the memory was for and the bytes asked for.
    OutOfMemoryError = _native.OutOfMemoryError
    OutOfMemoryError.__module__ = "convengine"

    from . import functional
    from .model import Graph, Model, ModelError, Node, ValueInfo, load
    from .onnx_import import from_onnx
    from .session import InferenceSession, NodeArg
    from .torch_import import from_torch
    from . import zoo
else:
    def __getattr__(name):
        if name in _ENGINE or name == "_native":
            raise ImportError(f"convengine.{name} is unavailable: the compiled extension "
                              f"convengine._native failed to import ({_native_error}); only "
                              f"convengine.reference works without it") from _native_error
        raise AttributeError(f"module 'convengine' has no attribute {name!r}")
