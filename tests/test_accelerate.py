"""fastnet.threads.accelerate_threads: what fastnet does when SciPy's BLAS is Apple
Accelerate, which threadpoolctl cannot limit.  Off macOS, Accelerate's threading calls
are replaced by a fake that keeps the setting per thread, as Accelerate does."""
import sys
import threading
import warnings

import pytest

from fastnet import threads

SINGLE, MULTI = 1, 0


class FakeAccelerate:
    """BLASGetThreading/BLASSetThreading with a per-thread setting, recording every set."""

    def __init__(self, initial=MULTI, accepts=True):
        self.local, self.initial, self.accepts, self.sets = threading.local(), initial, accepts, []

    def get(self):
        return getattr(self.local, "model", self.initial)

    def set(self, model):
        self.sets.append(model)
        if not self.accepts:
            return -1
        self.local.model = model
        return 0


@pytest.fixture
def accelerate(monkeypatch):
    """Pretend SciPy calls Accelerate, with a threading API (macOS 15+) or None (macOS 14)."""
    def install(api):
        monkeypatch.setattr(threads, "scipy_blas_is_accelerate", lambda: True)
        monkeypatch.setattr(threads, "_accelerate_threading_api", lambda: api)
        monkeypatch.setattr(threads, "_accelerate_warned", False)
    return install


@pytest.mark.skipif(sys.platform == "darwin", reason="Accelerate exists only on macOS")
def test_not_accelerate_off_macos():
    assert threads.scipy_blas_is_accelerate() is False
    assert threads._accelerate_threading_api() is None
    with threads.accelerate_threads(1) as held:
        assert held is False


def test_one_thread_while_the_block_runs_then_restored(accelerate):
    fake = FakeAccelerate()
    accelerate((fake.get, fake.set))
    with threads.accelerate_threads(1) as held:
        assert held is True and fake.get() == SINGLE
    assert fake.get() == MULTI and fake.sets == [SINGLE, MULTI]


def test_already_single_threaded_is_left_as_it_is(accelerate):
    fake = FakeAccelerate(initial=SINGLE)
    accelerate((fake.get, fake.set))
    with threads.accelerate_threads(1) as held:
        assert held is True
    assert fake.get() == SINGLE and fake.sets == []


def test_refused_setting_is_reported(accelerate):
    fake = FakeAccelerate(accepts=False)
    accelerate((fake.get, fake.set))
    with threads.accelerate_threads(1) as held:
        assert held is False and fake.get() == MULTI


def test_other_limits_leave_accelerate_to_decide(accelerate):
    fake = FakeAccelerate()
    accelerate((fake.get, fake.set))
    for limit in (None, 2, 8):
        with threads.accelerate_threads(limit) as held:
            assert held is False
    assert fake.sets == []


def test_before_macos_15_warns_once_what_to_do(accelerate):
    accelerate(None)
    with pytest.warns(RuntimeWarning, match="VECLIB_MAXIMUM_THREADS=1"):
        with threads.accelerate_threads(1) as held:
            assert held is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # a second warning would raise here
        with threads.accelerate_threads(1) as held:
            assert held is False
