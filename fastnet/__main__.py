"""``python -m fastnet``: the command line of fastnet.cli."""
import signal
import sys

# Until main() takes Ctrl-C over, it quits quietly with exit code 130 (a
# SystemExit raised inside whatever import is running: no traceback).
signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))

from fastnet.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
