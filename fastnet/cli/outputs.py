"""What the experiment commands write: the output folder, JSON without NumPy
types, figures and Markdown reports, each file atomically."""
import datetime
import json
import math
import os

from fastnet import __version__
from fastnet.cli.common import Failure, UsageError, check_data
from fastnet.files import write_atomically


def output_folder(out, data=None):
    """The absolute path of the ``--out`` folder, created and checked to be writable.

    ``data`` (the ``--data`` argument, if any) must exist.  Bad arguments are a
    UsageError, a folder that cannot be made or written a Failure.
    """
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError("--out {}: that is a file; give a folder".format(out))
    check_data(data)
    try:
        os.makedirs(path, exist_ok=True)
    except (OSError, ValueError) as e:
        raise Failure("cannot create the folder {}: {}".format(
            path, getattr(e, "strerror", None) or e)) from None
    if not os.access(path, os.W_OK):
        raise Failure("cannot write into the folder {}".format(path))
    return path


def plain_json(value):
    """``value`` with NumPy scalars and arrays as Python numbers and lists, and
    non-finite floats as None (strict JSON has no NaN or infinity)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def write_figures(out, results, plots, figures, say=None):
    """Draw ``figures(results)`` (``(file name, matplotlib Figure)`` pairs) into ``out``.

    Only with ``plots`` and matplotlib installed; ``results["figures"]`` gets
    the names written, or ``results["figures_skipped"]`` why there are none
    (``say``, if given, is told when matplotlib is missing).  Each file is
    written atomically; an OSError is left to the caller.
    """
    results["figures"] = []
    results.pop("figures_skipped", None)
    if not plots:
        results["figures_skipped"] = "skipped: --no-plots"
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        results["figures_skipped"] = ("skipped: matplotlib is not installed "
                                      "(pip install matplotlib)")
        if say is not None:
            say("Figures skipped: matplotlib is not installed (pip install matplotlib)")
        return
    for name, figure in figures(results):
        write_atomically(os.path.join(out, name),
                         lambda f, fig=figure: fig.savefig(f, format="png", dpi=100))
        results["figures"].append(name)


def write_results(out, results, plots, json_name, report, figures, say=None):
    """Write a command's results into the folder ``out``; return the names written.

    The figures as ``write_figures`` draws them, then ``results`` goes to
    ``json_name`` and ``report(results)`` (Markdown) to report.md, each file
    atomically.  ``results`` also records the fastnet version and the time.
    """
    results["fastnet_version"] = __version__
    results["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    try:
        write_figures(out, results, plots, figures, say)
        text = json.dumps(plain_json(results), indent=1, allow_nan=False)
        write_atomically(os.path.join(out, json_name), lambda f: f.write(text.encode()))
        markdown = report(results)
        write_atomically(os.path.join(out, "report.md"), lambda f: f.write(markdown.encode()))
    except OSError as e:
        raise Failure("cannot write into {}: {}".format(out, e.strerror or e)) from None
    return [json_name, "report.md"] + results["figures"]
