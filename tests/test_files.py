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
