"""`python -m fastnet train` end to end, in a subprocess, on the real MNIST files."""

import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import fastnet
from fastnet import cli

from .helpers import MNIST_DIR as DATA, posix_signals

FASHION = Path("/usr/share/datasets/fashion-mnist")
PACKAGE_ROOT = Path(fastnet.__file__).resolve().parents[1]

pytestmark = pytest.mark.mnist


@pytest.fixture
def env(tmp_path):
    """The environment of a user with no data configured and an empty cache."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASTNET_DATA", "FASTNET_MIRRORS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    env["FASTNET_CACHE"] = str(tmp_path / "cache")
    return env


def fastnet_cmd(*args, env, cwd, timeout=60):
    return subprocess.run([sys.executable, "-m", "fastnet", *args], env=env, cwd=str(cwd),
                          capture_output=True, text=True, timeout=timeout)


def test_short_training_run_saves_a_loadable_network(env, tmp_path):
    out = tmp_path / "net.json"
    r = fastnet_cmd("train", "--data", str(DATA), "--limit", "1000", "--epochs", "2",
                    "--sizes", "784,20,10", "--seed", "3", "--dtype", "float32", "--save", str(out),
                    env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Training [784, 20, 10] on 1000 MNIST images: 2 epochs")
    assert lines[0].endswith("float32, seed 3")
    assert [l.split(":")[0] for l in lines if l.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    final = [l for l in lines if l.startswith("Final validation accuracy")]
    assert len(final) == 1 and "/ 10000" in final[0] and "training examples/s" in final[0]
    assert "(2,000 examples in" in final[0]
    assert "Traceback" not in r.stderr
    net = fastnet.load(str(out))
    assert net.sizes == [784, 20, 10]
    saved = json.loads(out.read_text())
    assert set(saved) == {"sizes", "weights", "biases", "cost"}
    assert saved["cost"] == "CrossEntropyCost"
    # A network trained on 1,000 images for two epochs is far better than chance.
    correct = int(final[0].split("accuracy ")[1].split(" /")[0])
    assert correct > 5000

    # The same seed gives the same run.
    again = fastnet_cmd("train", "--data", str(DATA), "--limit", "1000", "--epochs", "2",
                        "--sizes", "784,20,10", "--seed", "3", "--dtype", "float32", "--quiet",
                        env=env, cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.split(";")[0] == final[0].split(";")[0]


def test_quiet_float32_from_fastnet_data(env, tmp_path):
    env["FASTNET_DATA"] = str(DATA)
    r = fastnet_cmd("train", "--limit", "500", "--epochs", "1", "--dtype", "float32",
                    "--quiet", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and r.stdout.startswith("Final validation accuracy")
    assert r.stderr == ""


def test_bad_argument_in_a_subprocess(env, tmp_path):
    r = fastnet_cmd("train", "--epochs", "zero", env=env, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--epochs" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "--epochs: must be at least 1"),
    (["--mini-batch-size", "-3"], "--mini-batch-size: must be at least 1"),
    (["--eta", "0"], "--eta: must be greater than 0.0"),
    (["--lmbda", "nan"], "--lmbda: must be a finite number"),
    (["--sizes", "784"], "--sizes: needs at least an input and an output layer"),
    (["--sizes", "784,30,9"], "must start with 784"),
    (["--sizes", "784,0,10"], "at least one neuron"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["--limit", "60000"], "--limit can be at most 50000"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--data", "/no/such/folder"], "--data /no/such/folder: no such file or folder"),
    (["--save", "/no/such/folder/net.json"], "folder /no/such/folder does not exist"),
    # Sizes that are too large or malformed: a one-line error, never a traceback or a MemoryError
    (["--sizes", "784,2000000000,10"], "at most 20,000,000 are allowed"),
    (["--sizes", "784,500000000,10"], "would have 397,500,000,010 weights and biases"),
    (["--sizes", "784," + "1," * 100 + "10"], "--sizes: at most 100 layers, got 102"),
    (["--sizes", "784," + "9" * 5000 + ",10"], "expected layer widths separated by commas"),
    (["--mini-batch-size", "99999999999"], "--mini-batch-size: must be at most 50000"),
    (["--mini-batch-size", "50000", "--sizes", "784,2000,10"], "at most 50,000,000 are allowed"),
    (["--eta", "1e308"], "--eta: must be at most 1000, got 1e308"),
    (["--lmbda", "1e308"], "eta*lmbda/n = 2e+302, but it must stay below 1"),
    (["--limit", "10", "--eta", "1", "--lmbda", "10"], "eta*lmbda/n = 1, but it must stay"),
    (["--seed", "-1"], "--seed: must be at least 0, got -1"),
    (["--seed", "99999999999999"], "--seed: must be at most 4294967295"),
    (["--epochs", "1" * 5000], "--epochs: expected a whole number"),
    (["--epochs", "10000000"], "--epochs: must be at most 1000000"),
    (["--save", "/proc/fastnet-net.json"], "--save /proc/fastnet-net.json: cannot write there"),
    (["--save", "/dev/null/net.json"], "folder /dev/null does not exist"),
    (["--save", ""], "--save needs a file name, got ''"),
    (["--save", "/dev/null"], "--save /dev/null: cannot write there: is not a regular file"),
    (["--data", "/dev/null"], "--data /dev/null: not a file or folder (a device"),
])
def test_bad_arguments(args, words, capsys):
    assert cli.main(["train", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert captured.err.startswith("fastnet train: error:")


def test_no_command_and_help(capsys):
    assert cli.main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--sizes", "--epochs", "--mini-batch-size", "--eta", "--lmbda", "--dtype",
                   "--seed", "--data", "--dataset", "--save", "--limit", "--quiet",
                   "FASTNET_DATA", "130"):
        assert option in text


def test_folder_without_data_is_a_one_line_error(env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = fastnet_cmd("train", "--data", str(empty), env=env, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "no MNIST files there" in r.stderr


def test_nothing_found_offline(env, tmp_path):
    env["FASTNET_MIRRORS"] = "http://127.0.0.1:9/"  # nobody listens: connection refused
    r = fastnet_cmd("train", "--limit", "100", "--epochs", "1", env=env, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
    for words in ("no MNIST files found", "FASTNET_DATA", "--data PATH", "download failed"):
        assert words in r.stderr


def test_downloads_into_the_cache(env, tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(DATA))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        env["FASTNET_MIRRORS"] = "http://127.0.0.1:{}/".format(httpd.server_address[1])
        r = fastnet_cmd("train", "--limit", "200", "--epochs", "1", "--quiet",
                        env=env, cwd=tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(
        p.name for p in DATA.glob("*.gz"))


@posix_signals
def test_ctrl_c_stops_cleanly_and_saves(env, tmp_path):
    out = tmp_path / "net.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastnet", "train", "--data", str(DATA), "--limit", "5000",
         "--epochs", "100000", "--dtype", "float32", "--save", str(out)],
        env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Epoch 2/"):
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted: validation accuracy" in rest
    assert "Stopping after the current mini-batches" in err and "Traceback" not in err
    assert fastnet.load(str(out)).sizes == [784, 30, 10]


@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Fashion-MNIST not installed in {} "
                           "(apt-get install dataset-fashion-mnist)".format(FASHION))
def test_fashion(env, tmp_path):
    r = fastnet_cmd("train", "--dataset", "fashion", "--limit", "1000", "--epochs", "1",
                    "--dtype", "float32",
                    env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "on 1000 Fashion-MNIST images" in r.stdout


def test_register_a_command(monkeypatch, capsys):
    def add_hello(subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.add_argument("--name", default="world")
        p.set_defaults(run=lambda args: print("hello", args.name) or 0)
    monkeypatch.setitem(cli.COMMANDS, "hello", add_hello)
    assert cli.main(["hello", "--name", "fastnet"]) == 0
    assert capsys.readouterr().out == "hello fastnet\n"
    assert cli.main(["train", "--help"]) == 0  # train is still there


# ``python -m fastnet ARGS``, which says "started" on stderr as soon as the
# command has a Ctrl-C handler (fastnet.__main__ sets one first thing).  Before
# that the interrupt lands in the interpreter's start-up or in ``import
# fastnet``, where no program can keep it quiet.
ANNOUNCING_FASTNET = """
import runpy, signal, sys
set_handler = signal.signal
def announcing(signum, handler):
    previous = set_handler(signum, handler)
    if signum == signal.SIGINT:
        signal.signal = set_handler
        print("started", file=sys.stderr, flush=True)
    return previous
signal.signal = announcing
sys.argv = ["fastnet"] + sys.argv[1:]
runpy.run_module("fastnet", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2])
def test_ctrl_c_at_startup_is_quiet(env, tmp_path, delay):
    """Ctrl-C while the command is still starting (imports, argument checks,
    data loading): exit code 130, one line, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ANNOUNCING_FASTNET, "train", "--data", str(DATA), "--limit",
         "100", "--epochs", "1"], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline() == "started\n"
        time.sleep(delay)       # a few moments of the start-up after the handler exists
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode == 0:  # a very fast machine finished first: nothing to see
        assert "Final validation accuracy" in out
        return
    # 130 from fastnet; now and then CPython itself ends the process by SIGINT
    # instead (the interrupt landing while the interpreter shuts down), which a
    # shell also reports as 130.  Either way: no traceback.
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and err.count("\n") <= 2, err
    if proc.returncode == 130:
        assert "interrupted" in err


def test_unwritable_save_is_found_before_loading_anything(capsys, monkeypatch):
    from fastnet import datasets
    monkeypatch.setattr(datasets, "load_mnist", lambda *a, **k: pytest.fail("data loaded"))
    assert cli.main(["train", "--save", "/proc/net.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastnet train: error: --save /proc/net.json: cannot write there")


def test_an_error_caused_by_ctrl_c_counts_as_the_interrupt():
    """Ctrl-C landing in an import can reach main() as a RuntimeError caused by it
    (seen in CI: CPython wraps it when it lands in a class's __set_name__)."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("Error calling __set_name__") from interrupt
    except RuntimeError as wrapped:
        assert cli.caused_by_interrupt(wrapped)
    assert not cli.caused_by_interrupt(RuntimeError("something else"))


def _command_whose_import_loses_the_interrupt(subparsers):
    """A command that meets Ctrl-C inside an import, which replaces the
    KeyboardInterrupt with an ImportError that does not carry it: what NumPy 1.25's
    import did on Python 3.9 (PyCapsule_Import could not import module "datetime";
    CPython clears the interrupt to raise its own error)."""
    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):          # the handler runs between bytecodes
                time.sleep(0.01)
        except KeyboardInterrupt:
            pass
        else:
            return 0
        raise ImportError('PyCapsule_Import could not import module "datetime"')
    subparsers.add_parser("lost").set_defaults(run=run)


@posix_signals
def test_ctrl_c_lost_inside_an_import_still_counts_as_the_interrupt(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "lost", _command_whose_import_loses_the_interrupt)
    before = signal.getsignal(signal.SIGINT)
    try:
        assert cli.main(["lost"]) == 130
    finally:
        signal.signal(signal.SIGINT, before)
    assert capsys.readouterr().err == "fastnet: interrupted\n"
    # The same error with no Ctrl-C is no interrupt: it goes through as it is.
    def failing_import(subparsers):
        def run(args):
            raise ImportError("a real one")
        subparsers.add_parser("broken").set_defaults(run=run)
    monkeypatch.setitem(cli.COMMANDS, "broken", failing_import)
    try:
        with pytest.raises(ImportError, match="a real one"):
            cli.main(["broken"])
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_commands_share_the_library_s_bounds_and_names():
    """fastnet.cli.common writes the bounds out (to keep NumPy out of the startup):
    they must stay those of the library, and the choices those of fastnet.activations."""
    from fastnet import activations, checks, datasets
    from fastnet.cli import common
    assert common.SEED_LIMIT == checks.SEED_LIMIT
    assert common.TRAINING_IMAGES == datasets.N_TRAIN
    assert common.choices() == {"activation": tuple(activations.HIDDEN),
                                "output": tuple(activations.OUTPUTS),
                                "init": activations.INITIALISERS}
    for command in ("speed", "sweep"):
        parser = cli.build_parser()
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--activation", "elu"])


def test_importing_the_command_line_loads_no_numpy(env, tmp_path):
    r = subprocess.run([sys.executable, "-c", "import sys, fastnet.cli; "
                        "print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"],
                       env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_train_loads_neither_the_other_commands_nor_scipy_special(env, tmp_path, mnist_train):
    """``fastnet train`` imports what training uses: no other command's module, no
    SciPy special functions (a third of a second to import), nor what only a download,
    the book's pickle, chapter 6's data or a saved network needs."""
    code = ("import sys; from fastnet.cli import main; "
            "code = main(['train', '--data', {!r}, '--limit', '200', '--epochs', '1', "
            "'--quiet']); "
            "print(code, sorted(m for m in sys.modules if m.startswith(('fastnet.cli.', "
            "'scipy.special', 'scipy.stats', 'urllib.request', 'http.client', 'json', "
            "'fastnet.datasets.book_pickle', 'fastnet.datasets.shared'))))".format(str(DATA)))
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "0 ['fastnet.cli.common', 'fastnet.cli.train']"


def test_help_still_lists_every_command(env, tmp_path):
    r = fastnet_cmd("--help", env=env, cwd=tmp_path)
    assert r.returncode == 0
    for command in cli.COMMANDS:
        assert "    " + command + " " in r.stdout


class _Stopped(Exception):
    """A library's "stopped" exception."""


@posix_signals
def test_the_ctrl_c_policy(capsys):
    """The first Ctrl-C ends the work and the command goes on to write (exit code 130);
    at safe points it only asks, and a second one quits at once."""
    from fastnet.cli.common import CtrlC, QuitNow
    with CtrlC("fastnet x") as ctrl_c:
        raise KeyboardInterrupt
    assert ctrl_c.interrupted and ctrl_c.stop.is_set() and ctrl_c.exit_code == 130
    assert capsys.readouterr().err == "\nfastnet x: interrupted; writing what was finished\n"
    with CtrlC("fastnet x", stopped=_Stopped) as ctrl_c:
        raise _Stopped()
    assert ctrl_c.exit_code == 130
    with pytest.raises(ValueError), CtrlC("fastnet x") as ctrl_c:
        raise ValueError("not an interruption")
    assert not ctrl_c.interrupted and ctrl_c.exit_code == 0

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(QuitNow):
        with CtrlC("fastnet x", at_safe_points=True, notice="Stopping soon") as ctrl_c:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):                    # the handler runs between bytecodes
                if ctrl_c.stop.is_set():
                    break
                time.sleep(0.01)
            assert ctrl_c.interrupted and ctrl_c.stop.is_set()
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert "Stopping soon" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before


COMMANDS = {"train": ["train", "--epochs", "1", "--limit", "10"],
            "sweep": ["sweep", "--epochs", "1", "--limit", "10", "--seeds", "1", "--no-plots"],
            "speed": ["speed", "--quick", "--no-plots"],
            "remedies": ["remedies", "--quick", "--no-plots"]}


def _data_that_is_no_file(kind, tmp_path):
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return str(tmp_path / "fifo"), "not a file or folder"
    return {"/dev/null": ("/dev/null", "not a file or folder"),
            "missing": (str(tmp_path / "missing"), "no such file or folder")}[kind]


@pytest.mark.parametrize("kind", ["/dev/null", "fifo", "missing"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_bad_data_alike(command, kind, tmp_path, capsys):
    """--data that is missing, a device or a FIFO: argparse's exit code 2 for a
    usage error, from every command, and one line saying what is wrong."""
    data, words = _data_that_is_no_file(kind, tmp_path)
    argv = COMMANDS[command] + ["--data", data]
    if command != "train":
        argv += ["--out", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    assert captured.err.startswith("fastnet {}: error: --data {}: {}".format(
        command, data, words)), captured.err


def test_a_folder_without_data_is_a_one_line_failure_from_every_command(tmp_path, capsys):
    for command, argv in COMMANDS.items():
        if command != "train":
            argv = argv + ["--out", str(tmp_path / "out")]
        assert cli.main(argv + ["--data", str(tmp_path), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no MNIST files there" in err, err


@pytest.mark.parametrize("opcodes", [b"\x80\x02\x85.", b"\x80\x02j\x78\x00\x00\x00.",
                                     b"\x80\x02a.", b"\x80\x02h\x05."])
def test_a_corrupt_pickle_is_described_without_the_unpickler_s_words(opcodes, tmp_path,
                                                                      capsys):
    import gzip
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(opcodes))
    assert cli.main(["train", "--data", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == "fastnet train: error: {}: not a readable MNIST pickle (its opcodes do not " \
                  "build a value: the file is corrupt)\n".format(path)


@pytest.mark.parametrize("argv, words", [
    (["--eta", "1", "--lmbda", "10", "--limit", "10"], "eta*lmbda/n = 1, but it must stay"),
    (["--eta", "0.1", "1", "--lmbda", "5", "10", "--limit", "10"], "--eta 1.0 and --lmbda 10.0"),
    (["--mini-batch-size", "10", "60000"], "--mini-batch-size: must be at most 50000"),
    (["--mini-batch-size", "50000", "--sizes", "784,2000,10"], "at most 50,000,000 are"),
    (["--eta", "1e308"], "--eta: must be at most 1000"),
    (["--epochs", "10000000"], "--epochs: must be at most 1000000"),
    (["--scheduler", "http://localhost:8786"], "--scheduler takes a Dask scheduler's address"),
    (["--scheduler", "localhost:8786"], "--scheduler takes a Dask scheduler's address"),
])
def test_sweep_has_train_s_bounds(argv, words, tmp_path, capsys):
    assert cli.main(["sweep", "--out", str(tmp_path / "out"), "--data", str(DATA)] + argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert not (tmp_path / "out" / "sweep.json").exists()


def test_the_bounds_have_one_home():
    """train and sweep check a run through the same function."""
    from fastnet.cli import common, sweep as sweep_command, train as train_command
    assert train_command.check_training is common.check_training
    assert sweep_command.check_training is common.check_training
    assert "tcp" in common.SCHEDULER_PROTOCOLS and "http" not in common.SCHEDULER_PROTOCOLS


@pytest.mark.parametrize("argv, words", [
    (["--train-depth", "1000"], "--train-depth: must be at most 20, got 1000"),
    (["--train-depth", "0"], "--train-depth: must be at least 1"),
    (["--speed-depths", "2,1000"], "from 1 to 20"),
])
def test_remedies_depths_are_bounded(argv, words, tmp_path, capsys):
    assert cli.main(["remedies", "--out", str(tmp_path / "out")] + argv) == 2
    assert words in capsys.readouterr().err

