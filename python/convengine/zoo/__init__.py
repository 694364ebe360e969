"""Built-in networks with the published layer shapes and seeded random weights (no torch needed).

    >>> from convengine import zoo
    >>> zoo.list()[:3]
    ['alexnet', 'c3d_small', 'dcn_resnet_block']
    >>> model = zoo.get("resnet18", seed=0)            # a convengine.Model, batch dimension "N"
    >>> zoo.info("resnet18")["params"]
    11689512

``get(name, seed=0, batch="N", **options)``: options are the network's own keywords (input
``size``, ``num_classes``, ...; ``info(name)["options"]`` lists them with their defaults). The
batch dimension of the input and output is symbolic ("N") unless an int is given.

Weights are He-normal, scaled by the inverse rms of each layer's estimated input so that
activations stay O(1) for a unit-normal input; BatchNorm statistics are random and
non-trivial. Names of the weights follow torchvision's state_dict keys where torchvision has
the network.
"""
from __future__ import annotations

import builtins
import inspect

from ..model import Model
from ._builder import Builder
from ._models import REGISTRY

__all__ = ["list", "get", "info"]


def list() -> builtins.list:  # noqa: A001 - the zoo's public name
    """The names of the built-in networks, sorted."""
    return sorted(REGISTRY)


def _entry(name):
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}")
    e = REGISTRY.get(name)
    if e is None:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return e


def _options(e):
    params = builtins.list(inspect.signature(e.fn).parameters.values())[1:]
    return {p.name: p.default for p in params}


def _build(name, batch, kw):
    e = _entry(name)
    opts = _options(e)
    unknown = set(kw) - set(opts)
    if unknown:
        raise TypeError(f"zoo model {name!r} has no option "
                        f"{', '.join(repr(k) for k in sorted(unknown))}; "
                        f"options: {opts}")
    if isinstance(batch, bool) or not isinstance(batch, (int, str)) or \
            (isinstance(batch, int) and batch < 1):
        raise ValueError(f"batch must be a positive int or a symbolic name (str), got {batch!r}")
    b = Builder(name, batch)
    outputs = e.fn(b, **kw)
    return e, b, outputs


def get(name: str, seed: int = 0, batch="N", **options) -> Model:
    """Builds the network `name` with weights drawn from numpy's default_rng(seed)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    e, b, outputs = _build(name, batch, options)
    params, mflops = b.counts()
    meta = {"zoo.name": name, "zoo.family": e.family, "zoo.kinds": ", ".join(e.kinds),
            "zoo.seed": str(seed), "zoo.params": str(params), "zoo.mflops": f"{mflops:.3f}",
            "zoo.options": repr(options)}
    return b.build(outputs, seed=seed, doc=e.reference, metadata=meta)


def info(name: str, **options) -> dict:
    """The network's metadata: family, convolution kinds and other blocks it exercises,
    reference, input and output shapes (batch 1), parameter count (learned parameters; BatchNorm
    running statistics excluded, as torch counts), MFLOPs (2 x the multiply-accumulates of the
    convolutions of every kind and the Gemms, at batch 1), and its options with defaults."""
    e, b, outputs = _build(name, 1, options)
    params, mflops = b.counts()
    return {
        "name": name, "family": e.family, "kinds": builtins.list(e.kinds),
        "blocks": builtins.list(e.blocks), "reference": e.reference,
        "inputs": {v.name: builtins.list(v.shape) for v in b.inputs},
        "outputs": {k: [1, *b.shapes[t]] for k, t in outputs.items()},
        "params": params, "mflops": round(mflops, 3),
        "options": {**_options(e), **options},
    }
