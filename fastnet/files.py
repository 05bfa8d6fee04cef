"""Writing files so that a crash never leaves half of one behind.

Every file fastnet writes (saved networks, reports, figures, the data cache)
goes through ``write_atomically``: the bytes go to a temporary file in the
same folder, are flushed to disk, and only then is the temporary renamed over
the target.  A rename within one folder is atomic, so readers see either the
old file or the new one, never a mixture.

The temporary is created with ``os.open(..., 0o666)``, so the process umask
applies to it exactly as it would to ``open(path, "w")``: no thread-unsafe
``os.umask`` dance is needed.

Leftovers.  A process killed while writing (``kill -9``, a power cut) leaves
its temporary behind: a hidden file named ``.fastnet-<target name>-<8 hex
digits>.tmp`` beside the target, which never replaces the target.  While a
writer is alive it holds an exclusive ``flock`` on its temporary; the next
``write_atomically`` into the same folder deletes every such file that nobody
holds and that has not been touched for ``STALE_AFTER`` seconds (on systems
without ``flock``: for ``STALE_AFTER_UNLOCKED`` seconds).
``remove_stale_temporaries(folder)`` does the same on demand.
"""
import os
import re
import secrets
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, temporaries age out instead
    fcntl = None

TEMPORARY_PREFIX = ".fastnet-"
TEMPORARY_SUFFIX = ".tmp"
# A temporary's name: prefix, target name, 8 hex digits, suffix.
TEMPORARY_NAME = re.compile(r"^\.fastnet-.+-[0-9a-f]{8}\.tmp$", re.DOTALL)
# An unlocked temporary younger than this may be one whose writer has just
# created it and not yet locked it: leave it alone.
STALE_AFTER = 10.0
STALE_AFTER_UNLOCKED = 3600.0


def temporary_name(path):
    """A fresh temporary path beside ``path`` (not created)."""
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.join(folder, "{}{}-{}{}".format(
        TEMPORARY_PREFIX, os.path.basename(path), secrets.token_hex(4), TEMPORARY_SUFFIX))


def _create(temporary):
    """Create ``temporary`` exclusively with mode 0o666 less the umask; lock it."""
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_BINARY", 0), 0o666)
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a file system without locks: age alone marks leftovers
            pass
    return handle


def write_atomically(path, write):
    """Create or replace ``path`` with what ``write(binary_file)`` writes.

    If ``write`` raises (or the process is interrupted), ``path`` is left as
    it was and the temporary file is removed.  Leftovers of killed writers in
    the same folder are removed first (see the module's docstring).
    """
    path = os.fspath(path)
    remove_stale_temporaries(os.path.dirname(os.path.abspath(path)))
    temporary = temporary_name(path)
    try:
        handle = _create(temporary)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            # Renamed while still open, and so still locked: a cleaner in
            # another process never sees it unlocked under its temporary name.
            os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError) and temporary in (error.filename, error.filename2):
            raise _naming(error, path) from None
        raise


def _naming(error, path):
    """``error`` (an OSError about the temporary file) as the same error about ``path``,
    the name the caller gave."""
    return type(error)(error.errno, error.strerror, path)


def probe_writable(path):
    """Raise OSError (or ValueError for an impossible name) unless ``path``
    could be written by ``write_atomically``: creates and removes a temporary
    beside it.  Lets a long job find an unwritable output before it starts."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    temporary = temporary_name(path)
    try:
        os.close(_create(temporary))
    except OSError as error:
        raise _naming(error, path) from None
    os.unlink(temporary)


def remove_stale_temporaries(folder):
    """Delete the temporaries that killed writers left in ``folder``; return their names.

    Only files named like fastnet's temporaries are considered, and of those
    only the ones no live writer holds locked and that are old enough (see the
    module's docstring).  Errors (a folder that cannot be read, a file that
    vanished) are ignored: this is housekeeping.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not TEMPORARY_NAME.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if fcntl is None:
                if age > STALE_AFTER_UNLOCKED:
                    os.unlink(entry.path)
                    removed.append(entry.name)
                continue
            if age <= STALE_AFTER:
                continue
            handle = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live writer holds it
                os.unlink(entry.path)
                removed.append(entry.name)
            finally:
                os.close(handle)
        except OSError:
            continue
    return removed
