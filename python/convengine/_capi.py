"""The C API (include/convengine.h) through ctypes, for tests and benchmarks: the extension
module exports the ce_* symbols, so Python can drive exactly the calls a C program makes."""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native

CE_MAX_RANK = 8


class CError(Exception):
    """A non-NULL ce_status: .code (CE_INVALID_FILE, ...) and the message."""

    def __init__(self, code, message):
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


def library(path=None):
    """The ce_* functions of `path` (default: the extension module) with their C types."""
    lib = ctypes.CDLL(path or _native.__file__)
    P, I, S = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    sig = {
        "ce_version": ([], ctypes.c_char_p),
        "ce_model_load": ([ctypes.c_char_p, ctypes.POINTER(P)], P),
        "ce_model_load_from_memory": ([ctypes.c_char_p, S, ctypes.POINTER(P)], P),
        "ce_model_input_count": ([P], I), "ce_model_output_count": ([P], I),
        "ce_model_input_name": ([P, I], ctypes.c_char_p),
        "ce_model_output_name": ([P, I], ctypes.c_char_p),
        "ce_model_input_shape": ([P, I, ctypes.POINTER(ctypes.c_int64)], I),
        "ce_model_output_shape": ([P, I, ctypes.POINTER(ctypes.c_int64)], I),
        "ce_model_run": ([P, ctypes.POINTER(P), ctypes.POINTER(P)], P),
        "ce_model_free": ([P], None),
        "ce_set_num_threads": ([I], None), "ce_get_num_threads": ([], I),
        "ce_status_code": ([P], I), "ce_status_message": ([P], ctypes.c_char_p),
        "ce_status_free": ([P], None),
    }
    for name, (args, res) in sig.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    return lib


def check(lib, status):
    if status:
        code = lib.ce_status_code(status)
        msg = lib.ce_status_message(status).decode(errors="replace")
        lib.ce_status_free(status)
        raise CError(code, msg)


class CModel:
    """A model loaded through the C API; run() takes and returns NCHW float32 arrays."""

    def __init__(self, path_or_bytes, lib=None):
        self.lib = lib or library()
        self.handle = ctypes.c_void_p()
        if isinstance(path_or_bytes, (bytes, bytearray)):
            data = bytes(path_or_bytes)
            check(self.lib, self.lib.ce_model_load_from_memory(data, len(data),
                                                               ctypes.byref(self.handle)))
        else:
            check(self.lib, self.lib.ce_model_load(os.fsencode(path_or_bytes),
                                                   ctypes.byref(self.handle)))
        self.inputs = self._tensors(self.lib.ce_model_input_count, self.lib.ce_model_input_name,
                                    self.lib.ce_model_input_shape)
        self.outputs = self._tensors(self.lib.ce_model_output_count,
                                     self.lib.ce_model_output_name, self.lib.ce_model_output_shape)

    def _tensors(self, count, name, shape):
        res = []
        for i in range(count(self.handle)):
            dims = (ctypes.c_int64 * CE_MAX_RANK)()
            r = shape(self.handle, i, dims)
            res.append((name(self.handle, i).decode(errors="replace"), tuple(dims[:r])))
        return res

    def run(self, *arrays, out=None):
        if len(arrays) != len(self.inputs):
            raise ValueError(f"{len(self.inputs)} inputs expected")
        ins = []
        for a, (n, s) in zip(arrays, self.inputs):
            a = np.ascontiguousarray(a, dtype=np.float32)
            if a.shape != s:
                raise ValueError(f"input {n}: shape {a.shape}, the model's is {s}")
            ins.append(a)
        outs = out or [np.empty(s, np.float32) for _, s in self.outputs]
        in_p = (ctypes.c_void_p * max(1, len(ins)))(*[a.ctypes.data for a in ins])
        out_p = (ctypes.c_void_p * max(1, len(outs)))(*[o.ctypes.data for o in outs])
        check(self.lib, self.lib.ce_model_run(self.handle, in_p, out_p))
        return outs

    def close(self):
        if self.handle:
            self.lib.ce_model_free(self.handle)
            self.handle = ctypes.c_void_p()

    def __del__(self):
        self.close()
