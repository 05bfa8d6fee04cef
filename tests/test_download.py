"""Downloads from a real HTTP server on 127.0.0.1 that serves the real MNIST files,
well or badly.  Every failure must end in a clear error or a fallback to the next
mirror, and must never leave a partial or bad file in the cache."""

import gzip
import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import fastnet
from fastnet import datasets, files
from fastnet.datasets import ChecksumError, DataNotFoundError, download, load_mnist

from .helpers import MNIST_DIR as DATA, posix_signals

NAMES = list(datasets.IDX_FILES.values())

pytestmark = pytest.mark.mnist


# 4096 gzip members of 1 MiB of zeros: 4 MB that inflate to 4 GiB.
BOMB = gzip.compress(b"\0" * (1 << 20), compresslevel=9) * 4096


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /<mode>/<name>.gz, where mode says how to misbehave:
    good, corrupt (valid gzip, altered content), truncated (fewer bytes than
    Content-Length), missing (404), hang (never answers), stall (half, then silence),
    plain (the uncompressed IDX file under the .gz name), bomb (the real file
    followed by gzip members that inflate to 4 GiB more)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        mode, _, filename = self.path.lstrip("/").partition("/")
        server.requests.append((mode, filename))
        server.agents.add(self.headers.get("User-Agent"))
        path = DATA / filename
        if mode == "missing" or not path.is_file():
            self.send_error(404, "Not Found")
            return
        if mode == "hang":
            server.release.wait(10)
            return
        body = path.read_bytes()
        if mode == "plain":
            body = gzip.decompress(body)
        if mode == "bomb":
            body += BOMB
        if mode == "corrupt":
            content = bytearray(gzip.decompress(body))
            content[-1] ^= 0xFF
            body = gzip.compress(bytes(content), compresslevel=1)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode in ("truncated", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                server.release.wait(10)
            self.close_connection = True
            return
        try:
            self.wfile.write(body)
        except ConnectionError:  # the client gave up on it (as on a bomb): fine
            pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.agents = set()
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = httpd.server_address[1]
    httpd.url = lambda mode: "http://127.0.0.1:{}/{}/".format(port, mode)
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_outside_data(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.delenv("FASTNET_MIRRORS", raising=False)
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "unused-cache"))


@pytest.fixture(scope="module")
def expected():
    return load_mnist(DATA)


def cache_files(cache):
    folder = Path(cache) / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


GOOD = sorted(n + ".gz" for n in NAMES)


def test_good_mirror(server, tmp_path, expected):
    data = load_mnist(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5, progress=False)
    assert cache_files(tmp_path) == GOOD
    for name in GOOD:  # the files are stored as served
        assert (tmp_path / "mnist" / name).read_bytes() == (DATA / name).read_bytes()
    for (X, y), (X2, y2) in zip(data, expected):
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert server.agents == {datasets.USER_AGENT}
    # A second call uses the cache and asks the server nothing.
    count = len(server.requests)
    load_mnist(cache_dir=tmp_path, mirrors=[server.url("good")], progress=False)
    assert len(server.requests) == count


def test_corrupt_file_is_rejected(server, tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        download(cache_dir=tmp_path, mirrors=[server.url("corrupt")], timeout=5)
    assert "SHA-256 mismatch" in str(info.value) and "train-labels-idx1-ubyte.gz" in str(info.value)
    assert cache_files(tmp_path) == []


def test_corrupt_then_fallback(server, tmp_path):
    download(cache_dir=tmp_path, mirrors=[server.url("corrupt"), server.url("good")], timeout=5)
    assert cache_files(tmp_path) == GOOD
    # the failed mirror was asked once, then moved to the back of the list
    # (label files come first, so a bad mirror costs little)
    assert [r for r in server.requests if r[0] == "corrupt"] == [("corrupt", NAMES[1] + ".gz")]


def test_truncated_transfer(server, tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        download(cache_dir=tmp_path, mirrors=[server.url("truncated")], timeout=5)
    message = str(info.value)
    assert "could not download train-labels-idx1-ubyte.gz" in message
    assert "IncompleteRead" in message or "cut short" in message or "truncated" in message
    assert cache_files(tmp_path) == []


def test_404_then_fallback(server, tmp_path):
    with pytest.raises(DataNotFoundError, match="HTTP 404"):
        download(cache_dir=tmp_path, mirrors=[server.url("missing")], timeout=5)
    assert cache_files(tmp_path) == []
    download(cache_dir=tmp_path, mirrors=[server.url("missing"), server.url("good")], timeout=5)
    assert cache_files(tmp_path) == GOOD


def test_hanging_mirror_times_out_then_fallback(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DataNotFoundError, match="timed out"):
        download(cache_dir=tmp_path, mirrors=[server.url("hang")], timeout=0.3)
    assert time.monotonic() - start < 5
    assert cache_files(tmp_path) == []
    download(cache_dir=tmp_path, mirrors=[server.url("hang"), server.url("good")], timeout=0.3)
    assert cache_files(tmp_path) == GOOD


def test_stalled_transfer_times_out(server, tmp_path):
    with pytest.raises(DataNotFoundError, match="timed out"):
        download(cache_dir=tmp_path, mirrors=[server.url("stall")], timeout=0.3)
    assert cache_files(tmp_path) == []


def test_only_missing_files_are_fetched(server, tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in GOOD[:2]:
        (tmp_path / "mnist" / name).symlink_to(DATA / name)
    download(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5)
    assert sorted(name for _, name in server.requests) == GOOD[2:]
    assert cache_files(tmp_path) == GOOD


def test_per_mirror_hash_table(server, tmp_path):
    right = {n: hashlib.sha256((DATA / n).read_bytes()).hexdigest() for n in GOOD}
    wrong = dict(right, **{NAMES[0] + ".gz": "0" * 64})
    with pytest.raises(DataNotFoundError, match="does not match the mirror's table"):
        download(cache_dir=tmp_path, mirrors=[(server.url("good"), wrong)], timeout=5)
    # the label files, verified, stay; the bad file is not there, nor any leftover
    assert cache_files(tmp_path) == sorted(n + ".gz" for n in NAMES if "labels" in n)
    download(cache_dir=tmp_path, mirrors=[(server.url("good"), right)], timeout=5)
    assert cache_files(tmp_path) == GOOD


class InterruptedAtTheEnd:
    """A response that hands over the whole file, then meets Ctrl-C where the
    end of the file would be read: everything is written, nothing checked yet."""

    def __init__(self, response):
        self.response = response
        self.headers = response.headers

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.response.close()

    def read(self, n=-1):
        data = self.response.read(n)
        if not data:
            raise KeyboardInterrupt
        return data


def interrupting_opener(request, timeout):
    return InterruptedAtTheEnd(urllib.request.urlopen(request, timeout=timeout))


def test_interrupted_download_leaves_nothing(server, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        download(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5,
                 opener=interrupting_opener)
    assert cache_files(tmp_path) == []
    assert [mode for mode, _ in server.requests] == ["good"]   # it did arrive, whole
    with pytest.raises(KeyboardInterrupt):
        load_mnist(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5,
                   progress=False, opener=interrupting_opener)
    assert cache_files(tmp_path) == [] and not (tmp_path / "mnist").exists()


def test_the_opener_opens_every_file(server, tmp_path, expected):
    opened = []

    def opener(request, timeout):
        opened.append((request.full_url, request.get_header("User-agent"), timeout))
        return urllib.request.urlopen(request, timeout=timeout)

    data = load_mnist(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=4,
                      progress=False, opener=opener)
    assert sorted(url for url, _, _ in opened) == [server.url("good") + n for n in GOOD]
    assert {(agent, timeout) for _, agent, timeout in opened} == {(datasets.USER_AGENT, 4)}
    assert np.array_equal(data[0][1], expected[0][1])


@posix_signals
def test_killed_download_leaves_no_file_under_a_real_name(server, tmp_path):
    """SIGKILL mid-transfer: at most a hidden temporary file is left, which the
    next download removes (nobody holds it locked any more)."""
    package_root = Path(fastnet.__file__).resolve().parents[1]
    code = ("import sys; from fastnet import datasets; "
            "datasets.download(cache_dir=sys.argv[1], mirrors=[sys.argv[2]], timeout=30)")
    env = dict(os.environ, PYTHONPATH=str(package_root))
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), server.url("stall")],
                            env=env, cwd=str(tmp_path))
    def partly_written():
        folder = tmp_path / "mnist"
        return folder.is_dir() and any(p.stat().st_size > 0 for p in folder.iterdir())

    try:
        deadline = time.monotonic() + 20
        while not partly_written():  # the first half of a file has arrived
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = cache_files(tmp_path)
    assert len(left) == 1 and files.TEMPORARY_NAME.match(left[0]), left
    assert left[0].startswith(".fastnet-train-labels-idx1-ubyte.gz-")
    assert (tmp_path / "mnist" / left[0]).stat().st_size > 0
    # The next download clears it away, once it is older than the few seconds
    # in which a live writer might not have locked it yet.
    part = tmp_path / "mnist" / left[0]
    old = time.time() - files.STALE_AFTER - 1
    os.utime(part, (old, old))
    download(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5)
    assert cache_files(tmp_path) == GOOD


def test_offline_error_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path / "my-data"))
    # a port nobody listens on: connection refused
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(cache_dir=tmp_path / "cache", mirrors=["http://127.0.0.1:9/"], timeout=2)
    message = str(info.value)
    assert "no MNIST files found" in message and "download failed" in message
    assert "127.0.0.1:9" in message and str(tmp_path / "cache" / "mnist") in message
    assert "--data PATH" in message and "FASTNET_DATA" in message
    assert cache_files(tmp_path / "cache") == []


def test_default_mirrors_and_hashes_are_consistent():
    for dataset in datasets.DATASETS:
        assert datasets.MIRRORS[dataset] and set(datasets.CONTENT_SHA256[dataset]) == set(NAMES)
    for name in NAMES:  # the shared files' contents match the known hashes
        content = gzip.decompress((DATA / (name + ".gz")).read_bytes())
        assert hashlib.sha256(content).hexdigest() == datasets.CONTENT_SHA256["mnist"][name]
    assert issubclass(ChecksumError, ValueError)


def test_mirrors_from_the_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNET_MIRRORS",
                       "{} , {}".format(server.url("missing"), server.url("good")))
    download(cache_dir=tmp_path, timeout=5)
    assert cache_files(tmp_path) == GOOD
    assert {mode for mode, _ in server.requests} == {"missing", "good"}


def test_mirror_serving_plain_idx_files(server, tmp_path, expected):
    data = load_mnist(cache_dir=tmp_path, mirrors=[server.url("plain")], timeout=5)
    assert cache_files(tmp_path) == sorted(NAMES)  # stored under their plain names
    assert np.array_equal(data[2][0], expected[2][0])


def test_file_url_mirror(tmp_path):
    download(cache_dir=tmp_path, mirrors=[DATA.as_uri()], timeout=5)
    assert cache_files(tmp_path) == GOOD


def test_gzip_bomb_falls_through_to_the_next_mirror(server, tmp_path):
    """A mirror serving a file that inflates to gigabytes: refused while it
    streams in, with a clear reason, and the next mirror is tried."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(DataNotFoundError) as info:
            download(cache_dir=tmp_path, mirrors=[server.url("bomb")], timeout=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "could not download train-labels-idx1-ubyte.gz" in message
    assert "holds more than the 60,008 bytes its IDX header promises" in message
    assert peak < 16 << 20, peak
    assert cache_files(tmp_path) == []
    count = len(server.requests)
    download(cache_dir=tmp_path, mirrors=[server.url("bomb"), server.url("good")], timeout=5)
    assert cache_files(tmp_path) == GOOD
    assert [r for r in server.requests[count:] if r[0] == "bomb"] == [("bomb", NAMES[1] + ".gz")]


def test_changed_cache_file_is_downloaded_again(server, tmp_path, expected):
    """A cached file whose contents no longer match the known SHA-256 (one label
    changed, still a valid IDX file) is deleted with a warning and fetched again."""
    download(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5)
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels = bytearray(gzip.decompress(target.read_bytes()))
    labels[8] = (labels[8] + 1) % 10
    target.write_bytes(gzip.compress(bytes(labels)))
    count = len(server.requests)
    with pytest.warns(UserWarning, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 of the contents "
                                         r"is [0-9a-f]{64}, not MNIST's .*; deleted it, "
                                         r"downloading it again"):
        data = load_mnist(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5,
                          progress=False)
    assert server.requests[count:] == [("good", "t10k-labels-idx1-ubyte.gz")]
    assert np.array_equal(data[2][1], expected[2][1])
    assert target.read_bytes() == (DATA / target.name).read_bytes()


def test_failed_download_leaves_no_empty_folders(tmp_path):
    cache = tmp_path / "home" / ".cache" / "fastnet"
    (tmp_path / "home").mkdir()
    with pytest.raises(DataNotFoundError, match="127.0.0.1:9"):
        load_mnist(cache_dir=cache, mirrors=["http://127.0.0.1:9/"], timeout=2)
    assert list((tmp_path / "home").iterdir()) == []
    # A folder that was there before stays.
    cache.mkdir(parents=True)
    with pytest.raises(DataNotFoundError):
        download(cache_dir=cache, mirrors=["http://127.0.0.1:9/"], timeout=2)
    assert cache.is_dir() and list(cache.iterdir()) == []


def test_downloaded_files_get_the_umask_permissions(server, tmp_path):
    old = os.umask(0o027)
    try:
        download(cache_dir=tmp_path, mirrors=[server.url("good")], timeout=5)
    finally:
        os.umask(old)
    for name in GOOD:
        assert (tmp_path / "mnist" / name).stat().st_mode & 0o777 == 0o640
