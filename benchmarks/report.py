"""The Markdown report, generated from the JSON results (never typed by hand)."""


def _f(x, digits=3):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return "{:,.0f}".format(x)
    if abs(x) >= 10:
        return "{:.1f}".format(x)
    return "{:.{}g}".format(x, digits)


def _e(x):
    return "–" if x is None else "{:.1e}".format(x)


def _rate(x):
    return "–" if x is None else "{:,.0f}".format(x)


def _times(x):
    return "–" if x is None else "{}×".format(_f(x))


def _pct(x):
    return "–" if x is None else "{:.0f}%".format(100 * x)


def _th(n):
    return "default" if n is None else str(n)


def _sizes(s):
    return "[" + ",".join(str(v) for v in s) + "]"


def cpu_name(res):
    """The CPU's model name with CPUID's family and model (a virtual machine may report only
    "AMD EPYC")."""
    m, cpuid = res["machine"], (res.get("kernels") or {}).get("cpuid")
    if cpuid and cpuid.get("family"):
        return "{}, CPUID family {family} model {model}".format(m["model_name"], **cpuid)
    return m["model_name"]


def table_name(res):
    """The kernel table in use, and this CPU's own if FASTNET_TABLE chose another."""
    k = res.get("kernels") or {}
    if not k.get("table"):
        return ""
    chosen = k.get("chosen_table")
    return ", kernel table {}{}".format(
        k["table"], "" if k["table"] == chosen else " (FASTNET_TABLE; this CPU's: {})".format(chosen))


def machine_line(res):
    m, v = res["machine"], res["versions"]
    blas = res.get("fastnet_blas") or "unknown BLAS"
    simd = [f for f in m.get("simd", []) if f in ("avx2", "avx512f", "amx_tile")]
    simd = ", ".join({"avx2": "AVX2", "avx512f": "AVX-512", "amx_tile": "AMX"}[f] for f in simd)
    return ("{cpu} ({cores} usable cores{simd}{vm}){table}, Python {py}, NumPy {np}, SciPy {sp}, "
            "BLAS used by fastnet: {blas}; git {rev}{dirty}; {date}").format(
        cpu=cpu_name(res), table=table_name(res), cores=m["usable_cpus"],
        simd=", " + simd if simd else "",
        vm=", virtual machine" if m["hypervisor"] else "",
        py=v["python"], np=v["numpy"], sp=v["scipy"], blas=blas,
        rev=(res["git"]["revision"] or "unknown")[:10],
        dirty=" (uncommitted changes)" if res["git"]["dirty"] else "", date=res["started_utc"])


PARAMETERS = ("dot_chunk", "dot_block", "axpy_chunk", "columns_chunk", "columns_wide",
              "prefetch_double", "prefetch_float", "tile_rows")


def tables_section(k, w):
    """fastnet.dispatch's kernel tables: the one in use in bold, each with where it was measured."""
    tables = k.get("tables")
    if not tables:
        return
    w("Kernel tables (`fastnet.dispatch.TABLES`, one per microarchitecture family, chosen by "
      "CPUID and the kernels in use; FASTNET_TABLE={}): this run used **{}** (this CPU's: {}). "
      "Every table gives the "
      "same numbers; they differ in how the kernels walk their work.".format(
          k.get("table_environment") or "unset", k.get("table"), k.get("chosen_table")))
    w("")
    w("| table | vectors | family | " + " | ".join(PARAMETERS) + " | measured |")
    w("|---|---|---|" + "---:|" * len(PARAMETERS) + "---|")
    for name, row in tables.items():
        shown = "**{}**".format(name) if name == k.get("table") else name
        w("| {} | {} | {} | {} | {} |".format(
            shown, row["isa"], row["family"],
            " | ".join("-" if row[p] is None else str(row[p]) for p in PARAMETERS),
            row["measured"]))
    w("")


def kernels_section(res, w):
    """Which kernels ran, the FMA peak, and the tile kernels against the BLAS kernels in
    every case that has both."""
    k = res["kernels"]
    w("### Kernels and FMA peak")
    w("")
    w("fastnet's default kernels in this run: **{}** (best this CPU supports: {}; "
      "FASTNET_KERNEL={}). Blocks of more than {} rows go to BLAS whatever the kernels. "
      "The rows labelled *fastnet (BLAS kernels)* run the same calls under "
      "`fastnet.dispatch.using(\"blas\")`, interleaved with the default rows.".format(
          k["current"], k["supported"], k["environment"] or "unset", k["tile_rows"]))
    w("")
    tables_section(k, w)
    if res.get("fma_peaks"):
        w("FMA peak of one core, measured in this run by `fma_chain` of `fastnet._kernels.twins` "
          "(independent register-only FMA chains, as many as the vector registers hold: 16 "
          "with AVX-512, 12 with AVX2; median of {} calls after a warm-up, and the "
          "best); the **bold** rows are the peaks that \"% of FMA peak\" divides by:".format(
              len(res["fma_peaks"][0]["times_s"])))
        w("")
        w("| vectors | precision | GFLOP/s (median) | best | in CPU seconds (median) |")
        w("|---|---|---:|---:|---:|")
        for p in res["fma_peaks"]:
            b = "**" if p["used_for_fraction"] else ""
            w("| {b}{}{b} | {} | {b}{}{b} | {} | {} |".format(
                p["isa"], p["dtype"], _f(p["gflops"]), _f(p["best_gflops"]),
                _f(p.get("cpu_gflops")), b=b))
        w("")
        w("In CPU seconds: the same calls timed by `time.process_time`; the headline lines "
          "give each row's share of the FMA peak in wall seconds and, in brackets, in CPU "
          "seconds (both the row's and the peak's), which a machine shared with other work "
          "disturbs less.")
        w("")
    else:
        w("No FMA peak: the CPU has neither AVX2 nor AVX-512 (fastnet runs BLAS kernels only).")
        w("")
    lines = []
    for c in res["cases"]:
        for r in c.get("results", []):
            if r.get("time_over_blas_kernels") is None:
                continue
            what = c["name"] + (" " + r["op"] if r.get("op") else "")
            fastest = r.get("time_over_blas_kernels_from_min")
            lines.append("| {} | {} | {} | {} |".format(
                what, r["dtype"], _times(r["time_over_blas_kernels"]), _times(fastest)))
    if lines:
        w("| case | precision | time with {} kernels / time with BLAS kernels | "
          "of the fastest repeats |".format(k["current"]))
        w("|---|---|---:|---:|")
        for line in lines:
            w(line)
        w("")
        w("Below 1×: the default kernels are faster than the all-BLAS path; about 1× where "
          "every block goes to BLAS anyway (mini-batches over {} rows).".format(k["tile_rows"]))
        w("")


def render(res):
    out = []
    w = out.append
    w("## fastnet benchmarks ({} run)".format(res["mode"]))
    w("")
    load = lambda key: ", ".join("{:.2f}".format(x) for x in res["machine"].get(key) or [])  # noqa
    w("Machine: " + machine_line(res) + ". Load average (1, 5, 15 min) at start: {}; at end: {}. "
      "Whole run: {:.0f} s.".format(load("load_average_at_start"), load("load_average_at_end"),
                                    res["elapsed_s"]))
    w("")
    for line in res.get("headline_summary", []):
        w("- " + line)
    if res.get("headline_summary"):
        w("")

    th = res["threads"]
    w("### BLAS threads")
    w("")
    w(th["explanation"])
    w("")
    if th.get("probe"):
        w("| probe: fastnet float64 | examples | 1 thread, s | 2 threads, s | "
          "probe's pick | used |")
        w("|---|---:|---:|---:|---:|---:|")
        span = lambda r: "{} ({}–{})".format(_f(r["median_s"]), _f(r["min_s"]), _f(r["max_s"]))  # noqa
        for name, p in th["probe"].items():
            w("| {} {} mb {} | {:,} | {} | {} | {} | {} |".format(
                name, _sizes(p["sizes"]), p["mini_batch_size"], p["examples"],
                span(p["one_thread"]), span(p["two_threads"]), p["chosen"],
                th["choice"].get(name)))
        w("")
    if res.get("peaks"):
        w("GEMM peak of SciPy's BLAS (the library fastnet calls), measured in this run:")
        w("")
        w("| routine | n | threads | GFLOP/s |")
        w("|---|---:|---:|---:|")
        for p in res["peaks"]:
            w("| {} | {} | {} | {} |".format(p["routine"], p["n"], _th(p["threads"]), _f(p["gflops"])))
        w("")

    kernels_section(res, w)

    train = [c for c in res["cases"] if "epoch_examples" in c]
    if train:
        w("### Training: seconds per epoch of 50,000 MNIST images (median of repeats after a warm-up)")
        w("")
        w("| case | implementation | threads | s/epoch | spread | examples/s | × reference | "
          "fastnet × this | time / BLAS kernels | GFLOP/s | % of FMA peak | % of gemm peak | "
          "CPU / wall | val. acc. |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in train:
            s = c["spec"]
            name = "{} {} mb {}".format(c["name"], _sizes(s["sizes"]), s["mini_batch_size"])
            for r in c["results"]:
                impl = "{} {}".format(r["impl"], r["dtype"])
                if r["impl"] == "fastnet" and r.get("kernels"):
                    impl = "fastnet {} ({} kernels)".format(r["dtype"], r["kernels"])
                if r["scaled"]:
                    impl += " *({:,} ex.)*".format(r["examples_timed"])
                fx = r["fastnet_speedup_over_this"] if r["impl"] != "fastnet" else None
                acc = r.get("validation_accuracy")
                acc = "–" if acc is None else "{:.2f}%".format(100.0 * acc / r["validation_examples"])
                w("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                    name, impl, _th(r["threads"]), _f(r["seconds"]), _pct(r["spread"]),
                    _rate(r["examples_per_s"]),
                    _times(r["speedup_vs_reference"]), _times(fx),
                    _times(r.get("time_over_blas_kernels")), _f(r["gflops"]),
                    _pct(r.get("fraction_of_fma_peak")), _pct(r["fraction_of_gemm_peak"]),
                    _f(r.get("cores_busy"), 2), acc))
        w("")
        w("*(N ex.)*: timed on the first N examples and scaled per example to 50,000 (the "
          "reference always; peers where stated). × reference: the reference's seconds per epoch "
          "over this row's (the reference is float64 only, so float32 rows are compared with it "
          "too). spread: (slowest - fastest repeat) / median. fastnet × this: this row's "
          "seconds over fastnet's (default kernels) in the same precision. time / BLAS "
          "kernels: fastnet's seconds with its default kernels over its seconds with "
          "`fastnet.dispatch.using(\"blas\")`, same run, same precision (below 1: the tile "
          "kernels are faster). % of FMA peak: GFLOP/s over one core's FMA peak in that "
          "precision (times the case's threads). CPU / wall: the process's CPU time (all "
          "threads) over wall time during the timed runs, median: about 1 for one busy core, "
          "up to 2 on this machine. "
          "GFLOP/s counts the GEMM work of an SGD step (forward, weight gradient, error "
          "propagation), the same for every implementation. val. acc.: validation accuracy "
          "after the timed epoch, a sanity check that each implementation trained (fastnet and "
          "PyTorch start from the same weights and order; one epoch leaves the four-hidden-layer "
          "net near chance and mini-batch 1000 has made only 50 steps). fastnet reads its data "
          "as it is at every call, as network2 does: each timed one-epoch SGD call includes "
          "checking the labels and, as the kernel gathers the rows, the inputs for NaN/inf "
          "(a multi-epoch call does that in its first epoch only).")
        w("")

    agreement = [a for c in res["cases"] for a in c.get("agreement", [])]
    if agreement:
        w("### Numerical agreement (same seeds, same training)")
        w("")
        w("| case | implementation | against | examples × epochs | max abs diff weights | "
          "max abs diff biases | tolerance | within |")
        w("|---|---|---|---:|---:|---:|---:|---|")
        for a in agreement:
            impl = a.get("impl", "fastnet")
            if a.get("kernels"):
                impl = "fastnet ({} kernels)".format(
                    "BLAS" if a["kernels"] == "blas" else a["kernels"])
            w("| {} | {} {} | {} | {:,} × {} | {} | {} | {} | {} |".format(
                a["case"], impl, a["dtype"], a["against"] + (
                    " float64" if a["against"] == "reference" else " " + a["dtype"]),
                a["examples"], a["epochs"], _e(a["max_abs_diff_weights"]),
                _e(a["max_abs_diff_biases"]), _e(a["tolerance"]), "yes" if a["within"] else "**NO**"))
        w("")

    infer = next((c for c in res["cases"] if c["name"] == "inference"), None)
    if infer:
        w("### Inference: {} over {:,} validation images".format(_sizes(infer["sizes"]),
                                                               infer["examples"]))
        w("")
        w("| call | threads | seconds | images/s | × reference | time / BLAS kernels | correct | "
          "max abs diff of outputs |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in infer["results"]:
            w("| {} | {} | {} | {} | {} | {} | {:,} | {} |".format(
                r["label"], _th(r["threads"]), _f(r["median_s"]), _rate(r["examples_per_s"]),
                _times(r["speedup_vs_reference"]), _times(r.get("time_over_blas_kernels")),
                r["accuracy"],
                _e(r.get("max_abs_diff_vs_reference_outputs"))))
        w("")
        w("fastnet: `net.accuracy((X, y))`, `net.outputs(X)`; reference: network2's "
          "`accuracy(list)` and `feedforward` per image; scikit-learn `predict` and PyTorch "
          "`model(X)` are given the same weights. × reference: against the reference's "
          "accuracy (for accuracy) or its per-image feedforward (for the others).")
        w("")

    speed = next((c for c in res["cases"] if c["name"] == "learning-speed"), None)
    if speed:
        s = speed["spec"]
        w("### Chapter 5 learning-speed workload: {} on the first {:,} images, mini-batch {}, "
          "eta {}, lmbda {}".format(_sizes(s["sizes"]), speed["examples"], s["mini_batch_size"],
                                    s["eta"], s["lmbda"]))
        w("")
        w("| implementation | monitoring | threads | epochs per run | s/epoch | × reference | "
          "monitoring overhead |")
        w("|---|---|---:|---:|---:|---:|---:|")
        for r in speed["results"]:
            ov = r.get("monitor_overhead_percent")
            impl = ("fastnet speed.train_with_speeds" if r["impl"] == "fastnet.speed"
                    else r["impl"])
            w("| {} {} | {} | {} | {} | {} | {} | {} |".format(
                impl, r["dtype"], "every epoch" if r["monitored"] else "none", _th(r["threads"]),
                r["epochs_per_run"], _f(r["seconds_per_epoch"]), _times(r["speedup_vs_reference"]),
                "–" if ov is None else "{:+.0f}%".format(ov)))
        w("")
        for a in speed.get("agreement", []):
            w("Learning speeds, {} {} vs reference after {} epoch(s): max relative "
              "difference {}.".format("fastnet" if a["case"] == "learning-speed" else
                                      "fastnet speed.train_with_speeds", a["dtype"],
                                      a["epochs"], _e(a["max_rel_diff_speeds"])))
        for note in speed.get("notes", []):
            w(note + ".")
        w("")
        w("Monitored: `SGD(..., monitor_learning_speed=(X, y))` records every hidden layer's "
          "learning speed after each epoch; the reference "
          "does it the book's way, averaging per-example backprop gradients. "
          "`fastnet.speed.train_with_speeds(net, (X, y), epochs, {n}, 0.1, 5.0)` is fastnet's "
          "own routine for this workload (float64; it also records the speeds before the first "
          "epoch); its overhead is against fastnet's unmonitored SGD.".format(n=speed["examples"]))
        w("")

    per_call = next((c for c in res["cases"] if c["name"] == "per-call"), None)
    if per_call:
        w("### Per-call: network2's methods on {}, one example at a time ({:,} calls)".format(
            _sizes(per_call["sizes"]), per_call["examples"]))
        w("")
        w("| call | threads | µs per call | × reference | time / BLAS kernels | "
          "max abs diff vs reference |")
        w("|---|---:|---:|---:|---:|---:|")
        for r in per_call["results"]:
            w("| {} | {} | {} | {} | {} | {} |".format(
                r["label"], _th(r["threads"]), _f(r["microseconds_per_call"]),
                _times(r["speedup_vs_reference"]), _times(r.get("time_over_blas_kernels")),
                _e(r["max_abs_diff_vs_reference"])))
        w("")
        w("`backprop(x, y)` returns fresh gradient arrays for every call, as network2's does "
          "(for [784,30,30,10] the first is 30 × 784); the timed loop keeps every call's "
          "`nabla_b`, as the book's generate_gradient.py does with its 1,000 calls per epoch. "
          "`feedforward(x)` returns a fresh (10, 1) column. The agreement column compares "
          "whole gradients of the first 20 examples and every output.")
        w("")
    sweep = next((c for c in res["cases"] if c["name"] == "sweep"), None)
    if sweep:
        from benchmarks.sweep_case import render as render_sweep
        render_sweep(sweep, w)
    chapter1 = next((c for c in res["cases"] if c["name"] == "network"), None)
    if chapter1:
        from benchmarks.chapter1 import render as render_chapter1
        render_chapter1(chapter1, w)
    chapter6 = next((c for c in res["cases"] if c["name"] == "chapter6"), None)
    if chapter6:
        from benchmarks.chapter6 import render as render_chapter6
        render_chapter6(chapter6, w)

    from benchmarks.main_job import render as render_main_job
    render_main_job(res, w)

    if res.get("notes"):
        w("### Notes")
        w("")
        for n in res["notes"]:
            w("- " + n)
        w("")
    return "\n".join(out)
