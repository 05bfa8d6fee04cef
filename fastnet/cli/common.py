"""What fastnet's commands share: exit codes and errors, a terse parser, the
chapter's settings and the bounds of the arguments, argument types, progress
bars, the Dask options and the Ctrl-C policy.

Nothing here imports NumPy, so that ``import fastnet.cli`` takes milliseconds
and a Ctrl-C while the ``fastnet`` script starts meets ``main``'s handler.
"""
import argparse
import os
import re
import signal
import sys
import threading

from fastnet.limits import MAX_PARAMETERS, parameter_count

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# ---------------------------------------------------------------------------
# The chapter's settings and the bounds of the arguments

INPUTS, CLASSES = 784, 10               # one input per pixel, one output per class
TRAINING_IMAGES = 50_000                # MNIST's training part (fastnet.datasets.N_TRAIN)
SIZES = [INPUTS, 30, CLASSES]           # network2's example network
EPOCHS, MINI_BATCH_SIZE, ETA, LMBDA = 30, 10, 0.1, 5.0
WIDTH = 30                              # neurons per hidden layer in chapter 5's networks
SPEED_MINI_BATCH_SIZE = 1000            # chapter 5 trains its 1,000 images as one batch

# Bounds, so that a typo cannot ask for gigabytes, a year of work or weights
# that can only overflow.  Seeds are below SEED_LIMIT (fastnet.checks.SEED_LIMIT,
# NumPy's range); it is written out here to keep NumPy out of the startup.
SEED_LIMIT = 2 ** 32
MAX_LAYERS = 100
MAX_BATCH_NEURONS = 50_000_000          # mini-batch size x neurons: the kernels' work space
MAX_EPOCHS = 1_000_000
MAX_ETA = 1000.0
MAX_SEEDS = 1000                        # seeds per depth-table entry
MAX_SPEED_SEEDS = 10_000                # seeds of the initial speeds (milliseconds each)
MAX_TABLE_EPOCHS = 10_000
MAX_WORKERS = 64
MAX_DEPTH = 20                          # hidden layers of chapter 5's deep networks


# ---------------------------------------------------------------------------
# Errors and the parser

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


def check_chapter_sizes(sizes):
    """A UsageError unless the network reads MNIST's pixels and names its classes."""
    if sizes[0] != INPUTS or sizes[-1] != CLASSES:
        raise UsageError("--sizes must start with {} (one input per pixel) and end with {} "
                         "(one output per class), got {}".format(
                             INPUTS, CLASSES, ",".join(map(str, sizes))))


def check_images(option, count):
    """A UsageError if ``option`` asks for more than the training images."""
    if count is not None and count > TRAINING_IMAGES:
        raise UsageError("{} can be at most {} (the training images), got {}".format(
            option, TRAINING_IMAGES, count))


def check_training(sizes, mini_batch_size, eta, lmbda, n):
    """A UsageError unless a run of ``sizes`` on ``n`` images fits the bounds:
    the mini-batch's activations within MAX_BATCH_NEURONS, and eta*lmbda/n
    below 1.  'fastnet train' and 'fastnet sweep' (for every run of its grid)
    both check here."""
    neurons = sum(sizes)
    if min(mini_batch_size, n) * neurons > MAX_BATCH_NEURONS:
        raise UsageError("--mini-batch-size {} with --sizes of {:,} neurons needs room for "
                         "{:,} activations; at most {:,} are allowed".format(
                             mini_batch_size, neurons,
                             min(mini_batch_size, n) * neurons, MAX_BATCH_NEURONS))
    if eta * lmbda / n >= 1:
        raise UsageError("--eta {} and --lmbda {} on {} images: eta*lmbda/n = {:.3g}, but it "
                         "must stay below 1 (the weight decay factor 1 - eta*lmbda/n would "
                         "not be positive)".format(eta, lmbda, n, eta * lmbda / n))


def check_data(data):
    """A UsageError unless ``data`` (the ``--data`` argument, if given) is a
    regular file or a folder: a device such as /dev/null or a FIFO is neither."""
    if data is None:
        return
    if not os.path.exists(data):
        raise UsageError("--data {}: no such file or folder".format(one_line(data)))
    if not (os.path.isfile(data) or os.path.isdir(data)):
        raise UsageError("--data {}: not a file or folder (a device, a FIFO or a socket); "
                         "give a folder with the MNIST files or mnist.pkl.gz".format(
                             one_line(data)))


def check_seeds(first, count):
    """A UsageError unless the seeds first .. first+count-1 are all below SEED_LIMIT."""
    if first + count > SEED_LIMIT:
        raise UsageError("--seed is too large: seeds must stay below 2**32")


# ---------------------------------------------------------------------------
# Argument types

def _short(text, length=40):
    return text if len(text) <= length else text[:length] + "..."


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
                _short(text)))
        if value < minimum:
            raise argparse.ArgumentTypeError("must be at least {}, got {}".format(minimum, value))
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError("must be at most {}, got {}".format(maximum, value))
        return value
    return parse


def seed_type():
    """An argument type: a seed, 0 .. SEED_LIMIT-1."""
    return int_in(0, SEED_LIMIT - 1)


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
    """An argument type: layer widths like 784,30,10, within MAX_LAYERS and MAX_PARAMETERS."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected layer widths separated by commas, like 784,30,10; got {!r}".format(
                _short(text)))
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError("needs at least an input and an output layer, got {!r}"
                                         .format(_short(text)))
    if len(sizes) > MAX_LAYERS:
        raise argparse.ArgumentTypeError("at most {} layers, got {}".format(
            MAX_LAYERS, len(sizes)))
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError("every layer needs at least one neuron, got {!r}"
                                         .format(_short(text)))
    parameters = parameter_count(sizes)
    if parameters > MAX_PARAMETERS:
        raise argparse.ArgumentTypeError(
            "{} would have {:,} weights and biases; at most {:,} are allowed".format(
                _short(text), parameters, MAX_PARAMETERS))
    return sizes


def add_data_and_output(parser, out, written, quiet, dataset=False):
    """The experiment commands' "data and output" options: --data (and, with
    ``dataset``, --dataset), --out (default ``out``; ``written`` says what goes
    in it), --no-plots and --quiet (``quiet`` says what it leaves)."""
    io = parser.add_argument_group("data and output")
    io.add_argument("--data", metavar="PATH",
                    help="a folder with the four IDX files or mnist.pkl.gz, or the pickle "
                         "itself (default: search as 'fastnet train' does)")
    if dataset:
        io.add_argument("--dataset", choices=("mnist", "fashion"), default="mnist",
                        help="MNIST digits or Fashion-MNIST clothes (default: mnist)")
    io.add_argument("--out", metavar="DIR", default=out,
                    help="folder for {}; created if missing (default: ./{})".format(written, out))
    io.add_argument("--no-plots", action="store_true", help="write no figures")
    io.add_argument("--quiet", action="store_true", help=quiet)


def choices():
    """The names a user may give: ``{"activation", "output", "init"}`` -> tuple of names,
    as fastnet.activations defines them."""
    from fastnet.activations import HIDDEN, INITIALISERS, OUTPUTS
    return {"activation": tuple(HIDDEN), "output": tuple(OUTPUTS), "init": tuple(INITIALISERS)}


# ---------------------------------------------------------------------------
# Where many runs run: threads, or Dask (fastnet speed and fastnet sweep)

LOCAL_CLUSTER = re.compile(r"^local:(\d+)$")
# The protocols of Dask distributed's schedulers (distributed.comm's backends).
SCHEDULER_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
ADDRESS = re.compile(r"^({})://\S+$".format("|".join(SCHEDULER_PROTOCOLS)))


def where_from_args(args):
    """``{"cluster": N}``, ``{"scheduler": address}`` or ``{}`` (threads) from
    ``--cluster``/``--scheduler``, checking them and that Dask is installed."""
    cluster, scheduler = getattr(args, "cluster", None), getattr(args, "scheduler", None)
    if cluster is not None and scheduler is not None:
        raise UsageError("give --cluster or --scheduler, not both")
    if cluster is None and scheduler is None:
        return {}
    if cluster is not None:
        m = LOCAL_CLUSTER.match(cluster)
        if not m or int(m.group(1)) < 1:
            raise UsageError("--cluster takes local:N with N worker processes, at least 1; "
                             "got {!r}".format(cluster))
        where = {"cluster": int(m.group(1))}
    else:
        if not ADDRESS.match(scheduler):
            raise UsageError("--scheduler takes a Dask scheduler's address like "
                             "tcp://HOST:PORT ({}://); got {!r}".format(
                                 "://, ".join(SCHEDULER_PROTOCOLS), scheduler))
        where = {"scheduler": scheduler}
    from fastnet import sweep
    try:
        sweep.import_distributed()
    except sweep.DaskMissing:
        raise UsageError("--{} needs Dask distributed, which is not installed: {}".format(
            next(iter(where)), sweep.DASK_HINT)) from None
    return where


# ---------------------------------------------------------------------------
# Printing while the work runs

def say_unless(quiet):
    """A print that flushes at once, or one that prints nothing when ``quiet``."""
    return (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))


def progress_bar(total, description, unit, quiet, initial=0, leave=False):
    """A tqdm bar on stderr over ``total`` steps, or None: when ``quiet``, when
    stderr is not a terminal, when there is nothing to count or tqdm is missing."""
    if quiet or total <= 0 or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc=description, unit=unit, leave=leave,
                file=sys.stderr)


# ---------------------------------------------------------------------------
# Ctrl-C

class QuitNow(KeyboardInterrupt):
    """A second Ctrl-C: stop at once, writing nothing more."""


class CtrlC:
    """The commands' one Ctrl-C policy: the work stops, the command writes what
    it has finished and exits 130; a second Ctrl-C, while it writes, quits at once.

    ``with CtrlC(prog) as ctrl_c: work(stop=ctrl_c.stop)``: a KeyboardInterrupt
    (or one of the exceptions ``stopped``, with which a library says it was
    stopped) ends the block quietly, sets ``interrupted`` and the ``stop`` event
    that worker threads watch, and says so on stderr.

    With ``at_safe_points`` the first Ctrl-C raises nothing: it sets ``stop``
    (and prints ``notice``, if any), and the work ends itself where it can
    (``fastnet train`` between chunks of mini-batches, so that the network it
    saves is whole); a second Ctrl-C raises ``QuitNow``, which goes through.
    """

    def __init__(self, prog, stopped=(), at_safe_points=False, notice=None):
        self.prog = prog
        self.stopped = stopped
        self.at_safe_points = at_safe_points
        self.notice = notice
        self.stop = threading.Event()
        self.interrupted = False
        self._previous = None

    @property
    def exit_code(self):
        return EXIT_INTERRUPTED if self.interrupted else EXIT_OK

    def _request(self, signum, frame):
        if self.stop.is_set():
            raise QuitNow
        self.stop.set()
        self.interrupted = True
        if self.notice:
            print("\n" + self.notice, file=sys.stderr, flush=True)

    def __enter__(self):
        if self.at_safe_points:
            try:
                self._previous = signal.signal(signal.SIGINT, self._request)
            except ValueError:       # not the main thread: signals are not ours to handle
                self._previous = None
        return self

    def __exit__(self, kind, error, traceback):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if kind is None or issubclass(kind, QuitNow):
            return False
        if not (issubclass(kind, KeyboardInterrupt) or isinstance(error, self.stopped)):
            return False
        self.stop.set()
        self.interrupted = True
        print("\n{}: interrupted; writing what was finished".format(self.prog),
              file=sys.stderr, flush=True)
        return True
