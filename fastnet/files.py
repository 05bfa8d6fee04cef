"""Writing files so that a crash never leaves half of one behind.

Every file fastnet writes (saved networks, reports, figures, the data cache)
goes through ``write_atomically``: the bytes go to a temporary file in the
same folder, are flushed to disk, and only then is the temporary renamed over
the target.  A rename within one folder is atomic, so readers see either the
old file or the new one, never a mixture.

The temporary is created with ``os.open(..., 0o666)``, so the process umask
applies to it exactly as it would to ``open(path, "w")``: no thread-unsafe
``os.umask`` dance is needed.
"""
import os
import secrets

TEMPORARY_PREFIX = ".fastnet-"
TEMPORARY_SUFFIX = ".tmp"


def write_atomically(path, write):
    """Create or replace ``path`` with what ``write(binary_file)`` writes.

    If ``write`` raises (or the process is interrupted), ``path`` is left as
    it was and the temporary file is removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, "{}{}-{}{}".format(
        TEMPORARY_PREFIX, os.path.basename(path), secrets.token_hex(4), TEMPORARY_SUFFIX))
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
