"""fastnet.remedies and ``fastnet remedies``: the chain, the grid's measurements, the command."""
import json
import warnings

import numpy as np
import pytest

from fastnet import remedies
from fastnet.cli import main
from .helpers import MNIST_DIR, interrupt_command, posix_signals


def test_exploding_chain_multiplies_by_25_per_layer():
    c = remedies.chain("exploding")
    assert c["weights"] == [100.0] * 4
    assert c["biases"] == [-100.0, -50.0, -50.0, -50.0]     # b_j = -100 a_{j-1}, a_0 = x = 1
    assert c["z"] == [0.0] * 4 and c["sigma_prime"] == [0.25] * 4
    assert c["factors"] == [25.0] * 3
    # dC/db_4 = (a_4 - y) sigma'(z_4) = 0.5 * 0.25; each step back x25 (exact in binary).
    assert c["dC_db"] == [1953.125, 78.125, 3.125, 0.125]
    assert c["ratios"] == [25.0] * 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vanishing_chain_backprop_is_the_chapter_s_product(seed):
    c = remedies.chain("vanishing", seed=seed)
    rng = np.random.RandomState(seed)              # network2's default draws: biases, then weights
    assert c["biases"] == [float(v) for v in rng.randn(4)]
    assert c["weights"] == [float(v) for v in rng.randn(4)]
    assert np.allclose(c["dC_db"], c["dC_db_formula"], rtol=1e-12, atol=0)
    assert np.allclose(c["ratios"], c["factors"], rtol=1e-12, atol=0)
    assert all(0 < s <= 0.25 for s in c["sigma_prime"])
    assert "dC/db_1 / dC/db_2" in remedies.chain_text(c)


def test_initial_speeds_band_and_bad_choices(mnist_train):
    X, y = mnist_train
    data = (X[:200], y[:200])
    choices = [("sigmoid", "default"), ("tanh", "glorot"), ("relu", "he")]
    result = remedies.initial_speeds(data, choices, depths=(2, 3), seeds=range(3))
    assert list(result) == ["sigmoid/default", "tanh/glorot", "relu/he"]
    r = result["sigmoid/default"][3]
    assert len(r["mean"]) == 3 and len(r["ratio"]["per_seed"]) == 3
    speeds = np.array(r["per_seed"])
    assert np.allclose(r["ratio"]["per_seed"], speeds[:, -1] / speeds[:, 0])
    # The chapter's finding for sigmoid, and the remedies shrinking it (measured: ~21 vs ~1.3).
    assert r["ratio"]["min"] > 5
    for name in ("tanh/glorot", "relu/he"):
        assert result[name][3]["ratio"]["mean"] < r["ratio"]["mean"] / 3
    with pytest.raises(ValueError, match="init"):
        remedies.initial_speeds(data, [("relu", "kaiming")])
    with pytest.raises(ValueError, match="activation"):
        remedies.initial_speeds(data, [("elu", "he")])
    with pytest.raises(ValueError, match="distinct"):
        remedies.initial_speeds(data, [("relu", "he"), ("relu", "he")])


def test_a_threaded_depth_table_leaves_the_callers_warning_filters_alone(mnist_train,
                                                                        mnist_validation):
    # Entering warnings.catch_warnings() in pool threads swaps the process-wide
    # filter list under the caller: with 2 workers, most such tables left it changed.
    X, y = mnist_train
    X_val, y_val = mnist_validation
    training, validation = (X[:40], y[:40]), (X_val[:20], y_val[:20])
    changed = 0
    for _ in range(20):
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.filterwarnings("error", message="the caller's own filter")
            before = list(warnings.filters)
            remedies.depth_table(training, validation, [("sigmoid", "default"), ("relu", "he")],
                                 depths=(1, 2, 3), seeds=range(4), epochs=1, width=5,
                                 workers=2)
            changed += warnings.filters != before
    assert changed == 0


def test_depth_table_marks_runs_that_blew_up_without_warning(mnist_train, mnist_validation):
    X, y = mnist_train
    X_val, y_val = mnist_validation
    training, validation = (X[:300], y[:300]), (X_val[:100], y_val[:100])
    choices = [("sigmoid", "default"), ("tanh", "large")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # any warning from a run fails the test
        table = remedies.depth_table(training, validation, choices, depths=(2,),
                                     seeds=range(2), epochs=2, eta=1e306, lmbda=0.0)
    blown = table["sigmoid/default"][2]
    assert blown["finite"] == [False, False] and blown["accuracy"] == [0.0, 0.0]
    kept = table["tanh/large"][2]              # tanh's bounded outputs keep its steps finite
    assert kept["finite"] == [True, True] and min(kept["accuracy"]) > 0
    with pytest.warns(RuntimeWarning, match="stopped being finite"):
        remedy = remedies.remedy_network([784, 30, 30, 10], 0, choices[0])
        remedy.SGD(training, 1, 10, 1e306, lmbda=0.0, quiet=True)


def test_training_speeds_record_a_blow_up_without_warning(mnist_train):
    X, y = mnist_train
    data = (X[:600], y[:600])                  # one mini-batch of 600: full-batch steps
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = remedies.training_speeds(data, [("sigmoid", "default"), ("tanh", "large")],
                                          depth=2, epochs=3, mini_batch_size=600, eta=1e306,
                                          lmbda=0.0)
    assert result["sigmoid/default"]["finite"] is False
    assert result["tanh/large"]["finite"] is True


def test_depth_table_runs_through_the_sweep(mnist_train, mnist_validation):
    from fastnet import speed
    X, y = mnist_train
    X_val, y_val = mnist_validation
    training, validation = (X[:200], y[:200]), (X_val[:100], y_val[:100])
    finished = []
    table = remedies.depth_table(training, validation, [("relu", "he")], depths=(1, 2),
                                 seeds=range(2), epochs=1, workers=2, on_run=finished.append)
    alone = speed.depth_table(training, validation, depths=(1, 2), seeds=range(2), epochs=1,
                              workers=1, activation="relu", init="he")
    assert table["relu/he"] == {d: dict(row, seconds=table["relu/he"][d]["seconds"])
                                for d, row in alone.items()}
    assert sorted((r["depth"], r["seed"]) for r in finished) == \
        [(1, 0), (1, 1), (2, 0), (2, 1)]


@pytest.mark.mnist
def test_remedies_quick_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["remedies", "--quick", "--data", str(MNIST_DIR), "--out", str(out),
                 "--activations", "sigmoid,relu", "--inits", "default,he"])
    assert code == 0
    data = json.loads((out / "remedies.json").read_text())
    assert set(data["initial_speeds"]) == {"sigmoid/default", "sigmoid/he", "relu/default",
                                           "relu/he"}
    assert data["chain"]["exploding"]["dC_db"][0] == 1953.125
    assert len(data["training_speeds"]["relu/he"]["speeds"]) == data["settings"]["epochs"] + 1
    assert set(data["depth_table"]["relu/he"]) == {"1", "2"}
    report = (out / "report.md").read_text()
    assert "1953.125" in report and "last / first" in report
    assert {"chain.png", "initial_speeds.png", "training_speeds.png",
            "depth_accuracy.png"} <= {p.name for p in out.iterdir()}
    assert "Wrote remedies.json" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--activations", "sigmoid,swish"], "--activations"),
    (["--inits", "xavier"], "--inits"),
    (["--table-depths", "0,2"], "--table-depths"),
    (["--speed-seeds", "1"], "--speed-seeds"),
])
def test_remedies_bad_arguments_are_named(tmp_path, capsys, argv, words):
    assert main(["remedies", "--quick", "--out", str(tmp_path)] + argv) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("activation, output", [("tanh", "sigmoid"), ("relu", "softmax"),
                                                ("sigmoid", "sigmoid")])
def test_speed_toolkit_honours_the_activation(mnist_train, activation, output):
    from fastnet import network2, speed
    X, y = mnist_train
    data = (X[:100], y[:100])
    cost = network2.LogLikelihoodCost if output == "softmax" else network2.CrossEntropyCost
    net = network2.Network([784, 20, 20, 10], cost, activation=activation, output=output,
                           init="he", random_state=1)
    view = speed.unstable_gradient(net, data)
    nabla_b, _ = net.gradients(data)
    assert np.allclose(view["first_hidden_delta_mean"], nabla_b[0].ravel(), rtol=1e-9,
                       atol=1e-15)
    summary = speed.initial_speeds(data, depths=(2,), seeds=(3,), activation=activation,
                                   init="glorot")
    fresh = network2.Network([784, 30, 30, 10], activation=activation, init="glorot",
                             random_state=3)
    assert np.allclose(summary[2]["mean"], fresh.learning_speed(data), rtol=1e-12)


@pytest.mark.mnist
def test_speed_command_takes_activation_and_init(tmp_path):
    out = tmp_path / "speed"
    assert main(["speed", "--quick", "--no-table", "--activation", "tanh", "--init", "glorot",
                 "--data", str(MNIST_DIR), "--out", str(out), "--quiet", "--no-plots"]) == 0
    data = json.loads((out / "speed.json").read_text())
    assert data["settings"]["activation"] == "tanh" and data["settings"]["init"] == "glorot"
    assert "tanh" in (out / "report.md").read_text()


def test_depth_table_hands_each_finished_run_to_on_run(mnist_train, mnist_validation):
    X, y = mnist_train
    Xv, yv = mnist_validation
    seen = []
    table = remedies.depth_table((X[:200], y[:200]), (Xv[:100], yv[:100]),
                                 [("sigmoid", "default"), ("relu", "he")], depths=(1, 2),
                                 seeds=(0, 1), epochs=1, workers=2, on_run=seen.append)
    assert len(seen) == 8
    for run in seen:
        row = table[run["choice"]][run["depth"]]
        k = row["seeds"].index(run["seed"])
        assert run["accuracy"] == row["accuracy"][k] and run["finite"] == row["finite"][k]
    assert {(r["choice"], r["depth"], r["seed"]) for r in seen} == {
        (c, d, s) for c in table for d in (1, 2) for s in (0, 1)}


@pytest.mark.mnist
@posix_signals
def test_ctrl_c_writes_the_finished_measurements_and_table_runs(tmp_path):
    out = tmp_path / "out"
    runs = 2 * 2 * 200                  # choices x depths x seeds: a minute or so in all
    code, stdout, stderr = interrupt_command(
        ["remedies", "--quick", "--activations", "sigmoid,relu", "--inits", "he",
         "--table-depths", "1,2", "--table-seeds", "200", "--table-images", "5000",
         "--no-plots", "--out", out, "--data", MNIST_DIR], tmp_path,
        after="Accuracy against depth", wait=4)   # some of the table's runs have finished
    assert code == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert stdout.startswith("Interrupted. Wrote remedies.json, report.md")
    results = json.loads((out / "remedies.json").read_text())
    assert results["interrupted"] is True
    assert results["chain"]["exploding"]["dC_db"][0] == 1953.125
    assert set(results["training_speeds"]) == {"sigmoid/he", "relu/he"}
    assert "depth_table" not in results
    finished = results["depth_table_runs"]
    assert 1 <= len(finished) < runs
    assert {r["choice"] for r in finished} <= {"sigmoid/he", "relu/he"}
    assert all(0 <= r["accuracy"] <= 100 and r["depth"] in (1, 2) for r in finished)
    report = (out / "report.md").read_text()
    assert "Interrupted" in report and "The runs that finished before the table" in report
