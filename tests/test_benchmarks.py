"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs, writes well-formed
JSON, and fastnet agrees with the NumPy reference.  Speed is never judged here."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnet

from .helpers import MNIST_DIR as DATA

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.mnist

TRAIN_CASES = ["headline", "depth", "width-100", "width-1000"]
BLAS_KERNELS = "fastnet (BLAS kernels)"

# The fastnet rows every case has: the default kernels and the all-BLAS path.
FASTNET_IMPLS = ["fastnet", BLAS_KERNELS]


def run_benchmarks(tmp_path, *args):
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    env = dict(os.environ)
    # The fastnet this test imported (installed or built in place) first, then the repo for
    # the benchmarks package; run from elsewhere so the repo's own fastnet/ cannot shadow it.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(fastnet.__file__).resolve().parents[1]), str(REPO)]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "-q",
                           "--data", str(DATA), "--json", str(out), "--markdown", str(md)]
                          + list(args), cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as f:
        result = json.load(f)
    assert md.read_text().strip() == proc.stdout.strip()
    return result, proc.stdout


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_benchmarks(tmp_path_factory.mktemp("bench"), "--no-peers")


def positive(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def check_timing_row(row):
    assert row["times_s"] and all(positive(t) for t in row["times_s"])
    assert positive(row["median_s"]) and positive(row["seconds"])
    assert positive(row["examples_per_s"])
    assert row["examples_timed"] >= 1 and row["scaled_to_examples"] >= row["examples_timed"]
    assert row["dtype"] in ("float64", "float32")


def test_json_structure(quick):
    result, _ = quick
    assert result["schema"] == "fastnet-benchmarks/1"
    assert result["mode"] == "quick"
    for key in ("model_name", "usable_cpus", "logical_cpus"):
        assert key in result["machine"]
    for key in ("python", "numpy", "scipy", "fastnet"):
        assert result["versions"][key]
    assert "revision" in result["git"]
    assert result["threads"]["explanation"]
    assert result["peaks"] and all(positive(p["gflops"]) for p in result["peaks"])
    from fastnet import dispatch
    kernels = result["kernels"]
    assert kernels["supported"] == dispatch.supported()
    assert kernels["current"] in dispatch.LEVELS
    assert kernels["table"] == dispatch.table() and kernels["cpuid"] == dispatch.cpu()
    assert kernels["table_parameters"] == dispatch.table_values()
    if kernels["supported"] != "blas":
        # The FMA peak at the best vectors, per precision, is what rows divide by.
        used = {p["dtype"] for p in result["fma_peaks"] if p["used_for_fraction"]}
        assert used == {"float64", "float32"}
        for p in result["fma_peaks"]:
            assert positive(p["gflops"]) and positive(p["best_gflops"])
            assert p["best_gflops"] >= p["gflops"]
            assert len(p["times_s"]) >= 1
    assert positive(result["elapsed_s"])
    names = [c["name"] for c in result["cases"]]
    assert names == TRAIN_CASES + ["inference", "learning-speed", "per-call", "sweep", "network",
                                   "list-path", "main-job", "chapter6"]


def test_the_machine_line_names_the_cpu_and_the_kernel_table(quick):
    from fastnet import dispatch
    _, markdown = quick
    line = next(l for l in markdown.splitlines() if l.startswith("Machine: "))
    assert ", kernel table {},".format(dispatch.table()) in line
    if dispatch.cpu()["family"]:
        assert "CPUID family {family} model {model}".format(**dispatch.cpu()) in line


def test_training_cases(quick):
    result, _ = quick
    for case in result["cases"][:4]:
        rows = {(r["impl"], r["dtype"]): r for r in case["results"]}
        assert set(rows) == {(impl, dtype) for impl in FASTNET_IMPLS
                             for dtype in ("float64", "float32")} | {("reference", "float64")}
        fma = result["kernels"]["supported"] != "blas"
        for row in rows.values():
            check_timing_row(row)
            assert positive(row["speedup_vs_reference"])
            assert positive(row["gflops"])
            assert positive(row["fraction_of_fma_peak"]) if fma else \
                row["fraction_of_fma_peak"] is None
        assert rows[("reference", "float64")]["scaled"]
        assert rows[("reference", "float64")]["speedup_vs_reference"] == pytest.approx(1.0)
        for dtype in ("float64", "float32"):
            fast, blas = rows[("fastnet", dtype)], rows[(BLAS_KERNELS, dtype)]
            assert fast["kernels"] == result["kernels"]["current"]
            assert blas["kernels"] == "blas"
            assert fast["time_over_blas_kernels"] == pytest.approx(
                fast["seconds"] / blas["seconds"])
            assert blas["fastnet_speedup_over_this"] == pytest.approx(
                1 / fast["time_over_blas_kernels"])


def test_agreement_within_tolerance(quick):
    result, _ = quick
    rows = [a for c in result["cases"] for a in c.get("agreement", [])]
    covered = {(a["case"], a["dtype"]) for a in rows if a["against"] == "reference"}
    assert covered >= {(c, d) for c in TRAIN_CASES + ["learning-speed"]
                       for d in ("float64", "float32")}
    # Both kernel paths of every training case, against the reference.
    covered = {(a["case"], a["impl"], a["dtype"]) for a in rows if a["against"] == "reference"}
    assert covered >= {(c, impl, d) for c in TRAIN_CASES for impl in FASTNET_IMPLS
                       for d in ("float64", "float32")}
    for a in rows:
        assert a["within"], a
        # fastnet agrees with network2 to round-off: float64 within 1e-10.
        limit = 1e-10 if a["dtype"] == "float64" else 1e-3
        assert a["max_abs_diff_weights"] <= limit and a["max_abs_diff_biases"] <= limit, a
    for a in next(c for c in result["cases"] if c["name"] == "learning-speed")["agreement"]:
        assert a["max_rel_diff_speeds"] <= (1e-10 if a["dtype"] == "float64" else 1e-3)


def test_inference_and_learning_speed(quick):
    result, _ = quick
    by_name = {c["name"]: c for c in result["cases"]}
    infer, speed = by_name["inference"], by_name["learning-speed"]
    accuracies = {r["accuracy"] for r in infer["results"]}
    assert accuracies == {infer["reference_accuracy"]}
    assert {r["impl"] for r in infer["results"]} == set(FASTNET_IMPLS) | {"reference"}
    for r in infer["results"]:
        check_timing_row(r)
        if "max_abs_diff_vs_reference_outputs" in r:
            assert r["max_abs_diff_vs_reference_outputs"] <= (
                1e-12 if r["dtype"] == "float64" else 1e-4)
    for r in speed["results"]:
        check_timing_row(r)
        if r["monitored"]:
            assert math.isfinite(r["monitor_overhead_percent"])


def test_per_call_case(quick):
    result, _ = quick
    per_call = next(c for c in result["cases"] if c["name"] == "per-call")
    rows = {(r["impl"], r["op"]): r for r in per_call["results"]}
    assert set(rows) == {(impl, op) for impl in FASTNET_IMPLS + ["reference"]
                         for op in ("backprop", "feedforward")}
    for (impl, op), r in rows.items():
        check_timing_row(r)
        assert positive(r["microseconds_per_call"]) and positive(r["speedup_vs_reference"])
        assert r["max_abs_diff_vs_reference"] <= 1e-13
        if impl == "fastnet":
            assert positive(r["time_over_blas_kernels"])


def test_chapter1_network_case(quick):
    result, stdout = quick
    case = next(c for c in result["cases"] if c["name"] == "network")
    labels = [r["label"] for r in case["results"]]
    assert labels == ["network.py reference", "fastnet.network from pairs",
                      "fastnet.network from arrays"]
    for r in case["results"]:
        check_timing_row(r)
        assert r["speedup_vs_reference"] == pytest.approx(
            case["results"][0]["median_s"] / r["median_s"])
    # Both forms train as network.py does, to round-off.
    assert [a["impl"] for a in case["agreement"]] == labels[1:]
    for a in case["agreement"]:
        assert a["within"] and max(a["max_abs_diff_weights"], a["max_abs_diff_biases"]) <= 1e-10
    assert "### Chapter 1: network.py's epoch" in stdout


def test_chapter6_case(quick):
    result, stdout = quick
    case = next(c for c in result["cases"] if c["name"] == "chapter6")
    assert [r["label"] for r in case["results"]] == [
        "fastnet.network3 float32", "fastnet.network3 float64", "network3_reference float64"]
    assert case["flops_per_image"] == 9222000          # the chapter's net, from its shapes
    for r in case["results"]:
        check_timing_row(r)
        assert r["scaled_to_examples"] == 50000 and positive(r["gflops"])
    # network3's maths to round-off in float64, to float32's precision in float32.
    assert [(a["impl"], a["dtype"]) for a in case["agreement"]] == [
        ("fastnet.network3", "float32"), ("fastnet.network3", "float64")]
    for a in case["agreement"]:
        assert a["within"]
    assert max(case["agreement"][1]["max_abs_diff_weights"],
               case["agreement"][1]["max_abs_diff_biases"]) <= 1e-10
    assert "### Chapter 6: network3's two-conv-layer net" in stdout


def test_sweep_throughput(quick):
    result, stdout = quick
    case = next(c for c in result["cases"] if c["name"] == "sweep")
    rows = {(r["backend"], r["workers"]) for r in case["results"]}
    expected = {("threads", 1), ("threads", 2)}
    try:
        import distributed  # noqa: F401
        expected |= {("dask LocalCluster", 1), ("dask LocalCluster", 2)}
    except ImportError:
        assert "Dask" in case["notes"][0]
    assert rows == expected
    for r in case["results"]:
        assert r["times_s"] and all(positive(t) for t in r["times_s"])
        assert r["runs_per_minute"] == pytest.approx(60 * case["runs"] / r["median_s"])
        assert r["same_accuracies"] is True
        assert positive(r["speedup_over_1_worker"]) and positive(r["cores_busy"])
    assert "### Sweep throughput" in stdout and "runs/minute" in stdout


def test_markdown_report(quick):
    _, stdout = quick
    assert stdout.startswith("## fastnet benchmarks (quick run)")
    for heading in ("### Kernels and FMA peak", "### Training", "### Numerical agreement",
                    "### Inference",
                    "### Chapter 5 learning-speed workload", "### Per-call"):
        assert heading in stdout
    assert "**NO**" not in stdout


def test_peers_when_installed(tmp_path):
    have = {}
    for name, module in (("scikit-learn", "sklearn"), ("pytorch", "torch"), ("numba", "numba"),
                         ("jax", "jax")):
        try:
            __import__(module)
            have[name] = True
        except Exception:
            have[name] = False
    if not any(have.values()):
        pytest.skip("none of scikit-learn, PyTorch, numba, JAX installed")
    result, stdout = run_benchmarks(tmp_path, "--cases", "headline")
    case = result["cases"][0]
    impls = {r["impl"] for r in case["results"]}
    for name, present in have.items():
        assert (name in impls) == present
    for r in case["results"]:
        check_timing_row(r)
    for a in case["agreement"]:
        assert a["within"], a
    # PyTorch, numba and JAX start from network2's weights and order: compared with fastnet
    # after the timed epoch; numba and JAX also with the reference on its slice.
    for peer in ("pytorch", "numba", "jax"):
        if have[peer]:
            assert {a["dtype"] for a in case["agreement"]
                    if a["impl"] == peer and a["against"] == "fastnet"} == {"float64", "float32"}
    for peer in ("numba", "jax"):
        if have[peer]:
            rows = [a for a in case["agreement"] if a["impl"] == peer and
                    a["against"] == "reference"]
            assert {a["dtype"] for a in rows} == {"float64", "float32"}
            for r in case["results"]:
                if r["impl"] == peer:
                    assert r["result_dtypes"] == [r["dtype"]]     # trained in its precision
            assert peer in " ".join(result["headline_summary"])
