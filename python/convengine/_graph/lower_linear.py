"""Planner lowerings of Gemm and MatMul: `op_<OpType>(node, ins, where)` methods mixed into
`planner.Planner`. With a constant B the product is a 1x1 convolution over rows-as-pixels
(the packed GEMM of the conv engine: B, scaled by alpha, is the weight; a constant C of one
value per column, scaled by beta, is the bias; any other C an Add step after it); with a
run-time B it is the batched matmul step over broadcast views."""
from __future__ import annotations

import math

import numpy as np

from .ops import attr
from .rules import gemm_shapes, matmul_shape
from .views import PlanError, T, _broadcast, _nonempty


class LinearLowering:
    def op_Gemm(self, node, ins, where):
        a = self.rt(node.inputs[0], where)
        bv = self.vals.get(node.inputs[1])
        if isinstance(bv, np.ndarray):
            _nonempty(bv, node.inputs[1], where, "B")
        m, k, n = gemm_shapes(node, a.shape, bv.shape)
        ta, tb = int(attr(node, "transA")), int(attr(node, "transB"))
        alpha, beta = float(attr(node, "alpha")), float(attr(node, "beta"))
        if ta:
            a = T(a.shape[::-1], a.strides[::-1], a.buf, a.offset, a.root)
        c = None
        if len(node.inputs) > 2 and node.inputs[2]:
            c = self.vals.get(node.inputs[2])
        if isinstance(bv, np.ndarray):
            bmat = bv.T if tb else bv
            w = np.ascontiguousarray((alpha * bmat.astype(np.float64)).T, np.float32)[:, :, None]
            bias = None
            rest = None
            if c is not None:
                if isinstance(c, np.ndarray) and c.size in (1, n) and (c.ndim < 2 or c.shape[0] == 1):
                    bias = np.broadcast_to((beta * c.astype(np.float64)).reshape(-1),
                                           (n,)).astype(np.float32)
                else:
                    rest = c
            x3 = T((1, k, m), (0, a.strides[1], a.strides[0]), a.buf, a.offset, a.root)
            x3 = self.cl(x3, where)
            yname = node.outputs[0]
            y = self.new((m, n), name=None)
            y3 = T((1, n, m), (0, 1, n), y.buf, y.offset, y.root)
            algo = self.algorithms.get(node.name, self.default_algorithm)
            self.step("add_conv", node.name or where,
                      [x3, y3, None, w, bias, 1, [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                       [0, 0, 0], False, algo, "none", 0.0, 0.0, -np.inf, np.inf], [x3], [y3],
                      "Gemm")
            if rest is not None:
                ct = self.rt(node.inputs[2], where)
                if beta != 1.0:
                    raise PlanError(f"{where}: Gemm with a runtime C and beta != 1 is not supported")
                out = self.new((m, n), name=yname)
                self.step("add_binary", (node.name or where) + "/C",
                          ["Add", y, _broadcast(ct, (m, n)), out], [y, ct], [out])
                y = out
            self.vals[yname] = y
            self.shapes[yname] = (m, n)
            return
        b = self.rt(node.inputs[1], where)
        if tb:
            b = T(b.shape[::-1], b.strides[::-1], b.buf, b.offset, b.root)
        if alpha != 1.0 or (c is not None):
            raise PlanError(f"{where}: Gemm with a runtime B supports alpha 1 and no C only")
        y = self.out(node, 0, (m, n))
        self.step("add_matmul", node.name or where, [a, b, y], [a, b], [y])

    def op_MatMul(self, node, ins, where):
        a = self.rt(node.inputs[0], where)
        bv = self.vals.get(node.inputs[1])
        if isinstance(bv, np.ndarray):
            _nonempty(bv, node.inputs[1], where, "B")
        out_shape = matmul_shape(a.shape, bv.shape)
        if isinstance(bv, np.ndarray) and bv.ndim == 2 and a.rank >= 2 and a.is_contiguous():
            k, n = bv.shape
            m = math.prod(a.shape[:-1])
            w = np.ascontiguousarray(bv.T, np.float32)[:, :, None]
            x3 = T((1, k, m), (0, 1, k), a.buf, a.offset, a.root)
            y = self.out(node, 0, out_shape)
            y3 = T((1, n, m), (0, 1, n), y.buf, y.offset, y.root)
            self.step("add_conv", node.name or where,
                      [x3, y3, None, w, None, 1, [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                       [0, 0, 0], False, self.algorithms.get(node.name, self.default_algorithm),
                       "none", 0.0, 0.0, -np.inf, np.inf], [x3], [y3], "MatMul")
            return
        b = self.rt(node.inputs[1], where)
        squeeze = []
        if a.rank == 1:
            a = T((1, a.shape[0]), (0, a.strides[0]), a.buf, a.offset, a.root)
            squeeze.append(-2)
        if b.rank == 1:
            b = T((b.shape[0], 1), (b.strides[0], 0), b.buf, b.offset, b.root)
            squeeze.append(-1)
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        shape = (*batch, a.shape[-2], b.shape[-1])
        y = self.new(shape)
        self.step("add_matmul", node.name or where,
                  [_broadcast(a, (*batch, *a.shape[-2:])), _broadcast(b, (*batch, *b.shape[-2:])), y],
                  [a, b], [y])
        if squeeze:
            keep = [i for i in range(len(shape)) if i - len(shape) not in squeeze]
            y = T(tuple(shape[i] for i in keep), tuple(y.strides[i] for i in keep), y.buf, y.offset,
                  y.root)
        self.set_view(node, 0, y)
