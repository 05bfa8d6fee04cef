"""What the numbers were measured on: CPU, cores, versions, BLAS, threads, git revision."""
import datetime
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpuinfo():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" not in line:
                    if info:
                        break          # the first processor is enough
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def cpu():
    """CPU model, cores and the SIMD features that matter for BLAS."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "model_name": info.get("model name") or platform.processor() or "unknown",
        "family": info.get("cpu family"),
        "model": info.get("model"),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "simd": [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile")
                 if f in flags],
        "hypervisor": "hypervisor" in flags,
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "thread_env": {k: os.environ.get(k) for k in
                       ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
                       if os.environ.get(k) is not None},
    }


def load_average():
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _version(module_name):
    try:
        module = __import__(module_name)
    except Exception:
        return None
    return getattr(module, "__version__", "unknown")


def versions():
    import scipy
    import fastnet
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "fastnet": getattr(fastnet, "__version__", "unknown"),
        "fastnet_path": os.path.dirname(os.path.abspath(fastnet.__file__)),
        "threadpoolctl": _version("threadpoolctl"),
        "fastnet_threads_BLAS_THREADS": fastnet_blas_threads_default(),
    }


def git_revision():
    def git(*args):
        try:
            out = subprocess.run(["git", "-C", REPO] + list(args), capture_output=True,
                                 text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None
    rev = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": rev, "dirty": bool(status) if status is not None else None}


def blas_libraries():
    """threadpoolctl's view of every BLAS/OpenMP library loaded, or None without it.

    fastnet calls BLAS through scipy.linalg.cython_blas, i.e. SciPy's BLAS;
    the NumPy reference calls NumPy's.  Both are listed.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import scipy.linalg  # noqa: F401  (load SciPy's BLAS so that it is listed)
    keep = ("user_api", "internal_api", "prefix", "version", "num_threads",
            "threading_layer", "architecture", "filepath")
    return [{k: lib.get(k) for k in keep} for lib in threadpool_info()]


def numpy_blas_name():
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return "{} {}".format(blas.get("name"), blas.get("version"))
    except Exception:
        return None


def have_threadpoolctl():
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def blas_threads(n):
    """Limit BLAS and OpenMP pools (and torch's, if loaded) to n threads inside the block.

    Without threadpoolctl the limit cannot be set; the block runs unchanged
    (the report says so).
    """
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    if torch is not None and n is not None:
        torch.set_num_threads(n)
    # fastnet holds BLAS to fastnet.threads.BLAS_THREADS while its kernels run; make it the same.
    fthreads = _fastnet_threads()
    old_fastnet = fthreads.BLAS_THREADS if fthreads is not None else None
    if fthreads is not None and n is not None:
        fthreads.BLAS_THREADS = n
    try:
        if n is None or not have_threadpoolctl():
            yield
        else:
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=n):
                yield
    finally:
        if torch is not None:
            torch.set_num_threads(old_torch)
        if fthreads is not None:
            fthreads.BLAS_THREADS = old_fastnet


def _fastnet_threads():
    """fastnet.threads (the BLAS limit fastnet's kernels apply), or None in versions without it."""
    try:
        from fastnet import threads
    except ImportError:
        return None
    return threads if hasattr(threads, "BLAS_THREADS") else None


def fastnet_blas_threads_default():
    t = _fastnet_threads()
    return "absent" if t is None else t.BLAS_THREADS


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def gemm_peak(n, dtype, repeats, threads):
    """Achieved GFLOP/s of one large n x n x n gemm from SciPy's BLAS (the library fastnet uses).

    Returns the median of ``repeats`` timed calls after one warm-up.
    """
    from scipy.linalg import blas
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((n, n)).astype(dtype))
    b = np.asfortranarray(rng.standard_normal((n, n)).astype(dtype))
    gemm = blas.dgemm if np.dtype(dtype) == np.float64 else blas.sgemm
    times = []
    with blas_threads(threads):
        gemm(1.0, a, b)
        for _ in range(repeats):
            t0 = time.perf_counter()
            gemm(1.0, a, b)
            times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    return {"routine": "scipy.linalg.blas." + ("dgemm" if np.dtype(dtype) == np.float64 else "sgemm"),
            "n": n, "dtype": np.dtype(dtype).name, "threads": threads, "times_s": times,
            "median_s": median, "gflops": 2.0 * n ** 3 / median / 1e9}


def kernels():
    """fastnet's kernel dispatch: the tile ISA this CPU supports and the one in use, the
    CPU as CPUID names it, and the table of kernel parameters in use."""
    from fastnet import dispatch
    return {"supported": dispatch.supported(), "current": dispatch.current(),
            "levels": list(dispatch.LEVELS), "tile_rows": dispatch.tile_rows(),
            "environment": os.environ.get("FASTNET_KERNEL"), "cpuid": dispatch.cpu(),
            "table": dispatch.table(), "chosen_table": dispatch.chosen_table(),
            "table_parameters": dispatch.table_values(),
            "tables": {name: dispatch.table_values(name) for name in dispatch.TABLES},
            "table_environment": os.environ.get(dispatch.TABLE_VARIABLE)}


def fma_peak(dtype, isa, rounds, repeats):
    """GFLOP/s of one core doing nothing but fused multiply-adds with ``isa``'s vectors.

    ``fma_chain`` of ``fastnet._kernels.twins`` (the tile kernels' twins, which the
    benchmarks and tests use) runs independent FMA chains (as many as the vector
    registers hold: 16 with AVX-512, 12 with AVX2) that never leave the registers, so loads, stores and dependencies cannot hold it back: its rate is the most
    one core can compute in ``dtype``.  Returns the median of ``repeats`` timed calls after
    one warm-up (and the best), or None when the CPU lacks ``isa``.
    """
    from fastnet import dispatch
    from fastnet._kernels import twins
    level, single = dispatch.LEVELS.index(isa), np.dtype(dtype) == np.float32
    twins.fma_chain(level, single, max(1, rounds // 10))        # warm-up: clocks, pages
    times, cpu_times, flops = [], [], 0
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        flops = twins.fma_chain(level, single, rounds)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    if not flops:
        return None
    median = float(np.median(times))
    return {"isa": isa, "dtype": np.dtype(dtype).name, "rounds": int(rounds),
            "flops_per_call": int(flops), "times_s": times, "median_s": median,
            "gflops": flops / median / 1e9, "best_gflops": flops / min(times) / 1e9,
            "cpu_s": cpu_times, "cpu_gflops": flops / float(np.median(cpu_times)) / 1e9}
