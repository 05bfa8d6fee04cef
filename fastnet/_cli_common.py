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
