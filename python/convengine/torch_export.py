"""`to_torch(model)`: the same graph as a torch.nn.Module (weights copied), for comparisons.

The module walks the nodes in order calling torch.nn.functional, as a hand-written eager
module would; torch.jit.trace of it gives the frozen-graph variant. Optional dependency torch.
"""
from __future__ import annotations

import math

import numpy as np

from ._graph.ops import attr
from ._graph.rules_tensor import pad_params
from .model import Model, ModelError


def to_torch(model: Model):
    try:
        import torch
    except ImportError as e:  # pragma: no cover - exercised only without torch
        raise ImportError("to_torch needs torch: pip install torch") from e

    class GraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.consts = {}
            for i, (name, arr) in enumerate(model.graph.initializers.items()):
                a = np.asarray(arr)
                t = torch.from_numpy(np.array(a, dtype=np.float32 if a.dtype.kind == "f" else a.dtype))
                if a.dtype.kind == "f":
                    self.register_buffer(f"c{i}", t)
                    self.consts[name] = f"c{i}"
                else:
                    self.consts[name] = t
            self.inputs = [v.name for v in model.graph.inputs if v.name not in model.graph.initializers]
            self.outputs = [v.name for v in model.graph.outputs]

        def forward(self, *xs):
            env = dict(zip(self.inputs, xs))
            for name, ref in self.consts.items():
                env[name] = getattr(self, ref) if isinstance(ref, str) else ref
            for node in self.model.graph.nodes:
                args = [env[n] if n else None for n in node.inputs]
                outs = _run(torch, node, args, self.model.opset)
                for n, v in zip(node.outputs, outs):
                    if n:
                        env[n] = v
            res = tuple(env[n] for n in self.outputs)
            return res[0] if len(res) == 1 else res

    return GraphModule().eval()


def _ints(v, n, d):
    return [d] * n if v is None else [int(x) for x in v]


def _act(torch, y, kind, alpha, beta, lo, hi):
    F = torch.nn.functional
    plain = {"hardswish": F.hardswish, "sigmoid": torch.sigmoid, "silu": F.silu,
             "tanh": torch.tanh, "mish": F.mish, "softplus": F.softplus, "softsign": F.softsign}
    if kind in plain:
        y = plain[kind](y)
    elif kind == "hardsigmoid":
        y = torch.clamp(alpha * y + beta, 0, 1)
    elif kind == "leaky_relu":
        y = F.leaky_relu(y, alpha)
    elif kind in ("gelu", "gelu_tanh"):
        y = F.gelu(y, approximate="none" if kind == "gelu" else "tanh")
    elif kind == "elu":
        y = F.elu(y, alpha)
    elif kind == "selu":
        y = beta * torch.where(y > 0, y, alpha * torch.expm1(y))
    elif kind == "celu":
        y = F.celu(y, alpha)
    elif kind == "thresholded_relu":
        y = torch.where((y > alpha) | torch.isnan(y), y, torch.zeros_like(y))
    if lo > -math.inf or hi < math.inf:
        if lo == 0 and hi == math.inf:
            y = F.relu(y)
        else:
            y = torch.clamp(y, None if lo == -math.inf else lo, None if hi == math.inf else hi)
    return y


def _conv(torch, node, x, w, b, transposed):
    F = torch.nn.functional
    nd = x.dim() - 2
    s = _ints(attr(node, "strides"), nd, 1)
    d = _ints(attr(node, "dilations"), nd, 1)
    p = _ints(attr(node, "pads"), 2 * nd, 0)
    g = int(attr(node, "group") or 1)
    if (attr(node, "auto_pad") or "NOTSET") != "NOTSET":
        raise ModelError(f"to_torch: node {node.name}: auto_pad is not supported")
    if transposed:
        op = _ints(attr(node, "output_padding"), nd, 0)
        if p[:nd] != p[nd:]:
            raise ModelError(f"to_torch: node {node.name}: asymmetric transposed pads")
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return fn(x, w, b, s, p[:nd], op, g, d)
    if p[:nd] != p[nd:]:
        pad = []
        for i in reversed(range(nd)):
            pad += [p[i], p[nd + i]]
        x = F.pad(x, pad)
        p = [0] * (2 * nd)
    fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return fn(x, w, b, s, p[:nd], d, g)


def _run(torch, node, a, opset):
    F = torch.nn.functional
    op = node.op_type
    x = a[0] if a else None
    if op in ("Conv", "ConvTranspose"):
        return [_conv(torch, node, x, a[1], a[2] if len(a) > 2 else None, op == "ConvTranspose")]
    if op == "FusedConv":
        y = _conv(torch, node, x, a[1], a[2] if len(a) > 2 else None, False)
        if len(a) > 3 and a[3] is not None:
            y = y + a[3]
        return [_act(torch, y, attr(node, "activation"), attr(node, "alpha"), attr(node, "beta"),
                     attr(node, "clip_min"), attr(node, "clip_max"))]
    if op == "BatchNormalization":
        return [F.batch_norm(x, a[3], a[4], a[1], a[2], False, 0.0, attr(node, "epsilon"))]
    if op == "Relu":
        return [F.relu(x)]
    if op == "LeakyRelu":
        return [F.leaky_relu(x, attr(node, "alpha"))]
    if op == "Clip":
        lo = a[1] if len(a) > 1 and a[1] is not None else attr(node, "min")
        hi = a[2] if len(a) > 2 and a[2] is not None else attr(node, "max")
        lo = None if lo is None else float(lo)
        hi = None if hi is None else float(hi)
        if lo == 0.0 and hi == 6.0:
            return [F.relu6(x)]
        return [torch.clamp(x, lo, hi)]
    if op == "HardSwish":
        return [F.hardswish(x)]
    if op == "HardSigmoid":
        al, be = attr(node, "alpha"), attr(node, "beta")
        if abs(al - 1 / 6) < 1e-7 and be == 0.5:
            return [F.hardsigmoid(x)]
        return [torch.clamp(al * x + be, 0, 1)]
    if op == "Sigmoid":
        return [torch.sigmoid(x)]
    if op == "Tanh":
        return [torch.tanh(x)]
    if op in _MATH:
        return [_MATH[op](torch, node, a)]
    if op in ("Add", "Sub", "Mul", "Div"):
        f = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op]
        return [f(a[0], a[1])]
    if op == "Concat":
        return [torch.cat(a, int(attr(node, "axis")))]
    if op == "GlobalAveragePool":
        return [torch.mean(x, dim=tuple(range(2, x.dim())), keepdim=True)]
    if op == "GlobalMaxPool":
        return [torch.amax(x, dim=tuple(range(2, x.dim())), keepdim=True)]
    if op in ("MaxPool", "AveragePool"):
        nd = x.dim() - 2
        k = _ints(attr(node, "kernel_shape"), nd, 1)
        s = _ints(attr(node, "strides"), nd, 1)
        p = _ints(attr(node, "pads"), 2 * nd, 0)
        ceil = bool(attr(node, "ceil_mode"))
        if p[:nd] != p[nd:]:
            raise ModelError(f"to_torch: node {node.name}: asymmetric pool pads")
        if op == "MaxPool":
            d = _ints(attr(node, "dilations"), nd, 1)
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
            return [fn(x, k, s, p[:nd], d, ceil_mode=ceil)]
        fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        return [fn(x, k, s, p[:nd], ceil_mode=ceil,
                   count_include_pad=bool(attr(node, "count_include_pad")))]
    if op == "Flatten":
        return [torch.flatten(x, int(attr(node, "axis")))]
    if op == "Gemm":
        A, B = a[0], a[1]
        if attr(node, "transA"):
            A = A.t()
        if attr(node, "transB"):
            B = B.t()
        y = attr(node, "alpha") * (A @ B)
        if len(a) > 2 and a[2] is not None:
            y = y + attr(node, "beta") * a[2]
        return [y]
    if op == "MatMul":
        return [a[0] @ a[1]]
    if op == "Reshape":
        shape = [int(v) for v in a[1]]
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Transpose":
        perm = attr(node, "perm")
        return [x.permute(*(perm if perm is not None else range(x.dim() - 1, -1, -1)))]
    if op == "ChannelShuffle":
        return [F.channel_shuffle(x, int(attr(node, "group")))]
    if op == "Split":
        axis = int(attr(node, "axis"))
        split = [int(v) for v in a[1]] if len(a) > 1 and a[1] is not None else attr(node, "split")
        n = len(node.outputs)
        if split is None:
            size = x.shape[axis]
            per = -(-size // n)
            split = [min(per, size - i * per) for i in range(n)]
        return list(torch.split(x, [int(v) for v in split], axis))
    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Softmax":
        return [torch.softmax(x, int(attr(node, "axis")))]
    if op == "Resize":
        scales = a[2] if len(a) > 2 and a[2] is not None and a[2].numel() else None
        sizes = a[3] if len(a) > 3 and a[3] is not None else None
        mode = attr(node, "mode")
        ctm = attr(node, "coordinate_transformation_mode")
        kw = {}
        if sizes is not None:
            kw["size"] = [int(v) for v in sizes[2:]]
        else:
            kw["scale_factor"] = [float(v) for v in scales[2:]]
        if mode == "nearest":
            return [F.interpolate(x, mode="nearest", **kw)]
        if mode == "cubic":
            if (attr(node, "cubic_coeff_a") != -0.75 or attr(node, "exclude_outside")
                    or ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners")):
                raise ModelError(f"to_torch: node {node.name}: cubic Resize other than torch's "
                                 "bicubic (a = -0.75, no exclude_outside, half_pixel or align_corners)")
            return [F.interpolate(x, mode="bicubic", align_corners=ctm == "align_corners", **kw)]
        return [F.interpolate(x, mode="bilinear", align_corners=ctm == "align_corners", **kw)]
    if op == "SqueezeExcite":
        s = torch.mean(x, dim=(2, 3))
        h = _act(torch, s @ a[1].t() + a[2], attr(node, "activation"), attr(node, "alpha"),
                 attr(node, "beta"), attr(node, "clip_min"), attr(node, "clip_max"))
        g = h @ a[3].t() + a[4]
        g = torch.sigmoid(g) if attr(node, "gate") == "sigmoid" else torch.clamp(
            attr(node, "gate_alpha") * g + attr(node, "gate_beta"), 0, 1)
        return [x * g[:, :, None, None]]
    if op == "Pad":
        consts = [None] + [None if v is None else v.cpu().numpy() for v in a[1:4]]
        mode, begin, end, val = pad_params(node, tuple(x.shape), consts, opset)
        val, r = float(val), x.dim()
        for ax, (b, e) in enumerate(zip(begin, end)):
            if not (b or e):
                continue
            x = x.narrow(ax, max(0, -b), x.shape[ax] - max(0, -b) - max(0, -e))
            b, e, n = max(0, b), max(0, e), x.shape[ax]
            if mode == "constant":
                x = F.pad(x, [0, 0] * (r - 1 - ax) + [b, e], value=val)
                continue
            j = torch.arange(-b, n + e, device=x.device)
            if mode == "edge":
                j = j.clamp(0, n - 1)
            elif mode == "wrap":
                j = j.remainder(n)
            else:  # reflect
                j = j.abs()
                j = torch.where(j > n - 1, 2 * (n - 1) - j, j)
            x = x.index_select(ax, j)
        return [x]
    if op == "LocalConv":
        w = a[1]  # (oh, ow, co, ci, kh, kw)
        oh, ow, co, ci, kh, kw = w.shape
        s = _ints(attr(node, "strides"), 2, 1)
        d = _ints(attr(node, "dilations"), 2, 1)
        p = _ints(attr(node, "pads"), 4, 0)
        xp = F.pad(x, (p[1], p[3], p[0], p[2]))
        cols = F.unfold(xp, (kh, kw), dilation=d, stride=s)  # (n, ci*kh*kw, L)
        wm = w.reshape(oh * ow, co, ci * kh * kw)
        y = torch.einsum("nkl,lok->nol", cols, wm).reshape(x.shape[0], co, oh, ow)
        if len(a) > 2 and a[2] is not None:
            y = y + a[2]
        return [y]
    raise ModelError(f"to_torch: op {op} (node {node.name}) has no torch equivalent here")


def _variadic(fn):
    def run(torch, node, a):
        xs = [t for t in a if t is not None]
        y = xs[0]
        for t in xs[1:]:
            y = fn(torch, y, t)
        return y
    return run


def _act_node(kind, *params):
    return lambda torch, node, a: _act(torch, a[0], kind, *[float(attr(node, p)) for p in params],
                                       *[0.0] * (2 - len(params)), -math.inf, math.inf)


def _pow(torch, node, a):
    base, e = a[0], a[1]
    if not torch.is_floating_point(e):
        e = e.to(base.dtype)
    return torch.pow(base, e)


def _log_softmax(torch, node, a):
    x = a[0]
    axis = int(attr(node, "axis"))
    return torch.log_softmax(x, axis)


# The element-wise math ops: name -> fn(torch, node, args) -> tensor
_MATH = {
    "Erf": lambda torch, node, a: torch.erf(a[0]),
    "Gelu": lambda torch, node, a: torch.nn.functional.gelu(
        a[0], approximate="tanh" if attr(node, "approximate") == "tanh" else "none"),
    "Mish": _act_node("mish"),
    "Softplus": _act_node("softplus"),
    "Softsign": _act_node("softsign"),
    "Elu": _act_node("elu", "alpha"),
    "Celu": _act_node("celu", "alpha"),
    "Selu": _act_node("selu", "alpha", "gamma"),
    "ThresholdedRelu": _act_node("thresholded_relu", "alpha"),
    "Exp": lambda torch, node, a: torch.exp(a[0]),
    "Log": lambda torch, node, a: torch.log(a[0]),
    "Sqrt": lambda torch, node, a: torch.sqrt(a[0]),
    "Abs": lambda torch, node, a: torch.abs(a[0]),
    "Neg": lambda torch, node, a: torch.neg(a[0]),
    "Reciprocal": lambda torch, node, a: torch.reciprocal(a[0]),
    "Sin": lambda torch, node, a: torch.sin(a[0]),
    "Cos": lambda torch, node, a: torch.cos(a[0]),
    "PRelu": lambda torch, node, a: torch.where(a[0] < 0, a[0] * a[1], a[0]),
    "Pow": _pow,
    "Min": _variadic(lambda torch, x, y: torch.minimum(x, y)),
    "Max": _variadic(lambda torch, x, y: torch.maximum(x, y)),
    "Sum": _variadic(lambda torch, x, y: x + y),
    "Mean": lambda torch, node, a: _variadic(lambda torch, x, y: x + y)(torch, node, a) / len(
        [t for t in a if t is not None]),
    "LogSoftmax": _log_softmax,
}
