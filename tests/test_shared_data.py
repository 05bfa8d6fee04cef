"""Chapter 6's data: load_data_shared's shared values, and the book's expanded training set."""
import gzip
import pickle
import random

import numpy as np
import pytest

from fastnet import cli, datasets
from fastnet.datasets import SharedValue, expand_training, load_data_shared, shifted_images
from tests.helpers import MNIST_DIR, need_mnist


def shifted_one_at_a_time(image):
    """The book's recipe for one image: roll by a pixel, then zero the row or column rolled in."""
    square = image.reshape(28, 28)
    out = [square]
    for step, axis, edge in ((1, 0, 0), (-1, 0, 27), (1, 1, 0), (-1, 1, 27)):
        moved = np.roll(square, step, axis)
        if axis == 0:
            moved[edge, :] = 0
        else:
            moved[:, edge] = 0
        out.append(moved)
    return [m.reshape(784) for m in out]


def test_shifts_match_the_books_roll_and_zero_on_real_images(mnist_train):
    images = mnist_train[0][:40].astype(np.float32)
    expanded = shifted_images(images)
    assert expanded.shape == (200, 784) and expanded.dtype == np.float32
    for i in range(40):
        for k, expected in enumerate(shifted_one_at_a_time(images[i])):
            np.testing.assert_array_equal(expanded[5 * i + k], expected)


def test_the_shuffle_is_pythons_shuffle_of_the_pairs(mnist_train):
    images, labels = mnist_train[0][:30], mnist_train[1][:30]
    x, y = expand_training(images, labels, random.Random(8))
    pairs = [(row, label) for row, label in zip(shifted_images(images), np.repeat(labels, 5))]
    random.Random(8).shuffle(pairs)
    np.testing.assert_array_equal(x, np.array([p[0] for p in pairs]))
    np.testing.assert_array_equal(y, np.array([p[1] for p in pairs]))
    assert sorted(y.tolist()) == sorted(np.repeat(labels, 5).tolist())


def test_shared_value_answers_what_scripts_ask():
    value = SharedValue(np.arange(6.0).reshape(2, 3))
    assert value.get_value(borrow=True) is value.eval()
    copy = value.get_value()
    copy[0, 0] = 9
    assert value.eval()[0, 0] == 0
    value.set_value(np.ones((2, 3), dtype=np.float32))
    assert value.eval().dtype == np.float64 and value.eval().sum() == 6
    assert value.get_value(borrow=True).shape[0] == 2


def write_book_pickle(path, parts, protocol=2):
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(tuple(parts), f, protocol=protocol)


@pytest.mark.mnist
def test_load_data_shared_reads_the_idx_folder_as_load_mnist():
    need_mnist()
    shared = load_data_shared(MNIST_DIR, dtype=np.float64)
    for (x, y), (images, labels) in zip(shared, datasets.load_mnist(MNIST_DIR, dtype=np.float64,
                                                                    download=False)):
        assert x.get_value(borrow=True).dtype == np.float64 and y.eval().dtype == np.int32
        np.testing.assert_array_equal(x.get_value(borrow=True), images)
        np.testing.assert_array_equal(y.eval(), labels)


def test_a_training_part_of_another_size_is_refused(tmp_path):
    def part(n):
        return np.zeros((n, 784), dtype=np.float32), np.zeros(n, dtype=np.int64)

    bad = tmp_path / "odd.pkl.gz"
    write_book_pickle(bad, [part(120), part(10000), part(10000)])
    with pytest.raises(datasets.DataFormatError, match="training part has shapes"):
        load_data_shared(str(bad))


@pytest.mark.mnist
def test_fastnet_expand_writes_the_books_file_and_it_loads_back(tmp_path, capsys):
    need_mnist()
    out = tmp_path / "mnist_expanded.pkl.gz"
    assert cli.main(["expand", "--data", str(MNIST_DIR), "--out", str(out), "--seed", "3"]) == 0
    assert "Wrote 250,000 training pairs to" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["mnist_expanded.pkl.gz"]
    (x, y), (xv, yv), (xt, yt) = load_data_shared(str(out))
    (x_train, y_train), validation, test = [
        (x.get_value(borrow=True), y.eval()) for x, y in load_data_shared(MNIST_DIR)]
    random.seed(3)
    expected_x, expected_y = expand_training(x_train, y_train)
    np.testing.assert_array_equal(x.get_value(borrow=True), expected_x)
    np.testing.assert_array_equal(y.eval(), expected_y)
    np.testing.assert_array_equal(xv.get_value(borrow=True), validation[0])
    np.testing.assert_array_equal(yt.eval(), test[1])


def test_fastnet_expand_refuses_a_missing_source(tmp_path, capsys):
    assert cli.main(["expand", "--data", str(tmp_path / "nothing"),
                     "--out", str(tmp_path / "x.pkl.gz")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
