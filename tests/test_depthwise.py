"""Direct depthwise convolution (algorithm "depthwise"): groups == C_in, any channel multiplier,
kernel, stride, dilation and asymmetric padding, on both ISAs. Checked against torch (explicit
padding, so asymmetric ONNX pads work) and against the independent igemm path."""
import threading

import numpy as np
import pytest

import convengine.functional as F
from convengine._functional.conv import prepare_conv
from conftest import HAVE_TORCH, assert_close, conv_atol, needs_torch, num_threads, randn

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF


def onnx_pads(padding):
    """padding as accepted by conv2d (int, (pH, pW) or (top, left, bottom, right)) -> 4-tuple."""
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


def torch_depthwise(x, w, b, stride, padding, dilation, C):
    top, left, bottom, right = onnx_pads(padding)
    xt = TF.pad(torch.from_numpy(x), (left, right, top, bottom))
    yt = TF.conv2d(xt, torch.from_numpy(w), None if b is None else torch.from_numpy(b), stride, 0,
                   dilation, C)
    return yt.numpy()


def check_depthwise(rng, N, C, M, hw, k, stride=1, padding=0, dilation=1, bias=True,
                    algorithm="depthwise"):
    kh, kw = (k, k) if isinstance(k, int) else k
    x = randn(rng, N, C, *hw)
    w = randn(rng, C * M, 1, kh, kw)
    b = randn(rng, C * M) if bias else None
    y = F.conv2d(x, w, b, stride, padding, dilation, groups=C, algorithm=algorithm)
    assert F.last_algorithm() == "depthwise"
    atol = conv_atol(kh * kw)
    ref = F.conv2d(x, w, b, stride, padding, dilation, groups=C, algorithm="igemm")
    assert F.last_algorithm() == "igemm"
    assert_close(y, ref, atol=atol, what="vs igemm")
    if HAVE_TORCH:
        assert_close(y, torch_depthwise(x, w, b, stride, padding, dilation, C), atol=atol,
                     what="vs torch")
    return y


# (N, C, M, (H, W), k, stride, padding, dilation)
CASES = [
    # the specialised 3x3 kernels (stride == dilation, stride == 2 * dilation) and their borders
    (1, 144, 1, (28, 28), 3, 1, 1, 1),
    (1, 144, 1, (28, 28), 3, 2, 1, 1),
    (3, 17, 1, (13, 11), 3, 1, 1, 1),
    (1, 31, 1, (13, 11), 3, 2, (0, 1, 2, 1), 1),
    (1, 13, 1, (13, 11), 3, 2, 2, 2),            # stride == dilation == 2: sliding kernel
    (1, 16, 1, (13, 11), 3, (1, 2), 2, (2, 1)),  # stride 2 == 2 * dilation 1 horizontally only
    (1, 8, 1, (28, 28), 3, 1, 0, 1),             # no padding: interior only
    (1, 7, 1, (5, 7), 3, 1, 1, 1),
    (3, 3, 1, (2, 3), 3, 1, 1, 1),               # smaller than the kernel span
    (1, 1, 1, (1, 1), 3, 1, 1, 1),
    (1, 13, 1, (13, 11), 3, 3, (0, 1, 2, 1), 1),  # stride 3: generic kernel
    (1, 8, 1, (5, 150), 3, 1, 1, 1),             # rows longer than one interior segment
    (1, 24, 1, (4, 150), 3, 2, (0, 1, 2, 1), 1),
    # 5x5 and 7x7: row-sliding (stride == dilation, and 5x5 at stride == 2 * dilation) with
    # full 8-pixel blocks and leftovers, blocked (other strides) kernels
    (1, 144, 1, (13, 11), 5, 1, 2, 1),
    (1, 17, 1, (28, 28), 5, 1, 2, 1),
    (1, 16, 1, (28, 28), 5, 2, 4, 2),
    (3, 13, 1, (13, 28), 7, 1, 3, 1),
    (1, 9, 1, (28, 28), 7, 2, 6, 2),
    (1, 17, 1, (28, 28), 5, 2, (0, 1, 2, 1), 1),
    (2, 37, 1, (41, 45), 5, 2, 2, 1),             # 5x5s2: 21 pixels, two blocks and a tail of 5
    (1, 20, 1, (30, 29), 5, (2, 4), (1, 4, 2, 3), (1, 2)),
    (1, 19, 1, (28, 28), 5, 3, 2, 1),             # stride 3: blocked 5x5
    (3, 16, 1, (5, 7), 5, 1, 2, 2),
    (1, 31, 1, (13, 11), 7, 1, 3, 1),
    (1, 8, 1, (5, 7), 7, 2, 3, 1),
    (1, 3, 1, (2, 3), 7, 1, 3, 1),
    # odd shapes: 1x1, 3x5, 4x4
    (1, 13, 1, (5, 7), 1, 1, 0, 1),
    (3, 17, 1, (13, 11), 1, 2, (0, 1, 2, 1), 1),
    (1, 144, 1, (5, 7), (3, 5), 1, (1, 2), 1),
    (1, 7, 1, (13, 11), (3, 5), 2, (0, 1, 2, 1), (2, 1)),
    (1, 16, 1, (13, 11), 4, 1, (1, 2, 2, 1), 1),  # even kernel: 'same'-like asymmetric pads
    (3, 31, 1, (5, 7), 4, 3, (2, 2, 1, 1), 2),
    # channel multiplier
    (1, 8, 2, (13, 11), 3, 1, 1, 1),
    (3, 3, 2, (28, 28), 3, 2, 1, 1),
    (1, 13, 3, (5, 7), 3, 1, (0, 1, 2, 1), 1),
    (1, 1, 3, (13, 11), 5, 2, 2, 1),             # c_in == 1: a 1 -> 3 channel conv
    (1, 17, 2, (13, 11), 7, 1, 3, 2),
    (3, 7, 3, (2, 3), 3, 1, 1, 1),
    (1, 31, 2, (5, 7), (3, 5), 3, (0, 1, 2, 1), 1),
    (1, 144, 2, (13, 11), 4, 2, (1, 2, 2, 1), 1),
    (1, 16, 3, (1, 1), 1, 1, 0, 1),
    (1, 144, 3, (5, 40), 7, 1, 3, 1),            # few rows, much work: channel-chunked tasks
    # padding wider than the image, output larger than the input
    (1, 13, 1, (2, 3), 3, 1, 4, 2),
    (1, 8, 2, (1, 1), 3, 1, (2, 0, 0, 2), 1),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_depthwise(case, rng, isa):
    N, C, M, hw, k, s, p, d = case
    check_depthwise(rng, N, C, M, hw, k, s, p, d)


# Edges of the 16-channel strips (AVX-512) and 8-channel ones (AVX2, scalar): channel counts
# around multiples of 16 with multipliers 1-3 (a strip's output lanes then read at most 8 input
# channels, the last strip partly), through every row kernel the driver picks and the border
# kernel: (k, stride, padding, dilation) and the kernel it selects. C = 16, 32, 48 run the
# AVX-512 kernels' zmm path (pixel strides a multiple of 16 floats), the others their -fma3
# twin; tests/c/test_dwconv_microkernels.cpp covers zmm channel tails (padded pixel strides).
TILE_EDGE_KERNELS = [
    (3, 1, (1, 0, 2, 1), 1),   # 3x3s1
    (3, 2, 2, 2),              # 3x3s1 (stride == dilation == 2)
    (3, 2, (0, 1, 2, 1), 1),   # 3x3s2
    (3, 4, (2, 3, 1, 2), 2),   # 3x3s2 (stride == 2 * dilation == 4)
    (3, 1, (2, 1, 1, 2), 2),   # kxk (stride 1, dilation 2)
    (5, 1, (2, 1, 2, 3), 1),   # 5x5s1
    (5, 2, 4, 2),              # 5x5s1 (stride == dilation == 2)
    (5, 2, (0, 2, 1, 2), 1),   # 5x5s2
    (5, 4, (4, 3, 4, 5), 2),   # 5x5s2 (stride == 2 * dilation == 4)
    (5, 3, (0, 2, 1, 2), 1),   # 5x5, any stride
    (5, 1, (4, 3, 4, 5), 2),   # 5x5, dilation 2
    (7, 1, (3, 2, 3, 4), 1),   # 7x7s1
    (7, 2, 3, 1),              # kxk
    ((3, 5), 1, (1, 2), 1),    # kxk
    (1, 2, (0, 1, 1, 0), 1),   # kxk 1x1
]


@pytest.mark.parametrize("M", [1, 2, 3])
@pytest.mark.parametrize("C", [1, 15, 16, 17, 31, 32, 33, 47, 48])
def test_depthwise_tile_edges(C, M, rng, isa):
    """Batch 2, rows of 29 pixels: interior runs long enough for the row-sliding blocks (8
    pixels) and every leftover block size (4, 2, 1), and border pixels on both sides."""
    for k, s, p, d in TILE_EDGE_KERNELS:
        try:
            check_depthwise(rng, 2, C, M, (7, 29), k, s, p, d, bias=bool(C % 2))
        except AssertionError as e:
            raise AssertionError(f"k={k} stride={s} pads={p} dilation={d}: {e}") from None


def test_depthwise_random_shapes(rng, isa):
    """A seeded sweep over the whole parameter space (one test, many shapes)."""
    for _ in range(40):
        C = int(rng.choice([1, 3, 7, 8, 13, 16, 17, 31, 144]))
        M = int(rng.choice([1, 1, 2, 3]))
        kh, kw = (int(v) for v in rng.integers(1, 8, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
        pads = tuple(int(v) for v in rng.integers(0, 4, size=4))
        H, W = (int(v) for v in rng.integers(1, 30, size=2))
        if H + pads[0] + pads[2] < dilation[0] * (kh - 1) + 1:
            continue
        if W + pads[1] + pads[3] < dilation[1] * (kw - 1) + 1:
            continue
        check_depthwise(rng, int(rng.choice([1, 3])), C, M, (H, W), (kh, kw), stride, pads,
                        dilation, bias=bool(rng.integers(0, 2)))


@pytest.mark.parametrize("C,M,k,s", [(16, 1, 3, 1), (24, 1, 3, 2), (12, 2, 5, 1), (5, 1, 7, 2)])
def test_auto_selects_depthwise(rng, C, M, k, s):
    y = check_depthwise(rng, 2, C, M, (9, 10), k, s, k // 2, 1, algorithm="auto")
    assert y.shape == (2, C * M, (9 + 2 * (k // 2) - k) // s + 1, (10 + 2 * (k // 2) - k) // s + 1)


def test_not_selected_for_other_convs(rng):
    x = randn(rng, 1, 8, 9, 9)
    F.conv2d(x, randn(rng, 8, 4, 3, 3), None, 1, 1, 1, groups=2)  # grouped, not depthwise
    assert F.last_algorithm() != "depthwise"
    with pytest.raises(ValueError):
        F.conv2d(x, randn(rng, 16, 4, 3, 3), None, 1, 1, 1, groups=2, algorithm="depthwise")
    F.conv_transpose2d(x, randn(rng, 8, 1, 3, 3), None, 1, 1, groups=8)
    assert F.last_algorithm() != "depthwise"


@pytest.mark.parametrize("C,M,k,s", [(19, 1, 3, 1), (19, 1, 3, 2), (10, 1, 5, 1), (9, 2, 3, 1),
                                     (11, 1, 4, 3)])
def test_fused_clamp(rng, isa, C, M, k, s):
    """The activation clamp is fused into every kernel's epilogue (interior and border)."""
    x = randn(rng, 2, C, 12, 9)
    w = randn(rng, C * M, 1, k, k)
    b = randn(rng, C * M)
    op = prepare_conv(2, x.shape, w, b, s, (1, 0, 2, 1), 1, C, algorithm="depthwise",
                      clamp=(-0.5, 1.5))
    assert op.algorithm == "depthwise"
    y = op.run(x)
    ref = F.conv2d(x, w, b, s, (1, 0, 2, 1), 1, groups=C, algorithm="igemm")
    assert_close(y, np.clip(ref, -0.5, 1.5), atol=conv_atol(k * k))
    assert y.min() >= -0.5 and y.max() <= 1.5


def test_prepared_op_batch_threads_and_concurrency(rng):
    """One prepared op: any batch size, the same bits for 1 and 2 threads, and concurrent run()
    calls from several Python threads (forward is const)."""
    C = 40
    w = randn(rng, C * 2, 1, 3, 3)
    b = randn(rng, C * 2)
    x = randn(rng, 3, C, 31, 32)  # > 600K MACs: 2 threads really split the rows
    op = prepare_conv(2, (1, C, 31, 32), w, b, 1, 1, 1, C, algorithm="depthwise")
    with num_threads(1):
        y1 = op.run(x)
    with num_threads(2):
        y2 = op.run(x)
    np.testing.assert_array_equal(y1, y2)
    assert_close(y1, F.conv2d(x, w, b, 1, 1, 1, groups=C, algorithm="igemm"), atol=conv_atol(9))
    assert_close(op.run(x[1:2]), y1[1:2], atol=0)

    results = [None] * 4
    def work(i):
        results[i] = op.run(x)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, y1)


@needs_torch
def test_mobilenet_block_vs_torch(rng, isa):
    """A MobileNet-v2 sized depthwise layer, compared with torch only."""
    x = randn(rng, 1, 96, 28, 28)
    w = randn(rng, 96, 1, 3, 3)
    b = randn(rng, 96)
    for s in (1, 2):
        y = F.conv2d(x, w, b, s, 1, 1, groups=96)
        assert F.last_algorithm() == "depthwise"
        assert_close(y, torch_depthwise(x, w, b, s, 1, 1, 96), atol=conv_atol(9))


@pytest.mark.parametrize("C,M,k,s,hw", [(128, 1, 3, 1, (7, 9)), (256, 1, 3, 2, (9, 6)),
                                         (128, 2, 5, 1, (6, 6)), (384, 1, 3, 1, (1, 5))])
def test_padded_pixel_stride_in_a_graph(rng, isa, C, M, k, s, hw):
    """In a session, the input and output of a depthwise conv with C % 128 == 0 channels get a
    pixel stride of C + 16 (L1 set aliasing): pointwise -> depthwise -> pointwise + residual,
    against the numpy interpreter, 1 and 2 threads."""
    import convengine
    from convengine._graph import planner
    from convengine._graph.evaluate import run_numpy
    from convengine.model import Graph, Model, Node, ValueInfo
    cin = 24
    inits = {"w1": randn(rng, C, cin, 1, 1) / 5, "b1": randn(rng, C),
             "wd": randn(rng, C * M, 1, k, k) / 3, "w2": randn(rng, cin, C * M, 1, 1) / 10}
    nodes = [Node("Conv", ["x", "w1", "b1"], ["a"], "pw1"), Node("Relu", ["a"], ["ar"], "r1"),
             Node("Conv", ["ar", "wd"], ["d"], "dw", {"group": C, "strides": [s, s],
                                                     "pads": [k // 2] * 4}),
             Node("Clip", ["d"], ["dc"], "r2", {"min": 0.0, "max": 6.0}),
             Node("Conv", ["dc", "w2"], ["y"], "pw2")]
    x = randn(rng, 2, cin, *hw)
    if s == 1:
        nodes.append(Node("Add", ["y", "x"], ["z"], "res"))
    out = "z" if s == 1 else "y"
    m = Model(Graph(nodes, [ValueInfo("x", list(x.shape))], [ValueInfo(out, None)], inits), opset=6)
    want = run_numpy(m, {"x": x})[out]
    raw = planner.Planner(m, {"x": x.shape})  # unoptimised: every tensor is a node output
    raw.known_shapes, raw.input_index, raw.n_inputs, raw.slot_parents = {}, {"x": 0}, 1, set()
    raw.run()
    assert raw.vals["ar"].strides[1:] == (1, hw[1] * (C + 16), C + 16)
    assert raw.vals["d"].strides[1] == 1 and raw.vals["d"].strides[3] == C * M + 16
    for threads in (1, 2):
        with num_threads(threads):
            got = convengine.InferenceSession(m).run(None, {"x": x})[0]
        assert_close(got, want, atol=1e-4)


# Small images whose border pixels x taps reach 2.5x a row's pixels run on a zero-padded copy
# of 64-channel chunks (fewer channels per chunk for larger images, up to 256 KB per copy):
# chunks with channel tails, several chunks and images, strides, dilations, asymmetric pads,
# 1D, and a 7x7 kernel at 56x56 (16-channel chunks); threads 1 and 2.
PADDED_CASES = [
    (1, 1152, 1, (7, 7), 5, 1, 2, 1),
    (3, 70, 1, (7, 7), 5, 1, 2, 1),
    (2, 130, 1, (7, 7), 3, 1, 1, 1),
    (1, 200, 1, (7, 7), 7, 1, 3, 1),
    (2, 97, 1, (14, 14), 5, 2, (2, 1, 1, 2), 1),
    (1, 33, 1, (9, 10), 5, 1, (3, 0, 1, 4), 2),
    (1, 48, 1, (5, 28), 7, (1, 2), (1, 3, 2, 3), 1),
    (2, 24, 1, (1, 9), (1, 7), 1, (0, 3, 0, 2), 1),
    (1, 96, 1, (56, 56), 7, 1, 3, 1),
    (1, 17, 1, (28, 28), 5, 1, 2, 1),
    (1, 20, 1, (14, 14), 31, 1, 15, 1),           # RepLKNet's 31x31: more rows than 16
    (2, 19, 1, (7, 9), 13, 1, (6, 5, 7, 6), 1),
]


@pytest.mark.parametrize("case", PADDED_CASES, ids=[str(c) for c in PADDED_CASES])
@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_small_images_padded_copy(case, threads, rng, isa):
    N, C, M, hw, k, s, p, d = case
    with num_threads(threads):
        check_depthwise(rng, N, C, M, hw, k, s, p, d, bias=bool(C % 2))


@pytest.mark.parametrize("C,k,hw", [(70, 5, (7, 7)), (144, 3, (7, 7)), (32, 7, (28, 28))])
def test_depthwise_padded_copy_with_residual_and_clip(rng, isa, C, k, hw):
    """Depthwise + Add (residual) + Clip fused in a session, small images, 1 and 2 threads,
    batch 2, against the numpy interpreter."""
    import convengine
    from convengine._graph.evaluate import run_numpy
    from convengine.model import Graph, Model, Node, ValueInfo
    inits = {"wd": randn(rng, C, 1, k, k) / 3, "bd": randn(rng, C)}
    nodes = [Node("Conv", ["x", "wd", "bd"], ["d"], "dw", {"group": C, "pads": [k // 2] * 4}),
             Node("Add", ["d", "x"], ["r"], "res"),
             Node("Clip", ["r"], ["y"], "clip", {"min": -0.5, "max": 1.0})]
    x = randn(rng, 2, C, *hw)
    m = Model(Graph(nodes, [ValueInfo("x", list(x.shape))], [ValueInfo("y", None)], inits),
              opset=6)
    want = run_numpy(m, {"x": x})["y"]
    for threads in (1, 2):
        with num_threads(threads):
            got = convengine.InferenceSession(m).run(None, {"x": x})[0]
        assert_close(got, want, atol=conv_atol(k * k))
