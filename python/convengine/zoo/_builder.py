"""A small graph builder for the zoo: layer calls that read like the papers, shape tracking,
parameter and MAC counting, and seeded random weights generated only when the model is built.

Layer names follow torchvision's state_dict keys where torchvision has the network (so
``<layer>.weight``, ``<bn>.running_mean``, ...), which lets the tests load the same tensors into
the torch modules. Constant tensors that are not parameters (Clip bounds, Reshape shapes, split
sizes, Resize scales) are named ``const.*``.

Weights: He-normal (std sqrt(2 / fan_in)) scaled by 1 / rms of the layer's input, where the rms
is a data-free running estimate (``_m``: each tensor's estimated (mean, second moment) for a
unit-normal input, carried through conv, BN, ReLU as for a Gaussian, pools, add, concat and
gates). A conv or gemm therefore outputs second moment ~2 whatever came before, so nets without
BatchNorm (AlexNet, SqueezeNet, DeepFace, C3D, TCN) keep activations O(1) as well. BatchNorm
statistics are drawn around the estimated mean and variance of their input (running_var = var *
U(0.5, 2), running_mean = mean + N(0, 0.2 sd)), gamma = U(0.5, 1.5), beta = N(0, 0.2):
non-trivial, so folding is exercised, and the normalised output stays O(1).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np

from .._graph.rules import span, transposed_out, window_out
from ..model import CUSTOM_DOMAIN, Graph, Model, Node, ValueInfo


@dataclasses.dataclass
class _Init:
    shape: tuple
    kind: str            # "normal" (std), "uniform" (lo, hi), "value"
    role: str            # "param", "buffer" (BN statistics), "const"
    a: float = 0.0
    b: float = 0.0
    value: np.ndarray | None = None


def _tuple(v, n):
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ValueError(f"expected {n} values, got {v!r}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


class Builder:
    def __init__(self, name: str, batch="N"):
        self.name = name
        self.batch = batch
        self.nodes: list[Node] = []
        self.inits: dict[str, _Init] = {}
        self.shapes: dict[str, tuple] = {}   # tensor -> (C, *spatial), batch excluded
        self._m: dict[str, float] = {}
        self.inputs: list[ValueInfo] = []
        self.macs = 0
        self.opset = 17
        self._scope: list[str] = []
        self._count: dict[str, int] = {}
        self._names: set[str] = set()

    # -- naming ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, name):
        self._scope.append(str(name))
        try:
            yield
        finally:
            self._scope.pop()

    def _full(self, local):
        return ".".join(self._scope + [str(local)]) if local is not None else None

    def _auto(self, op):
        base = self._full(op.lower())
        k = self._count.get(base, 0)
        self._count[base] = k + 1
        return f"{base}_{k}"

    def _node(self, op, inputs, name, attrs=None, domain="", n_out=1, shape=None, m=None):
        """m: the output's estimated (mean, second moment), or a second moment alone (mean 0);
        a list of them for several outputs."""
        nname = self._full(name) if name is not None else self._auto(op)
        if nname in self._names:
            raise ValueError(f"duplicate layer name {nname!r}")
        self._names.add(nname)
        outs = [nname] if n_out == 1 else [f"{nname}:{i}" for i in range(n_out)]
        self.nodes.append(Node(op, list(inputs), outs, nname, dict(attrs or {}), domain))
        if shape is not None:
            for o, s, mm in zip(outs, shape if n_out > 1 else [shape],
                                m if n_out > 1 else [m]):
                self.shapes[o] = tuple(s)
                self._m[o] = (0.0, float(mm)) if isinstance(mm, (int, float)) else \
                    (float(mm[0]), float(mm[1]))
        return outs[0] if n_out == 1 else outs

    def _param(self, name, shape, kind, role="param", a=0.0, b=0.0):
        if name in self.inits:
            raise ValueError(f"duplicate initializer {name!r}")
        self.inits[name] = _Init(tuple(int(s) for s in shape), kind, role, float(a), float(b))
        return name

    def const(self, name, value, dtype=np.float32):
        full = f"const.{name}"
        v = np.asarray(value, dtype=dtype)
        if full in self.inits:
            if not np.array_equal(self.inits[full].value, v):
                raise ValueError(f"constant {full!r} redefined")
            return full
        self.inits[full] = _Init(v.shape, "value", "const", value=v)
        return full

    def shape(self, x):
        return self.shapes[x]

    def channels(self, x):
        return self.shapes[x][0]

    # -- graph ends -----------------------------------------------------------------------------
    def input(self, shape, name="input"):
        self.inputs.append(ValueInfo(name, [self.batch, *shape], "float32"))
        self.shapes[name] = tuple(shape)
        self._m[name] = (0.0, 1.0)
        return name

    # -- convolutions ---------------------------------------------------------------------------
    def _window(self, spatial, k, stride, pads, dilation, ceil=False):
        r = len(spatial)
        out = []
        for i in range(r):
            o = window_out(spatial[i], span(k[i], dilation[i]), stride[i], pads[i], pads[i + r],
                           ceil)
            if o < 1:
                raise ValueError(f"{self.name}: window {k} does not fit input {spatial}")
            out.append(o)
        return tuple(out)

    def _conv_geometry(self, x, k, stride, pad, dilation):
        c, *sp = self.shapes[x]
        r = len(sp)
        k = _tuple(k, r)
        stride = _tuple(stride, r)
        dilation = _tuple(dilation, r)
        if pad is None:
            pad = tuple(dilation[i] * (k[i] - 1) // 2 for i in range(r))
        if isinstance(pad, (list, tuple)) and len(pad) == 2 * r:
            pads = tuple(int(p) for p in pad)
        else:
            p = _tuple(pad, r)
            pads = p + p
        return c, tuple(sp), k, stride, dilation, pads

    def _he(self, name, shape, fan_in, m_in, gain=2.0):
        std = math.sqrt(gain / (fan_in * max(m_in, 1e-3)))
        return self._param(name, shape, "normal", a=std)

    def conv(self, x, cout, k, stride=1, pad=None, dilation=1, groups=1, bias=False,
             name="conv", gain=2.0):
        """Conv (ONNX): k, stride, dilation int or per-axis; pad int, per-axis, or ONNX
        begin+end list; None = 'same' for stride 1."""
        cin, sp, k, stride, dilation, pads = self._conv_geometry(x, k, stride, pad, dilation)
        if cin % groups or cout % groups:
            raise ValueError(f"{name}: channels {cin}->{cout} not divisible by groups {groups}")
        out = self._window(sp, k, stride, pads, dilation)
        full = self._full(name)
        fan_in = cin // groups * math.prod(k)
        ins = [x, self._he(f"{full}.weight", (cout, cin // groups, *k), fan_in, self._m[x][1],
                           gain)]
        if bias:
            ins.append(self._param(f"{full}.bias", (cout,), "normal", a=0.1))
        self.macs += cout * fan_in * math.prod(out)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads),
                 "dilations": list(dilation), "group": groups}
        return self._node("Conv", ins, name, attrs, shape=(cout, *out), m=gain)

    def conv_transpose(self, x, cout, k, stride=1, pad=0, output_padding=0, groups=1,
                       bias=True, name="up"):
        cin, sp, k, stride, dilation, pads = self._conv_geometry(x, k, stride, pad, 1)
        r = len(sp)
        opad = _tuple(output_padding, r)
        out = tuple(transposed_out(sp[i], k[i], stride[i], pads[i], pads[i + r], opad[i])
                    for i in range(r))
        full = self._full(name)
        eff_fan = cin // groups * math.prod(k) / math.prod(stride)
        ins = [x, self._he(f"{full}.weight", (cin, cout // groups, *k), eff_fan, self._m[x][1])]
        if bias:
            ins.append(self._param(f"{full}.bias", (cout,), "normal", a=0.1))
        self.macs += cin * (cout // groups) * math.prod(k) * math.prod(sp)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads),
                 "group": groups}
        if any(opad):
            attrs["output_padding"] = list(opad)
        return self._node("ConvTranspose", ins, name, attrs, shape=(cout, *out), m=2.0)

    def deform_conv(self, x, offset, mask, cout, k, stride=1, pad=None, dilation=1, groups=1,
                    offset_groups=1, bias=False, name="conv"):
        """DeformConv (ONNX opset 19): offset (N, 2 og kh kw, oh, ow) as (dy, dx) pairs per
        offset group and tap; mask (N, og kh kw, oh, ow) or None."""
        cin, sp, k, stride, dilation, pads = self._conv_geometry(x, k, stride, pad, dilation)
        out = self._window(sp, k, stride, pads, dilation)
        taps = math.prod(k)
        if self.shapes[offset] != (2 * offset_groups * taps, *out):
            raise ValueError(f"{name}: offset shape {self.shapes[offset]} does not match")
        full = self._full(name)
        fan_in = cin // groups * taps
        b = (self._param(f"{full}.bias", (cout,), "normal", a=0.1) if bias else "")
        ins = [x, self._he(f"{full}.weight", (cout, cin // groups, *k), fan_in, self._m[x][1]),
               offset, b]
        if mask is not None:
            ins.append(mask)
        self.macs += cout * fan_in * math.prod(out)
        self.opset = max(self.opset, 19)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads),
                 "dilations": list(dilation), "group": groups, "offset_group": offset_groups}
        return self._node("DeformConv", ins, name, attrs, shape=(cout, *out), m=2.0)

    def local_conv(self, x, cout, k, stride=1, pad=0, dilation=1, bias=True, name="local"):
        """LocalConv (custom domain): weight (H_out, W_out, C_out, C_in, kh, kw), bias
        (C_out, H_out, W_out): a different filter at every output position."""
        cin, sp, k, stride, dilation, pads = self._conv_geometry(x, k, stride, pad, dilation)
        out = self._window(sp, k, stride, pads, dilation)
        full = self._full(name)
        fan_in = cin * math.prod(k)
        ins = [x, self._he(f"{full}.weight", (*out, cout, cin, *k), fan_in, self._m[x][1])]
        if bias:
            ins.append(self._param(f"{full}.bias", (cout, *out), "normal", a=0.1))
        self.macs += cout * fan_in * math.prod(out)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads),
                 "dilations": list(dilation)}
        return self._node("LocalConv", ins, name, attrs, CUSTOM_DOMAIN, shape=(cout, *out),
                          m=2.0)

    def gemm(self, x, n_out, bias=True, name="fc", gain=2.0):
        """Gemm(x, W, B) with transB=1 (torch's Linear: W is (out, in))."""
        (n_in,) = self.shapes[x]
        full = self._full(name)
        ins = [x, self._he(f"{full}.weight", (n_out, n_in), n_in, self._m[x][1], gain)]
        if bias:
            ins.append(self._param(f"{full}.bias", (n_out,), "normal", a=0.1))
        self.macs += n_in * n_out
        return self._node("Gemm", ins, name, {"transB": 1}, shape=(n_out,), m=gain)

    # -- normalisation and activations ----------------------------------------------------------
    def bn(self, x, name="bn", eps=1e-5):
        c = self.channels(x)
        mu, m = self._m[x]
        var = max(m - mu * mu, 1e-3 * m)
        full = self._full(name)
        ins = [x,
               self._param(f"{full}.weight", (c,), "uniform", a=0.5, b=1.5),
               self._param(f"{full}.bias", (c,), "normal", a=0.2),
               self._param(f"{full}.running_mean", (c,), "normal", "buffer", a=0.2 * var ** 0.5,
                           b=mu),
               self._param(f"{full}.running_var", (c,), "uniform", "buffer", a=0.5 * var,
                           b=2 * var)]
        attrs = {"epsilon": eps} if eps != 1e-5 else {}
        return self._node("BatchNormalization", ins, name, attrs, shape=self.shapes[x], m=1.1)

    def _unary(self, op, x, name, st, attrs=None, extra=()):
        return self._node(op, [x, *extra], name, attrs, shape=self.shapes[x], m=st)

    def relu(self, x, name=None):
        return self._unary("Relu", x, name, _relu_stats(*self._m[x]))

    def relu6(self, x, name=None):
        return self._unary("Clip", x, name, _relu_stats(*self._m[x]),
                           extra=(self.const("zero", 0.0), self.const("six", 6.0)))

    def hardswish(self, x, name=None):
        mu, m = _relu_stats(*self._m[x])
        return self._unary("HardSwish", x, name, (0.8 * mu, 0.7 * m))

    def hardsigmoid(self, x, name=None):
        """torch's hardsigmoid: relu6(x + 3) / 6."""
        return self._node("HardSigmoid", [x], name, {"alpha": 1.0 / 6.0, "beta": 0.5},
                          shape=self.shapes[x], m=(0.5, 0.3))

    def sigmoid(self, x, name=None):
        return self._node("Sigmoid", [x], name, shape=self.shapes[x], m=(0.5, 0.3))

    def tanh(self, x, name=None):
        return self._node("Tanh", [x], name, shape=self.shapes[x], m=min(0.4, self._m[x][1]))

    def act(self, x, kind):
        return {"relu": self.relu, "relu6": self.relu6, "hardswish": self.hardswish,
                None: lambda t: t, "none": lambda t: t}[kind](x)

    def conv_bn(self, x, cout, k, stride=1, pad=None, dilation=1, groups=1, act="relu",
                conv="0", bn="1", eps=1e-5):
        """conv (no bias) + BatchNorm + activation, named like torchvision's
        Conv2dNormActivation (`<scope>.0`, `<scope>.1`) unless told otherwise."""
        y = self.conv(x, cout, k, stride, pad, dilation, groups, False, conv)
        return self.act(self.bn(y, bn, eps), act)

    # -- element-wise and structure -------------------------------------------------------------
    def add(self, a, b, name=None):
        if self.shapes[a] != self.shapes[b]:
            raise ValueError(f"add: shapes {self.shapes[a]} and {self.shapes[b]} differ")
        return self._node("Add", [a, b], name, shape=self.shapes[a],
                          m=(self._m[a][0] + self._m[b][0],
                             self._m[a][1] + self._m[b][1] + 2 * self._m[a][0] * self._m[b][0]))

    def mul(self, a, b, name=None):
        sa, sb = self.shapes[a], self.shapes[b]
        shape = tuple(max(i, j) for i, j in zip(sa, sb))
        (ma, sa2), (mb, sb2) = self._m[a], self._m[b]
        return self._node("Mul", [a, b], name, shape=shape, m=(ma * mb, sa2 * sb2))

    def concat(self, xs, name=None):
        shapes = [self.shapes[t] for t in xs]
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(f"concat: spatial shapes differ: {shapes}")
        c = sum(s[0] for s in shapes)
        m = tuple(sum(self._m[t][i] * s[0] for t, s in zip(xs, shapes)) / c for i in (0, 1))
        return self._node("Concat", xs, name, {"axis": 1}, shape=(c, *shapes[0][1:]), m=m)

    def split(self, x, sizes, name=None):
        """Split along channels with explicit sizes (an int64 input, valid at opset 13+)."""
        c, *sp = self.shapes[x]
        if sum(sizes) != c:
            raise ValueError(f"split: sizes {sizes} do not add up to {c}")
        sz = self.const("split_" + "_".join(map(str, sizes)), sizes, np.int64)
        return self._node("Split", [x, sz], name, {"axis": 1}, n_out=len(sizes),
                          shape=[(s, *sp) for s in sizes], m=[self._m[x]] * len(sizes))

    def _pool(self, op, x, k, stride, pad, ceil, name, extra=None):
        c, sp, k, stride, _, pads = self._conv_geometry(x, k, stride if stride else k, pad, 1)
        out = self._window(sp, k, stride, pads, (1,) * len(sp), ceil)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads)}
        if ceil:
            attrs["ceil_mode"] = 1
        attrs.update(extra or {})
        mu, m = self._m[x]
        if op == "MaxPool":
            f = 1 + 1.6 * math.log(math.prod(k))
            mu, m = mu * f ** 0.5, m * f
        else:
            m = mu * mu + (m - mu * mu) / math.prod(k) ** 0.5
        return self._node(op, [x], name, attrs, shape=(c, *out), m=(mu, m))

    def maxpool(self, x, k, stride=None, pad=0, ceil=False, name=None):
        return self._pool("MaxPool", x, k, stride, pad, ceil, name)

    def avgpool(self, x, k, stride=None, pad=0, ceil=False, count_include_pad=True, name=None):
        return self._pool("AveragePool", x, k, stride, pad, ceil, name,
                          {"count_include_pad": int(count_include_pad)})

    def global_avgpool(self, x, name=None):
        c, *sp = self.shapes[x]
        return self._node("GlobalAveragePool", [x], name, shape=(c, *[1] * len(sp)),
                          m=(self._m[x][0], self._m[x][0] ** 2 + 0.3 * (self._m[x][1] -
                                                                          self._m[x][0] ** 2)))

    def flatten(self, x, name=None):
        return self._node("Flatten", [x], name, {"axis": 1},
                          shape=(math.prod(self.shapes[x]),), m=self._m[x])

    def channel_shuffle(self, x, groups, name=None):
        """The custom-domain ChannelShuffle op."""
        return self._node("ChannelShuffle", [x], name, {"group": groups}, CUSTOM_DOMAIN,
                          shape=self.shapes[x], m=self._m[x])

    def channel_shuffle_reshape(self, x, groups):
        """Channel shuffle the way torch exports x.view(n, g, c/g, h, w).transpose(1, 2)
        .reshape(n, c, h, w): Reshape, Transpose, Reshape."""
        c, *sp = self.shapes[x]
        s1 = self.const(f"shape_{groups}_{c // groups}_" + "_".join(map(str, sp)),
                        [-1, groups, c // groups, *sp], np.int64)
        s2 = self.const(f"shape_{c}_" + "_".join(map(str, sp)), [-1, c, *sp], np.int64)
        y = self._node("Reshape", [x, s1], None, shape=(groups, c // groups, *sp), m=self._m[x])
        y = self._node("Transpose", [y], None, {"perm": [0, 2, 1, *range(3, 3 + len(sp))]},
                       shape=(c // groups, groups, *sp), m=self._m[x])
        return self._node("Reshape", [y, s2], None, shape=(c, *sp), m=self._m[x])

    def resize(self, x, scale, mode="nearest", name=None):
        """Resize by an integer factor the way torch exports F.interpolate(scale_factor=s):
        nearest -> asymmetric + floor; bilinear (align_corners=False) -> linear + half_pixel."""
        c, *sp = self.shapes[x]
        scales = self.const("scales_" + "_".join(str(scale) for _ in sp),
                            [1.0, 1.0] + [float(scale)] * len(sp))
        if mode == "nearest":
            attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                     "nearest_mode": "floor"}
        elif mode == "bilinear":
            attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
        else:
            raise ValueError(f"resize: unknown mode {mode!r}")
        return self._node("Resize", [x, "", scales], name, attrs,
                          shape=(c, *[s * scale for s in sp]), m=self._m[x])

    # -- finish ---------------------------------------------------------------------------------
    def counts(self):
        params = sum(math.prod(i.shape) for i in self.inits.values() if i.role == "param")
        return params, 2.0 * self.macs / 1e6

    def build(self, outputs: dict, seed=0, materialize=True, doc="", metadata=None) -> Model:
        rename = {t: name for name, t in outputs.items()}
        for n in self.nodes:
            n.outputs = [rename.get(o, o) for o in n.outputs]
            n.inputs = [rename.get(i, i) for i in n.inputs]
        for t, name in rename.items():
            self.shapes[name] = self.shapes[t]
        outs = [ValueInfo(name, [self.batch, *self.shapes[name]], "float32")
                for name in outputs]
        inits = _materialize(self.inits, seed) if materialize else {}
        g = Graph(self.nodes, self.inputs, outs, inits, self.name)
        return Model(g, opset=self.opset, producer="convengine.zoo", doc=doc,
                     metadata=dict(metadata or {}))


def _relu_stats(mu, m):
    """(mean, second moment) of relu(z) for z ~ N(mu, m - mu^2)."""
    sd = max(m - mu * mu, 1e-12) ** 0.5
    a = mu / sd
    cdf = 0.5 * (1 + math.erf(a / 2 ** 0.5))
    pdf = math.exp(-0.5 * a * a) / (2 * math.pi) ** 0.5
    return mu * cdf + sd * pdf, (mu * mu + sd * sd) * cdf + mu * sd * pdf


def _materialize(specs: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for name, s in specs.items():
        if s.kind == "value":
            out[name] = s.value
        elif s.kind == "normal":
            v = rng.standard_normal(s.shape, dtype=np.float32)
            v *= np.float32(s.a)
            if s.b:
                v += np.float32(s.b)
            out[name] = v
        else:
            out[name] = rng.uniform(s.a, s.b, s.shape).astype(np.float32)
    return out
