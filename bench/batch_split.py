"""Batch parallelism: splitting each layer over the threads (what the engine does) against
splitting the batch over them (each thread runs its share of the images through the whole
network on one core), for zoo models at batch >= threads.

    python bench/batch_split.py [--models resnet50,mobilenet_v2] [--threads 2]
                                [--batches 2,8,32] [--runs 10] [--out DIR]

layer split: set_num_threads(T), one run of the batch (every layer's work split over T
threads, a barrier after each layer). image split: set_num_threads(1) and T Python threads,
each calling run() on batch/T images at once (run() releases the GIL; a one-thread pool runs
every parallel_for inline on its caller), which is what an engine-side "batch split" would
do without Python. Interleaved rounds, medians; images/s. Writes batch_split.md/.json into
bench/results/<cpu>/<isa>/ (or --out).
"""
import argparse
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import convengine
import numpy as np
from convengine import _native, zoo
from convengine._bench import cpu_description, results_dir, write_results


def _x(name, batch):
    shape = list(next(iter(zoo.info(name)["inputs"].values())))
    shape[0] = batch
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def measure(name, threads, batch, runs):
    sess = convengine.InferenceSession(zoo.get(name))
    iname = sess.get_inputs()[0].name
    x = _x(name, batch)
    parts = np.array_split(x, threads)

    def layer_split():
        convengine.set_num_threads(threads)
        t0 = time.perf_counter()
        sess.run(None, {iname: x})
        return time.perf_counter() - t0

    def image_split():
        convengine.set_num_threads(1)
        go = threading.Barrier(threads + 1)

        def work(p):
            go.wait()
            sess.run(None, {iname: p})
        ts = [threading.Thread(target=work, args=(p,)) for p in parts]
        for t in ts:
            t.start()
        go.wait()
        t0 = time.perf_counter()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    fns = dict(layer_split=layer_split, image_split=image_split)
    for fn in fns.values():  # plans for both batch sizes, warm caches
        fn()
        fn()
    samples = {k: [] for k in fns}
    for _ in range(runs):
        for k, fn in fns.items():
            time.sleep(0.05)
            samples[k].append(fn())
    row = dict(model=name, threads=threads, batch=batch, runs=runs)
    for k, ts in samples.items():
        med = statistics.median(ts)
        row[k] = dict(median_ms=med * 1e3, images_per_s=batch / med)
    row["gain"] = row["image_split"]["images_per_s"] / row["layer_split"]["images_per_s"]
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mobilenet_v2,shufflenet_v2_x1_0,resnet18,resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="2,8,32")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--note", default="", help="a sentence for the markdown's header (e.g. "
                    "that the machine was shared)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    batches = [int(b) for b in a.batches.split(",")]
    if min(batches) < a.threads:
        ap.error("every batch must be >= --threads")
    rows = []
    for name in a.models.split(","):
        for b in batches:
            rows.append(measure(name.strip(), a.threads, b, a.runs))
            r = rows[-1]
            print(f"{name} batch {b}: layer split {r['layer_split']['images_per_s']:.1f} img/s, "
                  f"image split {r['image_split']['images_per_s']:.1f} img/s "
                  f"({r['gain']:.2f}x)", file=sys.stderr, flush=True)
    head = ["model", "threads", "batch", "layer split ms", "image split ms", "layer split img/s",
            "image split img/s", "image / layer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["model"], str(r["threads"]), str(r["batch"]),
            f"{r['layer_split']['median_ms']:.1f}", f"{r['image_split']['median_ms']:.1f}",
            f"{r['layer_split']['images_per_s']:.1f}", f"{r['image_split']['images_per_s']:.1f}",
            f"{r['gain']:.2f}x"]) + " |")
    meta = dict(cpu=cpu_description(), isa=_native.get_isa(), date=time.strftime("%Y-%m-%d %H:%M"))
    md = (f"# Batch split ({meta['date']})\n\nCPU: {meta['cpu']}; convengine's {meta['isa']} "
          f"kernels. Median of {a.runs} interleaved runs. layer split: the engine today (each "
          f"layer over {a.threads} threads); image split: {a.threads} threads each running "
          f"batch/{a.threads} images on one core." + (f" {a.note}" if a.note else "") +
          "\n\n" + "\n".join(lines) + "\n")
    print(md)
    out = a.out or results_dir(os.path.join(HERE, "results"))
    write_results(out, "batch_split", meta, rows, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
