"""The `convengine` command line: convert, run, inspect (and bench still dispatched)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import convengine
from convengine._cli import main

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    """conv 3x3 + BN + ReLU -> global pool -> flatten -> FC, input 'x' (2, 3, 9, 9)."""
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((8, 3, 3, 3)), "b": rng.standard_normal(8),
             "scale": rng.uniform(0.5, 1.5, 8), "shift": rng.standard_normal(8),
             "mean": rng.standard_normal(8) * 0.1, "var": rng.uniform(0.5, 1.5, 8),
             "fw": rng.standard_normal((5, 8)), "fb": rng.standard_normal(5)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["n"],
                              name="bn"),
             helper.make_node("Relu", ["n"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path_factory.mktemp("cli") / "small.onnx"
    onnx.save(m, str(path))
    return path


@pytest.fixture(scope="module")
def x_path(onnx_path):
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 9)).astype(np.float32)
    path = onnx_path.parent / "x.npy"
    np.save(path, x)
    return path


def expected(onnx_path, x_path):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": np.load(x_path)})[0]


def test_convert_run_inspect(onnx_path, x_path, tmp_path, capsys):
    out = tmp_path / "small.json"
    assert main(["convert", str(onnx_path), "-o", str(out)]) == 0
    assert out.exists() and (tmp_path / "small.bin").exists()
    assert "wrote" in capsys.readouterr().out
    model = convengine.load(out)
    assert [n.op_type for n in model.graph.nodes] == [
        "Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]

    y = tmp_path / "y.npy"
    assert main(["run", str(out), "--input", str(x_path), "--output", str(y)]) == 0
    assert "y: (2, 5) float32" in capsys.readouterr().out
    want = expected(onnx_path, x_path)
    np.testing.assert_allclose(np.load(y), want, rtol=1e-4, atol=1e-4)

    y2 = tmp_path / "y2.npy"
    assert main(["run", str(out), "--input", f"x={x_path}", "--output", f"y={y2}",
                 "--threads", "2", "--no-optimize"]) == 0
    np.testing.assert_allclose(np.load(y2), want, rtol=1e-4, atol=1e-4)

    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("op", "algorithm", "MFLOPs", "params", "total", "activation arena", "weights"):
        assert word in text, word
    # per-node table: the conv's output shape and its parameter count (8*3*3*3 + 8 = 224)
    assert "2x8x9x9" in text and "224" in text
    assert f"kernels: {convengine._native.get_isa()} " in text


def test_convert_optimize(onnx_path, x_path, tmp_path, capsys):
    out = tmp_path / "opt.json"
    assert main(["convert", str(onnx_path), "-o", str(out), "--optimize"]) == 0
    model = convengine.load(out)
    ops = [n.op_type for n in model.graph.nodes]
    assert "BatchNormalization" not in ops and "Relu" not in ops, ops
    y = tmp_path / "y.npy"
    assert main(["run", str(out), "--input", str(x_path), "--output", str(y),
                 "--no-optimize"]) == 0
    np.testing.assert_allclose(np.load(y), expected(onnx_path, x_path), rtol=1e-4, atol=1e-4)


def test_run_onnx_directly_and_default_output_name(onnx_path, x_path, tmp_path, capsys):
    assert main(["run", str(onnx_path), "-i", str(x_path)]) == 0
    assert "y: (2, 5)" in capsys.readouterr().out
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(onnx_path.read_bytes())
    assert main(["convert", str(copy)]) == 0
    assert (tmp_path / "copy.json").exists() and (tmp_path / "copy.bin").exists()


@pytest.mark.parametrize("argv, message", [
    (["convert", "{missing}"], "no such file"),
    (["run", "{missing}", "--input", "{x}"], "no such file"),
    (["inspect", "{missing}"], "no such file"),
    (["run", "{model}", "--input", "{missing}"], "no such file"),
    (["run", "{model}", "--input", "z={x}"], "unknown input name 'z'"),
    (["run", "{model}"], "missing input(s) ['x']"),
    (["run", "{model}", "--input", "{x}", "--input", "{x}"], "inputs given"),
    (["run", "{model}", "--input", "{bad}"], "cannot read"),
    (["run", "{model}", "--input", "{wrong_shape}"], "x"),
    (["run", "{model}", "--input", "{x}", "--threads", "0"], "--threads"),
    (["convert", "{garbage}"], "not a valid ONNX model"),
    (["convert", "{model}", "-o", "{nodir}"], "output folder does not exist"),
    (["frobnicate"], "invalid choice"),
    (["run"], "required"),
])
def test_errors_are_one_line(argv, message, onnx_path, x_path, tmp_path, capsys):
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    (tmp_path / "garbage.onnx").write_bytes(b"\x00\x01garbage")
    np.save(tmp_path / "wrong.npy", np.zeros((1, 3, 4, 4), np.float32))
    subs = {"missing": tmp_path / "missing.json", "x": x_path, "model": onnx_path,
            "bad": tmp_path / "bad.npy", "wrong_shape": tmp_path / "wrong.npy",
            "garbage": tmp_path / "garbage.onnx", "nodir": tmp_path / "no" / "m.json"}
    argv = [a.format(**{k: str(v) for k, v in subs.items()}) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("convengine "), err
    assert message in err, err


def _subprocess(*args):
    # The convengine this test process imported (the installed one in CI, python/ in a dev tree).
    import convengine
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(convengine.__file__)))
    return subprocess.run([sys.executable, "-m", "convengine", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_subprocess_exit_codes(tmp_path, onnx_path, x_path):
    r = _subprocess("run", str(tmp_path / "missing.json"), "--input", str(x_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr
    r = _subprocess("run", str(onnx_path), "--input", str(x_path))
    assert r.returncode == 0 and "y: (2, 5) float32" in r.stdout, r.stderr
    r = _subprocess()
    assert r.returncode == 2 and "convert" in r.stderr and "bench" in r.stderr
    r = _subprocess("--help")
    assert r.returncode == 0 and "inspect" in r.stdout
    r = _subprocess("bench", "--help")
    assert r.returncode == 0 and "--threads" in r.stdout


# /proc/cpuinfo as the kernels of a Raspberry Pi 4, a big.LITTLE RK3588 and a Zen 4 VM print it
# (shortened): benchmark tables name the core and go to a folder of their own.
PI4 = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU part\t: 0xd08

processor\t: 1
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd08

Hardware\t: BCM2835
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""
RK3588 = "".join(f"processor\t: {i}\nFeatures\t: fp asimd asimdhp asimddp\nCPU implementer\t: 0x41\n"
                 f"CPU part\t: {'0xd05' if i < 4 else '0xd0b'}\n\n" for i in range(8))
ZEN4 = """processor\t: 0
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma avx512f avx512bw
"""


@pytest.mark.parametrize("text, want", [
    (PI4, "Cortex-A72 (Raspberry Pi 4 Model B Rev 1.4), asimd"),
    (RK3588, "Cortex-A55+Cortex-A76, asimd/asimddp"),
    (ZEN4, "AMD EPYC (family 25, model 17), avx512f/avx2/fma"),
    ("processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x802\n", "ARM implementer 0x51 part 0x802"),
])
def test_cpu_description(text, want):
    from convengine._bench import cpu_description
    assert cpu_description(text) == want


def test_bench_batches_report_images_per_second(tmp_path):
    """`convengine bench --batch 1,3`: a row per batch with images/s = batch / median time,
    for convengine and each peer measured in the same run."""
    import json
    pytest.importorskip("onnxruntime")
    out = tmp_path / "b"
    r = _subprocess("bench", "--models", "squeezenet1_1", "--threads", "1", "--batch", "1,3",
                    "--runs", "2", "--warmup", "1", "--vs", "ort", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert "| batch |" in r.stdout and "convengine img/s" in r.stdout and "ort img/s" in r.stdout
    rows = json.load(open(out / "models.json"))["results"]
    assert [(row["batch"], row["threads"]) for row in rows] == [(1, 1), (3, 1)]
    for row in rows:
        for e in ("convengine", "ort"):
            t = row[e]
            assert t["images_per_s"] == pytest.approx(row["batch"] * 1e3 / t["median_ms"])
    md = (out / "models.md").read_text()
    assert "| squeezenet1_1 | 1 | 3 |" in md
    assert "speed-up vs 1 thread" not in md  # one thread count: no scaling column


def test_bench_rounds_and_thread_scaling(tmp_path):
    """--rounds splits each engine's runs into interleaved rounds (5 runs in 2 rounds: 5 timed
    runs); with 1 and 2 threads, the 2-thread row gives convengine's speed-up over the 1-thread
    row of the same model and batch."""
    import json
    out = tmp_path / "s"
    r = _subprocess("bench", "--models", "squeezenet1_1", "--threads", "1,2", "--runs", "5",
                    "--rounds", "2", "--warmup", "1", "--vs", "ce_fast", "--output", str(out))
    assert r.returncode == 0, r.stderr
    rows = json.load(open(out / "models.json"))["results"]
    assert [row["convengine"]["runs"] for row in rows] == [5, 5]
    one, two = (row["convengine"]["median_ms"] for row in rows)
    md = (out / "models.md").read_text()
    assert "(2 interleaved rounds)" in md
    # the thread hand-off cost before and after the runs, in the header and the JSON
    trips = json.load(open(out / "models.json"))["meta"]["thread_round_trip_ns"]
    assert len(trips) == 2 and f"{trips[0]} ns before the runs, {trips[1]} ns after" in md
    if (os.cpu_count() or 1) > 1:
        assert all(0 < t < 1e6 for t in trips)
    head = next(line for line in md.splitlines() if line.startswith("| model"))
    col = [c.strip() for c in head.strip("|").split("|")].index("ce speed-up vs 1 thread")
    cells = [[c.strip() for c in line.strip("|").split("|")]
             for line in md.splitlines() if line.startswith("| squeezenet1_1")]
    assert cells[0][col] == "-"
    assert cells[1][col] == f"{one / two:.2f}x"
    # every round's round trip; the speed-up over the rounds whose vCPUs shared a cache
    rts = [row["round_trip_ns"] for row in rows]
    assert len(rts[0]) == 2 and rts[0] == rts[1]
    k = sum(t < 200 for t in rts[0])
    assert rows[1]["shared_cache_rounds"] == k
    near = [row["convengine"].get("shared_cache_median_ms") for row in rows]
    col = [c.strip() for c in head.strip("|").split("|")].index(
        "speed-up in shared-cache rounds: ce / ort (rounds)")
    assert cells[0][col] == "-"
    if k:
        assert near[1] > 0 and cells[1][col] == f"{one / near[1]:.2f}x / - ({k}/2)"
    else:
        assert near[1] is None and cells[1][col] == "- (0/2)"
    r = _subprocess("bench", "--rounds", "0")
    assert r.returncode == 2 and "rounds" in r.stderr
    r = _subprocess("bench", "--batch", "1,x")
    assert r.returncode == 2 and "--batch must be comma-separated integers" in r.stderr
