"""A sweep's record, ``sweep.json``: read it back, check it, and hold its folder.

A sweep rewrites ``sweep.json`` as each run finishes and a rerun skips the
runs it holds, so the file is read again before any training.  A file that
was edited by hand, cut short or written by another grid must be refused
then, with its path and the first bad run, not found out after the grid has
trained (when ``sweep.md`` is written from it)::

    record = sweep_record.load(path)            # ValueError says what is wrong
    sweep_record.check_runs(record, planned)    # ValueError names the first bad run

Two sweeps writing into one folder would each train everything and each
overwrite the other's file, so a sweep holds ``hold(folder)`` while it runs.
The lock is the operating system's (``fcntl.flock`` on ``.sweep.lock``), held
by the open file: it goes when the process ends, however it ends (Ctrl-C, a
crash, ``kill -9``), so a killed sweep leaves no stale lock behind.  The
empty ``.sweep.lock`` file stays in the folder; it is harmless.
"""
import contextlib
import json
import math
import os

from fastnet.sweep import TRAINING_KEYS, run_key

__all__ = ["load", "check_runs", "hold", "Busy", "LOCK_NAME"]

LOCK_NAME = ".sweep.lock"
# What a finished run holds besides its settings, and the types of the values.
RESULT_KEYS = ("correct", "validation_accuracy", "validation_images", "finite", "seconds",
               "where")


class Busy(Exception):
    """Another sweep is writing into the same folder."""


def _no_constant(name):
    raise ValueError("{} is not a number JSON allows".format(name))


def load(path):
    """The dict in the JSON file ``path``; ValueError (or OSError) if it is none.

    ``NaN`` and ``Infinity`` are refused (JSON has no such numbers), and so are
    numbers too large for a float and nesting too deep to read.
    """
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if not isinstance(record, dict) or not isinstance(record.get("runs"), list):
        raise ValueError("no list of runs")
    return record


def _is_int(v, low=None):
    return isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low)


def _is_number(v, low=-math.inf, high=math.inf):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        v = float(v)                         # an int like 10**400 has no float
    except OverflowError:
        return False
    return math.isfinite(v) and low <= v <= high


def _problem(run):
    """What is wrong with one recorded run, or None."""
    if not isinstance(run, dict):
        return "not an object"
    missing = [k for k in ("settings",) + RESULT_KEYS if k not in run]
    if missing:
        return "no " + ", ".join(repr(k) for k in missing)
    settings = run["settings"]
    if not isinstance(settings, dict):
        return "'settings' is not an object"
    missing = [k for k in TRAINING_KEYS if k not in settings]
    if missing:
        return "its settings have no " + ", ".join(repr(k) for k in missing)
    s = settings
    if not isinstance(s["sizes"], list) or not all(_is_int(n, 1) for n in s["sizes"]):
        return "'sizes' is not a list of layer sizes"
    for k in ("eta", "lmbda"):
        if not _is_number(s[k]):
            return "{!r} is not a finite number".format(k)
    for k, low in (("mini_batch_size", 1), ("epochs", 1), ("seed", 0)):
        if not _is_int(s[k], low):
            return "{!r} is not a whole number of at least {}".format(k, low)
    if not isinstance(s["dtype"], str):
        return "'dtype' is not a name"
    epochs = s["epochs"]
    accuracy, correct = run["validation_accuracy"], run["correct"]
    if not isinstance(accuracy, list) or not accuracy or len(accuracy) > epochs or \
            not all(_is_number(a, 0.0, 1.0) for a in accuracy):
        return "'validation_accuracy' is not a list of fractions, one per epoch"
    if not isinstance(correct, list) or len(correct) != len(accuracy) or \
            not all(_is_int(c, 0) for c in correct):
        return "'correct' is not a list of counts as long as 'validation_accuracy'"
    if not _is_int(run["validation_images"], 1):
        return "'validation_images' is not a whole number of at least 1"
    if not isinstance(run["finite"], bool):
        return "'finite' is not true or false"
    if not _is_number(run["seconds"], 0.0):
        return "'seconds' is not a finite number of at least 0"
    if not isinstance(run["where"], dict):
        return "'where' is not an object"
    return None


def check_runs(record, planned):
    """Raise ValueError naming the first run of ``record`` that is malformed,
    recorded twice, or not one of the ``planned`` runs (a run of another grid:
    other data, limit, epochs or settings, whose numbers would be mixed into
    this sweep's report)."""
    planned = {run_key(r) for r in planned}
    seen = set()
    for i, run in enumerate(record["runs"]):
        problem = _problem(run)
        if problem is None:
            key = run_key(run["settings"])
            if key in seen:
                problem = "the same run as an earlier one"
            elif key not in planned:
                problem = ("not a run of this grid (another grid's, or other data, "
                           "--limit or --epochs)")
            seen.add(key)
        if problem is not None:
            raise ValueError("run {} of {}: {}".format(i + 1, len(record["runs"]), problem))


@contextlib.contextmanager
def hold(folder):
    """Hold ``folder`` for one sweep; Busy if another process holds it."""
    path = os.path.join(folder, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd, path)
        yield path
    finally:
        os.close(fd)                         # closing the file releases the lock


def _lock(fd, path):
    try:
        import fcntl
    except ImportError:                      # Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            raise Busy(path) from None
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Busy(path) from None
