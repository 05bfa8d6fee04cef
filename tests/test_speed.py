"""The vanishing-gradient toolkit (fastnet.speed) and ``fastnet speed`` (fastnet.cli.speed).

The learning speeds come from the compiled kernels; here they are checked
against network2's per-example backprop (fastnet.reference) in float64, the
fast full-batch training route against SGD's own monitor, and the command
end to end on a --quick run with the real MNIST files.
"""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnet
from fastnet import cli, reference, speed
from fastnet.cli import speed as speed_command

from .helpers import MNIST_DIR, interrupt_command, posix_signals, seed

PACKAGE_ROOT = Path(fastnet.__file__).resolve().parents[1]   # the installed package


@pytest.fixture(scope="module")
def first_images(mnist_train):
    """The first 300 training images and labels (the chapter uses 1,000)."""
    X, y = mnist_train
    return X[:300], y[:300]


def reference_net(net):
    """network2 verbatim (per example) with the same weights as ``net``."""
    ref = reference.Network(list(net.sizes))
    ref.weights = [np.array(w, dtype=np.float64) for w in net.weights]
    ref.biases = [np.array(b, dtype=np.float64) for b in net.biases]
    return ref


def per_example_deltas(net, X, y):
    """dC_x/db and dC_x/dw of every example, from network2's backprop, one at a time."""
    ref = reference_net(net)
    bs, ws = [], []
    for x, label in zip(X, y):
        target = np.zeros((10, 1))
        target[label] = 1.0
        nabla_b, nabla_w = ref.backprop(x.reshape(-1, 1), target)
        bs.append([b.ravel() for b in nabla_b])
        ws.append(nabla_w)
    return bs, ws


# ---------------------------------------------------------------------------
# Learning speed per layer against the per-example reference

def test_learning_speeds_match_per_example_reference(first_images):
    X, y = first_images
    net = speed.initial_network(speed.chapter_sizes(4), seed=3)
    bs, ws = per_example_deltas(net, X, y)
    n = len(X)
    mean_b = [sum(b[l] for b in bs) / n for l in range(5)]
    mean_w = [sum(w[l] for w in ws) / n for l in range(5)]
    expected_speeds = [np.linalg.norm(b) for b in mean_b[:-1]]

    measured = speed.layer_speeds(net, (X, y))
    kernel_speeds = net.learning_speed((X, y))
    speed_diff = np.max(np.abs(np.array(measured["speeds"]) - expected_speeds))
    print("max abs diff of the speeds, kernel vs per-example NumPy: {:.2e}".format(speed_diff))
    assert speed_diff < 1e-14
    np.testing.assert_allclose(measured["speeds"], expected_speeds, rtol=1e-11, atol=0)
    np.testing.assert_allclose(kernel_speeds, expected_speeds, rtol=1e-11, atol=0)
    np.testing.assert_allclose(measured["output_speed"], np.linalg.norm(mean_b[-1]), rtol=1e-11)
    np.testing.assert_allclose(measured["weight_gradient_norms"],
                               [np.linalg.norm(w) for w in mean_w], rtol=1e-11)
    for got, want in zip(measured["neurons"], mean_b[:-1]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-16)
    # The chapter's shape: the first hidden layer learns far slower than the last.
    assert expected_speeds[-1] / expected_speeds[0] > 20


def test_network2_lists_give_the_same_speeds(first_images):
    X, y = first_images
    net = speed.initial_network(speed.chapter_sizes(2), seed=0)
    pairs = [(x.reshape(-1, 1), np.eye(10)[label].reshape(-1, 1)) for x, label in zip(X, y)]
    np.testing.assert_allclose(speed.layer_speeds(net, pairs)["speeds"],
                               speed.layer_speeds(net, (X, y))["speeds"], rtol=1e-13)


# ---------------------------------------------------------------------------
# Speeds during training

def test_monitor_equals_a_separate_learning_speed_call_after_each_epoch(first_images):
    X, y = first_images
    measured_on = (X[200:], y[200:])
    sizes = speed.chapter_sizes(3)
    monitored = speed.initial_network(sizes, seed=1)
    stepped = speed.initial_network(sizes, seed=1)
    # network2 lists carry their shuffled order from one SGD call to the next.
    training = [(x.reshape(-1, 1), int(label)) for x, label in zip(X[:200], y[:200])]
    result = monitored.SGD(list(training), 3, 10, 0.1, lmbda=5.0, quiet=True,
                           monitor_learning_speed=measured_on, shuffle_with=random.Random(7))
    assert len(result) == 5 and len(result[4]) == 3
    shuffles = random.Random(7)
    separate = []
    stepped_list = list(training)
    for _ in range(3):
        stepped.SGD(stepped_list, 1, 10, 0.1, lmbda=5.0, quiet=True, shuffle_with=shuffles)
        separate.append(stepped.learning_speed(measured_on))
    diff = np.max(np.abs(np.array(result[4]) - np.array(separate)))
    print("monitor vs separate calls, max abs diff: {:.1e}".format(diff))
    np.testing.assert_allclose(result[4], separate, rtol=1e-13, atol=0)


def test_train_with_speeds_is_sgd_with_the_monitor(first_images):
    """The chapter's route (one mini-batch of all the examples, speeds on them) is
    network2's SGD, whose every step hands over its gradient as the speed."""
    X, y = first_images
    data = (X, y)
    epochs = 25
    expected_net = speed.initial_network(speed.chapter_sizes(4), seed=2)
    generator = random.Random(11)
    initial = expected_net.learning_speed(data)
    monitored = expected_net.SGD(data, epochs, len(X), 0.1, lmbda=5.0, quiet=True,
                                 monitor_learning_speed=data, shuffle_with=generator)[4]
    expected = np.array([initial] + monitored)
    # ... and SGD's monitor equals separate learning_speed calls, to round-off.
    twin = speed.initial_network(speed.chapter_sizes(4), seed=2)
    separate = [twin.learning_speed(data)]
    for _ in range(epochs):
        twin.SGD(data, 1, len(X), 0.1, lmbda=5.0, quiet=True, shuffle_with=random.Random(0))
        separate.append(twin.learning_speed(data))
    np.testing.assert_allclose(expected, separate, rtol=1e-11)

    net = speed.initial_network(speed.chapter_sizes(4), seed=2)
    own = random.Random(11)
    calls = []
    speeds = speed.train_with_speeds(net, data, epochs, len(X), 0.1, 5.0, shuffle_with=own,
                                     progress=calls.append)
    assert speeds.shape == (epochs + 1, 4)
    assert sum(calls) == epochs
    np.testing.assert_array_equal(speeds, expected)
    for got, want in zip(net.weights + net.biases, expected_net.weights + expected_net.biases):
        np.testing.assert_array_equal(got, want)
    # The shuffling generator moved on exactly as SGD's epochs moved it.
    assert own.getstate() == generator.getstate()


def test_full_batch_route_shuffles_a_network2_list_in_place_as_sgd_does(first_images):
    X, y = first_images[0][:80], first_images[1][:80]
    pairs = [(x.reshape(-1, 1), np.eye(10)[label].reshape(-1, 1)) for x, label in zip(X, y)]
    by_sgd, by_speed = list(pairs), list(pairs)
    net = speed.initial_network(speed.chapter_sizes(2), seed=0)
    net.SGD(by_sgd, 3, 80, 0.1, lmbda=5.0, quiet=True, shuffle_with=random.Random(2))
    other = speed.initial_network(speed.chapter_sizes(2), seed=0)
    speed.train_with_speeds(other, by_speed, 3, 80, 0.1, 5.0, shuffle_with=random.Random(2))
    assert [id(p) for p in by_speed] == [id(p) for p in by_sgd]
    assert [id(p) for p in by_speed] != [id(p) for p in pairs]
    for got, want in zip(other.weights, net.weights):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_minibatch_route_records_initial_and_every_epoch(first_images):
    X, y = first_images
    data, measured_on = (X[:100], y[:100]), (X[100:], y[100:])
    net = speed.initial_network(speed.chapter_sizes(2), seed=4)
    before = net.learning_speed(measured_on)
    speeds = speed.train_with_speeds(net, data, 2, 20, 0.1, 5.0, speed_data=measured_on,
                                     shuffle_with=random.Random(0))
    assert speeds.shape == (3, 2)
    np.testing.assert_array_equal(speeds[0], before)
    np.testing.assert_array_equal(speeds[-1], net.learning_speed(measured_on))


def test_speeds_during_training_summary(first_images):
    results = speed.speeds_during_training(first_images, depths=(2, 3), seed=0, epochs=4,
                                           mini_batch_size=1000)
    assert sorted(results) == [2, 3]
    for depth, r in results.items():
        assert r["sizes"] == speed.chapter_sizes(depth)
        assert r["speeds"].shape == (5, depth)
        assert r["seconds"] >= 0
        assert set(r["unstable_gradient"]) == {"initial", "trained"}
        np.testing.assert_allclose(r["speeds"][-1], r["net"].learning_speed(first_images),
                                   rtol=1e-12)


def test_stop_event_stops_training(first_images):
    import threading
    stop = threading.Event()
    stop.set()
    net = speed.initial_network(speed.chapter_sizes(2), seed=0)
    weights = [w.copy() for w in net.weights]
    with pytest.raises(speed.Stopped):
        speed.train_with_speeds(net, first_images, 5, 1000, 0.1, 5.0, stop=stop)
    for got, want in zip(net.weights, weights):       # stopped before the first step
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------
# Seeding, the unstable gradient, initial speeds, the depth table

def test_initial_network_is_network2_seeding_without_touching_the_globals():
    seed(5)
    expected = fastnet.Network([784, 30, 30, 10])
    np.random.seed(123)
    state = np.random.get_state()
    net = speed.initial_network([784, 30, 30, 10], 5)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2] == after[2]
    for got, want in zip(net.weights + net.biases, expected.weights + expected.biases):
        np.testing.assert_array_equal(got, want)


def test_unstable_gradient_factors_against_the_reference(first_images):
    X, y = first_images[0][:60], first_images[1][:60]
    net = speed.initial_network(speed.chapter_sizes(3), seed=8)
    view = speed.unstable_gradient(net, (X, y))
    bs, _ = per_example_deltas(net, X, y)
    norms = np.array([[np.linalg.norm(b[l]) for l in range(4)] for b in bs])   # (n, layers)
    # Steps go from the output back: 4 -> 3, 3 -> 2, 2 -> 1 (layers counted from the input).
    assert [(s["from_layer"], s["to_layer"]) for s in view["steps"]] == [(4, 3), (3, 2), (2, 1)]
    for step in view["steps"]:
        ratio = norms[:, step["to_layer"] - 1] / norms[:, step["from_layer"] - 1]
        np.testing.assert_allclose(step["gain"], np.exp(np.mean(np.log(ratio))), rtol=1e-9)
    chain = norms[:, 0] / norms[:, -1]
    np.testing.assert_allclose(view["products"]["gain"], np.exp(np.mean(np.log(chain))),
                               rtol=1e-9)
    np.testing.assert_allclose(view["first_hidden_delta_mean"],
                               np.ravel(net.gradients((X, y))[0][0]), rtol=1e-9, atol=1e-16)
    # The book's factor |w sigma'(z)| for the last step, by brute force.
    w = net.weights[3]
    a3 = X
    for W, b in zip(net.weights[:3], net.biases[:3]):
        a3 = 1 / (1 + np.exp(-(a3 @ W.T + b.ravel())))
    brute = np.mean(np.abs(w)[None, :, :] * (a3 * (1 - a3))[:, None, :])
    np.testing.assert_allclose(view["steps"][0]["mean_abs_w_sigma_prime"], brute, rtol=1e-12)
    assert view["products"]["gain"] < 0.1              # the gradient vanishes


def test_initial_speeds_over_seeds(first_images):
    summary = speed.initial_speeds(first_images, depths=(2, 4), seeds=[0, 1, 2])
    assert sorted(summary) == [2, 4]
    s = summary[4]
    assert s["seeds"] == [0, 1, 2] and len(s["per_seed"]) == 3
    per_seed = np.array([r["speeds"] for r in s["per_seed"]])
    np.testing.assert_allclose(s["mean"], per_seed.mean(axis=0))
    np.testing.assert_allclose(s["std"], per_seed.std(axis=0, ddof=1))
    assert speed.mean_std([2.0]) == (2.0, 0.0)
    np.testing.assert_allclose(speed.mean_std([1.0, 3.0]), (2.0, np.sqrt(2.0)))
    assert len(s["weight_gradient_norms_mean"]) == 5
    np.testing.assert_allclose(s["ratio"]["per_seed"], per_seed[:, -1] / per_seed[:, 0])
    comparison = speed.compare_with_book(summary)
    assert sorted(comparison) == [2, 4]
    assert [row["book"] for row in comparison[4]] == speed.BOOK["initial_speeds"][4]


def test_depth_table_threads_reproduce_network2_seeding(mnist_train, mnist_validation):
    training = (mnist_train[0][:300], mnist_train[1][:300])
    validation = (mnist_validation[0][:200], mnist_validation[1][:200])
    kwargs = dict(depths=(1, 2), seeds=(0, 1), epochs=1, mini_batch_size=10)
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    parallel = speed.depth_table(training, validation, workers=2, **kwargs)
    assert np.array_equal(np.random.get_state()[1], before)   # the caller's generator
    serial = speed.depth_table(training, validation, workers=1, **kwargs)
    for depth in (1, 2):
        assert parallel[depth]["correct"] == serial[depth]["correct"]
        assert parallel[depth]["sizes"] == speed.chapter_sizes(depth)
        assert len(parallel[depth]["accuracy"]) == 2
    # The same as a script seeding the globals the way network2 users do.
    seed(1)
    net = fastnet.Network(speed.chapter_sizes(2))
    net.SGD(training, 1, 10, 0.1, lmbda=5.0, quiet=True)
    assert parallel[2]["correct"][1] == net.accuracy(validation)


@pytest.mark.parametrize("call, message", [
    (lambda d: speed.initial_speeds(d, seeds=[]), "at least one seed"),
    (lambda d: speed.initial_speeds(d, depths=(0,)), "depth must be at least 1"),
    (lambda d: speed.initial_speeds(d, seeds=[1, 1]), "distinct"),
    (lambda d: speed.initial_network([784, 10], -1), "seed must be at least 0"),
    (lambda d: speed.chapter_sizes(2, width=0), "width must be at least 1"),
])
def test_bad_arguments_are_named(first_images, call, message):
    with pytest.raises(ValueError, match=message):
        call(first_images)


def test_bad_argument_types_are_named(first_images):
    net = speed.initial_network([784, 30, 10], 0)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        speed.train_with_speeds(net, first_images, 2.5, 10, 0.1)
    with pytest.raises(TypeError, match="seeds must be a list"):
        speed.initial_speeds(first_images, seeds=5)
    with pytest.raises(ValueError, match=r"shape \(n, 784\)"):
        speed.unstable_gradient(net, (np.zeros((3, 5)), np.zeros(3, dtype=int)))


# ---------------------------------------------------------------------------
# The command

def quick_args(out, *extra):
    return ["--quick", "--out", str(out), "--data", str(MNIST_DIR), "--quiet", *extra]


def check_outputs(out, figures_expected):
    with open(out / "speed.json") as f:
        results = json.load(f)
    settings = results["settings"]
    assert settings["quick"] is True and results["interrupted"] is False
    assert set(results["initial_speeds"]) == {"2", "3", "4"}
    for depth, entry in results["initial_speeds"].items():
        d = int(depth)
        assert len(entry["mean"]) == len(entry["std"]) == d
        assert len(entry["per_seed"]) == settings["speed_seeds"]
        assert [row["book"] for row in entry["book"]] == speed.BOOK["initial_speeds"][d]
    for depth, entry in results["speed_during_training"].items():
        assert len(entry["speeds"]) == settings["epochs"] + 1
        assert all(len(row) == int(depth) for row in entry["speeds"])
    for depth, entry in results["neuron_speeds"].items():
        assert [len(layer) for layer in entry["neurons"]] == [6] * int(depth)
    for depth, views in results["unstable_gradient"].items():
        assert len(views["initial"]["steps"]) == int(depth)
        assert views["trained"]["products"]["gain"] > 0
    assert set(results["depth_table"]) == {str(d) for d in settings["table_depths"]}
    for row in results["depth_table"].values():
        assert len(row["accuracy"]) == settings["seeds"]
        assert 0 <= row["mean"] <= 100
    report = (out / "report.md").read_text()
    assert "# Why deep networks are hard to train" in report and "Depth table" in report
    names = sorted(os.listdir(out))
    assert not [n for n in names if n.startswith(".speed-")]       # no temporary files left
    if figures_expected:
        expected = {"initial_speeds.png", "neuron_speeds.png", "unstable_gradient.png",
                    "depth_table.png"} | {"training_speed_depth{}.png".format(d)
                                          for d in (2, 3, 4)}
        assert set(results["figures"]) == expected
        for name in expected:
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert results["figures"] == [] and "matplotlib" in results["figures_skipped"]
        assert "matplotlib is not installed" in report
    return results


@pytest.mark.mnist
def test_command_writes_json_report_and_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["speed"] + quick_args(tmp_path / "out")) == 0
    check_outputs(tmp_path / "out", figures_expected=True)
    assert "Wrote speed.json" in capsys.readouterr().out


@pytest.mark.mnist
def test_command_without_matplotlib_says_figures_are_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import fails
    assert cli.main(["speed"] + quick_args(tmp_path / "out")[:-1]) == 0  # not --quiet
    check_outputs(tmp_path / "out", figures_expected=False)
    assert "Figures skipped: matplotlib is not installed" in capsys.readouterr().out


@pytest.mark.mnist
def test_command_smoke_run_in_a_subprocess(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("FASTNET_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    r = subprocess.run([sys.executable, "-m", "fastnet", "speed", "--quick", "--out", "tmp",
                        "--data", str(MNIST_DIR)], cwd=str(tmp_path), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Initial learning speeds" in r.stdout and "Depth table" in r.stdout
    try:
        import matplotlib  # noqa: F401
        has_plots = True
    except ImportError:
        has_plots = False
    check_outputs(tmp_path / "tmp", figures_expected=has_plots)


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "must be at least 1"),
    (["--epochs", "many"], "expected a whole number"),
    (["--table-images", "60000"], "at most 50000"),
    (["--data", "/no/such/folder"], "no such file or folder"),
])
def test_command_rejects_bad_arguments(tmp_path, capsys, args, message):
    code = cli.main(["speed"] + ["--out", str(tmp_path / "out"), "--quick", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "speed.json").exists()


def test_command_rejects_a_file_as_output_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["speed"] + ["--out", str(target), "--quick"]) == 2
    assert "that is a file" in capsys.readouterr().err


def test_add_parser_registers_the_subcommand():
    import argparse
    parser = argparse.ArgumentParser(prog="fastnet")
    speed_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["speed", "--quick", "--seeds", "3", "--no-table"])
    assert args.run is speed_command.run
    assert args.quick and args.seeds == 3 and args.no_table


def test_fastnet_command_has_the_speed_subcommand(tmp_path):
    args = cli.build_parser().parse_args(["speed", "--quick", "--out", str(tmp_path)])
    assert args.run is speed_command.run and args.quick


@pytest.mark.mnist
@posix_signals
def test_ctrl_c_stops_and_writes_what_was_finished(tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = interrupt_command(
        ["speed", "--quick", "--epochs", "1000000", "--no-plots", "--out", out,
         "--data", MNIST_DIR], tmp_path, after="Learning speed during")
    assert code == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    results = json.loads((out / "speed.json").read_text())
    assert results["interrupted"] is True
    assert "initial_speeds" in results and "depth_table" not in results
    assert "Interrupted" in (out / "report.md").read_text()
