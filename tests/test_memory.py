"""Array-form training works in place: its peak memory is the data plus a few MB."""
import tracemalloc

import numpy as np

from fastnet import network2


def test_peak_memory_of_array_training_on_50000_images(mnist_train):
    X, y = mnist_train                          # 313 MB of float64, C-contiguous
    np.random.seed(0)
    net = network2.Network([784, 30, 10])
    tracemalloc.start()
    try:
        net.SGD((X, y), 1, 10, 0.1, 5.0, evaluation_data=(X[:10000], y[:10000]),
                monitor_evaluation_accuracy=True, monitor_training_cost=True, quiet=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One-hot targets (50,000 x 10 doubles = 4 MB) and the epoch's order dominate.
    assert peak < 12e6, "training allocated {:.1f} MB beyond the data".format(peak / 1e6)


def test_float32_images_train_a_float64_network_without_a_float64_copy(mnist_train):
    X, y = mnist_train
    X32 = X.astype(np.float32)                  # 157 MB; a float64 copy would be 313 MB more
    net = network2.Network([784, 30, 10], random_state=0)
    tracemalloc.start()
    try:
        net.SGD((X32, y), 1, 10, 0.1, 5.0, quiet=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12e6, "training allocated {:.1f} MB beyond the data".format(peak / 1e6)
    assert all(w.dtype == np.float64 for w in net.weights)
