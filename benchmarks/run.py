"""``python -m benchmarks [--quick] [--json PATH] [--markdown PATH] ...``: see README.md."""
import argparse
import json
import os
import sys
import time

import numpy as np

from benchmarks import (SCHEMA, cases, chapter1, chapter6, impls, jit_peers, machine, main_job,
                        report, sweep_case)
from benchmarks import data as data_mod

CASE_NAMES = [c["name"] for c in cases.TRAIN_CASES] + ["inference", "learning-speed",
                                                       "per-call", "sweep", "network",
                                                       "list-path", "main-job", "chapter6"]


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time fastnet against the NumPy reference (and scikit-learn and PyTorch "
                    "when installed) on MNIST, and check numerical agreement.")
    p.add_argument("--quick", action="store_true",
                   help="small slices, one repeat: a smoke run of a few seconds (for CI)")
    p.add_argument("--json", metavar="PATH", help="write every raw timing and machine info here")
    p.add_argument("--markdown", metavar="PATH", help="also write the Markdown report here")
    p.add_argument("--data", metavar="PATH", default=None,
                   help="folder with the MNIST IDX files (default: $FASTNET_DATA, else "
                        "../shared/data/mnist beside the repository)")
    p.add_argument("--threads", default="1", choices=["1", "2", "auto"],
                   help="BLAS threads for every case (default 1); auto: per case, from the "
                        "1-vs-2 probe that full mode always runs and reports")
    p.add_argument("--no-peers", action="store_true", help="skip scikit-learn, PyTorch, numba and JAX")
    p.add_argument("--cases", default=",".join(CASE_NAMES),
                   help="comma-separated subset of: " + ", ".join(CASE_NAMES))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in args.cases if c not in CASE_NAMES]
    if bad:
        p.error("unknown case(s): {}".format(", ".join(bad)))
    return args


def fastnet_blas(blas):
    """The BLAS library SciPy (so fastnet) calls, as 'name version (threading)'."""
    if not blas:
        return None
    for lib in blas:
        if lib["user_api"] == "blas" and "scipy" in (lib["filepath"] or "") \
                and "numpy" not in (lib["filepath"] or ""):
            return "{} {} ({}, {})".format(lib["internal_api"], lib["version"],
                                           lib.get("threading_layer"), lib.get("architecture"))
    return None


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    mode = "quick" if args.quick else "full"
    log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    res = {"schema": SCHEMA, "mode": mode, "started_utc": machine.utc_now(),
           "argv": sys.argv[1:] if argv is None else list(argv), "cases": [], "notes": []}
    notes = res["notes"]

    # Peers first: importing torch loads its own thread pools, which the BLAS listing should show.
    peers = {}
    peer_versions = {}
    for name, probe in (("scikit-learn", impls.sklearn_available),
                        ("pytorch", impls.torch_available),
                        ("numba", jit_peers.numba_available),
                        ("jax", jit_peers.jax_available)):
        if args.no_peers:
            peers[name] = False
            peer_versions[name] = None
            notes.append("{} skipped (--no-peers).".format(name))
            continue
        version, why = probe()
        peers[name] = version is not None
        peer_versions[name] = version
        if why:
            notes.append("{} skipped: {}.".format(name, why))
    res["machine"] = machine.cpu()
    res["versions"] = dict(machine.versions(), **peer_versions)
    if peers.get("pytorch"):
        import torch
        res["versions"]["torch_default_threads"] = torch.get_num_threads()
        res["versions"]["torch_parallel_info"] = torch.__config__.parallel_info()
    if peers.get("jax"):
        res["versions"]["jax_xla_flags"] = os.environ.get("XLA_FLAGS")
    res["kernels"] = machine.kernels()
    res["git"] = machine.git_revision()
    res["blas"] = machine.blas_libraries()
    res["numpy_blas"] = machine.numpy_blas_name()
    res["fastnet_blas"] = fastnet_blas(res["blas"])
    if res["blas"] is None:
        notes.append("threadpoolctl is not installed: BLAS threads could not be listed or set "
                     "(pip install threadpoolctl); every case ran with the libraries' default.")

    # Data.
    path = args.data or data_mod.default_path()
    try:
        (train, val, _test), how = data_mod.load(path)
    except Exception as e:
        print("benchmarks: cannot load MNIST from {!r}: {}. Use --data PATH or FASTNET_DATA."
              .format(path, e), file=sys.stderr)
        return 2
    res["data"] = {"path": os.path.abspath(path), "loader": how,
                   "train_examples": len(train[1]), "validation_examples": len(val[1])}
    log("data: " + how)
    cfg = cases.MODES[mode]
    list_n = max([cfg[c["name"]]["ref"][0] for c in cases.TRAIN_CASES] + [cfg["speed"]["n"]])
    data = {"train": train, "val": val,
            "train32": np.ascontiguousarray(train[0], dtype=np.float32),
            "train_list": impls.as_network2_list(train[0][:list_n], train[1][:list_n])}

    # Threads.
    usable = res["machine"]["usable_cpus"] or 1
    can_set = res["blas"] is not None
    probe = None
    if can_set and usable >= 2 and mode == "full":
        probe = cases.probe_threads(cfg["probe"], data, log)
    same = ("Every implementation in a case runs with that case's count (threadpoolctl "
            "limits for NumPy's and SciPy's BLAS, fastnet.threads.BLAS_THREADS, which fastnet's "
            "kernels apply while they run (default {}), and torch.set_num_threads).".format(
                res["versions"]["fastnet_threads_BLAS_THREADS"]))
    if not can_set:
        choice = {"headline": None, "width-100": None, "width-1000": None}
        explanation = "BLAS threads left at the libraries' default (threadpoolctl missing)."
    elif args.threads == "auto" and probe is not None:
        choice = {name: p["chosen"] for name, p in probe.items()}
        explanation = (
            "--threads auto: per case the probe's choice (2 threads only where their median "
            "beat 1 thread's by more than 5%): {}; depth and learning-speed follow the "
            "headline, inference follows width-1000. ".format(
                ", ".join("{} → {}".format(k, v) for k, v in choice.items())) + same)
    else:
        n = 1 if args.threads == "auto" else int(args.threads)
        choice = {"headline": n, "width-100": n, "width-1000": n}
        if args.threads == "auto":
            explanation = ("Quick mode: 1 BLAS thread everywhere, no probe." if mode == "quick"
                           else "Only one usable core: 1 BLAS thread.")
        elif args.threads == "1":
            explanation = (
                "1 BLAS thread for every case (the default, --threads 1). The probe below "
                "measured 1 against 2 threads for fastnet float64 on a {:,}-example slice of "
                "three cases (interleaved, median of {}, with the fastest and slowest run): "
                "tiny matrices gain nothing from a second thread, and on this 2-core machine a "
                "second BLAS thread makes every call wait for a core that another process may "
                "hold, which can turn a gain into a many-fold loss from one run to the next. "
                "One thread keeps the ratios reproducible{}; --threads auto picks per case "
                "from the probe, --threads 2 forces 2. ".format(
                    cfg["probe"]["n"], cfg["probe"]["repeats"],
                    " and is what fastnet itself uses by default"
                    if res["versions"]["fastnet_threads_BLAS_THREADS"] == 1 else "")
                if probe is not None else
                "1 BLAS thread for every case (--threads 1; no probe in this mode). ") + same
        else:
            explanation = "BLAS threads fixed to {} for every case by --threads. ".format(n) + same
    res["threads"] = {"choice": choice, "probe": probe, "explanation": explanation}

    # GEMM peak at the thread counts in use.
    peak_threads = sorted({t for t in choice.values() if t is not None}
                          | ({1, 2} if probe is not None else set())) or [None]
    log("gemm peak ...")
    res["peaks"] = cases.measure_peaks(cfg["peak"], peak_threads, log)
    log("FMA peak ...")
    res["fma_peaks"] = cases.measure_fma_peaks(cfg["fma"], log)
    fma = cases.fma_by_dtype(res["fma_peaks"])
    fma_cpu = cases.fma_by_dtype(res["fma_peaks"], "cpu_gflops")

    # Cases.
    for case in cases.TRAIN_CASES:
        if case["name"] in args.cases:
            res["cases"].append(cases.run_training_case(
                case, mode, data, choice[case["probe"]], res["peaks"], peers, log, fma=fma,
                fma_cpu=fma_cpu))
    if "inference" in args.cases:
        res["cases"].append(cases.run_inference_case(mode, data, choice["width-1000"], peers, log))
    if "learning-speed" in args.cases:
        res["cases"].append(cases.run_learning_speed_case(mode, data, choice["headline"], log))
    if "per-call" in args.cases:
        res["cases"].append(cases.run_per_call_case(mode, data, choice["headline"], log))
    if "sweep" in args.cases:
        res["cases"].append(sweep_case.run_sweep_case(mode, data, log))
        res["versions"]["dask"] = res["cases"][-1]["dask"]
    if "network" in args.cases:
        res["cases"].append(chapter1.run_network_case(mode, data, choice["headline"], log))
    if "list-path" in args.cases:
        res["cases"].append(main_job.run_list_path_case(mode, data, choice["headline"], log))
    if "main-job" in args.cases:
        res["cases"].append(main_job.run_main_job_case(mode, path, log))
    if "chapter6" in args.cases:
        res["cases"].append(chapter6.run_chapter6_case(mode, data, choice["headline"], peers, log,
                                                       fma=fma))

    # Summary lines, notes, output.
    res["headline_summary"] = headline_summary(res)
    notes.extend(standard_notes(res, peers))
    res["elapsed_s"] = time.perf_counter() - t_start
    res["finished_utc"] = machine.utc_now()
    res["machine"]["load_average_at_end"] = machine.load_average()
    text = report.render(res)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=_json_default)
            f.write("\n")
    failed = [a for c in res["cases"] for a in c.get("agreement", []) if not a["within"]]
    if failed:
        print("benchmarks: {} agreement check(s) outside tolerance".format(len(failed)),
              file=sys.stderr)
        return 1
    return 0


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# What the tile kernels were built to reach on the headline epoch: at least this share of
# the FMA peak, at most this fraction of the BLAS kernels' time.
HEADLINE_TARGETS = {"fma": 0.75, "blas": 0.70}


def headline_summary(res):
    """One line per precision: the tile kernels' time, rate and share of the FMA peak, their
    ratio to the BLAS kernels and every peer, all measured in this run."""
    case = next((c for c in res["cases"] if c["name"] == "headline"), None)
    if case is None:
        return []
    rows = {(r["impl"], r["dtype"]): r for r in case["results"]}
    lines = []
    for dtype in ("float64", "float32"):
        f = rows.get(("fastnet", dtype))
        rate = "{:.1f} GFLOP/s".format(f["gflops"])
        if f.get("fraction_of_fma_peak") is not None:
            rate += " = {:.0f}% of the FMA peak".format(100 * f["fraction_of_fma_peak"])
        if f.get("fraction_of_fma_peak_cpu") is not None:
            rate += " ({:.0f}% in CPU seconds)".format(100 * f["fraction_of_fma_peak_cpu"])
        parts = []
        b = rows.get((impls.BLAS_KERNELS, dtype))
        if b:
            parts.append("{:.2f}× the time of its BLAS kernels ({:.3g} s; {:.2f}× of the "
                         "fastest repeats)".format(f["time_over_blas_kernels"], b["seconds"],
                                                   f["time_over_blas_kernels_from_min"]))
        parts.append("{:.1f}× faster than the NumPy reference ({:.1f}×)".format(
            f["speedup_vs_reference"], f["speedup_vs_reference_from_min"]))
        for peer in ("numba", "jax", "pytorch", "scikit-learn"):
            p = rows.get((peer, dtype))
            if p:
                parts.append("{:.1f}× {} ({:.3g} s; {:.1f}×)".format(
                    p["fastnet_speedup_over_this"], peer, p["seconds"],
                    p["fastnet_speedup_over_this_from_min"]))
        lines.append("Headline [784,30,10] mb 10, fastnet {} ({} kernels): {:.3g} s/epoch, {}; "
                     "{}.".format(dtype, f.get("kernels", "?"), f["seconds"], rate,
                                  ", ".join(parts)))
    targets = []
    for dtype in ("float64", "float32"):
        f = rows.get(("fastnet", dtype))
        if f.get("fraction_of_fma_peak") is None or f.get("time_over_blas_kernels") is None:
            continue
        yes = lambda ok: "met" if ok else "not met"  # noqa: E731
        cpu = f.get("fraction_of_fma_peak_cpu")
        targets.append("{} {:.0f}% ({}{}) and {:.2f}× ({})".format(
            dtype, 100 * f["fraction_of_fma_peak"],
            yes(f["fraction_of_fma_peak"] >= HEADLINE_TARGETS["fma"]),
            "" if cpu is None else "; in CPU seconds {:.0f}%, {}".format(
                100 * cpu, yes(cpu >= HEADLINE_TARGETS["fma"])),
            f["time_over_blas_kernels"],
            yes(f["time_over_blas_kernels"] <= HEADLINE_TARGETS["blas"])))
    if targets:
        lines.append("The tile kernels' targets for the headline (at least {:.0f}% of the FMA "
                     "peak, at most {:.2f}× the BLAS kernels' time), measured here: {}.".format(
                         100 * HEADLINE_TARGETS["fma"], HEADLINE_TARGETS["blas"],
                         "; ".join(targets)))
    if lines:
        lines.append("Ratios are of medians; in brackets, of the fastest repeats (less "
                     "sensitive to other load on a shared machine). \"N× peer\": the peer's "
                     "time over fastnet's.")
    return lines


def standard_notes(res, peers):
    notes = []
    if any(c.get("epoch_examples") for c in res["cases"]):
        notes.append("The reference (network2's per-example NumPy code, float64) is timed on a "
                     "slice of the first examples (size in each row) and scaled per example to "
                     "a 50,000-image epoch; " + (
                         "fastnet runs the whole epoch." if res["mode"] == "full" else
                         "in quick mode fastnet too runs a {:,}-example slice, scaled the same "
                         "way.".format(cases.MODES["quick"]["train_n"])))
    v = res["versions"]
    if peers.get("scikit-learn"):
        notes.append("scikit-learn {} mapping: ".format(v.get("scikit-learn")) +
                     impls.SKLEARN_MAPPING)
    if peers.get("pytorch"):
        notes.append("PyTorch {} mapping: ".format(v.get("pytorch")) + impls.TORCH_MAPPING +
                     " torch.set_num_threads is set to each case's BLAS thread count.")
    if peers.get("numba"):
        notes.append("numba {} (headline only): ".format(v.get("numba")) + jit_peers.NUMBA_MAPPING)
    if peers.get("jax"):
        notes.append("JAX {} on CPU (headline only; XLA_FLAGS={}): ".format(
            v.get("jax"), v.get("jax_xla_flags") or "unset") + jit_peers.JAX_MAPPING +
            " XLA runs its own thread pool, which the BLAS thread limit does not reach; the "
            "CPU / wall column shows how many cores it kept busy.")
    notes.append("Timings: median of the timed repeats after a warm-up run (raw times in the "
                 "JSON); all implementations of a case are interleaved round-robin so that "
                 "background load on a shared machine hits them alike. Seeding, network "
                 "construction and slicing are outside the timed region.")
    return notes
