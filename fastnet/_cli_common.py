"""What fastnet's commands share: exit codes, errors, a terse parser, argument types."""
import argparse

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Arguments that parse but make no sense together; exit code 2."""


class Failure(Exception):
    """A run that cannot go on (data missing, file unwritable); exit code 1."""


def one_line(text):
    """``text`` with line breaks and other control characters escaped, so that
    an error quoting a user's argument stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, not the whole usage."""

    def error(self, message):
        self.exit(EXIT_USAGE, "{}: error: {} (see '{} --help')\n".format(
            self.prog, one_line(message), self.prog))


def int_at_least(minimum):
    """An argument type: a whole number no smaller than ``minimum``."""
    return int_in(minimum, None)


def int_in(minimum, maximum):
    """An argument type: a whole number from ``minimum`` to ``maximum`` (None: no bound)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a whole number, got {!r}".format(
                text if len(text) <= 40 else text[:40] + "..."))
        if value < minimum:
            raise argparse.ArgumentTypeError("must be at least {}, got {}".format(minimum, value))
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError("must be at most {}, got {}".format(maximum, value))
        return value
    return parse


# The bounds of the commands' arguments (described in fastnet.cli's docstring).
LIMITS = {"layers": 100, "parameters": 20_000_000, "batch_neurons": 50_000_000,
          "mini_batch_size": 50_000, "epochs": 1_000_000, "eta": 1000.0, "seed": 2 ** 32 - 1}


def _short(text, length=40):
    return text if len(text) <= length else text[:length] + "..."


def float_in(minimum, positive, maximum=None):
    """An argument type: a finite number above `minimum` (or at least it, unless
    `positive`) and at most `maximum`."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a number, got {!r}".format(_short(text)))
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError("must be a finite number, got {}".format(
                _short(text)))
        if value < minimum or (positive and value == minimum):
            raise argparse.ArgumentTypeError("must be {} {}, got {}".format(
                "greater than" if positive else "at least", minimum, _short(text)))
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError("must be at most {:g}, got {}".format(
                maximum, _short(text)))
        return value
    return parse


def layer_sizes(text):
    """An argument type: layer widths like 784,30,10, within LIMITS."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected layer widths separated by commas, like 784,30,10; got {!r}".format(
                _short(text)))
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError("needs at least an input and an output layer, got {!r}"
                                         .format(_short(text)))
    if len(sizes) > LIMITS["layers"]:
        raise argparse.ArgumentTypeError("at most {} layers, got {}".format(
            LIMITS["layers"], len(sizes)))
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError("every layer needs at least one neuron, got {!r}"
                                         .format(_short(text)))
    parameters = sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    if parameters > LIMITS["parameters"]:
        raise argparse.ArgumentTypeError(
            "{} would have {:,} weights and biases; at most {:,} are allowed".format(
                _short(text), parameters, LIMITS["parameters"]))
    return sizes


def output_folder(out, data=None):
    """The absolute path of the ``--out`` folder, created and checked to be writable.

    ``data`` (the ``--data`` argument, if any) must exist.  Bad arguments are a
    UsageError, a folder that cannot be made or written a Failure.
    """
    import os

    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError("--out {}: that is a file; give a folder".format(out))
    if data is not None and not os.path.exists(data):
        raise UsageError("--data {}: no such file or folder".format(data))
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
    import math

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
    import os

    from fastnet.files import write_atomically

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
    import datetime
    import json
    import os

    from fastnet import __version__
    from fastnet.files import write_atomically

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
