"""The planner's product as the session runs it: a compiled model.

`PlannedModel` takes a finished Planner (its steps, constants and graph outputs), places the
arena (memory.place_arena), writes the compiled-model file through `_native.ModelWriter`
(`write_compiled`: inputs, outputs, arena size, constant pool, steps with their tensors as
(buffer, offset, shape, strides) references) and has the C++ builder load it into a plan.
`LoadedPlan` is the same interface over a compiled model read from a .cem file. The session's
run(), profile() and describe() read only this interface (plan, input/output names and shapes,
const_outputs, int64_outputs, arena_floats, weights_bytes, rows).
"""
from __future__ import annotations

import numpy as np

from .. import _native
from .memory import place_arena
from .views import PlanError, T

# steps whose array arguments are the node's weights (counted as its parameters)
_WEIGHTED = ("add_conv", "add_deform", "add_local", "add_batchnorm", "add_squeeze_excite")


def write_compiled(steps, consts, arena_floats, inputs, outputs):
    """The compiled-model file of a plan: `inputs` and `outputs` are (name, dtype, shape).
    Returns a _native.CompiledFile (aligned bytes with the buffer protocol: load_compiled
    reads it in place; bytes(f) copies it)."""
    w = _native.ModelWriter()
    w.set_producer(f"convengine {_version()}")
    for name, dtype, shape in inputs:
        w.add_input(name, dtype, list(shape))
    for name, dtype, shape in outputs:
        w.add_output(name, dtype, list(shape))
    w.set_arena_floats(arena_floats)
    for a in consts:
        w.add_pool_constant(a)
    for st in steps:
        args = [a.ref() if isinstance(a, T) else
                [v.ref() for v in a] if isinstance(a, list) and a and isinstance(a[0], T)
                else a for a in st.args]
        w.add_step(st.method, st.name, st.op or "", args)
    return w.finish_file()


class PlannedModel:
    """A plan built from a Planner (see the module docstring); `file` holds the compiled-model
    bytes with keep_file."""

    def __init__(self, p, input_names, keep_file=False):
        self.input_names = input_names
        self.input_shapes = [tuple(p.input_shapes[n]) for n in input_names]
        self.output_names = [v.name for v in p.g.outputs]
        self.output_shapes = [tuple(t.shape) for t in p.out_refs]
        # Constant outputs (a Shape, a folded int subgraph) keep their dtype: the engine's own
        # output buffers are float32.
        self.const_outputs = {j: v for j, v in ((j, p.vals.get(vi.name))
                                                for j, vi in enumerate(p.g.outputs))
                              if isinstance(v, np.ndarray) and v.dtype != np.float32}
        # int64 outputs computed at run time (ArgMax / ArgMin indices, held as exact float32)
        ints = getattr(p, "int64_tensors", set())
        self.int64_outputs = [j for j, vi in enumerate(p.g.outputs)
                              if vi.name in ints and j not in self.const_outputs]
        steps = p.steps
        self.arena_floats = place_arena(steps)
        # integer outputs hold exact integers in float32 (ArgMax indices, a folded Shape)
        ints = set(self.int64_outputs) | {j for j, v in self.const_outputs.items()
                                          if v.dtype.kind in "iub"}
        self.file = write_compiled(
            steps, p.consts, self.arena_floats,
            [(name, "float32", shape) for name, shape in zip(self.input_names, self.input_shapes)],
            [(name, "int64" if j in ints else "float32", shape)
             for j, (name, shape) in enumerate(zip(self.output_names, self.output_shapes))])
        try:
            self.plan = _native.load_compiled(self.file)
        except ValueError as e:
            raise PlanError(str(e)) from None
        if not keep_file:
            self.file = None
        self.rows = []
        for st, (name, op, algo, flops) in zip(steps, self.plan.steps()):
            params = sum(int(a.size) for a in st.args if isinstance(a, np.ndarray)) \
                if st.method in _WEIGHTED else 0
            self.rows.append(dict(node=st.name, method=st.method, op=op, params=params,
                                  algorithm=algo, mflops=flops / 1e6,
                                  inputs=[tuple(t.shape) for t in st.reads if t is not None],
                                  outputs=[tuple(t.shape) for t in st.writes]))
        self.weights_bytes = sum(int(a.nbytes) for a in p.g.initializers.values())


class LoadedPlan:
    """A PlannedModel's interface over a compiled model loaded from a file (no graph: steps
    name their nodes, shapes and parameters are not recorded)."""

    def __init__(self, compiled):
        self.plan = compiled
        self.file = None
        self.input_names = [n for n, _, _ in compiled.inputs]
        self.input_shapes = [tuple(s) for _, _, s in compiled.inputs]
        self.output_names = [n for n, _, _ in compiled.outputs]
        self.output_shapes = [tuple(s) for _, _, s in compiled.outputs]
        self.const_outputs = {}
        self.int64_outputs = [j for j, (_, dt, _) in enumerate(compiled.outputs) if dt == "int64"]
        self.arena_floats = compiled.arena_floats
        self.weights_bytes = 4 * compiled.constant_floats
        self.rows = [dict(node=name, method=None, op=op, params=None, algorithm=algo,
                          mflops=flops / 1e6, inputs=[], outputs=[])
                     for name, op, algo, flops in compiled.steps()]


def _version():
    from .. import __version__
    return __version__
