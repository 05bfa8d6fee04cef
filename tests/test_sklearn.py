"""fastnet.sklearn.FastNetClassifier: scikit-learn's own estimator checks, and the same
training as fastnet.Network on real MNIST."""
import os
import pickle
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed "
                                                "(pip install fastnet[sklearn])")

from sklearn.datasets import load_iris                                    # noqa: E402
from sklearn.exceptions import NotFittedError                             # noqa: E402
from sklearn.model_selection import GridSearchCV                          # noqa: E402
from sklearn.pipeline import make_pipeline                                # noqa: E402
from sklearn.preprocessing import StandardScaler                          # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks       # noqa: E402

import fastnet                                                            # noqa: E402
from fastnet.sklearn import FastNetClassifier                             # noqa: E402


def _check_name(check):
    return getattr(check, "func", check).__name__


# scikit-learn's checks, on the defaults and on float32 with learning-speed recording.
# None is skipped or expected to fail.  The checks train on tiny data sets (tens of
# examples) with the default hyper-parameters, where the book's eta and lmbda leave
# some networks too weak for the checks' accuracy bars: the quadratic cost (the
# chapter's learning slowdown; passes on scikit-learn 1.9, fails
# check_classifiers_classes on 1.5) and deeper or narrower nets such as
# hidden_layer_sizes=(5, 4) (fail check_classifiers_train).  That is the model, not
# the estimator; the quadratic cost is tested against Network on MNIST below.
@parametrize_with_checks([
    FastNetClassifier(random_state=0),
    FastNetClassifier(dtype="float32", record_learning_speed=True, random_state=0),
])
def test_sklearn_estimator_checks(estimator, check):
    if _check_name(check) == "check_array_api_input":
        # This check needs SCIPY_ARRAY_API=1 set before SciPy is imported (and skips
        # otherwise), so it runs in a fresh interpreter that has it.
        _run_array_api_check(estimator, check.keywords)
    else:
        check(estimator)


# Subprocesses run from here, not the repository root, where `python -c` would import
# the unbuilt sources in ./fastnet instead of the installed package.
HERE = os.path.dirname(os.path.abspath(__file__))


def _run_array_api_check(estimator, keywords):
    code = textwrap.dedent("""
        from sklearn.utils.estimator_checks import check_array_api_input
        from fastnet.sklearn import FastNetClassifier
        check_array_api_input("FastNetClassifier", FastNetClassifier(**{params!r}),
                              **{keywords!r})
        print("passed")
        """).format(params=estimator.get_params(), keywords=keywords)
    env = dict(os.environ, SCIPY_ARRAY_API="1",
               PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120, cwd=HERE)
    assert result.returncode == 0 and "passed" in result.stdout, result.stderr


#### Real MNIST: the estimator trains exactly as Network does

def _network2_initial_weights(sizes, seed):
    """network2's default initializer, drawn from RandomState(seed) instead of np.random."""
    rng = np.random.RandomState(seed)
    biases = [rng.randn(n, 1) for n in sizes[1:]]
    weights = [rng.randn(n_out, n_in) / np.sqrt(n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, biases


@pytest.mark.parametrize("cost, network_cost, least_accuracy", [
    ("cross_entropy", fastnet.CrossEntropyCost, 0.88),
    ("quadratic", fastnet.QuadraticCost, 0.7),
])
def test_mnist_fit_matches_network(mnist_train, mnist_validation, cost, network_cost,
                                   least_accuracy):
    X, y = mnist_train[0][:10000], mnist_train[1][:10000]
    X_val, y_val = mnist_validation
    clf = FastNetClassifier(cost=cost, epochs=2, random_state=7).fit(X, y)

    net = fastnet.Network([784, 30, 10], cost=network_cost)
    net.weights, net.biases = _network2_initial_weights(net.sizes, 7)
    net.SGD((X, y), 2, 10, 0.1, 5.0, quiet=True, shuffle_with=random.Random(7))

    for ours, theirs in zip(clf.network_.weights + clf.network_.biases,
                            net.weights + net.biases):
        np.testing.assert_array_equal(ours, theirs)
    network_predictions = np.argmax(net.outputs(X_val), axis=1)
    np.testing.assert_array_equal(clf.predict(X_val), network_predictions)
    accuracy = clf.score(X_val, y_val)
    assert accuracy == np.mean(network_predictions == y_val)
    assert accuracy > least_accuracy


def test_random_state_replays_seeded_network2_run(mnist_train):
    """random_state=s is the run of network2 after random.seed(s); np.random.seed(s)."""
    X, y = mnist_train[0][:2000], mnist_train[1][:2000]
    saved = random.getstate(), np.random.get_state()
    try:
        random.seed(3)
        np.random.seed(3)
        net = fastnet.Network([784, 20, 10])
        net.SGD((X, y), 2, 10, 0.5, 1.0, quiet=True)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    clf = FastNetClassifier(hidden_layer_sizes=(20,), epochs=2, eta=0.5, lmbda=1.0,
                            random_state=3).fit(X, y)
    np.testing.assert_array_equal(clf.network_.weights[0], net.weights[0])


def test_fit_leaves_global_generators_alone():
    X, y = load_iris(return_X_y=True)
    before = random.getstate(), np.random.get_state()[1].copy()
    for random_state in (None, 0, np.random.RandomState(0)):
        FastNetClassifier(epochs=1, random_state=random_state).fit(X, y)
    assert random.getstate() == before[0]
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])


def test_partial_fit_is_one_epoch_per_call():
    """Each call is one SGD epoch over the batch given, continuing weights and shuffling."""
    X, y = load_iris(return_X_y=True)
    once = FastNetClassifier(epochs=1, random_state=1, record_learning_speed=True).fit(X, y)
    stepped = FastNetClassifier(random_state=1, record_learning_speed=True)
    stepped.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(stepped.predict_proba(X), once.predict_proba(X))
    stepped.partial_fit(X[:100], y[:100])
    stepped.partial_fit(X, y, classes=[2, 1, 0])

    net = fastnet.Network([4, 30, 3])
    net.weights, net.biases = _network2_initial_weights(net.sizes, 1)
    shuffler = random.Random(1)
    speeds = []
    for rows in (150, 100, 150):
        data = (X[:rows], y[:rows])
        speeds += net.SGD(data, 1, 10, 0.1, 5.0, quiet=True, shuffle_with=shuffler,
                          monitor_learning_speed=(X[:rows], y[:rows]))[4]
    np.testing.assert_array_equal(stepped.network_.weights[0], net.weights[0])
    np.testing.assert_array_equal(stepped.learning_speed_, speeds)
    assert stepped.learning_speed_.shape == (3, 1)
    # A batch may hold only some of the classes.
    stepped.partial_fit(X[y == 2], y[y == 2])


def test_string_labels_probabilities_and_float32():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = FastNetClassifier(eta=0.5, lmbda=0.1, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.n_features_in_ == 4
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    single = FastNetClassifier(eta=0.5, lmbda=0.1, random_state=0, dtype="float32").fit(X, names)
    assert single.network_.weights[0].dtype == np.float64     # Network keeps float64 copies
    np.testing.assert_allclose(single.predict_proba(X), proba, atol=1e-3)


@pytest.mark.parametrize("hidden, epochs", [((), 2), ((6, 5, 4), 2), ((30,), 0)])
def test_learning_speed_shapes(hidden, epochs):
    X, y = load_iris(return_X_y=True)
    clf = FastNetClassifier(hidden_layer_sizes=hidden, epochs=epochs, random_state=0,
                            record_learning_speed=True).fit(X, y)
    assert clf.network_.sizes == [4, *hidden, 3]
    assert clf.learning_speed_.shape == (epochs, len(hidden))
    assert np.all(clf.learning_speed_ > 0)
    assert not hasattr(clf.set_params(record_learning_speed=False).fit(X, y), "learning_speed_")


def test_binary_uses_two_outputs():
    X, y = load_iris(return_X_y=True)
    clf = FastNetClassifier(random_state=0).fit(X[y > 0], y[y > 0])
    assert clf.network_.sizes == [4, 30, 2]
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_feature_names_from_a_dataframe():
    pd = pytest.importorskip("pandas", reason="pandas is not installed; feature_names_in_ "
                                              "comes from a DataFrame's columns")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = FastNetClassifier(epochs=2, random_state=0).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns=lambda c: c.upper()))
    assert isinstance(X, pd.DataFrame)


#### Pipelines, grid searches, pickles

def test_pipeline_and_grid_search():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), FastNetClassifier(epochs=10, eta=0.5, lmbda=0.1,
                                                             random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9
    search = GridSearchCV(pipe, {"fastnetclassifier__hidden_layer_sizes": [(5,), (20,)],
                                 "fastnetclassifier__lmbda": [0.1, 5.0]}, cv=3, n_jobs=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.85


def test_pickle_round_trip():
    X, y = load_iris(return_X_y=True)
    clf = FastNetClassifier(epochs=5, random_state=0, record_learning_speed=True).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(copy.learning_speed_, clf.learning_speed_)
    # The unpickled estimator carries on exactly as the original does.
    np.testing.assert_array_equal(copy.partial_fit(X, y).predict_proba(X),
                                  clf.partial_fit(X, y).predict_proba(X))


#### Bad inputs give scikit-learn's usual errors

def test_bad_inputs():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(NotFittedError):
        FastNetClassifier().predict(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        FastNetClassifier().fit(bad, y)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        FastNetClassifier(dtype="float32").partial_fit(bad, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="Input X contains infinity"), \
            np.errstate(over="ignore"):
        FastNetClassifier(dtype="float32").fit(X * 1e300, y)     # overflows float32
    clf = FastNetClassifier(epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="X has 3 features, but FastNetClassifier is "
                                         "expecting 4 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="only one class"):
        FastNetClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        FastNetClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="classes must be passed"):
        FastNetClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not in classes"):
        FastNetClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


@pytest.mark.parametrize("params, error", [
    ({"cost": "log"}, ValueError), ({"dtype": "float16"}, ValueError),
    ({"hidden_layer_sizes": (30, 0)}, ValueError), ({"hidden_layer_sizes": 30}, ValueError),
    ({"epochs": 1.5}, TypeError), ({"mini_batch_size": 0}, ValueError),
    ({"eta": float("nan")}, ValueError), ({"random_state": "seed"}, TypeError),
])
def test_bad_parameters_fail_at_fit(params, error):
    X, y = load_iris(return_X_y=True)
    clf = FastNetClassifier(**params)          # scikit-learn's rule: no checks in __init__
    with pytest.raises(error):
        clf.fit(X, y)


def test_imports_without_scikit_learn():
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None          # as if scikit-learn were not installed
        import fastnet
        try:
            import fastnet.sklearn
        except ImportError as error:
            print(error)
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                            timeout=60, cwd=HERE)
    assert result.returncode == 0, result.stderr
    assert "pip install fastnet[sklearn]" in result.stdout
