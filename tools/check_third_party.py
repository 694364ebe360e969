"""Runs third-party CNN architectures (timm and torchvision definitions, random weights) through
torch.onnx.export -> convengine.from_onnx -> InferenceSession and compares with torch.

Not part of the test suite (it needs timm/torchvision: `bash ../shared/tools/install-timm.sh`).
Each model runs in its own subprocess with a time limit; one JSON line per model is appended to
the output file, and a summary is printed at the end.

    python tools/check_third_party.py --list default -o third_party.jsonl
    python tools/check_third_party.py timm:resnet18 tv:r2plus1d_18
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# One small member of every convolutional family of timm and torchvision (name, input shape).
TIMM = [
    "resnet18", "resnet26d", "seresnext26d_32x4d", "ecaresnet26t", "skresnet18", "resnest14d",
    "res2net50_14w_8s", "res2next50", "resnetv2_50", "resnetv2_50x1_bit", "regnetx_002",
    "regnety_002", "regnetz_b16", "densenet121", "dla34", "dpn48b", "vgg11_bn", "inception_v3",
    "inception_v4", "inception_resnet_v2", "legacy_xception", "xception41", "efficientnet_b0",
    "efficientnet_b0_gn", "efficientnet_b0_g8_gn", "efficientnetv2_rw_t", "tf_efficientnet_b0",
    "tf_mixnet_s", "mixnet_s", "mnasnet_100", "mobilenetv2_100", "mobilenetv3_small_100",
    "tf_mobilenetv3_small_100", "lcnet_050", "fbnetv3_b", "hardcorenas_a", "tinynet_e",
    "ghostnet_100", "ghostnetv2_100", "rexnet_100", "hrnet_w18_small", "selecsls42b",
    "legacy_seresnet18", "sknet_placeholder", "tresnet_m", "vovnet39a", "ese_vovnet19b_dw",
    "cspresnet50", "cspdarknet53", "darknet17", "cs3darknet_s", "cspnext_tiny", "gernet_s",
    "repvgg_a0", "mobileone_s0", "gcresnet33ts", "eca_resnet33ts", "bat_resnext26ts",
    "botnet26t_256", "halonet26t", "lambda_resnet26t", "nf_resnet26", "dm_nfnet_f0",
    "nf_regnet_b0", "convnext_atto", "convnext_tiny", "convnextv2_atto", "caformer_s18", "convmixer_768_32", "hgnet_tiny",
    "hgnetv2_b0", "repghostnet_050", "repvit_m0_9", "fasternet_t0", "starnet_s1",
    "inception_next_atto", "rdnet_tiny", "mambaout_femto", "efficientvit_b0", "efficientvit_m0",
    "mobilevit_xxs", "mobilevitv2_050", "edgenext_xx_small", "fastvit_t8", "efficientformer_l1",
    "poolformer_s12", "convformer_s18", "focalnet_tiny_srf", "lcnetv2_small", "shvit_s1",
    "cpubone_b0_bfrobust", "lowformer_b0", "nasnetalarge", "pnasnet5large", "visformer_tiny",
    "coatnet_nano_rw_224", "maxvit_nano_rw_256", "resnet50_gn", "ecaresnet50t",
    "gc_efficientnetv2_rw_t", "cs3sedarknet_l", "sebotnet33ts_256", "eca_halonext26ts",
    "seresnet18", "resnetblur18", "resnetaa50", "wide_resnet50_2", "selecsls42",
    "semnasnet_050", "spnasnet_100", "efficientnet_es", "efficientnet_lite0", "mobilenetv4_conv_small",
    "mobilenetv4_hybrid_medium", "dla46x_c", "mixnet_m", "tf_efficientnetv2_b0",
]
TV = [
    "alexnet", "vgg11", "resnet18", "resnext50_32x4d", "wide_resnet50_2", "squeezenet1_0",
    "squeezenet1_1", "densenet121", "inception_v3", "googlenet", "mobilenet_v2",
    "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "shufflenet_v2_x0_5",
    "efficientnet_b0", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny",
    "seg:fcn_resnet50", "seg:deeplabv3_mobilenet_v3_large", "seg:lraspp_mobilenet_v3_large",
    "seg:deeplabv3_resnet50", "video:r3d_18", "video:mc3_18", "video:r2plus1d_18", "video:s3d",
]
SHAPES = {"inception_v3": (1, 3, 299, 299), "tv:inception_v3": (1, 3, 299, 299),
          "nasnetalarge": (1, 3, 331, 331), "pnasnet5large": (1, 3, 331, 331),
          "inception_v4": (1, 3, 299, 299), "inception_resnet_v2": (1, 3, 299, 299),
          "botnet26t_256": (1, 3, 256, 256), "sebotnet33ts_256": (1, 3, 256, 256),
          "halonet26t": (1, 3, 256, 256), "eca_halonext26ts": (1, 3, 256, 256),
          "lambda_resnet26t": (1, 3, 256, 256), "maxvit_nano_rw_256": (1, 3, 256, 256),
          "tv:alexnet": (1, 3, 224, 224), "tv:video:s3d": (1, 3, 16, 224, 224)}


def default_list():
    return [f"timm:{n}" for n in TIMM if n != "sknet_placeholder"] + [f"tv:{n}" for n in TV]


def build(spec):
    import torch
    src, name = spec.split(":", 1)
    if src == "timm":
        import timm
        m = timm.create_model(name, pretrained=False)
        cfg = getattr(m, "pretrained_cfg", {}) or {}
        shape = SHAPES.get(name) or (1, *cfg.get("input_size", (3, 224, 224)))
    else:
        import torchvision.models as tvm
        if name.startswith("seg:"):
            name = name[4:]
            m = getattr(tvm.segmentation, name)(weights=None, weights_backbone=None,
                                                 aux_loss=False)
            shape = (1, 3, 224, 224)
        elif name.startswith("video:"):
            name = name[6:]
            m = getattr(tvm.video, name)(weights=None)
            shape = SHAPES.get("tv:video:" + name, (1, 3, 8, 112, 112))
        else:
            kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
            m = getattr(tvm, name)(weights=None, **kw)
            shape = SHAPES.get("tv:" + name, (1, 3, 224, 224))
    # Batch-norm statistics from data (one training-mode pass over a random batch), so that
    # folding them is checked and activations stay O(1): with random statistics deep nets
    # reach 1e5-1e13 and float32 rounding differences between any two engines (torch and
    # onnxruntime included) grow to 1e-1 of the output.
    bns = [mod for mod in m.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)
           and mod.running_mean is not None]
    if bns:
        for mod in bns:
            mod.momentum = None  # cumulative average
            mod.reset_running_stats()
        g = torch.Generator().manual_seed(1)
        m.train()
        with torch.no_grad():
            m(torch.randn(2, *shape[1:], generator=g))
    return m.eval(), shape


TIME = False
THREADS = [1]


def check_one(spec, dynamo=False):
    import numpy as np
    import torch
    import convengine
    torch.manual_seed(0)
    rec = {"model": spec}
    t0 = time.time()
    m, shape = build(spec)
    x = torch.randn(*shape)
    with torch.no_grad():
        ref = m(x)
    if isinstance(ref, dict):
        ref = ref["out"]
    if isinstance(ref, (tuple, list)):
        ref = ref[0]
    ref = ref.numpy()
    try:
        model = convengine.from_torch(m, x, dynamo=dynamo) if dynamo else convengine.from_torch(m, x)
    except Exception as e:  # noqa: BLE001
        rec.update(status="import", error=f"{type(e).__name__}: {e}"[:2000])
        return rec
    try:
        sess = convengine.InferenceSession(model)
        out = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    except Exception as e:  # noqa: BLE001
        rec.update(status="run", error=f"{type(e).__name__}: {e}"[:2000])
        return rec
    if out.shape != ref.shape:
        rec.update(status="shape", error=f"{out.shape} vs {ref.shape}")
        return rec
    scale = float(np.abs(ref).max()) or 1.0
    diff = float(np.abs(out - ref).max())
    rec.update(max_diff=diff, scale=scale, seconds=round(time.time() - t0, 1))
    # The yardstick: torch in float64. A net is ill-conditioned when torch's own float32 result
    # (or onnxruntime's) is far from it; convengine passes when it is within 1e-4 of the output
    # range of torch float32, or no further from float64 than 3x the worse of the two peers.
    errs = {}
    try:
        import copy
        with torch.no_grad():
            r64 = copy.deepcopy(m).double()(x.double())
        r64 = (r64["out"] if isinstance(r64, dict) else r64[0] if isinstance(r64, (tuple, list))
               else r64).numpy()
        errs["torch32"] = float(np.abs(ref - r64).max())
        errs["convengine"] = float(np.abs(out - r64).max())
    except Exception:  # noqa: BLE001
        pass
    onnx_bytes = None
    try:
        import onnxruntime
        from convengine.torch_import import export_onnx
        onnx_bytes = export_onnx(m, x)
        o = onnxruntime.InferenceSession(onnx_bytes).run(None, {"input": x.numpy()})[0]
        rec["ort_diff"] = float(np.abs(o - ref).max())
        if "torch32" in errs:
            errs["ort"] = float(np.abs(o - r64).max())
    except Exception:  # noqa: BLE001
        pass
    rec["err_vs_float64"] = errs
    if TIME:  # medians of interleaved rounds at each of THREADS; the slowest convengine steps
        import onnxruntime
        from convengine.torch_import import export_onnx
        if onnx_bytes is None:
            onnx_bytes = export_onnx(m, x)
        feed = {"input": x.numpy()}
        by_threads = {}
        for th in THREADS:
            so = onnxruntime.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = th, 1
            osess = onnxruntime.InferenceSession(onnx_bytes, so)
            convengine.set_num_threads(th)
            fns = {"convengine": lambda: sess.run(None, feed), "ort": lambda: osess.run(None, feed)}
            ts = {k: [] for k in fns}
            for _ in range(5):
                for k, f in fns.items():
                    # Each pool spins a while after its last job; on few cores the other
                    # engine's spinning workers would share the cores with this one's.
                    if th > 1:
                        time.sleep(0.2)
                    f()
                    for _ in range(5):
                        t1 = time.perf_counter()
                        f()
                        ts[k].append(time.perf_counter() - t1)
            by_threads[str(th)] = {k: round(float(np.median(v)) * 1e3, 3) for k, v in ts.items()}
        rec["ms"] = by_threads[str(THREADS[0])]
        if len(THREADS) > 1:
            rec["ms_by_threads"] = by_threads
        convengine.set_num_threads(THREADS[0])
        rows = sess.profile(feed, runs=5)
        rec["top_steps"] = [(r["op"], r["algorithm"], round(r["ms"], 3))
                            for r in sorted(rows, key=lambda r: -r["ms"])[:4]]
    ok = diff <= 1e-4 * scale
    if not ok and "convengine" in errs:
        peer = max(v for k, v in errs.items() if k != "convengine")
        ok = errs["convengine"] <= 3 * peer
    rec["status"] = "ok" if ok and np.isfinite(out).all() else "mismatch"
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--list", choices=["default"])
    ap.add_argument("-o", "--output", default="third_party.jsonl")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--dynamo", action="store_true")
    ap.add_argument("--time", action="store_true",
                    help="also time convengine and onnxruntime (at 1 thread unless --threads)")
    ap.add_argument("--threads", default="1",
                    help="thread counts to time at, comma-separated (default 1); 'ms' in the "
                         "output is the first, 'ms_by_threads' has them all")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    global TIME, THREADS
    TIME = a.time
    try:
        THREADS = [int(t) for t in a.threads.split(",")]
    except ValueError:
        ap.error(f"--threads takes comma-separated thread counts, got {a.threads!r}")
    if not THREADS or min(THREADS) < 1:
        ap.error(f"--threads takes thread counts of at least 1, got {a.threads!r}")
    if a.one:
        print(json.dumps(check_one(a.one, a.dynamo)))
        return
    specs = a.models or (default_list() if a.list else [])
    for spec in specs:
        cmd = [sys.executable, __file__, "--one", spec] + (["--dynamo"] if a.dynamo else []) + (
            ["--time", "--threads", a.threads] if a.time else [])
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
            lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            rec = json.loads(lines[-1]) if lines else {
                "model": spec, "status": "crash", "error": (p.stderr or "")[-1500:]}
        except subprocess.TimeoutExpired:
            rec = {"model": spec, "status": "timeout"}
        with open(a.output, "a") as f:
            f.write(json.dumps(rec) + "\n")
        e64 = " ".join(f"{k} {v:.1e}" for k, v in rec.get("err_vs_float64", {}).items())
        ms = " ".join(f"{th}t {k} {v} ms" for th, d in rec.get(
            "ms_by_threads", {str(THREADS[0]): rec.get("ms", {})}).items() for k, v in d.items())
        print(f"{rec['status']:9s} {spec} {rec.get('max_diff', '')} (ort {rec.get('ort_diff', '')}; "
              f"vs float64: {e64}) {ms} {rec.get('error', '')[:300]}", flush=True)


if __name__ == "__main__":
    main()
