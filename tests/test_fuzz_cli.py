"""Property test of the command line on generated argument strings: any bad
argument ends in one line on stderr and exit code 2, before anything is
loaded or allocated.  ``--data`` is always pointed at a missing folder, so
arguments that are all valid also stop (with exit 2) before loading data."""
import contextlib
import io

from hypothesis import given
from hypothesis import strategies as st

from fastnet import cli
from .fuzzing import FUZZ

MISSING = "/nonexistent/fastnet-fuzz-data"

TRAIN_OPTIONS = ["--sizes", "--epochs", "--mini-batch-size", "--eta", "--lmbda", "--dtype",
                 "--seed", "--dataset", "--limit", "--save", "--quiet"]
SPEED_OPTIONS = ["--quick", "--seeds", "--speed-seeds", "--seed", "--epochs", "--speed-images",
                 "--table-epochs", "--table-images", "--no-table", "--workers", "--out",
                 "--no-plots", "--quiet"]

numbers = st.one_of(
    st.integers(-10, 10), st.integers(), st.sampled_from([2 ** 31, 2 ** 32, 2 ** 63, 10 ** 30]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324]))
values = st.one_of(
    numbers.map(str),
    st.lists(st.one_of(st.integers(-2, 40), st.sampled_from([784, 10, 2 ** 31, 500000000])),
             max_size=5).map(lambda xs: ",".join(map(str, xs))),
    st.sampled_from(["", "-", "--", "nan", "inf", "1e3", "0x10", "1_000", " 7 ", "784,,10",
                     "float16", "mnist", "fashion", "/proc/x.json", "/dev/null/x", "\udcff",
                     "a\u00e9b", "9" * 5000]),
    st.text(max_size=8))


def argument_lists(options):
    return st.lists(st.one_of(st.sampled_from(options), values,
                              st.tuples(st.sampled_from(options), values).map(list)),
                    max_size=6).map(lambda items: [str(x) for item in items for x in
                                                   (item if isinstance(item, list) else [item])])


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(st.one_of(argument_lists(TRAIN_OPTIONS).map(lambda a: ["train"] + a),
                 argument_lists(SPEED_OPTIONS).map(lambda a: ["speed"] + a)))
def test_bad_arguments_end_in_one_usage_line(argv):
    argv = [a for a in argv if a not in ("-h", "--help")] + ["--data", MISSING]
    code, out, err = run(argv)
    assert code == 2, (code, err)
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(("fastnet train: error:", "fastnet speed: error:",
                           "fastnet: error:")), err
    assert "Traceback" not in err
