"""``fastnet expand``: write the book's expanded training set, ``mnist_expanded.pkl.gz``.

    fastnet expand                                  # MNIST searched for, ./mnist_expanded.pkl.gz
    fastnet expand --data ../data/mnist.pkl.gz --out ../data/mnist_expanded.pkl.gz

What the book's ``expand_mnist.py`` writes: each of the 50,000 training images
and its four one-pixel shifts, shuffled, with the validation and test images
unchanged (see ``fastnet.datasets.shared``).  The file is replaced atomically.
"""
import argparse
import os
import random
import time

from fastnet.cli.common import Failure, UsageError, say_unless, seed_type

HELP = "write the book's mnist_expanded.pkl.gz: the training images and their one-pixel shifts"

EPILOG = """\
The data is read from --data PATH (the book's mnist.pkl.gz, or a folder with it or
the four IDX files); without it MNIST is looked for as 'fastnet train' does.
Chapter 6's scripts read the result with network3.load_data_shared(PATH).

example: fastnet expand --data ../data/mnist.pkl.gz --out ../data/mnist_expanded.pkl.gz"""


def add_parser(subparsers):
    """Add ``expand`` to argparse's subparsers; its default ``run`` runs it."""
    p = subparsers.add_parser(
        "expand", help=HELP, description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", metavar="PATH",
                   help="mnist.pkl.gz, or a folder with it or the four IDX files "
                        "(default: search as 'fastnet train' does)")
    p.add_argument("--out", metavar="FILE", default="mnist_expanded.pkl.gz",
                   help="the file to write (default: ./mnist_expanded.pkl.gz)")
    p.add_argument("--seed", type=seed_type(), metavar="S",
                   help="seed Python's random (random.seed(S)) before the shuffle, so the "
                        "file can be made again exactly (default: unseeded, as the book)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
    return p


def run(args):
    """Expand as the parsed ``args`` ask; return the exit code."""
    if args.data is not None and not os.path.exists(args.data):
        raise UsageError("--data {}: no such file or folder".format(args.data))
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UsageError("--out {}: the folder {} does not exist".format(args.out, folder))
    from fastnet import datasets
    from fastnet.datasets.shared import expand_mnist

    say = say_unless(args.quiet)
    if args.seed is not None:
        random.seed(args.seed)
    start = time.perf_counter()
    try:
        pairs = expand_mnist(args.out, source=args.data)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    except OSError as e:
        raise Failure("could not write {}: {}".format(args.out, e)) from None
    say("Wrote {:,} training pairs to {} in {:.1f} s".format(
        pairs, args.out, time.perf_counter() - start))
    return 0
