"""matmul_to_conv and sink_transposes: channels-last MLPs (ConvNeXt with conv_mlp=False,
MetaFormers) become convs whose bias, activation, layer scale and residual fuse."""
import numpy as np
import pytest

import convengine
from convengine._graph.passes import optimize
from convengine._graph.passes_layout import matmul_to_conv, sink_transposes
from conftest import assert_close, needs_torch, randn
from graphs import G, check, conv, ops


def _convnext_block(g, rng, x, c):
    """dwconv -> (N,H,W,C) -> LayerNorm -> Linear -> GELU -> Linear -> * gamma -> (N,C,H,W)
    -> + x, as timm writes ConvNeXt's block with conv_mlp=False."""
    d = conv(g, rng, x, c, c, k=7, group=c)
    t = g("Transpose", d, perm=[0, 2, 3, 1])
    ln = g("LayerNormalization", t, g.init(rng.uniform(0.5, 1.5, c).astype(np.float32)),
           g.init(randn(rng, c) * 0.1), axis=-1)
    h = g("Add", g("MatMul", ln, g.init(randn(rng, c, 4 * c) / np.sqrt(c))),
          g.init(randn(rng, 4 * c) * 0.1))
    h = g("Gelu", h)
    h = g("Add", g("MatMul", h, g.init(randn(rng, 4 * c, c) / np.sqrt(4 * c))),
          g.init(randn(rng, c) * 0.1))
    h = g("Mul", h, g.init(rng.uniform(0.5, 1.5, c).astype(np.float32)))
    return g("Add", g("Transpose", h, perm=[0, 3, 1, 2]), x)


def test_convnext_block_runs_as_fused_convs(rng):
    g = G(opset=20)
    x = g.input([2, 12, 7, 9])
    y = _convnext_block(g, rng, x, 12)
    model = g.model(y)
    m = check(lambda mm: optimize(mm), model, rng)
    kinds = sorted(n.op_type + ":" + str(n.attrs.get("activation", "-")) for n in m.graph.nodes
                   if n.op_type != "Transpose")
    assert kinds == ["Conv:-", "FusedConv:-", "FusedConv:gelu", "LayerNormalization:-"], kinds
    s = convengine.InferenceSession(model)
    xv = randn(rng, 2, 12, 7, 9)
    from convengine._graph.evaluate import run_numpy
    assert_close(s.run(None, {x: xv})[0], run_numpy(model, {x: xv})[y], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("rank", [3, 4, 5])
def test_matmul_to_conv_ranks(rng, rank):
    g = G()
    shape = [2, 3, 5, 4, 6][:rank - 1] + [7]
    x = g.input(shape)
    y = g("MatMul", x, g.init(randn(rng, 7, 5)))
    m = check(matmul_to_conv, g.model(y), rng)
    assert ops(m) == ["Transpose", "Conv", "Transpose"]


def test_matmul_to_conv_leaves_other_matmuls(rng):
    g = G()
    x, z = g.input([3, 7]), g.input([2, 3, 7])
    y1 = g("MatMul", x, g.init(randn(rng, 7, 5)))                    # 2D: a Gemm already
    y2 = g("MatMul", z, g.input([2, 7, 4]))                         # run-time B
    y3 = g("MatMul", g.input([2, 2, 2, 2, 2, 7]), g.init(randn(rng, 7, 5)))  # rank 6
    m = check(matmul_to_conv, g.model(y1, y2, y3), rng)
    assert ops(m) == ["MatMul", "MatMul", "MatMul"]


def test_sink_transposes_forms(rng):
    g = G()
    x, u = g.input([2, 3, 4, 5]), g.input([2, 3, 4, 5])
    t = g("Transpose", x, perm=[0, 2, 3, 1])
    a = g("Add", t, g.init(randn(rng, 3)))                   # constant of lower rank
    a = g("Relu", a)
    b = g("Mul", a, g("Transpose", u, perm=[0, 2, 3, 1]))    # both Transposes, same perm
    c = g("Clip", b, g.init(np.float32(-1.0)), g.init(np.float32(2.0)))
    y = g("Transpose", c, perm=[0, 3, 1, 2], outputs=["y"])  # cancels
    m = check(sink_transposes, g.model(y), rng)
    assert ops(m) == ["Add", "Relu", "Mul", "Clip"]
    assert m.graph.nodes[-1].outputs == ["y"]


def test_sink_transposes_keeps_shared_and_outputs(rng):
    g = G()
    x = g.input([2, 3, 4, 5])
    t = g("Transpose", x, perm=[0, 2, 3, 1])
    a = g("Relu", t)
    b = g("Sigmoid", t)                                      # t read twice: stays
    m = check(sink_transposes, g.model(a, b), rng)
    assert ops(m) == ["Transpose", "Relu", "Sigmoid"]
    g = G()
    x = g.input([2, 3, 4, 5])
    t = g("Transpose", x, perm=[0, 2, 3, 1], outputs=["t"])  # a graph output: stays
    m = check(sink_transposes, g.model(t, g("Relu", t)), rng)
    assert ops(m) == ["Transpose", "Relu"]
    g = G()
    x = g.input([2, 3, 4, 5])
    y = g("Transpose", g("Transpose", x, perm=[0, 2, 3, 1]), perm=[0, 3, 1, 2], outputs=["y"])
    assert ops(check(sink_transposes, g.model(y), rng)) == ["Transpose", "Transpose"]  # named output
    g = G()
    x = g.input([2, 3, 4, 5])
    y = g("Transpose", g("Transpose", x, perm=[0, 2, 3, 1]), perm=[0, 2, 1, 3])
    m = check(sink_transposes, g.model(y), rng)
    assert ops(m) == ["Transpose"] and m.graph.nodes[0].attrs["perm"] == [0, 3, 2, 1]


@needs_torch
def test_timm_style_linear_mlp_from_torch(rng):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c)
            self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
            self.gamma = nn.Parameter(torch.rand(c) + 0.5)

        def forward(self, x):
            h = self.dw(x).permute(0, 2, 3, 1)
            h = self.fc2(self.act(self.fc1(self.norm(h)))) * self.gamma
            return x + h.permute(0, 3, 1, 2)

    torch.manual_seed(0)
    m = Block(16).eval()
    x = torch.randn(2, 16, 9, 11)
    with torch.no_grad():
        ref = m(x).numpy()
    model = convengine.from_torch(m, x)
    s = convengine.InferenceSession(model)
    assert_close(s.run(None, {"input": x.numpy()})[0], ref, atol=3e-5, rtol=1e-4)
    kinds = [n.op_type for n in s.model.graph.nodes if n.op_type != "Transpose"]
    assert "MatMul" not in kinds and "Add" not in kinds and "Mul" not in kinds, kinds
