"""Derives the minimax coefficients of native/elementwise/avx2-math.h (needs scipy).

    python tools/fit_math_constants.py

Linear minimax fits (polynomials) are linear programs over a Chebyshev grid; rational fits use
the differential correction algorithm (Cheney and Loeb: one LP per step). Every fit minimises
the maximum relative error of the final function, and prints the coefficients rounded to
float32 as C hex literals (low degree first) with the fit's error in exact arithmetic; the
kernels' float32 error (rounding included) is measured by tools/measure_math_accuracy.py.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog
from scipy.special import erf, erfcx


def cheb(a, b, n):
    k = np.arange(n)
    return np.sort(0.5 * (a + b) + 0.5 * (b - a) * np.cos(np.pi * (k + 0.5) / n))


def _lp(B, f, w, extra=None):
    m, k = B.shape
    A = np.vstack([np.hstack([w[:, None] * B, -np.ones((m, 1))]),
                   np.hstack([-w[:, None] * B, -np.ones((m, 1))])])
    b = np.concatenate([w * f, -w * f])
    c = np.zeros(k + 1)
    c[-1] = 1
    r = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * (k + 1), method="highs")
    assert r.success, r.message
    return r.x[:k]


def minimax_linear(B, f, w):
    """min_c max_i w_i |B_i c - f_i|, columns and weights rescaled so that the LP solver's
    tolerances stay far below the error."""
    sc = np.max(np.abs(B), 0)
    c = _lp(B / sc, f, w)
    e = np.max(w * np.abs(B / sc @ c - f))
    c = _lp(B / sc, f, w / e) / sc
    return c, np.max(w * np.abs(B @ c - f))


def dca_rational(u, f, w, dp, dq, iters=100):
    """Best P / Q (Q(0) = 1) in the weighted max norm on points u."""
    m = len(u)
    Up = np.stack([u ** j for j in range(dp + 1)], 1)
    Uq = np.stack([u ** j for j in range(1, dq + 1)], 1)
    sp, sq = np.max(np.abs(Up), 0), np.max(np.abs(Uq), 0)
    Up, Uq = Up / sp, Uq / sq
    p, q = np.zeros(dp + 1), np.zeros(dq)
    p[0] = f[0]
    ev = lambda p, q: (Up @ p / (1 + Uq @ q), 1 + Uq @ q)
    r, Qk = ev(p, q)
    delta = np.max(w * np.abs(r - f))
    for _ in range(iters):
        ws = w / delta
        A = np.vstack([np.hstack([-ws[:, None] * Up, (ws * f - 1)[:, None] * Uq, -Qk[:, None]]),
                       np.hstack([ws[:, None] * Up, (-ws * f - 1)[:, None] * Uq, -Qk[:, None]]),
                       np.hstack([np.zeros((m, dp + 1)), -Uq, np.zeros((m, 1))])])
        b = np.concatenate([1 - ws * f, 1 + ws * f, np.full(m, 0.99)])
        c = np.zeros(dp + dq + 2)
        c[-1] = 1
        res = linprog(c, A_ub=A, b_ub=b, bounds=[(-1e4, 1e4)] * (dp + dq + 1) + [(None, None)],
                      method="highs")
        if not res.success:
            break
        p2, q2 = res.x[:dp + 1], res.x[dp + 1:-1]
        r2, Q2 = ev(p2, q2)
        d2 = np.max(w * np.abs(r2 - f))
        if d2 >= delta * (1 - 1e-9):
            break
        p, q, Qk, delta = p2, q2, Q2, d2
    return delta, p / sp, np.concatenate([[1.0], q / sq])


def hexs(c):
    return ", ".join(float(np.float32(v)).hex().replace("0000000p", "p") + "f" for v in c)


def main():
    # expm1(t) = t + t^2 q(t), |t| <= ln2 / 2, q of degree 4
    t = cheb(-math.log(2) / 2, math.log(2) / 2, 4000)
    t = t[t != 0]
    f = np.expm1(t)
    c, d = minimax_linear(np.stack([t ** (2 + j) for j in range(5)], 1), f - t, 1 / np.abs(f))
    print(f"expm1 q: {hexs(c)}  ({d:.2g})")
    # log1p(f) = 2 atanh(s) = 2 s + 2 s^3 g(s^2), s <= 1/3, g of degree 3
    s = cheb(1e-9, 1 / 3, 3000)
    tot = 2 * np.arctanh(s)
    c, d = minimax_linear(np.stack([2 * s ** (3 + 2 * j) for j in range(4)], 1), tot - 2 * s,
                          1 / tot)
    print(f"log1p g: {hexs(c)}  ({d:.2g})")
    # erf(x) = x P(x^2) / Q(x^2) on [0, 3.92], degrees 6 / 4
    x = cheb(0, 3.92, 3000)
    x = x[x > 0]
    d, p, q = dca_rational(x * x, erf(x) / x, x / erf(x), 6, 4)
    print(f"erf P: {hexs(p)}\nerf Q: {hexs(q)}  ({d:.2g})")
    # H(a) = erfcx(a / sqrt 2) / 2 = P(a) / Q(a) on [0, 14], degrees 4 / 5, fitted in a / 14
    a = cheb(0, 14.0, 2500)
    h = 0.5 * erfcx(a / math.sqrt(2))
    d, p, q = dca_rational(a / 14.0, h, 1 / h, 4, 5, iters=200)
    p, q = p / 14.0 ** np.arange(5), q / 14.0 ** np.arange(6)
    print(f"gelu H P: {hexs(p)}\ngelu H Q: {hexs(q)}  ({d:.2g})")


if __name__ == "__main__":
    main()
