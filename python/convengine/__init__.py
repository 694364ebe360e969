"""convengine: a CPU inference engine for convolutional networks."""
from __future__ import annotations

from . import _native

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Sets the number of threads of the engine's pool (the calling thread included)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"num_threads must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    _native.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads the engine computes with."""
    return _native.get_num_threads()


from . import functional  # noqa: E402
from .model import Graph, Model, ModelError, Node, ValueInfo, load  # noqa: E402
from .session import InferenceSession, NodeArg  # noqa: E402

__all__ = ["functional", "set_num_threads", "get_num_threads", "__version__", "load", "Model",
           "ModelError", "Graph", "Node", "ValueInfo", "InferenceSession", "NodeArg"]
