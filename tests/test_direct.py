"""Direct paths added for the stem and 3D layers: "igemm_rows" (indirect GEMM over kernel rows
for small c_in) and the direct depthwise kernels in 1D and 3D. Each is checked against the
Cython reference on both ISAs and against torch where installed."""
import numpy as np
import pytest

import convengine.functional as F
from convengine._functional.conv import prepare_conv
from conftest import assert_close, conv_atol, num_threads, randn
from conv_checks import check_conv

# ----- igemm_rows -------------------------------------------------------------------------

# (ndim, N, C, spatial, O, k, stride, padding, dilation): groups 1, dilation_w 1
ROWS = [
    (2, 1, 3, (17, 19), 19, 7, 2, 3, 1),                   # stem-like 7x7 s2 p3
    (2, 3, 3, (23, 21), 64, 7, 2, 3, 1),                   # batch 3, full NR blocks
    (2, 1, 1, (9, 13), 5, (3, 5), 1, (0, 2, 1, 1), 1),     # c_in 1, asymmetric pads
    (2, 2, 5, (11, 10), 7, 3, 3, (2, 0, 1, 2), (2, 1)),    # stride 3, dilation_h 2
    (2, 1, 7, (6, 29), 13, (1, 7), 1, (0, 3), 1),          # 1x7 (Inception), prime channels
    (2, 1, 13, (12, 5), 11, (7, 1), 1, (3, 0), 1),         # 7x1: kw 1, no copy
    (2, 1, 4, (5, 6), 3, 3, 1, 0, 1),                      # no padding: input used in place
    (2, 1, 2, (2, 3), 17, 3, 1, (2, 0, 0, 2), 1),          # smaller than the kernel
    (2, 1, 3, (3, 3), 40, 3, 1, 4, (2, 1)),                # padding wider than the image
    (1, 3, 1, (50,), 8, 9, 2, 4, 1),                       # 1D audio front-end
    (1, 2, 3, (31,), 5, 5, 3, (1, 3), 1),
    (3, 1, 3, (5, 9, 10), 17, 3, 1, 1, 1),                 # C3D stem
    (3, 2, 2, (4, 6, 7), 5, (3, 2, 3), (2, 1, 2), (1, 0, 1, 0, 2, 2), (2, 1, 1)),
]


@pytest.mark.parametrize("case", ROWS, ids=[str(c) for c in ROWS])
def test_igemm_rows(case, rng, isa):
    ndim, N, C, sp, O, k, s, p, d = case
    check_conv(ndim, rng, N, C, sp, O, k, s, p, d, 1, algorithm="igemm_rows")
    assert F.last_algorithm() == "igemm_rows"


def test_igemm_rows_random_shapes(rng, isa):
    for _ in range(25):
        ndim = int(rng.integers(1, 4))
        C = int(rng.choice([1, 2, 3, 5, 8, 17]))
        O = int(rng.choice([1, 7, 16, 33]))
        k = tuple(int(v) for v in rng.integers(1, 6, size=ndim))
        s = tuple(int(v) for v in rng.integers(1, 4, size=ndim))
        d = tuple(int(v) for v in rng.integers(1, 3, size=ndim - 1)) + (1,)
        pads = tuple(int(v) for v in rng.integers(0, 3, size=2 * ndim))
        sp = tuple(int(v) for v in rng.integers(1, 12, size=ndim))
        if any(sp[i] + pads[i] + pads[ndim + i] < d[i] * (k[i] - 1) + 1 for i in range(ndim)):
            continue
        check_conv(ndim, rng, int(rng.choice([1, 3])), C, sp, O, k, s, pads, d, 1,
                   bias=bool(rng.integers(0, 2)), algorithm="igemm_rows")


def test_igemm_rows_selection(rng):
    x = randn(rng, 1, 3, 32, 32)
    F.conv2d(x, randn(rng, 32, 3, 3, 3), None, 1, 1)
    assert F.last_algorithm() == "igemm_rows"
    F.conv2d(x, randn(rng, 64, 3, 7, 7), None, 2, 3)  # ResNet stem
    assert F.last_algorithm() == "igemm_rows"
    F.conv2d(x, randn(rng, 32, 3, 3, 3), None, 2, 1)  # MobileNet stem: rows of 3 taps, stride 2
    assert F.last_algorithm() == "igemm"
    F.conv2d(randn(rng, 1, 64, 9, 9), randn(rng, 64, 64, 3, 3), None, 1, 1)
    assert F.last_algorithm() != "igemm_rows"
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, randn(rng, 6, 1, 3, 3), None, 1, 1, 1, 3, algorithm="igemm_rows")  # groups
    with pytest.raises(ValueError, match="does not apply"):
        F.conv2d(x, randn(rng, 6, 3, 3, 3), None, 1, 1, (1, 2), algorithm="igemm_rows")  # dil_w


def test_igemm_rows_threads_and_clamp(rng):
    x = randn(rng, 2, 3, 40, 37)
    w = randn(rng, 24, 3, 7, 7)
    b = randn(rng, 24)
    op = prepare_conv(2, x.shape, w, b, 2, 3, algorithm="igemm_rows", clamp=(0.0, 2.0))
    with num_threads(1):
        y1 = op.run(x)
    with num_threads(2):
        y2 = op.run(x)
    np.testing.assert_array_equal(y1, y2)
    ref = F.conv2d(x, w, b, 2, 3, algorithm="igemm")
    assert_close(y1, np.clip(ref, 0.0, 2.0), atol=conv_atol(3 * 49))


# ----- depthwise in 1D and 3D ---------------------------------------------------------------

# (ndim, N, C, M, spatial, k, stride, padding, dilation)
DW = [
    (3, 1, 16, 1, (8, 12, 12), 3, 1, 1, 1),
    (3, 3, 13, 1, (5, 7, 9), 3, 2, 1, 1),
    (3, 1, 17, 2, (4, 6, 7), 3, 1, (0, 1, 1, 2, 1, 0), 1),
    (3, 1, 7, 1, (6, 5, 11), (3, 1, 5), (2, 1, 3), (1, 0, 2, 1, 0, 2), (2, 1, 1)),
    (3, 2, 3, 3, (3, 4, 5), (1, 3, 3), 1, 1, 1),
    (3, 1, 8, 1, (2, 2, 3), 3, 1, 2, 2),                   # padding wider than the volume
    (1, 1, 16, 1, (40,), 3, 1, 1, 1),
    (1, 3, 31, 1, (23,), 5, 2, (1, 3), 2),
    (1, 1, 5, 2, (17,), 7, 1, 3, 1),
]


@pytest.mark.parametrize("case", DW, ids=[str(c) for c in DW])
def test_depthwise_1d_3d(case, rng, isa):
    ndim, N, C, M, sp, k, s, p, d = case
    check_conv(ndim, rng, N, C, sp, C * M, k, s, p, d, C, algorithm="depthwise")
    assert F.last_algorithm() == "depthwise"


def test_depthwise_3d_selected(rng):
    check_conv(3, rng, 1, 12, (4, 9, 9), 12, 3, 1, 1, 1, 12)
    assert F.last_algorithm() == "depthwise"
