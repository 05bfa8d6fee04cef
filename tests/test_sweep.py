"""fastnet sweep: the grid, the runner on threads and on real Dask components, resuming,
Ctrl-C, the depth table of ``fastnet speed`` on Dask, and the scikit-learn estimator under
``joblib.parallel_backend("dask")``.

The Dask tests start real things: a ``distributed.LocalCluster`` of worker processes, and a
``dask scheduler`` + ``dask worker`` pair as subprocesses on 127.0.0.1.  Each is shut down
by the test (or fixture) that started it.
"""
import json
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnet
from .helpers import MNIST_DIR, interrupt_command, posix_signals, same_fastnet_env, seed
from fastnet import cli, remedies, speed, sweep
from fastnet.cli import sweep as sweep_command

try:
    import distributed
except ImportError:            # the Dask tests skip; the rest runs without Dask
    distributed = None
needs_dask = pytest.mark.skipif(distributed is None, reason='needs pip install "fastnet[dask]"')

PACKAGE_ROOT = Path(fastnet.__file__).resolve().parents[1]   # the installed package

# A small grid for the command line: 2 networks x 2 learning rates x 2 precisions x 2 seeds.
GRID = ["--sizes", "784,30,10", "784,20,20,10", "--eta", "0.1", "0.5",
        "--dtype", "float64", "float32", "--seeds", "2", "--epochs", "2", "--limit", "1000"]


def sweep_args(out, *extra):
    return ["--data", str(MNIST_DIR), "--out", str(out), "--no-plots", *extra]


def accuracies(out):
    """{settings: validation accuracies} of out/sweep.json, and its runs."""
    runs = json.loads((Path(out) / "sweep.json").read_text())["runs"]
    return {sweep.run_key(r["settings"]): r["validation_accuracy"] for r in runs}, runs


def subprocess_env():
    """The environment for child Pythons: the installed fastnet, not the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("FASTNET_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    return env


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, and a client connected to it."""
    with sweep.local_cluster(2) as c:
        with distributed.Client(c) as client:
            yield c, client


@pytest.fixture
def small(mnist_train, mnist_validation):
    return ((mnist_train[0][:500], mnist_train[1][:500]),
            (mnist_validation[0][:500], mnist_validation[1][:500]))


# ---------------------------------------------------------------------------
# The grid and one run

def test_grid_is_every_combination_once_per_seed_slowest_first():
    runs = sweep.grid(sizes=[[784, 30, 10], [784, 30, 30, 10]], eta=[0.1, 0.5],
                      lmbda=[1.0, 5.0], epochs=3, seeds=3, first_seed=7, dataset="mnist")
    assert len(runs) == 2 * 2 * 2 * 3
    assert len({sweep.run_key(r) for r in runs}) == len(runs)
    assert {r["seed"] for r in runs} == {7, 8, 9}
    assert [len(r["sizes"]) for r in runs] == [4] * 12 + [3] * 12     # deeper first
    assert all(r["dataset"] == "mnist" and r["epochs"] == 3 for r in runs)
    assert len(sweep.grid(eta=[0.1, 0.1, 1e-1], seeds=2)) == 2       # repeats are one value
    with pytest.raises(ValueError, match="seeds"):
        sweep.grid(seeds=0)
    assert sweep.grid(seeds=1, first_seed=2 ** 32 - 1)[0]["seed"] == 2 ** 32 - 1
    with pytest.raises(ValueError, match="last seed"):        # past random.Random's bound
        sweep.grid(seeds=2, first_seed=2 ** 32 - 1)


def test_a_run_is_network2_seeded_from_its_seed(small):
    training, validation = small
    run = sweep.grid(sizes=[[784, 20, 10]], eta=[0.5], epochs=3, seeds=1, first_seed=4)[0]
    state = np.random.get_state()[1].copy()
    result = sweep.train_run(run, training, validation)
    assert np.array_equal(np.random.get_state()[1], state)      # the globals are untouched
    seed(4)                                                     # what a network2 script does
    net = fastnet.Network([784, 20, 10], cost=fastnet.CrossEntropyCost)
    expected = net.SGD(training, 3, 10, 0.5, lmbda=5.0, evaluation_data=validation,
                       monitor_evaluation_accuracy=True, quiet=True)[1]
    assert result["correct"] == expected
    assert result["validation_accuracy"] == [c / 500 for c in expected]
    assert result["settings"] == run and result["seconds"] > 0 and result["finite"] is True
    assert result["where"]["pid"] == os.getpid()


def test_runs_take_activation_and_initialisation(small):
    training, validation = small
    runs = sweep.grid(sizes=[[784, 20, 10]], eta=[0.5], epochs=2, seeds=1, first_seed=2,
                      activation=["sigmoid", "tanh"], init=["default", "glorot"])
    assert {(r["activation"], r["init"]) for r in runs} == {
        ("sigmoid", "default"), ("sigmoid", "glorot"), ("tanh", "default"), ("tanh", "glorot")}
    run = next(r for r in runs if r["activation"] == "tanh" and r["init"] == "glorot")
    result = sweep.train_run(run, training, validation)
    net = fastnet.Network([784, 20, 10], activation="tanh", init="glorot", random_state=2)
    expected = net.SGD(training, 2, 10, 0.5, lmbda=5.0, evaluation_data=validation,
                       monitor_evaluation_accuracy=True, quiet=True,
                       shuffle_with=random.Random(2))[1]
    assert result["correct"] == expected


def test_thread_count_does_not_change_results(small):
    training, validation = small
    runs = sweep.grid(sizes=[[784, 10, 10]], eta=[0.1, 1.0], epochs=2, seeds=3)
    seen = []
    one = sweep.run_sweep(runs, training, validation, threads=1, on_result=seen.append)
    three = sweep.run_sweep(runs, training, validation, threads=3)
    assert [r["correct"] for r in one] == [r["correct"] for r in three]
    assert [r["settings"] for r in three] == runs                 # in the order of runs
    assert sorted(sweep.run_key(r["settings"]) for r in seen) == \
        sorted(sweep.run_key(r) for r in runs)
    rows = sweep.summary(one)
    assert len(rows) == 2 and all(len(r["final"]) == 3 for r in rows)
    for row in rows:
        assert row["mean"] == pytest.approx(np.mean(row["final"]))
        assert row["std"] == pytest.approx(np.std(row["final"], ddof=1))
        assert len(row["curve_mean"]) == 2


# ---------------------------------------------------------------------------
# The same sweep.json in-process, on a LocalCluster, on a scheduler/worker pair

@pytest.fixture
def scheduler_and_worker(tmp_path):
    """``dask scheduler`` and ``dask worker`` as subprocesses on 127.0.0.1; the address."""
    env = subprocess_env()
    address_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = []
    try:
        procs.append(subprocess.Popen(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(address_file)],
            cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            dask + ["worker", "--scheduler-file", str(address_file), "--host", "127.0.0.1",
                    "--nworkers", "1", "--nthreads", "2", "--no-dashboard"],
            cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # The client waits for the scheduler's file, then for the worker to register.
        with distributed.Client(scheduler_file=str(address_file), timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
            workers = client.run(os.getpid)
            yield client.scheduler.address, workers
            client.shutdown()                      # the scheduler closes its worker and itself
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.mnist
@needs_dask
def test_same_accuracies_in_process_on_a_local_cluster_and_on_a_scheduler(
        tmp_path, scheduler_and_worker, capsys):
    address, worker_pids = scheduler_and_worker
    outs = {name: tmp_path / name for name in ("threads", "cluster", "scheduler")}
    assert cli.main(["sweep"] + sweep_args(outs["threads"], *GRID)) == 0
    assert cli.main(["sweep"] + sweep_args(outs["cluster"], *GRID, "--cluster", "local:2")) == 0
    assert cli.main(["sweep"] + sweep_args(outs["scheduler"], *GRID, "--scheduler", address)) == 0
    printed = capsys.readouterr().out
    assert "a Dask LocalCluster of 2 worker processes" in printed
    assert "Dask at " + address in printed

    threads, runs = accuracies(outs["threads"])
    assert len(threads) == 16 and all(len(a) == 2 for a in threads.values())
    assert {r["where"]["pid"] for r in runs} == {os.getpid()}
    for name in ("cluster", "scheduler"):
        found, runs = accuracies(outs[name])
        assert found == threads, name                         # bit for bit, every epoch
        assert all(r["where"]["pid"] != os.getpid() for r in runs)
        assert all(r["where"]["worker"].startswith("tcp://127.0.0.1:") for r in runs)
    assert {r["where"]["pid"] for r in runs} <= set(worker_pids.values())
    table = (outs["cluster"] / "sweep.md").read_text()
    assert "| sizes | eta | dtype | seeds | accuracy |" in table
    assert len(re.findall(r"^\| \[784,", table, re.M)) == 8       # one row per setting


# ---------------------------------------------------------------------------
# Resuming, Ctrl-C, figures

@pytest.mark.mnist
def test_a_rerun_skips_recorded_runs_and_trains_the_rest(tmp_path, capsys):
    out = tmp_path / "out"
    grid = ["--eta", "0.1", "0.5", "--epochs", "1", "--limit", "500"]
    assert cli.main(["sweep"] + sweep_args(out, *grid, "--seeds", "2")) == 0
    first, runs = accuracies(out)
    assert len(first) == 4
    capsys.readouterr()
    # Lose one run (as if it was in flight when the sweep was stopped), and ask for a third seed.
    record = json.loads((out / "sweep.json").read_text())
    lost = record["runs"].pop(1)
    (out / "sweep.json").write_text(json.dumps(record))
    assert cli.main(["sweep"] + sweep_args(out, *grid, "--seeds", "3")) == 0
    printed = capsys.readouterr().out
    assert "6 runs: 2 settings x 3 seeds; 3 already in" in printed and "3 to train" in printed
    assert len(re.findall(r"^\[\d/6\]", printed, re.M)) == 3
    second, runs = accuracies(out)
    assert len(second) == 6 and len(runs) == 6
    assert {k: second[k] for k in first} == first                 # the same numbers again
    assert sweep.run_key(lost["settings"]) in second
    # Everything is there: a third run trains nothing.
    assert cli.main(["sweep"] + sweep_args(out, *grid, "--seeds", "3")) == 0
    assert "Training" not in capsys.readouterr().out
    assert accuracies(out)[1] == runs


@pytest.mark.mnist
@posix_signals
def test_ctrl_c_writes_the_finished_runs_and_a_rerun_completes_them(tmp_path):
    out = tmp_path / "out"
    grid = ["--eta", "0.1", "0.2", "0.5", "1.0", "--seeds", "25", "--epochs", "1",
            "--limit", "500", "--threads", "2"]
    code, stdout, stderr = interrupt_command(["sweep"] + sweep_args(out, *grid), tmp_path,
                                             after="[1/100]")    # a run has been saved
    assert code == 130, stderr
    assert "interrupted" in stderr
    record = json.loads((out / "sweep.json").read_text())
    assert record["interrupted"] is True
    done = len(record["runs"])
    assert 1 <= done < 100
    assert "Interrupted" in (out / "sweep.md").read_text()
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
    before = {sweep.run_key(r["settings"]): r for r in record["runs"]}

    proc = subprocess.run([sys.executable, "-m", "fastnet", "sweep"] + sweep_args(out, *grid),
                          env=subprocess_env(), cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "{} already in".format(done) in proc.stdout
    record = json.loads((out / "sweep.json").read_text())
    assert record["interrupted"] is False and len(record["runs"]) == 100
    after = {sweep.run_key(r["settings"]): r for r in record["runs"]}
    assert len(after) == 100 and all(after[k] == r for k, r in before.items())


@pytest.mark.mnist
@needs_dask
def test_ctrl_c_in_a_terminal_stops_a_local_cluster_sweep_cleanly(tmp_path):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    grid = ["--eta", "0.1", "0.5", "--seeds", "20", "--epochs", "1", "--limit", "2000",
            "--cluster", "local:2"]
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from fastnet import cli; sys.exit(cli.main(['sweep'] + sys.argv[1:]))")
    # Its own process group, like a command in a terminal, whose Ctrl-C reaches the group.
    p = subprocess.Popen([sys.executable, "-c", code] + sweep_args(out, *grid),
                         env=subprocess_env(), cwd=str(tmp_path), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in p.stdout:
            if line.startswith("[1/40]"):
                break
        children = psutil.Process(p.pid).children(recursive=True)
        assert len(children) >= 2                  # the worker processes
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert 1 <= len(json.loads((out / "sweep.json").read_text())["runs"]) < 40
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive


@pytest.mark.mnist
def test_figures_and_table(tmp_path):
    out = tmp_path / "out"
    argv = ["--data", str(MNIST_DIR), "--out", str(out), "--quiet", "--eta", "0.1", "0.5",
            "--lmbda", "0", "5", "--seeds", "2", "--epochs", "2", "--limit", "300"]
    assert cli.main(["sweep"] + argv) == 0
    record = json.loads((out / "sweep.json").read_text())
    assert set(record["figures"]) == {"accuracy_vs_eta.png", "accuracy_vs_lmbda.png",
                                      "accuracy_vs_epoch.png"}
    for name in record["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = sweep.summary(record["runs"])
    table = (out / "sweep.md").read_text()
    best = max(rows, key=lambda r: r["mean"])
    first_row = [line for line in table.splitlines() if line.startswith("| 0.")][0]
    assert "{:.2f}% ± {:.2f}".format(best["mean"], best["std"]) in first_row


# ---------------------------------------------------------------------------
# Losing a worker

@needs_dask
def test_a_worker_killed_mid_sweep_loses_no_run(mnist_train, mnist_validation):
    training = (mnist_train[0][:20000], mnist_train[1][:20000])
    validation = (mnist_validation[0][:1000], mnist_validation[1][:1000])
    runs = sweep.grid(sizes=[[784, 100, 10]], eta=[0.1, 0.5], epochs=2, seeds=2)
    killed = {}

    with sweep.local_cluster(2) as cluster, \
            distributed.Client(cluster) as client:

        def kill_a_busy_worker(result):
            if killed:
                return
            # The worker that just finished has already been given its next run.
            busy = {w: keys for w, keys in client.processing().items() if keys}
            victim = result["where"]["worker"]
            victim = victim if victim in busy else next(iter(busy))
            pid = client.run(os.getpid, workers=[victim])[victim]
            killed.update(worker=victim, keys=list(busy[victim]))
            os.kill(pid, signal.SIGKILL)

        results = sweep.run_sweep(runs, training, validation, client=client,
                                  on_result=kill_a_busy_worker)
        assert killed["worker"] not in client.scheduler_info()["workers"]

    assert [r["settings"] for r in results] == runs             # every run came back
    assert all(len(r["correct"]) == 2 for r in results)
    lost = [int(key.split("-")[2]) for key in killed["keys"]]  # fastnet-run-INDEX-tag
    assert lost
    for i in lost:
        assert results[i]["where"]["worker"] != killed["worker"]
        again = sweep.train_run(runs[i], training, validation)  # the same numbers
        assert results[i]["correct"] == again["correct"]


@needs_dask
def test_the_data_is_on_every_worker_before_the_runs_start(cluster, small):
    training, validation = small
    client = cluster[1]
    held = {}

    def on_start(description):
        held.update({w: [k for k in keys if not str(k).startswith("fastnet-run-")]
                     for w, keys in client.has_what().items()})

    runs = sweep.grid(sizes=[[784, 10, 10]], eta=[0.1, 1.0], epochs=1, seeds=2)
    results = sweep.run_sweep(runs, training, validation, client=client, on_start=on_start)
    # Both workers hold the same two scattered objects: the training and validation data.
    assert len(held) == 2 and all(len(keys) == 2 for keys in held.values())
    assert len({frozenset(keys) for keys in held.values()}) == 1
    assert [r["correct"] for r in results] == \
        [r["correct"] for r in sweep.run_sweep(runs, training, validation, threads=1)]


# ---------------------------------------------------------------------------
# The same runner in fastnet speed, and scikit-learn on Dask

@needs_dask
def test_depth_table_on_a_cluster_equals_threads(cluster, small):
    training, validation = small
    kwargs = dict(depths=(1, 2), seeds=(0, 1), epochs=1, mini_batch_size=10)
    threads = speed.depth_table(training, validation, workers=2, **kwargs)
    on_dask = speed.depth_table(training, validation, scheduler=cluster[0].scheduler_address,
                                **kwargs)
    for depth in (1, 2):
        assert on_dask[depth]["correct"] == threads[depth]["correct"]
        assert on_dask[depth]["accuracy"] == threads[depth]["accuracy"]


@needs_dask
def test_remedies_depth_table_on_a_cluster_equals_threads(cluster, small):
    training, validation = small
    kwargs = dict(choices=[("relu", "he"), ("sigmoid", "default")], depths=(1, 2),
                  seeds=(0, 1), epochs=1)
    threads = remedies.depth_table(training, validation, workers=2, **kwargs)
    on_dask = remedies.depth_table(training, validation,
                                   scheduler=cluster[0].scheduler_address, **kwargs)
    for name in ("relu/he", "sigmoid/default"):
        for depth in (1, 2):
            assert on_dask[name][depth]["correct"] == threads[name][depth]["correct"]
            assert on_dask[name][depth]["finite"] == [True, True]


@pytest.mark.mnist
@needs_dask
def test_speed_command_runs_its_depth_table_on_the_scheduler(tmp_path, cluster):
    address = cluster[0].scheduler_address
    tables = {}
    for name, extra in (("threads", []), ("dask", ["--scheduler", address])):
        out = tmp_path / name
        argv = ["--quick", "--no-plots", "--quiet", "--out", str(out), "--data",
                str(MNIST_DIR), *extra]
        assert cli.main(["speed"] + argv) == 0
        results = json.loads((out / "speed.json").read_text())
        tables[name] = {d: row["correct"] for d, row in results["depth_table"].items()}
    assert tables["dask"] == tables["threads"] and set(tables["dask"]) == {"1", "2"}


@needs_dask
def test_grid_search_under_joblib_dask_backend(cluster, small):
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV

    from fastnet.sklearn import FastNetClassifier

    (X, y), _ = small
    params = {"eta": [0.1, 0.5], "lmbda": [0.0, 5.0]}
    estimator = FastNetClassifier(hidden_layer_sizes=(10,), epochs=2, random_state=0)
    here = GridSearchCV(estimator, params, cv=3).fit(X, y)
    client = cluster[1]
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(estimator, params, cv=3, n_jobs=-1).fit(X, y)
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    for k in ["mean_test_score"] + ["split{}_test_score".format(i) for i in range(3)]:
        assert np.array_equal(on_dask.cv_results_[k], here.cv_results_[k]), k
    assert on_dask.best_params_ == here.best_params_


@pytest.mark.parametrize("timeout_error", ["builtin", "asyncio"])
def test_a_dask_wait_that_times_out_is_no_error(timeout_error):
    """distributed.wait raises asyncio's TimeoutError when nothing finished in time:
    the built-in one from Python 3.11, another class on 3.9 and 3.10, where it ended
    every Dask sweep at its first wait.  Either is "none finished yet"."""
    import asyncio

    class Distributed:
        def wait(self, futures, timeout, return_when):
            assert timeout == sweep.WAKE_SECONDS and return_when == "FIRST_COMPLETED"
            raise {"builtin": TimeoutError, "asyncio": asyncio.TimeoutError}[timeout_error]()

    dask = sweep._Dask.__new__(sweep._Dask)     # no cluster: only its wait is used
    dask.distributed = Distributed()
    futures = {"a", "b"}
    assert dask.wait(futures, sweep.WAKE_SECONDS) == (set(), futures)


# ---------------------------------------------------------------------------
# The command's arguments

@pytest.mark.mnist
def test_without_dask_the_options_say_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)        # import distributed fails
    assert cli.main(["sweep"] + sweep_args(tmp_path, "--cluster", "local:2")) == 2
    err = capsys.readouterr().err
    assert 'pip install "fastnet[dask]"' in err and len(err.strip().splitlines()) == 1
    assert cli.main(["speed"] + ["--quick", "--out", str(tmp_path), "--scheduler",
                           "tcp://127.0.0.1:8786"]) == 2
    assert 'pip install "fastnet[dask]"' in capsys.readouterr().err
    assert not (tmp_path / "sweep.json").exists()


@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:x"], "--cluster takes local:N"),
    (["--cluster", "local:0"], "--cluster takes local:N"),
    (["--scheduler", "127.0.0.1:8786"], "--scheduler takes a Dask scheduler's address"),
    (["--cluster", "local:2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["--cluster", "local:2", "--threads", "2"], "--threads is for runs in this process"),
    (["--sizes", "784,30,9"], "must start with 784"),
    (["--eta", "0"], "must be greater than 0"),
    (["--limit", "50001"], "at most 50000"),
    (["--seeds", "0"], "at least 1"),
    (["--dtype", "float16"], "invalid choice"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert cli.main(["sweep"] + ["--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.mnist
def test_a_file_that_is_not_a_sweep_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "sweep.json").write_text("[1, 2]")
    assert cli.main(["sweep"] + sweep_args(tmp_path, "--limit", "10")) == 1
    assert "not a sweep's record" in capsys.readouterr().err
    assert (tmp_path / "sweep.json").read_text() == "[1, 2]"


def test_fastnet_command_has_the_sweep_subcommand():
    args = cli.build_parser().parse_args(["sweep", "--eta", "0.1", "0.2", "--seeds", "4"])
    assert args.run is sweep_command.run and args.eta == [0.1, 0.2] and args.seeds == 4
    assert cli.main(["sweep", "--cluster", "nowhere"]) == 2


def _good_run(**settings):
    run = {"settings": dict(sweep.grid(epochs=1, dataset="mnist", training_images=10)[0],
                            **settings),
           "correct": [900], "validation_accuracy": [0.09], "validation_images": 10000,
           "finite": True, "seconds": 0.5, "where": {"worker": "thread 1"}}
    return run


def _hostile(change):
    run = _good_run()
    change(run)
    return json.dumps({"runs": [_good_run(), run]})


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "no list of runs"),
    ('{"runs": [1]}', "run 1 of 1: not an object"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"runs": []' + ', "x": NaN}', "NaN is not a number"),
    (_hostile(lambda r: r.pop("correct")), "run 2 of 2: no 'correct'"),
    (_hostile(lambda r: r["settings"].pop("eta")), "run 2 of 2: its settings have no 'eta'"),
    (_hostile(lambda r: r["settings"].update(eta="0.1")), "'eta' is not a finite number"),
    (_hostile(lambda r: r["settings"].update(sizes=[784, True, 10])), "'sizes'"),
    (_hostile(lambda r: r["settings"].update(seed=10 ** 400)), "not a run of this grid"),
    (_hostile(lambda r: r.update(seconds=10 ** 400)), "'seconds' is not a finite"),
    (_hostile(lambda r: r.update(validation_accuracy=[2.0])), "'validation_accuracy'"),
    (_hostile(lambda r: r.update(validation_accuracy=[])), "'validation_accuracy'"),
    (_hostile(lambda r: r.update(correct=["9"])), "'correct'"),
    (_hostile(lambda r: r.update(finite=1)), "'finite'"),
    (_hostile(lambda r: None), "run 2 of 2: the same run as an earlier one"),
    (_hostile(lambda r: r["settings"].update(eta=0.5)), "run 2 of 2: not a run of this grid"),
    (_hostile(lambda r: r["settings"].update(training_images=20)), "not a run of this grid"),
    (json.dumps({"runs": [_good_run()]}).replace("0.5", "1e400"), "'seconds' is not"),
    (json.dumps({"runs": [_good_run()]}).replace("0.5", "NaN"), "NaN is not a number"),
])
def test_a_hostile_sweep_json_is_refused_before_training(tmp_path, capsys, text, message):
    (tmp_path / "sweep.json").write_text(text)
    # --data is no data: a sweep that got as far as loading it would fail differently.
    (tmp_path / "data.pkl.gz").write_bytes(b"not the data")
    args = ["--out", str(tmp_path), "--data", str(tmp_path / "data.pkl.gz"), "--epochs", "1",
            "--seeds", "1", "--limit", "10", "--quiet"]
    assert cli.main(["sweep"] + args) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert str(tmp_path / "sweep.json") in err and message in err, err
    assert (tmp_path / "sweep.json").read_text() == text


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path, capsys):
    from fastnet import sweep_record
    with sweep_record.hold(str(tmp_path)):
        assert cli.main(["sweep", "--out", str(tmp_path), "--limit", "10", "--quiet"]) == 1
        assert "another fastnet sweep is writing into" in capsys.readouterr().err
    assert not (tmp_path / "sweep.json").exists()
    # A lock held by a process that was killed goes with it.
    script = ("import sys, time\nfrom fastnet import sweep_record\n"
              "with sweep_record.hold(sys.argv[1]):\n"
              "    print('held', flush=True)\n    time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                             env=same_fastnet_env(), cwd=str(tmp_path),
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    with pytest.raises(sweep_record.Busy):
        with sweep_record.hold(str(tmp_path)):
            pass
    child.kill()
    child.wait()
    with sweep_record.hold(str(tmp_path)):
        pass
