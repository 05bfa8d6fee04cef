"""fastnet.files: atomic writes, leftovers of killed writers, the umask, and probing."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastnet
from fastnet import files

PACKAGE_ROOT = Path(fastnet.__file__).resolve().parents[1]

# A writer that writes a first megabyte and then hangs in fsync, holding its temporary.
HANGING_WRITER = """
import os, sys, time
from fastnet import files
os.fsync = lambda fd: (print("writing", flush=True), time.sleep(60))
files.write_atomically(sys.argv[1], lambda f: f.write(b"x" * (1 << 20)))
"""


def start_hanging_writer(target):
    proc = subprocess.Popen([sys.executable, "-c", HANGING_WRITER, str(target)],
                            env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)),
                            cwd=str(Path(target).parent),     # not a source tree
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n"
    return proc


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if files.TEMPORARY_NAME.match(p.name))


def age(path, seconds):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_write_replaces_and_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "net.json"
    files.write_atomically(target, lambda f: f.write(b"old"))
    def fail_halfway(f):
        f.write(b"half")
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        files.write_atomically(target, fail_halfway)
    assert target.read_bytes() == b"old" and temporaries(tmp_path) == []


def test_umask_applies(tmp_path):
    old = os.umask(0o027)
    try:
        files.write_atomically(tmp_path / "a", lambda f: f.write(b"a"))
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640


def test_killed_writer_leaves_a_recognisable_temporary_that_is_cleaned(tmp_path):
    target = tmp_path / "net.json"
    target.write_bytes(b"the old network")
    proc = start_hanging_writer(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = temporaries(tmp_path)
    assert len(left) == 1 and left[0].startswith(".fastnet-net.json-")
    assert (tmp_path / left[0]).stat().st_size == 1 << 20
    assert target.read_bytes() == b"the old network"     # never touched
    # Young leftovers are kept (their writer may not have locked them yet) ...
    assert files.remove_stale_temporaries(tmp_path) == []
    # ... older ones go with the next write into the folder.
    age(tmp_path / left[0], files.STALE_AFTER + 1)
    files.write_atomically(tmp_path / "other.json", lambda f: f.write(b"{}"))
    assert temporaries(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "other.json"]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    proc = start_hanging_writer(tmp_path / "big.json")
    try:
        (name,) = temporaries(tmp_path)
        age(tmp_path / name, 3 * 3600)
        assert files.remove_stale_temporaries(tmp_path) == []
        assert temporaries(tmp_path) == [name]
    finally:
        proc.kill()
        proc.wait()
    assert files.remove_stale_temporaries(tmp_path) == [name]


def test_other_files_are_never_removed(tmp_path):
    names = ["notes.tmp", ".fastnet-net.json.tmp", ".fastnet-net.json-XYZ12345.tmp",
             "fastnet-net.json-0123abcd.tmp", ".fastnet-net.json-0123abcd.tmp.bak"]
    for name in names:
        (tmp_path / name).write_bytes(b"mine")
        age(tmp_path / name, 3 * 3600)
    (tmp_path / ".fastnet-dir-0123abcd.tmp").mkdir()
    assert files.remove_stale_temporaries(tmp_path) == []
    assert len(list(tmp_path.iterdir())) == len(names) + 1
    assert files.remove_stale_temporaries(tmp_path / "missing") == []


def test_probe_writable(tmp_path):
    files.probe_writable(tmp_path / "net.json")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IsADirectoryError):
        files.probe_writable(tmp_path)
    with pytest.raises(OSError):
        files.probe_writable("/proc/net.json")
    with pytest.raises(FileNotFoundError):
        files.probe_writable(tmp_path / "missing" / "net.json")
    with pytest.raises(ValueError):
        files.probe_writable(str(tmp_path / "a\0b"))


def test_save_killed_midway_leaves_a_temporary_the_next_save_cleans(tmp_path):
    """kill -9 during Network.save: the target is intact, the leftover is one of
    fastnet.files' temporaries, and the next save removes it."""
    code = ("import os, sys, time, fastnet\n"
            "os.fsync = lambda fd: (print('writing', flush=True), time.sleep(60))\n"
            "fastnet.Network([3, 2], random_state=0).save(sys.argv[1])\n")
    target = tmp_path / "net.json"
    fastnet.Network([3, 2], random_state=1).save(str(target))
    before = target.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE,
                            cwd=str(Path(target).parent),
                            text=True, env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)))
    assert proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == before
    leftovers = [p for p in tmp_path.iterdir() if p.name != "net.json"]
    assert len(leftovers) == 1 and files.TEMPORARY_NAME.match(leftovers[0].name), leftovers
    age(leftovers[0], files.STALE_AFTER + 1)
    fastnet.Network([3, 2], random_state=2).save(str(target))
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


def test_save_writes_through_a_symlink_and_keeps_the_mode(tmp_path):
    real = tmp_path / "real.json"
    fastnet.Network([3, 2], random_state=1).save(str(real))
    os.chmod(real, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fastnet.Network([3, 2], random_state=2).save(str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert fastnet.network2.load(str(real)).weights[0].tolist() == \
        fastnet.Network([3, 2], random_state=2).weights[0].tolist()
    assert real.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]
    # A dangling link gets its target created.
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "new.json")
    fastnet.Network([3, 2], random_state=3).save(str(dangling))
    assert dangling.is_symlink() and (tmp_path / "new.json").is_file()


def _fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.parametrize("where", ["folder", "fifo", "/dev/null", "link to /dev/null", ""])
def test_save_refuses_what_is_not_a_regular_file(tmp_path, where):
    path = {"folder": lambda: tmp_path, "fifo": lambda: _fifo(tmp_path),
            "/dev/null": lambda: "/dev/null", "": lambda: ""}.get(where, lambda: None)()
    if where == "link to /dev/null":
        path = tmp_path / "null"
        path.symlink_to("/dev/null")
    # The check comes before anything is written (run as root, a rename would
    # replace the device node).
    with pytest.raises(OSError) as probed:
        files.probe_writable(path)
    with pytest.raises(OSError) as saved:
        fastnet.Network([3, 2], random_state=0).save(str(path))
    for e in (probed.value, saved.value):
        assert e.filename == str(path) and "temporary" not in str(e)
        assert ("folder" in str(e) or "regular file" in str(e) or "empty name" in str(e)), e
    if where != "":
        assert not temporaries(os.path.dirname(os.path.realpath(path)))
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


FULL_DISK_SAVE = """
import resource, signal, sys, fastnet
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    fastnet.Network([100, 100], random_state=2).save(sys.argv[1])
except OSError as e:
    print(e.errno, e.filename, sep="\\n")
"""


def test_a_failed_save_names_the_users_path_and_keeps_the_old_file(tmp_path):
    """A save that fails halfway (here: a file-size limit, as a full disk would)."""
    target = tmp_path / "net.json"
    fastnet.Network([3, 2], random_state=1).save(str(target))
    before = target.read_bytes()
    out = subprocess.run([sys.executable, "-c", FULL_DISK_SAVE, str(target)],
                         cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)),
                         capture_output=True, text=True, timeout=120)
    import errno
    assert out.stdout.split("\n")[:2] == [str(errno.EFBIG), str(target)], out
    assert target.read_bytes() == before and temporaries(tmp_path) == []
