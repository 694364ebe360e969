"""torch.nn.Module -> convengine Model through torch.onnx.export (optional dependency: torch).

The export runs in memory with the TorchScript-based exporter (`dynamo=False`): in torch 2.13
it is still available, needs no onnxscript, and gives clean graphs for conv nets (Conv with
BatchNorm already folded in eval mode, constant Reshape shapes). When that exporter is gone,
the torch.export-based one is used. Pass `dynamo=True` (or any other torch.onnx.export keyword)
to choose yourself.
"""
from __future__ import annotations

import io
import warnings

from .model import Model

DEFAULT_OPSET = 17


def _torch():
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        raise ImportError("convengine.from_torch needs torch: pip install torch") from None
    return torch


def _export(torch, module, args, kwargs) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = torch.onnx.export(module, args, f, **kwargs)
    data = f.getvalue()
    if not data and result is not None:  # the torch.export-based exporter returns a program
        data = result.model_proto.SerializeToString()
    return data


def export_onnx(module, example_inputs, **export_kwargs) -> bytes:
    """The serialized ONNX model of `module` (in eval mode) traced on `example_inputs`."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    if isinstance(example_inputs, torch.Tensor):
        args = (example_inputs,)
    elif isinstance(example_inputs, (tuple, list)) and example_inputs:
        args = tuple(example_inputs)
    else:
        raise TypeError("example_inputs must be a tensor or a non-empty tuple of tensors")
    kwargs = dict(export_kwargs)
    kwargs.setdefault("opset_version", DEFAULT_OPSET)
    if "input_names" not in kwargs:
        n = sum(isinstance(a, torch.Tensor) for a in args)
        kwargs["input_names"] = ["input"] if n == 1 else [f"input_{i}" for i in range(n)]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            if "output_names" not in kwargs:
                out = module(*args)
                n = len(out) if isinstance(out, (tuple, list)) else 1
                kwargs["output_names"] = ["output"] if n == 1 else [f"output_{i}" for i in range(n)]
            if "dynamo" in kwargs:
                return _export(torch, module, args, kwargs)
            try:
                return _export(torch, module, args, {**kwargs, "dynamo": False})
            except TypeError as e:
                if "dynamo" not in str(e):
                    raise
            return _export(torch, module, args, {**kwargs, "dynamo": True})
    finally:
        module.train(was_training)


def from_torch(module, example_inputs, **export_kwargs) -> Model:
    """Exports `module` (switched to eval mode for the export, then restored) with
    torch.onnx.export at opset 17 unless told otherwise, and converts the result with
    `convengine.from_onnx`. `example_inputs` is a tensor or a tuple of tensors; the graph inputs
    are named 'input' (or 'input_0', 'input_1', ...) and the outputs 'output' (or 'output_0',
    ...) unless `input_names` / `output_names` are given."""
    from .onnx_import import from_onnx  # noqa: PLC0415

    return from_onnx(export_onnx(module, example_inputs, **export_kwargs))
