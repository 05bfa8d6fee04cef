"""What a user meets around the package itself: the error in an unbuilt source tree, the
benchmarks run from one, and the installed metadata."""
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import fastnet

INSTALLED = Path(fastnet.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[1]


def unbuilt_tree(folder, source_tree=True):
    """fastnet's Python files without the compiled kernels, as a fresh clone has them."""
    shutil.copytree(INSTALLED, folder / "fastnet",
                    ignore=lambda d, names: [n for n in names if n == "__pycache__" or not (
                        n.endswith(".py") or os.path.isdir(os.path.join(d, n)))])
    if source_tree:
        (folder / "setup.py").write_text("")
        (folder / "pyproject.toml").write_text("")
    return folder


def run_python(code, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=60)


def test_unbuilt_source_tree_says_what_to_do(tmp_path):
    tree = unbuilt_tree(tmp_path)
    assert sorted(p.name for p in (tree / "fastnet" / "_kernels").iterdir()) == ["__init__.py"]
    r = run_python("import fastnet", cwd=tree)
    assert r.returncode == 1
    assert ("ImportError: fastnet's compiled kernels are not built in {}".format(tree / "fastnet")
            in r.stderr)
    assert "run Python from any other folder" in r.stderr and "pip install -e ." in r.stderr


def test_python_m_fastnet_in_an_unbuilt_source_tree_prints_the_message_not_a_traceback(tmp_path):
    tree = unbuilt_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "fastnet", "--help"], cwd=str(tree), env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(
        "fastnet's compiled kernels are not built in {}".format(tree / "fastnet")), r.stderr
    assert "pip install -e ." in r.stderr


def test_installed_copy_without_kernels_says_reinstall(tmp_path):
    tree = unbuilt_tree(tmp_path, source_tree=False)
    r = run_python("import fastnet", cwd=tree)
    assert r.returncode == 1
    assert "without its compiled kernels" in r.stderr and "reinstall" in r.stderr


def test_benchmarks_in_an_unbuilt_tree_use_the_installed_fastnet(tmp_path):
    if (INSTALLED.parent / "setup.py").is_file():
        pytest.skip("fastnet is imported from a source tree built in place (as tools/asan.sh "
                    "does), not from an installed copy")
    tree = unbuilt_tree(tmp_path)
    shutil.copytree(REPO / "benchmarks", tree / "benchmarks")
    r = run_python("import benchmarks, fastnet; print(fastnet.__file__)", cwd=tree)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).resolve().parent == INSTALLED


def installed_distribution():
    """The metadata installed beside the imported fastnet (not a source tree's egg-info,
    which comes first on sys.path when the tests run from the repository root)."""
    found = list(metadata.distributions(name="fastnet", path=[str(INSTALLED.parent)]))
    assert found, "no metadata for fastnet in {}".format(INSTALLED.parent)
    return found[0]


def test_metadata_names_the_license_file():
    if (INSTALLED.parent / "setup.py").is_file():
        pytest.skip("fastnet is imported from a source tree built in place (as tools/asan.sh "
                    "does): there is no installed metadata")
    dist = installed_distribution()
    assert dist.metadata["License-Expression"] == "MIT"
    assert dist.metadata.get_all("License-File") == ["LICENSE"]
    files = [str(f) for f in dist.files]
    assert any(f.endswith("licenses/LICENSE") for f in files)
    # The wheel carries the compiled module, never C sources (generated or hand-written).
    assert any(f.startswith("fastnet/_kernels/training.") and not f.endswith(".pyx")
               for f in files)
    assert not any(f.endswith((".c", ".h")) for f in files)


def test_the_sanitizer_script_builds_with_both_sanitizers_and_recovers_from_nothing():
    """tools/asan.sh: AddressSanitizer and UndefinedBehaviorSanitizer (a misaligned
    load is undefined behaviour, found only by the second), with no recovery, and a
    check that each built module carries both runtimes.  tools/ is not among
    cibuildwheel's test-sources, so the wheels' test step has no script to read."""
    script = REPO / "tools" / "asan.sh"
    if not script.is_file():
        pytest.skip("tools/asan.sh is not in this copy of the tests (cibuildwheel's)")
    text = script.read_text()
    assert 'sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"' in text
    assert 'CFLAGS="$sanitize' in text and 'LDFLAGS="$sanitize"' in text
    assert "grep __asan_" in text and "grep __ubsan_" in text
    assert "halt_on_error=1" in text and "UBSAN_OPTIONS=" in text
