"""``fastnet train``: train a network on MNIST (or Fashion-MNIST) with network2's SGD.

    fastnet train                      # [784, 30, 10], 30 epochs, as in the book's chapter
    fastnet train --sizes 784,30,30,10 --dtype float32 --save net.json

Every argument is checked before anything heavy happens (no data loaded, no
network allocated), and ``--save`` is tried (a temporary file is created and
removed beside it) before training.  Ctrl-C stops between chunks of
mini-batches, so that the network saved is whole.
"""
import argparse
import os
import random
import time

from fastnet.cli.common import (EPOCHS, ETA, LMBDA, MAX_EPOCHS, MAX_ETA, MINI_BATCH_SIZE,
                                SIZES, TRAINING_IMAGES, CtrlC, Failure, QuitNow, UsageError,
                                check_chapter_sizes, check_data, check_images, check_training,
                                float_in, int_at_least, int_in, layer_sizes, progress_bar,
                                say_unless, seed_type)

HELP = "train a network on MNIST (or Fashion-MNIST) and report its validation accuracy"

EPILOG = """\
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


def add_parser(subparsers):
    """Add ``train`` to argparse's subparsers; its default ``run`` runs it."""
    p = subparsers.add_parser(
        "train", help=HELP, description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    net = p.add_argument_group("network and training (network2's SGD; defaults from the book)")
    net.add_argument("--sizes", type=layer_sizes, default=list(SIZES), metavar="N,N,...",
                     help="neurons per layer, input first; the input must be 784 (28x28 pixels) "
                          "and the output 10 (one per class) (default: 784,30,10)")
    net.add_argument("--epochs", type=int_in(1, MAX_EPOCHS), default=EPOCHS, metavar="N",
                     help="passes over the training data (default: 30)")
    net.add_argument("--mini-batch-size", type=int_in(1, TRAINING_IMAGES),
                     default=MINI_BATCH_SIZE, metavar="N",
                     help="examples per gradient step, at most 50000 (default: 10)")
    net.add_argument("--eta", type=float_in(0.0, positive=True, maximum=MAX_ETA),
                     default=ETA, metavar="RATE",
                     help="learning rate, at most 1000 (default: 0.1)")
    net.add_argument("--lmbda", type=float_in(0.0, positive=False), default=LMBDA,
                     metavar="LAMBDA", help="L2 regularisation parameter; eta*lmbda/n must "
                                            "stay below 1, n the training images (default: 5.0)")
    net.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                     help="floating-point precision of training: float64 as network2, or the "
                          "faster float32 (default: float64)")
    net.add_argument("--seed", type=seed_type(), metavar="S",
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
    p.set_defaults(run=run)
    return p


def _check(args):
    """Every check that needs no data: a UsageError for the first that fails."""
    sizes = args.sizes
    check_chapter_sizes(sizes)
    check_images("--limit", args.limit)
    n = TRAINING_IMAGES if args.limit is None else args.limit
    check_training(sizes, args.mini_batch_size, args.eta, args.lmbda, n)
    if args.save is not None:
        _check_save(args.save)
    check_data(args.data)


def run(args):
    """Train as the parsed ``args`` ask; return the exit code."""
    _check(args)
    import numpy as np

    import fastnet  # the core; imported late so that bad arguments are reported fast
    from fastnet import datasets

    dtype = np.float32 if args.dtype == "float32" else np.float64
    try:
        (X_train, y_train), (X_val, y_val), _ = datasets.load_mnist(
            args.data, dataset=args.dataset, dtype=dtype, progress=False if args.quiet else None,
            test_images=False)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    if args.limit is not None:
        X_train, y_train = X_train[:args.limit], y_train[:args.limit]
    training = (X_train, y_train)
    # The validation images in the training's precision, read where they lie: a float64
    # network reads float32 rows exactly, but converting them costs more than their
    # bytes save (an evaluation of 10,000 images took 16.4 ms from float32 and 14.4 ms
    # from float64 on the Xeon of issue 23; a float32 copy cost 0.02 s more to make).
    validation = (X_val, y_val)

    if args.seed is not None:
        random.seed(args.seed)
        np.random.seed(args.seed)
    net = fastnet.Network(args.sizes, cost=fastnet.CrossEntropyCost)
    validation_accuracy = net.accuracy_counter(validation)   # converted once, not per epoch

    n = len(y_train)
    n_batches = -(-n // args.mini_batch_size)
    say = say_unless(args.quiet)
    say("Training {} on {} {} images: {} epochs, mini-batch size {}, eta {}, lmbda {}, {}{}"
        .format(args.sizes, n, datasets.NAMES[args.dataset], args.epochs, args.mini_batch_size,
                args.eta, args.lmbda, args.dtype,
                "" if args.seed is None else ", seed {}".format(args.seed)))

    examples = 0        # training examples processed so far
    train_seconds = 0.0
    accuracy = None
    notice = None if args.quiet else ("Stopping after the current mini-batches "
                                      "(Ctrl-C again to quit at once)")
    with CtrlC("fastnet train", at_safe_points=True, notice=notice) as ctrl_c:
        for epoch in range(args.epochs):
            bar = progress_bar(n_batches, "Epoch {}/{}".format(epoch + 1, args.epochs), "batch",
                               args.quiet)
            batches = [0]

            def progress(done, bar=bar, batches=batches):
                batches[0] += done
                if bar is not None:
                    bar.update(done)
                if ctrl_c.stop.is_set():
                    raise KeyboardInterrupt

            stopped_inside = False
            start = time.perf_counter()
            try:
                net.SGD(training, 1, args.mini_batch_size, args.eta, lmbda=args.lmbda,
                        dtype=dtype, progress=progress, quiet=True)
            except QuitNow:
                raise
            except KeyboardInterrupt:
                stopped_inside = True
            finally:
                train_seconds += time.perf_counter() - start
                examples += min(batches[0] * args.mini_batch_size, n)
                if bar is not None:
                    bar.close()
            accuracy = validation_accuracy()
            if stopped_inside:
                say("Stopped during epoch {}/{}: validation accuracy {}".format(
                    epoch + 1, args.epochs, _percent(accuracy, len(y_val))))
                break
            say("Epoch {}/{}: validation accuracy {}".format(
                epoch + 1, args.epochs, _percent(accuracy, len(y_val))))
            if ctrl_c.stop.is_set():
                break

    rate = examples / train_seconds if train_seconds > 0 else float("nan")
    print("{}validation accuracy {}; {:,.0f} training examples/s ({:,} examples in {:.2f} s)"
          .format("Interrupted: " if ctrl_c.interrupted else "Final ",
                  _percent(accuracy, len(y_val)), rate, examples, train_seconds), flush=True)
    if args.save is not None:
        try:
            net.save(args.save)
        except OSError as e:
            raise Failure("could not save the network to {}: {}".format(
                args.save, e.strerror or e)) from None
        say("Saved the network to {}".format(args.save))
    return ctrl_c.exit_code


def _check_save(path):
    """Find an unwritable --save before training, not after."""
    from fastnet import files

    if not path:
        raise UsageError("--save needs a file name, got ''")
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
