"""The ``fastnet`` command line (also ``python -m fastnet``).

    fastnet train                      # [784, 30, 10], 30 epochs, as in the book's chapter
    fastnet speed --quick              # chapter 5's experiments, as a smoke run
    fastnet remedies                   # activations x initialisations, side by side
    fastnet sweep --eta 0.1 0.5        # a grid of settings over seeds, on threads or Dask
    fastnet expand                     # the book's mnist_expanded.pkl.gz, for chapter 6

Each command is a module here with ``add_parser(subparsers)``, which adds its
parser and sets ``run`` (a function of the parsed arguments returning the exit
code) as its default, and ``run`` itself.  ``COMMANDS`` maps the names to the
``add_parser`` functions, or to the names of the modules that hold them: a
new command is one module and one entry (or a call to ``register``).  A
command's module is imported only when that command runs (or a help listing
all of them is asked for), so ``fastnet train`` loads nothing of the others.  What they share is in ``fastnet.cli.common`` (errors,
settings, bounds, argument types, progress bars, Ctrl-C) and
``fastnet.cli.outputs`` (the files they write).

Exit codes, the same for every command: 0 done, 1 the data could not be loaded
or the results not written (``Failure``), 2 bad arguments (``UsageError``),
130 stopped by Ctrl-C (what was finished is written first).  Every error is
one line on stderr, never a traceback.
"""
import argparse
import importlib
import signal
import sys

from fastnet.cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Failure, Parser,
                                UsageError, one_line)

COMMANDS = {"train": "fastnet.cli.train", "speed": "fastnet.cli.speed",
            "remedies": "fastnet.cli.remedies", "sweep": "fastnet.cli.sweep",
            "expand": "fastnet.cli.expand"}


def register(name, add_command):
    """Add a subcommand: ``add_command(subparsers)`` adds its parser and sets ``run``."""
    COMMANDS[name] = add_command


def build_parser(only=None):
    """The command line's parser: every command's, or with ``only``, that one command's."""
    parser = Parser(prog="fastnet",
                    description="fastnet: fast CPU training of the networks of Michael "
                                "Nielsen's network2.py.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=Parser)
    for name, add_command in COMMANDS.items():
        if only is None or name == only:
            _adder(add_command)(subparsers)
    return parser


def _adder(add_command):
    """The ``add_parser`` function an entry of COMMANDS names (a module's, when a string)."""
    if isinstance(add_command, str):
        return importlib.import_module(add_command).add_parser
    return add_command


def _command_named(argv):
    """The command ``argv`` runs, when its first word is one (else None: parse them all)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


class _Interrupt:
    """main()'s Ctrl-C handler: Python's own (it raises KeyboardInterrupt), noting
    that Ctrl-C came.  A KeyboardInterrupt raised inside an extension module's
    import can be replaced by an error that does not carry it (seen with NumPy 1.25
    on Python 3.9: "ImportError: PyCapsule_Import could not import module
    "datetime"", CPython clearing the interrupt to raise its own error); main()
    still knows that the error came from the Ctrl-C."""

    # fastnet.sweep takes Ctrl-C over only from a handler that raises KeyboardInterrupt.
    raises_keyboard_interrupt = True

    def __init__(self):
        self.pressed = False

    def __call__(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt


def main(argv=None):
    """Run the command line with ``argv`` (default: sys.argv[1:]); return the exit code.

    Ctrl-C at any point, even while the arguments are parsed or the modules
    load, ends with exit code 130 and one line, never a traceback."""
    handler = _Interrupt()
    try:
        try:  # take Ctrl-C over from __main__'s quiet startup handler
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
        return _main(argv)
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        # Ctrl-C inside an import can surface as another error caused by it (CPython
        # wraps it in a RuntimeError when it lands in a class's __set_name__), or as
        # one that has lost it (see _Interrupt).
        if not (caused_by_interrupt(e) or handler.pressed):
            raise
        print("fastnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def caused_by_interrupt(error):
    """Whether a KeyboardInterrupt is among the causes (or contexts) of `error`."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _main(argv):
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(only=_command_named(argv))
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the subcommand, whose --help lists what it takes
            subparsers = next(a for a in parser._actions
                              if isinstance(a, argparse._SubParsersAction))
            subparsers.choices[args.command].error(
                "unrecognized arguments: {}".format(" ".join(extra)))
    except SystemExit as e:  # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    return _run_command("fastnet " + args.command, args.run, args)


def _run_command(prog, run, args):
    """``run(args)``'s exit code, with its errors and Ctrl-C as the exit codes
    above, each one line on stderr."""
    try:
        return run(args)
    except UsageError as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_USAGE
    except Failure as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:     # before the work began, or a second Ctrl-C while writing
        print("{}: interrupted".format(prog), file=sys.stderr)
        return EXIT_INTERRUPTED
