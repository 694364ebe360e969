"""The ops convengine runs: ONNX names, ONNX attribute names and defaults (opset 17-21
semantics), and the custom-domain ops. One table, read by validation, the importers and the
planner."""
from __future__ import annotations

import dataclasses

from .._model_limits import CUSTOM_DOMAIN

REQUIRED = object()  # an attribute without a default


@dataclasses.dataclass(frozen=True)
class OpSpec:
    name: str
    inputs: tuple[int, int]      # (min, max) count; trailing optional inputs may be ""
    outputs: tuple[int, int]
    attrs: dict                  # attribute name -> default (REQUIRED when it has none)
    domain: str = ""


_CONV = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
         "pads": None, "strides": None}
_POOL = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": REQUIRED,
         "pads": None, "strides": None}

_SPECS = [
    OpSpec("Conv", (2, 3), (1, 1), _CONV),
    OpSpec("ConvTranspose", (2, 3), (1, 1),
           {**_CONV, "output_padding": None, "output_shape": None}),
    OpSpec("DeformConv", (3, 5), (1, 1),
           {"dilations": None, "group": 1, "kernel_shape": None, "offset_group": 1,
            "pads": None, "strides": None}),
    OpSpec("BatchNormalization", (5, 5), (1, 3),
           {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0, "spatial": 1}),
    OpSpec("Relu", (1, 1), (1, 1), {}),
    OpSpec("LeakyRelu", (1, 1), (1, 1), {"alpha": 0.01}),
    OpSpec("Clip", (1, 3), (1, 1), {"min": None, "max": None}),  # min/max attrs: opset < 11
    OpSpec("HardSwish", (1, 1), (1, 1), {}),
    OpSpec("HardSigmoid", (1, 1), (1, 1), {"alpha": 0.2, "beta": 0.5}),
    OpSpec("Sigmoid", (1, 1), (1, 1), {}),
    OpSpec("Tanh", (1, 1), (1, 1), {}),
    # -- element-wise math, activations, comparisons (eval_math.py, lower_math.py)
    *[OpSpec(n, (1, 1), (1, 1), {}) for n in (
        "Erf", "Mish", "Softplus", "Softsign", "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal",
        "Sin", "Cos")],
    OpSpec("Gelu", (1, 1), (1, 1), {"approximate": "none"}),
    OpSpec("Elu", (1, 1), (1, 1), {"alpha": 1.0}),
    OpSpec("Celu", (1, 1), (1, 1), {"alpha": 1.0}),
    OpSpec("Selu", (1, 1), (1, 1), {"alpha": 1.67326319217681884765625,
                                    "gamma": 1.05070102214813232421875}),
    OpSpec("ThresholdedRelu", (1, 1), (1, 1), {"alpha": 1.0}),
    OpSpec("PRelu", (2, 2), (1, 1), {}),
    OpSpec("Pow", (2, 2), (1, 1), {}),
    *[OpSpec(n, (1, 1 << 16), (1, 1), {}) for n in ("Min", "Max", "Sum", "Mean")],
    OpSpec("LogSoftmax", (1, 1), (1, 1), {"axis": -1}),
    OpSpec("Mul", (2, 2), (1, 1), {}),
    OpSpec("Add", (2, 2), (1, 1), {}),
    OpSpec("Sub", (2, 2), (1, 1), {}),
    OpSpec("Div", (2, 2), (1, 1), {}),
    OpSpec("Concat", (1, 1 << 16), (1, 1), {"axis": REQUIRED}),
    OpSpec("Split", (1, 2), (1, 1 << 16), {"axis": 0, "split": None, "num_outputs": None}),
    OpSpec("Slice", (3, 5), (1, 1), {}),
    OpSpec("GlobalAveragePool", (1, 1), (1, 1), {}),
    OpSpec("GlobalMaxPool", (1, 1), (1, 1), {}),
    OpSpec("MaxPool", (1, 1), (1, 2), {**_POOL, "storage_order": 0}),
    OpSpec("AveragePool", (1, 1), (1, 1), {**_POOL, "count_include_pad": 0}),
    OpSpec("LpPool", (1, 1), (1, 1), {**_POOL, "p": 2}),
    OpSpec("GlobalLpPool", (1, 1), (1, 1), {"p": 2}),
    OpSpec("Gemm", (2, 3), (1, 1), {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}),
    OpSpec("MatMul", (2, 2), (1, 1), {}),
    OpSpec("Flatten", (1, 1), (1, 1), {"axis": 1}),
    OpSpec("Reshape", (2, 2), (1, 1), {"allowzero": 0}),
    OpSpec("Transpose", (1, 1), (1, 1), {"perm": None}),
    OpSpec("Squeeze", (1, 2), (1, 1), {"axes": None}),      # axes attr: opset < 13
    OpSpec("Unsqueeze", (1, 2), (1, 1), {"axes": None}),
    OpSpec("Resize", (1, 4), (1, 1),
           {"antialias": 0, "axes": None, "coordinate_transformation_mode": "half_pixel",
            "cubic_coeff_a": -0.75, "exclude_outside": 0, "extrapolation_value": 0.0,
            "keep_aspect_ratio_policy": "stretch", "mode": "nearest",
            "nearest_mode": "round_prefer_floor"}),
    OpSpec("Upsample", (1, 2), (1, 1), {"mode": "nearest", "scales": None}),
    OpSpec("Pad", (1, 4), (1, 1), {"mode": "constant", "pads": None, "value": 0.0}),
    OpSpec("Softmax", (1, 1), (1, 1), {"axis": -1}),
    # -- normalisation and reductions (eval_nn.py, lower_nn.py)
    OpSpec("LayerNormalization", (2, 3), (1, 3), {"axis": -1, "epsilon": 1e-5, "stash_type": 1}),
    OpSpec("InstanceNormalization", (3, 3), (1, 1), {"epsilon": 1e-5}),
    OpSpec("GroupNormalization", (3, 3), (1, 1),
           {"epsilon": 1e-5, "num_groups": REQUIRED, "stash_type": 1}),
    OpSpec("LpNormalization", (1, 1), (1, 1), {"axis": -1, "p": 2}),
    OpSpec("LRN", (1, 1), (1, 1), {"alpha": 1e-4, "beta": 0.75, "bias": 1.0, "size": REQUIRED}),
    OpSpec("MeanVarianceNormalization", (1, 1), (1, 1), {"axes": [0, 2, 3]}),
    # axes: an attribute before opset 18 (ReduceSum: 13), an input from then on
    *[OpSpec(n, (1, 2), (1, 1), {"axes": None, "keepdims": 1, "noop_with_empty_axes": 0})
      for n in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2",
                "ReduceProd", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")],
    *[OpSpec(n, (1, 1), (1, 1), {"axis": 0, "keepdims": 1, "select_last_index": 0})
      for n in ("ArgMax", "ArgMin")],
    OpSpec("Identity", (1, 1), (1, 1), {}),
    OpSpec("Dropout", (1, 3), (1, 2), {"seed": None, "ratio": 0.5}),
    OpSpec("Constant", (0, 0), (1, 1),
           {"value": None, "value_float": None, "value_floats": None, "value_int": None,
            "value_ints": None}),
    OpSpec("ConstantOfShape", (1, 1), (1, 1), {"value": None}),
    OpSpec("Shape", (1, 1), (1, 1), {"start": 0, "end": None}),
    OpSpec("Gather", (2, 2), (1, 1), {"axis": 0}),
    OpSpec("Cast", (1, 1), (1, 1), {"to": REQUIRED, "saturate": 1}),
    # -- data movement, sampling, shape arithmetic (eval_data.py, lower_data.py)
    *[OpSpec(n, (1, 1), (1, 1), {}) for n in ("Floor", "Ceil", "Round", "Sign", "Not")],
    OpSpec("Mod", (2, 2), (1, 1), {"fmod": 0}),
    *[OpSpec(n, (2, 2), (1, 1), {}) for n in (
        "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor")],
    OpSpec("Where", (3, 3), (1, 1), {}),
    OpSpec("Expand", (2, 2), (1, 1), {}),
    OpSpec("Tile", (2, 2), (1, 1), {}),
    OpSpec("DepthToSpace", (1, 1), (1, 1), {"blocksize": REQUIRED, "mode": "DCR"}),
    OpSpec("SpaceToDepth", (1, 1), (1, 1), {"blocksize": REQUIRED, "mode": "DCR"}),  # mode: 28
    OpSpec("GridSample", (2, 2), (1, 1),
           {"align_corners": 0, "mode": "bilinear", "padding_mode": "zeros"}),
    OpSpec("GatherElements", (2, 2), (1, 1), {"axis": 0}),
    OpSpec("GatherND", (2, 2), (1, 1), {"batch_dims": 0}),
    OpSpec("Range", (3, 3), (1, 1), {}),
    OpSpec("EyeLike", (1, 1), (1, 1), {"dtype": None, "k": 0}),
    OpSpec("CumSum", (2, 2), (1, 1), {"exclusive": 0, "reverse": 0}),
    OpSpec("Size", (1, 1), (1, 1), {}),
    # custom domain
    OpSpec("LocalConv", (2, 3), (1, 1),
           {"kernel_shape": None, "pads": None, "strides": None, "dilations": None},
           CUSTOM_DOMAIN),
    OpSpec("ChannelShuffle", (1, 1), (1, 1), {"group": REQUIRED}, CUSTOM_DOMAIN),
    # Produced by the optimisation passes (and valid in files):
    # FusedConv(X, W, B?, R?) = clamp(f(Conv(X, W, B) + R)), f = `activation` ('none',
    # 'hardswish', 'hardsigmoid' (alpha, beta), 'sigmoid', 'silu', 'tanh', 'leaky_relu' (alpha),
    # 'gelu', 'gelu_tanh', 'mish', 'softplus', 'elu' (alpha), 'selu' (alpha, beta = gamma),
    # 'celu' (alpha), 'softsign', 'thresholded_relu' (alpha)), clamp to [clip_min, clip_max]
    # (Relu: [0, inf]).
    OpSpec("FusedConv", (2, 4), (1, 1),
           {**_CONV, "activation": "none", "alpha": 0.0, "beta": 0.0,
            "clip_min": float("-inf"), "clip_max": float("inf")}, CUSTOM_DOMAIN),
    # SqueezeExcite(X, W1, B1, W2, B2) = X * gate(W2 act(W1 mean_hw(X) + B1) + B2), with
    # W1 (mid, C), W2 (C, mid); act as FusedConv's activation + clip; gate 'sigmoid' or
    # 'hardsigmoid' (gate_alpha, gate_beta).
    OpSpec("SqueezeExcite", (5, 5), (1, 1),
           {"activation": "none", "alpha": 0.0, "beta": 0.0, "clip_min": float("-inf"),
            "clip_max": float("inf"), "gate": "sigmoid", "gate_alpha": 0.2, "gate_beta": 0.5},
           CUSTOM_DOMAIN),
]

OPS: dict[tuple[str, str], OpSpec] = {(s.domain, s.name): s for s in _SPECS}


def spec(domain: str, op_type: str) -> OpSpec | None:
    d = "" if domain in ("", "ai.onnx") else domain
    return OPS.get((d, op_type))


def attr(node, name):
    """The node's attribute or the op's default (None when the op has no such default)."""
    s = spec(node.domain, node.op_type)
    if name in node.attrs:
        return node.attrs[name]
    d = s.attrs.get(name) if s else None
    return None if d is REQUIRED else d
