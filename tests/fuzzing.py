"""Shared by the fuzz tests (tests/test_fuzz_*.py): the example budget and a
crash-proof sandbox.

Budget: every property runs ``FUZZ_EXAMPLES`` generated inputs, 40 by default
(the suite stays fast in CI); set the environment variable, e.g.
``FASTNET_FUZZ_EXAMPLES=10000 pytest tests/test_fuzz_*.py``, for a long local
run.  No example database is written, and CI runs are derandomized.

Sandbox: inputs that reach compiled code run in a worker process
(``Sandbox.call``), so that a segfault or an abort fails the property with
the input that caused it (hypothesis then shrinks it, restarting the worker
as needed) instead of killing pytest.  The worker's address space is limited
(``WORKER_MEMORY``), so an input that allocates gigabytes fails with
MemoryError instead of swapping the machine.
"""
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

from .helpers import same_fastnet_env

FUZZ_EXAMPLES = int(os.environ.get("FASTNET_FUZZ_EXAMPLES", "40"))
WORKER_MEMORY = 1 << 30   # bytes of address space the worker may add after its imports

# CI runs the same examples every time (a red CI is reproducible); local runs explore.
DERANDOMIZE = bool(os.environ.get("CI")) and "FASTNET_FUZZ_EXAMPLES" not in os.environ
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                derandomize=DERANDOMIZE,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

HERE = Path(__file__).resolve().parent

_WORKER = r"""
import pickle, resource, struct, sys, traceback, warnings
sys.path.insert(0, sys.argv[1])
import fuzz_cases                                   # imports numpy and fastnet
def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
limit = vm_bytes() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
sys.stdout = sys.stderr                             # prints of the API go to stderr
while True:
    head = stdin.read(8)
    if len(head) < 8:
        break
    name, args = pickle.loads(stdin.read(struct.unpack("<Q", head)[0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", getattr(fuzz_cases, name)(*args))
        except BaseException as e:
            result = ("error", type(e).__name__, str(e)[:3000],
                      [c.__name__ for c in type(e).__mro__])
    result = result + ([(w.category.__name__, str(w.message)[:500]) for w in caught],)
    data = pickle.dumps(result)
    stdout.write(struct.pack("<Q", len(data)) + data)
    stdout.flush()
"""


class Crash(AssertionError):
    """The worker died (a signal, or an exit) while running an input."""


class Sandbox:
    """A worker process that runs ``fuzz_cases.<name>(*args)`` and returns
    ``("ok", value, warnings)`` or ``("error", type name, message, mro names,
    warnings)``; raises Crash (naming the input) if the worker dies."""

    def __init__(self):
        self.proc = None
        self.log = None

    def _start(self):
        if self.log is not None:
            self.log.close()
        self.log = tempfile.TemporaryFile()   # the worker's stderr, shown if it dies
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(HERE), str(WORKER_MEMORY)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=str(HERE),
            env=same_fastnet_env())

    def call(self, name, *args):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        data = pickle.dumps((name, args))
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
            head = self.proc.stdout.read(8)
        except BrokenPipeError:
            head = b""
        if len(head) < 8:
            code = self.proc.wait()
            how = ("signal {}".format(signal.Signals(-code).name) if code < 0
                   else "exit code {}".format(code))
            self.proc = None
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace")[-1500:]
            raise Crash("the worker died ({}) running {}{!r}; its last words:\n{}".format(
                how, name, args, tail))
        return pickle.loads(self.proc.stdout.read(struct.unpack("<Q", head)[0]))

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None


def clear_error(result, allowed=("ValueError", "TypeError")):
    """Assert that a sandbox result is a success or an error of an allowed kind
    with a message; return True for an error."""
    if result[0] == "ok":
        return False
    _, kind, message, mro, _ = result
    assert any(k in mro for k in allowed), "{}: {}".format(kind, message)
    assert message.strip(), "{} without a message".format(kind)
    return True
