"""Runs networks the zoo does not hold through the C example runner (examples/ce_run.c, written
only against include/convengine.h): each is built in torch, imported, compiled with
`convengine compile`, run by ce_run on a .npy input, and its output compared bit for bit with
InferenceSession's on the same machine. Used by .ci/run after the no-Python build.

    python tools/check_c_runner.py build/c/examples/ce_run [--timm name ...]

--timm adds timm models (when timm is installed) to the built-in held-out set.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def held_out():
    """Small torch networks with layers the zoo models do not combine this way."""
    import torch
    from torch import nn

    class ConvNeXtish(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 24, 4, 4)
            self.dw = nn.Conv2d(24, 24, 7, padding=3, groups=24)
            self.norm = nn.LayerNorm(24)
            self.pw1 = nn.Linear(24, 96)
            self.pw2 = nn.Linear(96, 24)
            self.head = nn.Linear(24, 10)

        def forward(self, x):
            x = self.stem(x)
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.pw2(nn.functional.gelu(self.pw1(self.norm(y)))).permute(0, 3, 1, 2)
            x = x + y
            return self.head(x.mean((2, 3)))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(5, 13, 3, 2, 1), nn.BatchNorm2d(13), nn.ReLU6())
            self.up = nn.ConvTranspose2d(13, 7, 3, 2, 1)
            self.mix = nn.Conv2d(12, 3, (1, 5), padding=(0, 2), dilation=1)

        def forward(self, x):
            e = self.enc(x)
            u = torch.sigmoid(self.up(e))
            return self.mix(torch.cat([u, x], 1))

    class Audio(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(2, 11, 9, stride=3, padding=4)
            self.c2 = nn.Conv1d(11, 11, 3, padding=2, dilation=2, groups=11)
            self.pool = nn.MaxPool1d(3, 2, 1)

        def forward(self, x):
            y = nn.functional.silu(self.c1(x))
            y = self.pool(self.c2(y) + y)
            return torch.softmax(y, 1)

    torch.manual_seed(0)
    nets = [("convnext_block", ConvNeXtish(), (1, 3, 64, 64)),
            ("decoder", Decoder(), (2, 5, 17, 23)),
            ("audio_1d", Audio(), (3, 2, 301))]
    for _, n, _ in nets:
        n.eval()
        for m in n.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return nets


def timm_nets(names):
    import timm
    nets = []
    for name in names:
        m = timm.create_model(name, pretrained=False).eval()
        size = m.default_cfg.get("input_size", (3, 224, 224))
        nets.append((name, m, (1, *size)))
    return nets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runner", help="the ce_run executable")
    ap.add_argument("--timm", nargs="*", default=[])
    args = ap.parse_args(argv)
    import convengine as ce
    from convengine import from_torch
    from convengine._cli import main as cli
    nets = held_out() + (timm_nets(args.timm) if args.timm else [])
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, net, shape in nets:
            x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
            import torch
            model = from_torch(net, torch.from_numpy(x))
            json_path = os.path.join(tmp, name + ".json")
            cem = os.path.join(tmp, name + ".cem")
            model.save(json_path)
            spec = f"{model.graph.inputs[0].name}=" + ",".join(map(str, shape))
            if cli(["compile", json_path, "-o", cem, "--input-shape", spec]) != 0:
                print(f"{name}: compile failed")
                failed += 1
                continue
            np.save(os.path.join(tmp, "x.npy"), x)
            out = os.path.join(tmp, "y.npy")
            r = subprocess.run([args.runner, cem, os.path.join(tmp, "x.npy"), "-o", out],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                print(f"{name}: ce_run failed ({r.returncode}): {r.stderr.strip()}")
                failed += 1
                continue
            got = np.load(out)
            want = ce.InferenceSession(json_path).run(None, {model.graph.inputs[0].name: x})[0]
            same = got.shape == want.shape and np.array_equal(got, want)
            print(f"{name}: {shape} -> {tuple(got.shape)}: "
                  f"{'bit-identical to InferenceSession' if same else 'DIFFERS'}")
            failed += not same
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
