"""The graph optimisation passes: `PASSES`, in the order `optimize` runs them, and `optimize`
(docs/ARCHITECTURE.md, "Graph passes").

Each pass is a function Model -> Model that returns a new Model and never modifies its input;
`optimize(model, disabled=(...))` skips passes by name. Every rewrite keeps the graph's tensor
names at its outputs (a fused node takes the name of the last tensor it replaces), so graph
outputs and the names a user asks for survive. The passes live by family: passes_fold.py,
passes_fuse.py, passes_activation.py, passes_blocks.py, passes_nn.py (normalisations),
passes_layout.py (channels-last layers); rewrite.py and epilogue.py hold what they share.
"""
from __future__ import annotations

import collections

from ..model import Model
from .passes_activation import detect_activations
from .passes_blocks import detect_channel_shuffle, fuse_squeeze_excite
from .passes_fold import (eliminate_dead_nodes, eliminate_identity, fold_batchnorm,
                          fold_batchnorm_through_concat, fold_channel_affine, fold_clamp_affine,
                          fold_constants, merge_parallel_convs)
from .passes_fuse import (fuse_activation, fuse_activation_through_concat, fuse_pad,
                          fuse_residual)
from .passes_layout import LAYOUT_PASSES
from .passes_nn import NN_PASSES

__all__ = ["PASSES", "optimize"]

PASSES = collections.OrderedDict([
    ("fold_constants", fold_constants),
    ("eliminate_identity", eliminate_identity),
    ("fuse_pad", fuse_pad),
    ("detect_activations", detect_activations),
    ("fold_batchnorm", fold_batchnorm),
    ("fold_batchnorm_through_concat", fold_batchnorm_through_concat),
    ("merge_parallel_convs", merge_parallel_convs),
    ("detect_channel_shuffle", detect_channel_shuffle),
    ("fuse_squeeze_excite", fuse_squeeze_excite),
    *NN_PASSES,
    *LAYOUT_PASSES,
    ("fold_channel_affine", fold_channel_affine),
    ("fuse_residual", fuse_residual),
    ("fuse_activation", fuse_activation),
    ("fuse_activation_through_concat", fuse_activation_through_concat),
    ("fold_clamp_affine", fold_clamp_affine),
    ("eliminate_dead_nodes", eliminate_dead_nodes),
])


def optimize(model: Model, disabled=()) -> Model:
    """Runs the passes of PASSES in order, except those named in `disabled`; returns a new
    Model (the input is not modified)."""
    if isinstance(disabled, str):
        disabled = (disabled,)
    unknown = sorted(set(disabled) - set(PASSES))
    if unknown:
        raise ValueError(f"unknown pass name(s) {unknown}; the passes are {list(PASSES)}")
    if not isinstance(model, Model):
        raise TypeError(f"optimize takes a convengine Model, got {type(model).__name__}")
    out = model
    for name, fn in PASSES.items():
        if name not in disabled:
            out = fn(out)
    if out is model:
        out = model.copy()
    return out
