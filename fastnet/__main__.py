"""``python -m fastnet``: the command line of fastnet.cli."""
import signal
import sys


def _quit(signum, frame):
    """Until main() takes Ctrl-C over, it quits with one line and exit code 130
    (a SystemExit raised inside whatever import is running: no traceback)."""
    print("fastnet: interrupted", file=sys.stderr)
    sys.exit(130)


signal.signal(signal.SIGINT, _quit)

from fastnet.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
