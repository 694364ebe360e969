"""Every convolution algorithm, forced, on every spatial rank it accepts, against the Cython
reference.

A 2D algorithm that accepts a 3D conv with kd = 1 (or a 1D conv as h = 1) must compute every
depth slice, every image of the batch and every output element: a missed slice once came back
as uninitialised memory (winograd_s2 computed only depth 0). The cases embed 2D layer shapes
into 3D with unit and non-unit depth (strided, padded, kd > 1) and into 1D, at batch 1-3, and
run each algorithm that applies. Poison mode (NaN-filled engine buffers) is on, so an output
element that no kernel writes fails the comparison instead of passing by luck.
"""
import numpy as np
import pytest

import convengine.functional as F
from convengine._functional.conv import prepare_conv
import convengine.reference as R
from convengine import _native
from conftest import assert_close, conv_tol

ALGORITHMS = _native.conv_algorithms()

# 2D layer shapes, one or more per algorithm family:
# name: (c_in, c_out, groups, kernel, stride, dilation, pad_begin, pad_end, (H, W))
BASES = {
    "3x3": (17, 19, 1, (3, 3), (1, 1), (1, 1), (1, 0), (0, 1), (13, 10)),
    "3x3_g2": (32, 34, 2, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), (7, 9)),
    "3x3_d2": (9, 11, 1, (3, 3), (1, 1), (2, 2), (2, 1), (1, 2), (12, 9)),
    "3x3_s2": (5, 7, 1, (3, 3), (2, 2), (1, 1), (1, 0), (2, 1), (9, 11)),
    "stem_3x3_s2": (3, 10, 1, (3, 3), (2, 2), (1, 1), (0, 1), (1, 1), (11, 10)),
    "dw_3x3": (6, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), (9, 13)),
    "dw_3x3_s2_m2": (5, 10, 5, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), (10, 9)),
    "dw_5x5_d2": (7, 7, 7, (5, 5), (1, 1), (2, 2), (4, 3), (2, 4), (11, 12)),
    "dw_7x7": (9, 9, 9, (7, 7), (1, 1), (1, 1), (3, 3), (3, 3), (8, 10)),
    "dw_tiny_image": (5, 5, 5, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), (2, 1)),
    "pw": (13, 17, 1, (1, 1), (1, 1), (1, 1), (0, 0), (0, 0), (5, 7)),
    "pw_g3": (12, 18, 3, (1, 1), (1, 1), (1, 1), (0, 0), (0, 0), (6, 5)),
    "pw_s2": (7, 9, 1, (1, 1), (2, 2), (1, 1), (0, 0), (0, 0), (7, 8)),
    "group_4": (8, 16, 4, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), (7, 9)),
    "group_2": (6, 6, 3, (3, 3), (2, 1), (1, 2), (1, 2), (0, 1), (9, 8)),
    "1x5": (17, 18, 1, (1, 5), (1, 1), (1, 1), (0, 2), (0, 1), (6, 11)),
    "5x1": (16, 17, 1, (5, 1), (1, 1), (1, 1), (2, 0), (1, 0), (12, 5)),
    "1x7_d2": (16, 16, 1, (1, 7), (1, 1), (1, 2), (0, 3), (0, 6), (3, 15)),
    "3x1_g2": (32, 32, 2, (3, 1), (1, 1), (1, 1), (1, 0), (1, 0), (9, 4)),
    "7x7_s2": (3, 8, 1, (7, 7), (2, 2), (1, 1), (3, 3), (2, 3), (15, 14)),
    "8x8_s2": (4, 9, 1, (8, 8), (2, 2), (1, 1), (3, 4), (4, 3), (13, 16)),
    # taps that read only padding (pruned): ASPP-like dilation beyond the map, output borders
    # where no tap lands inside (bias only), grouped
    "aspp_d12": (19, 13, 1, (3, 3), (1, 1), (12, 12), (12, 12), (12, 12), (7, 9)),
    "pad_beyond_kernel": (5, 6, 1, (3, 3), (1, 1), (1, 1), (4, 3), (3, 4), (2, 3)),
    "5x5_d3_g2": (8, 6, 2, (5, 5), (1, 2), (3, 3), (6, 5), (6, 7), (5, 8)),
}

# How a 2D base becomes a conv of another rank:
# "2d", "1d" (the W axis alone), or 3D with depth (D, kd, stride_d, dilation_d, pad_d0, pad_d1).
EMBEDDINGS = {
    "2d": None,
    "1d": "1d",
    "3d_unit": (1, 1, 1, 1, 0, 0),
    "3d_depth3": (3, 1, 1, 1, 0, 0),
    "3d_depth4_s2_pad": (4, 1, 2, 1, 1, 0),
    "3d_kd3": (3, 3, 1, 1, 1, 1),
    "3d_kd2_d2": (5, 2, 2, 2, 0, 1),
}


def case(base, emb, batch):
    """(ndim, x shape, w shape, groups, stride, dilation, padding, reference function)."""
    cin, cout, g, k, s, d, pb, pe, hw = BASES[base]
    e = EMBEDDINGS[emb]
    if e is None:
        return 2, (batch, cin, *hw), (cout, cin // g, *k), g, s, d, (*pb, *pe)
    if e == "1d":
        return 1, (batch, cin, hw[1]), (cout, cin // g, k[1]), g, (s[1],), (d[1],), (pb[1], pe[1])
    D, kd, sd, dd, p0, p1 = e
    return (3, (batch, cin, D, *hw), (cout, cin // g, kd, *k), g, (sd, *s), (dd, *d),
            (p0, *pb, p1, *pe))


FUNCS = {1: (F.conv1d, R.conv1d), 2: (F.conv2d, R.conv2d), 3: (F.conv3d, R.conv3d)}
CASES = [(b, e, 1 + i % 3) for i, (b, e) in enumerate((b, e) for b in BASES for e in EMBEDDINGS)]


def _applies(algo, nd, xs, ws, g, s, d, pad):
    try:
        prepare_conv(nd, xs, np.zeros(ws, np.float32), None, s, pad, d, g, algorithm=algo)
    except ValueError as e:
        if "does not apply" in str(e):
            return False
        raise
    return True


@pytest.fixture(autouse=True)
def poison():
    old = _native.get_debug_nan()
    _native.set_debug_nan(True)
    yield
    _native.set_debug_nan(old)


@pytest.mark.parametrize("base,emb,batch", CASES, ids=[f"{b}-{e}-n{n}" for b, e, n in CASES])
def test_every_algorithm_every_rank(base, emb, batch, isa, rng):
    nd, xs, ws, g, s, d, pad = case(base, emb, batch)
    fast, ref = FUNCS[nd]
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    try:
        expected = ref(x, w, b, stride=s, padding=pad, dilation=d, groups=g)
    except ValueError:
        pytest.skip("no output for this embedding (kernel wider than the padded input)")
    ran = []
    for algo in ALGORITHMS:
        if not _applies(algo, nd, xs, ws, g, s, d, pad):
            continue
        y = fast(x, w, b, stride=s, padding=pad, dilation=d, groups=g, algorithm=algo)
        terms = ws[1] * int(np.prod(ws[2:]))
        assert_close(y, expected, atol=conv_tol(algo, terms), rtol=1e-4,
                     what=f"{algo} {nd}D x{xs} w{ws} s{s} d{d} pad{pad}")
        ran.append(algo)
    assert "igemm" in ran


# Which ranks each algorithm must be reachable on, through the table above: the 3x3 Winograd
# variants and the stride-2 one need two spatial axes; every other algorithm takes all three.
EXPECTED_RANKS = {a: {1, 2, 3} for a in ALGORITHMS}
for _a in ("winograd_f2", "winograd_f4", "winograd_f6", "winograd_s2"):
    EXPECTED_RANKS[_a] = {2, 3}


def test_table_reaches_every_algorithm_on_every_rank():
    reached, deep = {a: set() for a in ALGORITHMS}, {a: False for a in ALGORITHMS}
    for base, emb, batch in CASES:
        nd, xs, ws, g, s, d, pad = case(base, emb, batch)
        for algo in ALGORITHMS:
            try:
                if _applies(algo, nd, xs, ws, g, s, d, pad):
                    reached[algo].add(nd)
                    deep[algo] |= nd == 3 and xs[2] > 1
            except ValueError:
                pass  # no output for this embedding
    assert reached == EXPECTED_RANKS
    assert all(deep.values()), f"not run with depth > 1: {[a for a, v in deep.items() if not v]}"
