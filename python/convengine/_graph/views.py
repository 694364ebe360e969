"""Runtime tensors of a plan as the planner sees them: strided views (buffer, offset, shape,
strides in floats, logical ONNX axis order) into the arena, the constant pool, an input or an
output, plus the helpers every op lowering uses (broadcast views, channels-last views)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..model import ModelError

ARENA = 0
CONSTS = 1
ALIGN = 16  # floats (64 bytes)


def _contig_strides(shape, order=None):
    """Strides of a dense tensor whose axes are laid out in `order` (outermost first)."""
    order = list(range(len(shape))) if order is None else order
    strides = [0] * len(shape)
    s = 1
    for ax in reversed(order):
        strides[ax] = s
        s *= shape[ax]
    return tuple(strides)


def _cl_order(rank):
    return [0, *range(2, rank), 1]


@dataclass(eq=False)
class Root:
    """One arena allocation."""
    size: int
    first: int = 1 << 60
    last: int = -1
    offset: int = -1


@dataclass(eq=False)
class T:
    """A runtime tensor: a view into a buffer (arena root, constants, an input or output)."""
    shape: tuple
    strides: tuple
    buf: int = ARENA
    offset: int = 0           # floats, relative to the root (arena) or the buffer
    root: Root | None = None
    # When set: a concat slot this tensor's producer should write into.

    def ref(self):
        base = self.root.offset if self.root is not None else 0
        return (self.buf, base + self.offset, list(self.shape), list(self.strides))

    @property
    def rank(self):
        return len(self.shape)

    def is_cl(self):
        if not 3 <= self.rank <= 5:
            return False
        if self.shape[1] > 1 and self.strides[1] != 1:
            return False
        # allow a pixel stride wider than C (concat slices): check ratios
        ps = None
        expect = None
        for ax in reversed(range(2, self.rank)):
            if self.shape[ax] == 1:
                continue
            if ps is None:
                ps = self.strides[ax]
                if ps < self.shape[1]:
                    return False
                expect = ps * self.shape[ax]
                continue
            if self.strides[ax] != expect:
                return False
            expect *= self.shape[ax]
        if self.shape[0] > 1:
            pixels = math.prod(self.shape[2:])
            if self.strides[0] != pixels * (ps if ps is not None else self.shape[1]):
                return False
        return True

    def is_contiguous(self):
        expect = 1
        for d, s in zip(reversed(self.shape), reversed(self.strides)):
            if d == 1:
                continue
            if s != expect:
                return False
            expect *= d
        return True


@dataclass
class Step:
    method: str
    name: str
    args: list
    reads: list = field(default_factory=list)
    writes: list = field(default_factory=list)
    op: str | None = None  # the graph op, when the C++ step's own name is less telling


class PlanError(ModelError):
    pass


def _ints(v, n, default, what, where):
    if v is None:
        return [default] * n
    v = [int(x) for x in v]
    if len(v) != n:
        raise PlanError(f"{where}: {what} has {len(v)} entries, expected {n}")
    return v


def _nonempty(v, name, where, what):
    if v.size == 0:
        raise PlanError(f"{where}: {what} {name!r} of shape {v.shape} is empty")


def _layout_order(t: T):
    """The axis order (outermost first) of an existing tensor's memory, size-1 axes in place."""
    return sorted(range(t.rank), key=lambda a: (-t.strides[a], a) if t.shape[a] > 1 else (0, a))


def _cl_view(t: T, shape):
    """A 4D channels-last view (N, C, H, W) of a channels-last tensor whose batch and spatial
    axes, in memory order, merge into N, H, W (`shape` gives the merged sizes)."""
    n, c, h, w = shape
    ps = next((t.strides[a] for a in reversed(range(2, t.rank)) if t.shape[a] > 1),
              t.strides[0] if t.shape[0] > 1 else c)
    v = T((n, c, h, w), (h * w * ps, 1, w * ps, ps), t.buf, t.offset, t.root)
    if not v.is_cl():
        raise PlanError(f"internal: no channels-last view {list(shape)} of {list(t.shape)}")
    return v


def _broadcast(t: T, shape):
    r = len(shape)
    pad = r - t.rank
    tshape = (1,) * pad + tuple(t.shape)
    tstr = (0,) * pad + tuple(t.strides)
    strides = []
    for d, ts, s in zip(shape, tshape, tstr):
        if ts == d:
            strides.append(s if d > 1 else 0)
        elif ts == 1:
            strides.append(0)
        else:
            raise PlanError(f"cannot broadcast {t.shape} to {shape}")
    return T(tuple(shape), tuple(strides), t.buf, t.offset, t.root)
