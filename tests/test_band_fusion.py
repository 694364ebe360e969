"""Row-band fusion of 1x1 -> depthwise -> 1x1 conv chains and depthwise -> 1x1 pairs
(engine/steps_conv.cpp, fuse_conv_bands): which chains fuse, and that fused plans compute what the unfused plan and the
numpy reference compute, over awkward shapes (odd and prime channels, kernels 3/5/7, strides,
dilation, asymmetric padding, tall, flat and one-row images, batch 2, residual, activations that
need the epilogue pass) at 1-3 threads (batch 1-3: images split into row strips so that
images x strips is a multiple of the threads)."""
import numpy as np
import pytest

import convengine as ce
from convengine._graph.evaluate import run_numpy
from conftest import assert_close, num_threads, randn
from graphs import G, conv

# (cin, cexp, cout, (H, W), k, stride, dilation, pads, batch, residual, act)
# The expanded tensor of one image is at least 512 KB in each (the fusion threshold).
CASES = [
    (16, 96, 24, (112, 112), 3, 2, 1, None, 1, False, "Clip"),       # MobileNetV2 block 2
    (7, 37, 7, (61, 59), 3, 1, 1, None, 2, True, "Clip"),            # odd channels, batch 2
    (5, 41, 9, (57, 60), 5, 2, 1, [1, 2, 2, 1], 1, False, "Clip"),   # 5x5 s2, asymmetric pads
    (8, 33, 8, (70, 73), 3, 1, 2, [2, 2, 2, 2], 1, True, "Clip"),    # dilation 2
    (3, 17, 3, (96, 100), 7, 1, 1, None, 1, True, "HardSwish"),      # 7x7, epilogue pass
    (4, 64, 4, (300, 9), 3, 1, 1, None, 1, True, "Relu"),            # tall and thin: many bands
    (4, 48, 4, (1, 3000), 3, 1, 1, None, 1, True, "Clip"),           # one row
    (6, 29, 11, (103, 51), 3, 2, 1, [0, 1, 1, 0], 2, False, "Sigmoid"),
    (5, 64, 5, (45, 47), 3, 1, 1, None, 3, True, "Relu"),           # batch 3: strips per image
]


def act(g, x, kind):
    if kind == "Clip":
        return g("Clip", x, g.init(np.float32(0)), g.init(np.float32(6)))
    return g(kind, x)


def block(rng, cin, cexp, cout, hw, k, stride, dilation, pads, batch, residual, kind,
          expanded_output=False, dw_reused=False):
    g = G()
    x = g.input([batch, cin, *hw], "x")
    pads = pads if pads is not None else [dilation * (k // 2)] * 4
    e = act(g, conv(g, rng, x, cin, cexp, k=1, pads=[0, 0, 0, 0]), kind)
    d = act(g, conv(g, rng, e, cexp, cexp, k=k, group=cexp, pads=pads,
                    strides=[stride, stride], dilations=[dilation, dilation]), kind)
    y = conv(g, rng, d, cexp, cout, k=1, pads=[0, 0, 0, 0])
    if residual:
        y = g("Add", y, x)
    outs = [y]
    if expanded_output:
        outs.append(e)
    if dw_reused:
        outs.append(g("ReduceMean", d, g.init(np.array([1], np.int64)), keepdims=0))
    return g.model(*outs)


def fused_chains(session):
    return sum("bands: + depthwise + gemm" in (r["algorithm"] or "") for r in session.describe())


def fused_pairs(session):
    return sum("bands: + gemm" in (r["algorithm"] or "") for r in session.describe())


def sessions(model, monkeypatch):
    monkeypatch.setenv("CONVENGINE_FUSE_BANDS", "0")
    plain = ce.InferenceSession(model)
    monkeypatch.delenv("CONVENGINE_FUSE_BANDS")
    return plain, ce.InferenceSession(model)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=[str(c[:7]) for c in CASES])
def test_fused_chain_matches_unfused_and_reference(case, threads, rng, isa, monkeypatch):
    m = block(rng, *case)
    x = randn(rng, case[8], case[0], *case[3])
    with num_threads(threads):
        plain, fused = sessions(m, monkeypatch)
        assert fused_chains(plain) == 0
        assert fused_chains(fused) == 1, [r["algorithm"] for r in fused.describe()]
        (y,) = fused.run(None, {"x": x})
        (y0,) = plain.run(None, {"x": x})
    # The same sums: only a 1-row tile's K-quarters (gemm row kernel) may round differently.
    assert_close(y, y0, atol=1e-5, rtol=1e-5, what="fused vs unfused")
    (want,) = run_numpy(m, {"x": x}).values()
    assert_close(y, want, atol=1e-4, rtol=1e-4, what="fused vs reference")


# Depthwise -> pointwise pairs (no expand conv): (c, (H, W), k, stride, dilation, pads, batch,
# act); the pointwise conv adds the block's input back, so the input outlives the pair (a pair
# whose output the arena places over its input stays unfused). Depthwise output >= 512 KB.
PAIRS = [
    (32, (112, 112), 3, 1, 1, None, 1, "Relu"),
    (19, (90, 77), 5, 1, 2, [4, 3, 4, 5], 2, "Clip"),
    (41, (1, 4001), 3, 1, 1, None, 1, "HardSwish"),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", PAIRS, ids=[str(c[:5]) for c in PAIRS])
def test_fused_pair_matches_unfused_and_reference(case, threads, rng, isa, monkeypatch):
    c, hw, k, stride, dilation, pads, batch, kind = case
    g = G()
    x = g.input([batch, c, *hw], "x")
    pads = pads if pads is not None else [dilation * (k // 2)] * 4
    d = act(g, conv(g, rng, x, c, c, k=k, group=c, pads=pads, strides=[stride, stride],
                    dilations=[dilation, dilation]), kind)
    m = g.model(g("Add", conv(g, rng, d, c, c, k=1, pads=[0, 0, 0, 0]), x))
    xv = randn(rng, batch, c, *hw)
    with num_threads(threads):
        plain, fused = sessions(m, monkeypatch)
        assert (fused_pairs(plain), fused_pairs(fused)) == (0, 1), [r["algorithm"] for r in fused.describe()]
        (y,), (y0,) = fused.run(None, {"x": xv}), plain.run(None, {"x": xv})
    assert_close(y, y0, atol=1e-5, rtol=1e-5, what="fused pair vs unfused")
    (want,) = run_numpy(m, {"x": xv}).values()
    assert_close(y, want, atol=1e-4, rtol=1e-4, what="fused pair vs reference")


def test_intermediates_read_elsewhere_are_not_fused(rng, monkeypatch):
    x = randn(rng, 1, 16, 112, 112)
    for kw in ({"expanded_output": True}, {"dw_reused": True}):
        m = block(rng, 16, 96, 24, (112, 112), 3, 2, 1, None, 1, False, "Clip", **kw)
        plain, fused = sessions(m, monkeypatch)
        assert fused_chains(fused) == 0, kw
        got, want = fused.run(None, {"x": x}), plain.run(None, {"x": x})
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


def test_small_expanded_tensors_are_not_fused(rng):
    # 96 channels at 14x14: 75 KB per image, below the threshold (measured no faster fused).
    m = block(rng, 16, 96, 16, (14, 14), 3, 1, 1, None, 1, True, "Clip")
    assert fused_chains(ce.InferenceSession(m)) == 0


# The 1x1 weights of a chain (both convs) or pair must fit in 256 KB = 65536 floats: each band
# reads them again (Xception's 728-channel blocks ran 8% slower fused).
@pytest.mark.parametrize("c,fuses", [(128, True), (129, False)])
def test_chains_with_large_pointwise_weights_are_not_fused(c, fuses, rng, monkeypatch):
    m = block(rng, c, 256, c, (24, 24), 3, 1, 1, None, 1, True, "Relu")  # 2 x c x 256 floats
    x = randn(rng, 1, c, 24, 24)
    plain, fused = sessions(m, monkeypatch)
    assert fused_chains(fused) == int(fuses)
    assert_close(fused.run(None, {"x": x})[0], plain.run(None, {"x": x})[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("c,fuses", [(256, True), (257, False)])
def test_pairs_with_large_pointwise_weights_are_not_fused(c, fuses, rng, monkeypatch):
    g = G()
    x = g.input([1, c, 24, 24], "x")
    d = act(g, conv(g, rng, x, c, c, k=3, group=c, pads=[1, 1, 1, 1]), "Relu")
    m = g.model(g("Add", conv(g, rng, d, c, c, k=1, pads=[0, 0, 0, 0]), x))  # c x c floats
    xv = randn(rng, 1, c, 24, 24)
    plain, fused = sessions(m, monkeypatch)
    assert fused_pairs(fused) == int(fuses)
    assert_close(fused.run(None, {"x": xv})[0], plain.run(None, {"x": xv})[0], atol=1e-5, rtol=1e-5)


def test_zoo_mobilenet_v2_fuses_and_matches(rng, monkeypatch):
    from convengine import zoo
    m = zoo.get("mobilenet_v2")
    x = randn(rng, 1, 3, 224, 224)
    plain, fused = sessions(m, monkeypatch)
    assert fused_chains(fused) >= 5  # the blocks at 112x112, 56x56 and 28x28
    assert fused_pairs(fused) == 1    # block 0: depthwise 32 channels at 112x112 -> 16
    name = fused.get_inputs()[0].name
    (y,), (y0,) = fused.run(None, {name: x}), plain.run(None, {name: x})
    assert_close(y, y0, atol=1e-4, rtol=1e-4, what="mobilenet_v2 fused vs unfused")
