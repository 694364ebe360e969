"""Argument normalisation of convengine.functional (the engine).

Every public op validates its arguments here, so that the engine sees already-checked values
and a user gets one clear message naming the argument, the expected and the actual value.
convengine.reference checks the same rules with its own code (reference/_args.py), so that a
mistake in either shows up in the tests.

dtype policy: real floating arrays (float16, float32, float64) are converted to float32; any
other dtype (integer, bool, complex, object) raises TypeError. Inputs are never modified.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .._graph.rules import same_pads, span, transposed_out, window_out

# No tensor, indirection table or intermediate the engine allocates may exceed this many
# elements (8 GiB of float32): a hostile size fails with ValueError instead of a crash.
MAX_ELEMENTS = 1 << 31
MAX_DIM = 1 << 24


def as_float32(name: str, a, ndim: Optional[Sequence[int]] = None) -> np.ndarray:
    """Returns `a` as a C-contiguous float32 array, checking dtype and (optionally) rank."""
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    arr = np.asarray(a)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array (float16/32/64), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in tuple(ndim):
        want = " or ".join(str(n) for n in ndim)
        raise ValueError(f"{name} must have {want} dimensions, got {arr.ndim} (shape {arr.shape})")
    if arr.size > MAX_ELEMENTS:
        raise ValueError(f"{name} has {arr.size} elements, more than the limit of {MAX_ELEMENTS}")
    return np.asarray(arr, dtype=np.float32, order="C")  # keeps 0-d arrays 0-d


def check_int(name: str, v) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    v = int(v)
    if abs(v) > MAX_DIM:
        raise ValueError(f"{name} = {v} is out of range (|{name}| <= {MAX_DIM})")
    return v


def int_tuple(name: str, v, n: int, minimum: Optional[int] = None) -> Tuple[int, ...]:
    """An int (repeated n times) or a sequence of n ints, each >= minimum."""
    if isinstance(v, (list, tuple, np.ndarray)):
        vals = tuple(check_int(name, x) for x in v)
        if len(vals) == 1 and n > 1:
            vals = vals * n
        if len(vals) != n:
            raise ValueError(f"{name} must be an int or {n} ints, got {len(vals)} values {tuple(v)}")
    else:
        vals = (check_int(name, v),) * n
    if minimum is not None and any(x < minimum for x in vals):
        raise ValueError(f"{name} must be >= {minimum}, got {vals}")
    return vals


def check_size(what: str, shape: Sequence[int]) -> None:
    total = 1
    for s in shape:
        total *= int(s)
    if total > MAX_ELEMENTS:
        raise ValueError(f"{what} would have shape {tuple(shape)} = {total} elements, "
                         f"more than the limit of {MAX_ELEMENTS}")


class ConvArgs(NamedTuple):
    ndim: int
    groups: int
    stride: Tuple[int, ...]
    dilation: Tuple[int, ...]
    pad_begin: Tuple[int, ...]
    pad_end: Tuple[int, ...]
    output_padding: Tuple[int, ...]
    out_spatial: Tuple[int, ...]
    c_out: int

    def padded3(self, v: Tuple[int, ...], fill: int) -> Tuple[int, int, int]:
        """Right-aligns an ndim tuple into (d, h, w), as the C++ core expects."""
        return tuple([fill] * (3 - self.ndim) + list(v))


def _padding(padding, in_sp, kernel, dilation, stride, transposed: bool):
    """(pad_begin, pad_end) from padding given as an int, ndim ints, 2 * ndim ints, 'same' or
    'valid'."""
    ndim = len(in_sp)
    if isinstance(padding, str):
        mode = padding.lower()
        if transposed:
            raise ValueError(f"padding={padding!r} is not supported for transposed convolution "
                             f"(as in torch); give explicit pads")
        if mode == "valid":
            return (0,) * ndim, (0,) * ndim
        if mode == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"padding='same' requires stride 1 (as in torch), got stride={stride}")
            same = [same_pads(n, span(k, d), 1) for n, k, d in zip(in_sp, kernel, dilation)]
            return tuple(b for _, b, _ in same), tuple(e for _, _, e in same)
        raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    if isinstance(padding, (list, tuple, np.ndarray)) and len(padding) == 2 * ndim:
        vals = int_tuple("padding", padding, 2 * ndim, minimum=0)
        return vals[:ndim], vals[ndim:]
    vals = int_tuple("padding", padding, ndim, minimum=0)
    return vals, vals


def out_sizes(in_sp, kernel, stride, pad_begin, pad_end, dilation, output_padding=None,
              op: str = "") -> Tuple[int, ...]:
    """Output spatial size of a convolution (a transposed one when output_padding is given),
    each >= 1 or ValueError naming the axis."""
    out = []
    for i, n_in in enumerate(in_sp):
        sp = span(kernel[i], dilation[i])
        if output_padding is None:
            o = window_out(n_in, sp, stride[i], pad_begin[i], pad_end[i])
        else:
            o = transposed_out(n_in, sp, stride[i], pad_begin[i], pad_end[i], output_padding[i])
        if o < 1:
            raise ValueError(f"{op}{': ' if op else ''}output size along spatial axis {i} would "
                             f"be {o} (< 1): input {tuple(in_sp)}, kernel {tuple(kernel)}, "
                             f"stride {stride}, padding {pad_begin}+{pad_end}, dilation {dilation}")
        out.append(o)
    return tuple(out)


def conv_args(x_shape: Tuple[int, ...], weight: np.ndarray, bias: Optional[np.ndarray], ndim: int,
              stride, padding, dilation, groups, output_padding=0,
              transposed: bool = False) -> ConvArgs:
    """Validates a (transposed) convolution and computes its output size.

    x_shape: (N, C_in, *spatial); weight: (C_out, C_in/groups, *k), or (C_in, C_out/groups, *k)
    when transposed; padding: int, ndim ints (symmetric), 2*ndim ints (ONNX order: all begins, then
    all ends), 'same' or 'valid'.
    """
    if len(x_shape) != ndim + 2:
        raise ValueError(f"input must have {ndim + 2} dimensions (N, C, {'D, ' if ndim == 3 else ''}"
                         f"{'H, ' if ndim >= 2 else ''}W) for conv{ndim}d, got shape {x_shape}")
    if weight.ndim != ndim + 2:
        raise ValueError(f"weight must have {ndim + 2} dimensions for conv{ndim}d, got shape {weight.shape}")
    groups = check_int("groups", groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    stride = int_tuple("stride", stride, ndim, minimum=1)
    dilation = int_tuple("dilation", dilation, ndim, minimum=1)
    c_in = x_shape[1]
    kernel = weight.shape[2:]
    if any(k < 1 for k in kernel):
        raise ValueError(f"weight spatial size must be >= 1, got {tuple(kernel)}")
    if any(s < 1 for s in x_shape):
        raise ValueError(f"input must not have an empty dimension, got shape {x_shape}")
    if c_in % groups:
        raise ValueError(f"input channels ({c_in}) must be divisible by groups ({groups})")
    if transposed:
        if weight.shape[0] != c_in:
            raise ValueError(f"weight.shape[0] must equal the input channels ({c_in}) for a "
                             f"transposed convolution, got weight shape {weight.shape}")
        c_out = weight.shape[1] * groups
    else:
        c_out = weight.shape[0]
        if c_out % groups:
            raise ValueError(f"output channels (weight.shape[0] = {c_out}) must be divisible by "
                             f"groups ({groups})")
        if weight.shape[1] * groups != c_in:
            raise ValueError(f"weight.shape[1] must be input channels / groups = {c_in // groups}, "
                             f"got weight shape {weight.shape} (input channels {c_in}, groups {groups})")
    if c_out < 1:
        raise ValueError(f"output channels must be >= 1, got weight shape {weight.shape}")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    pad_begin, pad_end = _padding(padding, x_shape[2:], kernel, dilation, stride, transposed)
    if transposed:
        output_padding = int_tuple("output_padding", output_padding, ndim, minimum=0)
        for op, s, d in zip(output_padding, stride, dilation):
            if op >= max(s, d):
                raise ValueError(f"output_padding must be smaller than stride or dilation, got "
                                 f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    else:
        output_padding = (0,) * ndim
    out = out_sizes(x_shape[2:], kernel, stride, pad_begin, pad_end, dilation,
                    output_padding if transposed else None)
    check_size("output", (x_shape[0], c_out, *out))
    taps = int(np.prod(kernel))
    check_size("indirection buffer", (int(np.prod(out)), taps))
    check_size("packed weights", (c_out, (c_in // groups) * taps + 1))
    return ConvArgs(ndim, groups, stride, dilation, pad_begin, pad_end, output_padding, out, c_out)
