"""The ``fastnet`` command line (also ``python -m fastnet``).

    fastnet train                      # [784, 30, 10], 30 epochs, as in the book's chapter
    fastnet train --sizes 784,30,30,10 --dtype float32 --save net.json

Subcommands live in ``COMMANDS``: a name mapped to a function that adds the
subcommand's parser to argparse's subparsers and sets ``run`` (a function of
the parsed arguments returning the exit code) as its default.  A new
subcommand is one function and one entry (or a call to ``register``).

Exit codes: 0 done, 1 the data could not be loaded or the network not saved,
2 bad arguments, 130 stopped by Ctrl-C.

Every argument is checked before anything heavy happens (no data loaded, no
network allocated), and a bad one is a one-line usage error with exit code 2.
Bounds beyond the obvious ones, so that a typo cannot ask for gigabytes or
for weights that can only overflow (``LIMITS``): at most 100 layers, 20
million weights and biases (160 MB per float64 copy), mini-batch size times
the number of neurons at most 50 million (the kernels' work space), mini-batch
size at most 50,000 (the training images), eta at most 1000, eta * lmbda / n
below 1 (so that the weight decay factor 1 - eta * lmbda / n of network2's
update stays positive), seeds in [0, 2**32) (NumPy's range).  ``--save`` is
tried (a temporary file is created and removed beside it) before training.
"""

import argparse
import os
import random
import signal
import sys
import time

from fastnet._cli_common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, LIMITS,
                                 Failure, Parser, UsageError, float_in, int_at_least, int_in,
                                 layer_sizes, one_line)
from fastnet.speed_cli import add_parser as add_speed_command
from fastnet.remedies_cli import add_parser as add_remedies_command
from fastnet.sweep_cli import add_parser as add_sweep_command

# ---------------------------------------------------------------------------
# train

TRAIN_HELP = "train a network on MNIST (or Fashion-MNIST) and report its validation accuracy"

TRAIN_EPILOG = """\
The data is looked for in --data PATH if given; otherwise in $FASTNET_DATA, then
(for Fashion-MNIST) Debian's /usr/share/datasets/fashion-mnist, then the cache
folder ($FASTNET_CACHE, else $XDG_CACHE_HOME/fastnet, else ~/.cache/fastnet), and
finally it is downloaded into that cache. A folder may hold the four IDX files
(train-images-idx3-ubyte and friends, gzip'd or not) or the book's mnist.pkl.gz.

Training uses the first 50,000 training images (or --limit N of them); the
accuracy is measured on the 10,000 validation images after each epoch. Ctrl-C
stops after the current chunk of mini-batches, saves the network if --save was
given, and exits with code 130.

Bounds, checked before anything is loaded: at most 100 layers and 20 million
weights and biases; mini-batch size times the number of neurons at most 50
million; eta*lmbda/n below 1. --save is tried before training starts.

example: fastnet train --sizes 784,30,30,10 --epochs 30 --seed 1 --save net.json"""


def add_train_command(subparsers):
    p = subparsers.add_parser(
        "train", help=TRAIN_HELP, description=TRAIN_HELP[0].upper() + TRAIN_HELP[1:] + ".",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    net = p.add_argument_group("network and training (network2's SGD; defaults from the book)")
    net.add_argument("--sizes", type=layer_sizes, default=[784, 30, 10], metavar="N,N,...",
                     help="neurons per layer, input first; the input must be 784 (28x28 pixels) "
                          "and the output 10 (one per class) (default: 784,30,10)")
    net.add_argument("--epochs", type=int_in(1, LIMITS["epochs"]), default=30, metavar="N",
                     help="passes over the training data (default: 30)")
    net.add_argument("--mini-batch-size", type=int_in(1, LIMITS["mini_batch_size"]),
                     default=10, metavar="N",
                     help="examples per gradient step, at most 50000 (default: 10)")
    net.add_argument("--eta", type=float_in(0.0, positive=True, maximum=LIMITS["eta"]),
                     default=0.1, metavar="RATE",
                     help="learning rate, at most 1000 (default: 0.1)")
    net.add_argument("--lmbda", type=float_in(0.0, positive=False), default=5.0,
                     metavar="LAMBDA", help="L2 regularisation parameter; eta*lmbda/n must "
                                            "stay below 1, n the training images (default: 5.0)")
    net.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                     help="floating-point precision of training: float64 as network2, or the "
                          "faster float32 (default: float64)")
    net.add_argument("--seed", type=int_in(0, LIMITS["seed"]), metavar="S",
                     help="seed Python's random and NumPy's generator (random.seed(S); "
                          "np.random.seed(S)), so the run can be repeated exactly "
                          "(default: unseeded)")
    data = p.add_argument_group("data")
    data.add_argument("--data", metavar="PATH",
                      help="a folder with the four IDX files or mnist.pkl.gz, or the pickle "
                           "itself (default: search as described below)")
    data.add_argument("--dataset", choices=("mnist", "fashion"), default="mnist",
                      help="MNIST digits or Fashion-MNIST clothes (default: mnist)")
    data.add_argument("--limit", type=int_at_least(1), metavar="N",
                      help="train on the first N of the 50,000 training images only "
                           "(default: all)")
    out = p.add_argument_group("output")
    out.add_argument("--save", metavar="FILE",
                     help="write the trained network to FILE as network2's JSON, loadable "
                          "with fastnet.load (or network2.load)")
    out.add_argument("--quiet", action="store_true",
                     help="print only the final line: no progress bar, no per-epoch lines")
    p.set_defaults(run=run_train)
    return p


class _QuitNow(KeyboardInterrupt):
    """A second Ctrl-C: stop at once, saving nothing."""


class _StopRequest:
    """While active, the first Ctrl-C only asks training to stop at the next
    chunk boundary; a second one interrupts at once."""

    def __init__(self, quiet):
        self.requested = False
        self.quiet = quiet
        self.previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise _QuitNow
        self.requested = True
        if not self.quiet:
            print("\nStopping after the current mini-batches (Ctrl-C again to quit at once)",
                  file=sys.stderr, flush=True)

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _progress_bar(total, description, enabled):
    """A tqdm bar on stderr over ``total`` mini-batches, or None."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, unit="batch", leave=False, file=sys.stderr)


def run_train(args):
    import numpy as np

    from fastnet import datasets

    sizes = args.sizes
    if sizes[0] != 784 or sizes[-1] != 10:
        raise UsageError("--sizes must start with 784 (one input per pixel) and end with 10 "
                         "(one output per class), got {}".format(",".join(map(str, sizes))))
    if args.limit is not None and args.limit > datasets.N_TRAIN:
        raise UsageError("--limit can be at most {} (the training images), got {}".format(
            datasets.N_TRAIN, args.limit))
    n = datasets.N_TRAIN if args.limit is None else args.limit
    neurons = sum(sizes)
    if min(args.mini_batch_size, n) * neurons > LIMITS["batch_neurons"]:
        raise UsageError("--mini-batch-size {} with --sizes of {:,} neurons needs room for "
                         "{:,} activations; at most {:,} are allowed".format(
                             args.mini_batch_size, neurons,
                             min(args.mini_batch_size, n) * neurons, LIMITS["batch_neurons"]))
    if args.eta * args.lmbda / n >= 1:
        raise UsageError("--eta {} and --lmbda {} on {} images: eta*lmbda/n = {:.3g}, but it "
                         "must stay below 1 (the weight decay factor 1 - eta*lmbda/n would "
                         "not be positive)".format(args.eta, args.lmbda, n,
                                                   args.eta * args.lmbda / n))
    if args.save is not None:
        _check_save(args.save)
    if args.data is not None and not os.path.exists(args.data):
        raise UsageError("--data {}: no such file or folder".format(args.data))

    import fastnet  # the core; imported late so that bad arguments are reported fast

    dtype = np.float32 if args.dtype == "float32" else np.float64
    try:
        (X_train, y_train), (X_val, y_val), _ = datasets.load_mnist(
            args.data, dataset=args.dataset, dtype=dtype, progress=False if args.quiet else None)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    if args.limit is not None:
        X_train, y_train = X_train[:args.limit], y_train[:args.limit]
    training = (X_train, y_train)
    validation = (X_val, y_val)

    if args.seed is not None:
        random.seed(args.seed)
        np.random.seed(args.seed)
    net = fastnet.Network(sizes, cost=fastnet.CrossEntropyCost)

    n = len(y_train)
    n_batches = -(-n // args.mini_batch_size)
    show_bar = not args.quiet and sys.stderr.isatty()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say("Training {} on {} {} images: {} epochs, mini-batch size {}, eta {}, lmbda {}, {}{}"
        .format(sizes, n, datasets.NAMES[args.dataset], args.epochs, args.mini_batch_size,
                args.eta, args.lmbda, args.dtype,
                "" if args.seed is None else ", seed {}".format(args.seed)))

    examples = 0        # training examples processed so far
    train_seconds = 0.0
    interrupted = False
    accuracy = None
    with _StopRequest(args.quiet) as stop:
        for epoch in range(args.epochs):
            bar = _progress_bar(n_batches, "Epoch {}/{}".format(epoch + 1, args.epochs),
                                show_bar)
            batches = [0]

            def progress(done, bar=bar, batches=batches):
                batches[0] += done
                if bar is not None:
                    bar.update(done)
                if stop.requested:
                    raise KeyboardInterrupt

            start = time.perf_counter()
            try:
                net.SGD(training, 1, args.mini_batch_size, args.eta, lmbda=args.lmbda,
                        dtype=dtype, progress=progress, quiet=True)
            except _QuitNow:
                raise
            except KeyboardInterrupt:
                interrupted = True
            finally:
                train_seconds += time.perf_counter() - start
                examples += min(batches[0] * args.mini_batch_size, n)
                if bar is not None:
                    bar.close()
            accuracy = net.accuracy(validation)
            if interrupted:
                say("Stopped during epoch {}/{}: validation accuracy {}".format(
                    epoch + 1, args.epochs, _percent(accuracy, len(y_val))))
                break
            say("Epoch {}/{}: validation accuracy {}".format(
                epoch + 1, args.epochs, _percent(accuracy, len(y_val))))
            if stop.requested:
                interrupted = True
                break

    rate = examples / train_seconds if train_seconds > 0 else float("nan")
    print("{}validation accuracy {}; {:,.0f} training examples/s ({:,} examples in {:.2f} s)"
          .format("Interrupted: " if interrupted else "Final ", _percent(accuracy, len(y_val)),
                  rate, examples, train_seconds), flush=True)
    if args.save is not None:
        try:
            net.save(args.save)
        except OSError as e:
            raise Failure("could not save the network to {}: {}".format(
                args.save, e.strerror or e)) from None
        say("Saved the network to {}".format(args.save))
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _check_save(path):
    """Find an unwritable --save before training, not after."""
    from fastnet import files

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError("--save {}: folder {} does not exist".format(path, folder))
    if os.path.isdir(path):
        raise UsageError("--save {}: that is a folder; give a file name".format(path))
    try:
        files.probe_writable(path)
    except (OSError, ValueError) as e:
        raise UsageError("--save {}: cannot write there: {}".format(
            path, getattr(e, "strerror", None) or e)) from None


def _percent(correct, total):
    return "{} / {} ({:.2f}%)".format(correct, total, 100.0 * correct / total)


# ---------------------------------------------------------------------------
# The command table and main

COMMANDS = {"train": add_train_command, "speed": add_speed_command,
            "remedies": add_remedies_command, "sweep": add_sweep_command}


def register(name, add_command):
    """Add a subcommand: ``add_command(subparsers)`` adds its parser and sets ``run``."""
    COMMANDS[name] = add_command


def build_parser():
    parser = Parser(prog="fastnet",
                    description="fastnet: fast CPU training of the networks of Michael "
                                "Nielsen's network2.py.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=Parser)
    for add_command in COMMANDS.values():
        add_command(subparsers)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: sys.argv[1:]); return the exit code.

    Ctrl-C at any point, even while the arguments are parsed or the modules
    load, ends with exit code 130 and one line, never a traceback."""
    try:
        try:  # take Ctrl-C over from __main__'s quiet startup handler
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
        return _main(argv)
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        # Ctrl-C inside an import can surface as another error caused by it (CPython
        # wraps it in a RuntimeError when it lands in a class's __set_name__).
        if not caused_by_interrupt(e):
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
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the subcommand, whose --help lists what it takes
            subparsers = next(a for a in parser._actions
                              if isinstance(a, argparse._SubParsersAction))
            subparsers.choices[args.command].error(
                "unrecognized arguments: {}".format(" ".join(extra)))
    except SystemExit as e:  # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    prog = "fastnet " + args.command
    try:
        return args.run(args)
    except UsageError as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_USAGE
    except Failure as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("{}: interrupted; nothing saved".format(prog), file=sys.stderr)
        return EXIT_INTERRUPTED
