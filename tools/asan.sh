#!/usr/bin/env bash
# Build fastnet's kernels with AddressSanitizer and UndefinedBehaviorSanitizer and run
# the test suite against them.
#
#   tools/asan.sh                 # the whole suite
#   tools/asan.sh tests/test_fuzz_network.py -x      # arguments go to pytest
#
# Uses the current Python (a venv with fastnet's test extra installed: pip
# install ".[test]"); installs the build requirements into it if missing.  The
# sources are copied to a temporary folder and built there in place with
# -fsanitize=address,undefined, so neither the work tree nor the installed
# package changes.  Python itself is not instrumented: libasan is preloaded, leak
# checking is off (CPython keeps memory until exit) and any other error --
# heap overflow, use after free, out-of-bounds read in a kernel -- aborts the
# process with a report, which fails the test (the fuzz tests' sandbox
# workers inherit the preload, so their inputs are checked too).  Undefined
# behaviour in a kernel (a misaligned load, a signed overflow, a shift past
# the width) aborts the same way: nothing is recovered from.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"

# The build requirements of pyproject.toml (a no-op when they are there).
"$python" -m pip install -q "Cython>=3.0" "setuptools>=77" wheel

work="$(mktemp -d "${TMPDIR:-/tmp}/fastnet-asan.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$here" && git ls-files -z | xargs -0 cp --parents -t "$work")

libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "asan.sh: libasan.so not found (apt-get install gcc)" >&2; exit 1; }

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
echo "asan.sh: building the kernels with $sanitize in $work" >&2
(cd "$work" && CFLAGS="$sanitize -fno-omit-frame-pointer -g" \
    LDFLAGS="$sanitize" "$python" setup.py -q build_ext --inplace >/dev/null)
# The build must really be instrumented.
for module in "$work"/fastnet/_kernels/*.so; do
    nm -D "$module" | grep __asan_ >/dev/null \
        || { echo "asan.sh: $(basename "$module") was built without ASan" >&2; exit 1; }
    nm -D "$module" | grep __ubsan_ >/dev/null \
        || { echo "asan.sh: $(basename "$module") was built without UBSan" >&2; exit 1; }
done

# libstdc++ is preloaded too: without it, ASan's interceptor of C++ exceptions
# finds no __cxa_throw and aborts ("CHECK failed: ... real___cxa_throw") as
# soon as a C++ extension (matplotlib's) throws one.
export LD_PRELOAD="$libasan $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="abort_on_error=1:halt_on_error=1:print_stacktrace=1"
export PYTHONPATH="$work"
export FASTNET_TEST_DATA="${FASTNET_TEST_DATA:-$(cd "$here/.." && pwd)/shared/data/mnist}"
cd "$work"
# Check that the tests import the instrumented build, not an installed fastnet.
"$python" -c "import fastnet._kernels.training as t, sys; sys.exit(not t.__file__.startswith('$work'))" \
    || { echo "asan.sh: the tests would not use the instrumented build" >&2; exit 1; }
echo "asan.sh: running the tests with $libasan preloaded" >&2
"$python" -m pytest -p no:cacheprovider "$@"
