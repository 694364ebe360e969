"""Runs networks through the C example runner (examples/ce_run.c, written only against
include/convengine.h): each is built (in torch, or taken from the zoo), compiled with
`convengine compile` on this machine, run by ce_run on a .npy input, and its output compared
with InferenceSession's on this machine. Used by .ci/run after the no-Python build, natively and
for the aarch64 build under qemu.

    python tools/check_c_runner.py build/c/examples/ce_run [--timm name ...] [--zoo]
    python tools/check_c_runner.py build/aarch64/examples/ce_run --zoo \
        --emulator "qemu-aarch64 -L /usr/aarch64-linux-gnu" --qemu-cpu cortex-a72,max

Natively the outputs must be bit-identical (the same kernels run). Under --emulator the runner
is another architecture's build with other kernels (NEON for AVX2/AVX-512): their sums run in
another order, so the outputs are compared within max|got - want| <= rtol * max|want| with
rtol 1e-4 (--rtol). Between this machine's own ISA levels (CONVENGINE_ISA=scalar against avx512
on AMD Zen 4) the zoo models below differ by at most 1.9e-6 in that measure: the bound leaves
50x for a different kernel tile, and a wrong kernel (a lost tail, a misplaced tap) shows as
1e-2 or more.

--timm adds timm models (when timm is installed) to the built-in held-out set; --zoo adds every
zoo model at a reduced input size (ZOO_OPTIONS), batch 2; --skip-torch leaves out the torch-built
networks. Emulation checks correctness only: nothing here is timed.
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


# Zoo options that keep each model small enough for emulation (a few hundred MFLOPs or less).
ZOO_OPTIONS = dict(
    alexnet=dict(size=67), c3d_small=dict(size=32), deeplab_aspp=dict(size=9, in_channels=256),
    densenet121=dict(size=64), googlenet=dict(size=64), mobilenet_v1=dict(size=96),
    mobilenet_v2=dict(size=96), mobilenet_v3_small=dict(size=96), resnet18=dict(size=64),
    resnet50=dict(size=64), resnext50_32x4d=dict(size=64), se_resnet50=dict(size=64),
    shufflenet_v1_g3=dict(size=96), shufflenet_v2_x1_0=dict(size=96),
    squeezenet1_1=dict(size=96), tcn_1d=dict(length=2000), unet_small=dict(size=64),
    xception_entry=dict(size=99), dcn_resnet_block=dict(size=14, channels=128, mid=32),
    inception_v3_block=dict(c7=64))


def zoo_nets():
    """(name, model, input shape) for every zoo model, batch 2."""
    from convengine import zoo
    nets = []
    for name in zoo.list():
        model = zoo.get(name, batch=2, **ZOO_OPTIONS.get(name, {}))
        shape = [d if isinstance(d, int) else 2 for d in model.graph.inputs[0].shape]
        nets.append((name, model, tuple(shape)))
    return nets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runner", help="the ce_run executable")
    ap.add_argument("--timm", nargs="*", default=[])
    ap.add_argument("--zoo", action="store_true", help="add the zoo models (reduced sizes)")
    ap.add_argument("--skip-torch", action="store_true", help="leave out the torch-built nets")
    ap.add_argument("--emulator", default="", help="command prefix that runs the runner, "
                    "e.g. 'qemu-aarch64 -L /usr/aarch64-linux-gnu'")
    ap.add_argument("--qemu-cpu", default="", help="with --emulator: comma-separated QEMU_CPU "
                    "models, each runs every network")
    ap.add_argument("--rtol", type=float, default=1e-4,
                    help="with --emulator: bound on max|got - want| / max|want|")
    args = ap.parse_args(argv)
    import shlex
    import convengine as ce
    from convengine import Model
    from convengine._cli import main as cli
    nets = []
    if not args.skip_torch:
        from convengine import from_torch
        import torch
        for name, net, shape in held_out() + (timm_nets(args.timm) if args.timm else []):
            x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
            nets.append((name, from_torch(net, torch.from_numpy(x)), shape))
    if args.zoo:
        nets += zoo_nets()
    prefix = shlex.split(args.emulator)
    cpus = [c for c in args.qemu_cpu.split(",") if c] if prefix else []
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, shape in nets:
            assert isinstance(model, Model)
            x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
            json_path = os.path.join(tmp, name + ".json")
            cem = os.path.join(tmp, name + ".cem")
            model.save(json_path)
            spec = f"{model.graph.inputs[0].name}=" + ",".join(map(str, shape))
            if cli(["compile", json_path, "-o", cem, "--input-shape", spec]) != 0:
                print(f"{name}: compile failed")
                failed += 1
                continue
            np.save(os.path.join(tmp, "x.npy"), x)
            want = ce.InferenceSession(json_path).run(None, {model.graph.inputs[0].name: x})[0]
            for cpu in cpus or [None]:
                env = dict(os.environ, QEMU_CPU=cpu) if cpu else None
                what = f"{name}{f' [QEMU_CPU={cpu}]' if cpu else ''}"
                out = os.path.join(tmp, "y.npy")
                if os.path.exists(out):
                    os.remove(out)
                r = subprocess.run([*prefix, args.runner, cem, os.path.join(tmp, "x.npy"), "-o", out],
                                   capture_output=True, text=True, timeout=1200, env=env)
                if r.returncode != 0:
                    print(f"{what}: ce_run failed ({r.returncode}): {r.stderr.strip()}")
                    failed += 1
                    continue
                got = np.load(out)
                if not prefix:
                    ok = got.shape == want.shape and np.array_equal(got, want)
                    verdict = "bit-identical to InferenceSession" if ok else "DIFFERS"
                elif got.shape != want.shape or not np.all(np.isfinite(got) == np.isfinite(want)):
                    ok, verdict = False, f"DIFFERS: shape {got.shape} or non-finite elements"
                else:
                    fin = np.isfinite(want)
                    err = np.abs(got[fin].astype(np.float64) - want[fin]).max(initial=0.0)
                    rel = err / max(np.abs(want[fin]).max(initial=0.0), np.finfo(np.float32).tiny)
                    ok = rel <= args.rtol
                    verdict = (f"max|diff| / max|y| = {rel:.1e} against this machine's session"
                               f"{'' if ok else f' DIFFERS (bound {args.rtol:g})'}")
                print(f"{what}: {shape} -> {tuple(got.shape)}: {verdict}", flush=True)
                failed += not ok
    print(f"{len(nets)} networks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
