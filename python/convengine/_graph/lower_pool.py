"""Planner lowerings of pooling: MaxPool, AveragePool, LpPool (1-3 spatial axes, pads,
dilations, ceil_mode, count_include_pad; the window geometry is rules.py's) and
GlobalAveragePool / GlobalMaxPool / GlobalLpPool: `op_<OpType>(node, ins, where)` methods mixed
into `planner.Planner`. Each is one C++ step on channels-last tensors."""
from __future__ import annotations

from .ops import attr
from .rules import Window, lp_pool_p, pool_geometry
from .views import PlanError, _cl_order


class PoolLowering:
    def _pool(self, node, ins, where, is_max):
        x = self.cl(ins[0], where)
        k, win = pool_geometry(node, x.shape)
        s, d, osp = win.strides, win.dilations, win.out
        pb, pe = list(win.pad_begin), list(win.pad_end)
        ceil = bool(attr(node, "ceil_mode"))
        cip = bool(attr(node, "count_include_pad")) if not is_max else False
        y = self.out(node, 0, (x.shape[0], x.shape[1], *osp), _cl_order(x.rank))
        if len(node.outputs) > 1 and node.outputs[1]:
            raise PlanError(f"{where}: MaxPool's Indices output is not supported")
        # the C++ builder picks the 2-D kernel or the n-d window pool
        self.step("add_pool", node.name or where, [x, y, is_max, k, s, d, pb, pe, ceil, cip],
                  [x], [y])

    def op_MaxPool(self, node, ins, where):
        self._pool(node, ins, where, True)

    def op_AveragePool(self, node, ins, where):
        self._pool(node, ins, where, False)

    def _lp_pool(self, node, where, x, y, k, win, ceil):
        # the C++ builder refuses more than 3 spatial axes
        self.step("add_lp_pool", node.name or where,
                  [x, y, lp_pool_p(node), list(k), list(win.strides), list(win.dilations),
                   list(win.pad_begin), list(win.pad_end), ceil], [x], [y])

    def op_LpPool(self, node, ins, where):
        x = self.cl(ins[0], where)
        k, win = pool_geometry(node, x.shape)
        y = self.out(node, 0, (x.shape[0], x.shape[1], *win.out), _cl_order(x.rank))
        self._lp_pool(node, where, x, y, k, win, bool(attr(node, "ceil_mode")))

    def op_GlobalLpPool(self, node, ins, where):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: input must have spatial axes, got shape {x.shape}")
        x = self.cl(x, where)
        sp = list(x.shape[2:])
        y = self.out(node, 0, (x.shape[0], x.shape[1]) + (1,) * len(sp), _cl_order(x.rank))
        win = Window([1] * len(sp), [1] * len(sp), [0] * len(sp), [0] * len(sp), [1] * len(sp))
        self._lp_pool(node, where, x, y, sp, win, False)

    def _global_pool(self, node, ins, where, is_max):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: input must have spatial axes, got shape {x.shape}")
        x = self.cl(x, where)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.rank - 2)
        y = self.out(node, 0, shape, _cl_order(x.rank))
        self.step("add_global_pool", node.name or where, [x, y, is_max], [x], [y])

    def op_GlobalAveragePool(self, node, ins, where):
        self._global_pool(node, ins, where, False)

    def op_GlobalMaxPool(self, node, ins, where):
        self._global_pool(node, ins, where, True)
