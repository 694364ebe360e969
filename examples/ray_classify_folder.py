"""Classify a folder of images with a zoo model on Ray Data: one convengine session per actor.

    pip install "convengine[ray]" pillow
    python examples/ray_classify_folder.py /tmp/images --generate 300    # make a folder, classify it
    python examples/ray_classify_folder.py ~/photos --model resnet50 --size 224 --actors 4

Reads PNG / JPEG (decoded with Pillow, if installed) and .npy files (H x W x 3 uint8), resizes
them to the model's input, normalises them as torchvision's ImageNet models expect, and writes
path, top-1 class and its probability to a CSV. Decoding runs in Ray tasks, the model in
`--actors` actors of `--cpus-per-actor` CPUs each (the engine runs that many threads). The
session is built once here and pickled to the actors (about its weights file in bytes); on a
cluster with a shared file system, `--by-path` sends its path and checksum instead.
The zoo's weights are random (seeded), so the labels mean nothing; put your own model's path
in --model (a .json, .onnx or .cem) to get real ones.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

import convengine
from convengine import zoo
from convengine.ray import Predictor

try:
    from PIL import Image
except ImportError:  # .npy files only
    Image = None

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
EXTENSIONS = (".npy",) + ((".png", ".jpg", ".jpeg") if Image is not None else ())


def generate(folder: str, count: int, seed: int = 0) -> None:
    """`count` random images of assorted sizes: PNG (or JPEG every third one) with Pillow,
    else .npy."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        h, w = rng.integers(48, 320, size=2)
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        if Image is None:
            np.save(os.path.join(folder, f"img{i:05d}.npy"), img)
        else:
            Image.fromarray(img).save(os.path.join(folder, f"img{i:05d}.{'jpg' if i % 3 == 2 else 'png'}"))


def _read(path: str, size: int) -> np.ndarray:
    if path.endswith(".npy"):
        img = np.load(path)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"{path}: expected an H x W x 3 array, got shape {img.shape}")
        rows = np.arange(size) * img.shape[0] // size  # nearest-neighbour resize
        cols = np.arange(size) * img.shape[1] // size
        return img[rows][:, cols]
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))


def decode(batch: dict, size: int) -> dict:
    """Ray task: paths -> NCHW float32 images, normalised."""
    images = np.stack([_read(p, size) for p in batch["path"]]).astype(np.float32) / 255
    images = ((images - MEAN) / STD).transpose(0, 3, 1, 2)
    return {"path": batch["path"], "input": np.ascontiguousarray(images)}


def top1(outputs: dict) -> dict:
    logits = next(iter(outputs.values()))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    return {"label": probs.argmax(axis=1), "probability": probs.max(axis=1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--generate", type=int, metavar="N", help="first write N random images there")
    ap.add_argument("--model", default="mobilenet_v2", help="a zoo name, or a model path")
    ap.add_argument("--size", type=int, default=224, help="input size for a zoo model")
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--cpus-per-actor", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--by-path", action="store_true",
                    help="pickle the session as path + sha256 (a shared file system)")
    ap.add_argument("--address", help="a Ray cluster to join (default: start a local one)")
    ap.add_argument("--out", default="predictions.csv")
    args = ap.parse_args(argv)

    import ray
    if args.generate:
        generate(args.folder, args.generate)
    files = sorted(os.path.join(args.folder, f) for f in os.listdir(args.folder)
                   if f.lower().endswith(EXTENSIONS))
    if not files:
        print(f"no {'/'.join(EXTENSIONS)} files in {args.folder}", file=sys.stderr)
        return 1

    if args.model in zoo.list():
        session = convengine.InferenceSession(zoo.get(args.model, size=args.size))
    else:
        session = convengine.InferenceSession(args.model)
        session.pickle_by = "path" if args.by_path else "model"
    size = session.get_inputs()[0].shape[-1]

    # Locally, one CPU more than the actors take: actors holding every CPU would starve the
    # decoding tasks, and Ray Data would wait for them forever.
    ray.init(address=args.address, num_cpus=None if args.address else
             max(os.cpu_count() or 1, args.actors * args.cpus_per_actor + 1))
    start = time.perf_counter()
    ds = ray.data.from_items([{"path": p} for p in files])
    ds = ds.map_batches(decode, fn_kwargs={"size": size}, batch_size=64)
    ds = ds.map_batches(Predictor, fn_constructor_kwargs=dict(
                            model=session, keep_columns=["path"], postprocess=top1),
                        compute=ray.data.ActorPoolStrategy(size=args.actors),
                        num_cpus=args.cpus_per_actor,
                        batch_size=args.batch_size)
    rows = sorted(ds.take_all(), key=lambda r: r["path"])
    seconds = time.perf_counter() - start
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "probability"])
        for r in rows:
            w.writerow([r["path"], int(r["label"]), f"{float(r['probability']):.6f}"])
    print(f"{len(rows)} images in {seconds:.1f} s ({len(rows) / seconds:.1f} images/s, "
          f"{args.actors} actors x {args.cpus_per_actor} CPUs) -> {args.out}")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
