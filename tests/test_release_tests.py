"""The wheels' own test step can pass: what the test files import is installed there.

cibuildwheel tests each wheel from a copy of ``test-sources`` in a fresh
environment holding the wheel, its dependencies and ``test-requires``, and
nothing else.  A test file that imports another package at its top fails to
be collected there, and the wheel is never released.  This reads the
settings in pyproject.toml and every file the copy holds, so a new test file
is checked the day it is added.
"""
import ast
import functools
import importlib.metadata
import importlib.util
import re
import sys
import sysconfig
from pathlib import Path

try:
    import tomllib
except ImportError:   # Python < 3.11: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _settings():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirement_name(spec):
    return re.match(r"[A-Za-z0-9._-]+", spec).group(0)


def _modules_of(distribution):
    """The top-level modules a distribution installs (its import names)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return {distribution.replace("-", "_").lower()}
    top = dist.read_text("top_level.txt")
    if top:
        return set(top.split())
    names = set()
    for f in dist.files or ():
        first = f.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".data", ".pth")) or first == "..":
            continue
        names.add(first[:-3] if first.endswith(".py") else first)
    return names


def _is_stdlib(name):
    if hasattr(sys, "stdlib_module_names"):
        return name in sys.stdlib_module_names
    spec = importlib.util.find_spec(name)   # Python 3.9: by where the module lives
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return spec is not None
    stdlib = sysconfig.get_paths()["stdlib"]
    return spec.origin.startswith(stdlib) and "site-packages" not in spec.origin


def _catches_import_error(handler):
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(getattr(k, "id", None) in names for k in kinds)


def _unguarded_imports(body, skipped=()):
    """(top-level package, line) of each import run when the file is imported, except
    those inside ``try`` with an ImportError handler and those of a module
    that a module-level ``pytest.importorskip("...")`` before it skips on."""
    found = []
    for name, line in _unguarded_modules(body, skipped):
        if (name.split(".")[0], line) not in found:
            found.append((name.split(".")[0], line))
    return found


def _importorskips(body):
    """(module, line) of each module-level ``pytest.importorskip("module")``."""
    for node in body:
        for call in ast.walk(node) if isinstance(node, (ast.Assign, ast.Expr)) else ():
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "importorskip" \
                    and call.args and isinstance(call.args[0], ast.Constant):
                yield call.args[0].value.split(".")[0], node.lineno


def _unguarded_modules(body, skipped=()):
    """As _unguarded_imports, with the modules' dotted names: for ``from a.b import c``
    both ``a.b`` and ``a.b.c`` (c may be a module)."""
    skipped = set(skipped)
    for node in body:
        for call in ast.walk(node) if isinstance(node, (ast.Assign, ast.Expr)) else ():
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "importorskip" \
                    and call.args and isinstance(call.args[0], ast.Constant):
                skipped.add(call.args[0].value.split(".")[0])
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module] + ["{}.{}".format(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Try):
            if not any(_catches_import_error(h) for h in node.handlers):
                yield from _unguarded_modules(node.body, skipped)
            yield from _unguarded_modules(node.orelse + node.finalbody, skipped)
            continue
        elif isinstance(node, (ast.If, ast.With)):
            yield from _unguarded_modules(node.body + getattr(node, "orelse", []), skipped)
            continue
        else:
            continue
        for name in names:
            if name.split(".")[0] not in skipped:
                yield name, node.lineno


@functools.lru_cache(maxsize=None)
def _direct_imports_of_fastnet_module(name):
    """(other packages as (package, where), fastnet modules) that fastnet's module
    ``name`` imports at the top of its file; nothing if ``name`` is no module."""
    parent = name.rpartition(".")[0]
    if parent:   # a name under a module that is no package is an attribute (not imported)
        parent_spec = importlib.util.find_spec(parent)
        if parent_spec is None or parent_spec.submodule_search_locations is None:
            return (), ()
    spec = importlib.util.find_spec(name)
    if spec is None or not (spec.origin or "").endswith(".py"):
        return (), ()            # not a module (an attribute), or compiled
    path = Path(spec.origin)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    others, own = [], []
    for module, line in _unguarded_modules(tree.body):
        if module.split(".")[0] == "fastnet":
            own.append(module)
        else:
            others.append((module.split(".")[0], "{} line {}".format(name, line)))
    return tuple(others), tuple(own)


def _imports_of_fastnet_module(name):
    """(top-level package, where) of what importing fastnet's module ``name`` imports
    at the top of its file and of every fastnet module that imports in turn: a test
    file's ``from fastnet.sklearn import ...`` needs scikit-learn installed."""
    found, visited, todo = [], set(), [name]
    while todo:
        module = todo.pop()
        if module not in visited:
            visited.add(module)
            others, own = _direct_imports_of_fastnet_module(module)
            found += others
            todo += own
    return found


def test_every_top_level_import_of_the_tests_is_installed_in_the_wheel_test_step():
    settings = _settings()
    cibw = settings["tool"]["cibuildwheel"]
    requires = cibw.get("test-requires", [])
    requires = requires.split() if isinstance(requires, str) else requires
    sources = cibw.get("test-sources", [])
    assert "tests" in sources and "tests" in cibw["test-command"], cibw
    installed = {"fastnet"}
    for spec in list(requires) + settings["project"]["dependencies"]:
        installed |= _modules_of(_requirement_name(spec))

    copied = [ROOT / s for s in sources if (ROOT / s).is_dir()]
    local = {p.stem for d in copied for p in d.iterdir()} | {d.name for d in copied}
    missing = []
    for folder in copied:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            skips = list(_importorskips(tree.body))
            for full, line in _unguarded_modules(tree.body):
                skipped = {m for m, at in skips if at < line}
                for module, where in _imports_of_fastnet_module(full) \
                        if full.split(".")[0] == "fastnet" else ():
                    if module not in installed | skipped and not _is_stdlib(module):
                        missing.append("{}:{}: {} (through {})".format(
                            path.relative_to(ROOT), line, module, where))
            for module, line in _unguarded_imports(tree.body):
                if module == "benchmarks" and "benchmarks" not in local:
                    missing.append("{}:{}: benchmarks (not in test-sources)".format(
                        path.relative_to(ROOT), line))
                elif module not in installed and module not in local \
                        and not _is_stdlib(module):
                    missing.append("{}:{}: {}".format(path.relative_to(ROOT), line, module))
    assert not missing, ("imported at the top of a test file, but not installed by "
                         "cibuildwheel's test-requires or the package's dependencies: "
                         + ", ".join(missing))


def test_the_check_sees_what_it_must():
    """The import finder on the forms the test files use."""
    source = (
        "import os\nimport hypothesis.strategies as st\nfrom numpy import linalg\n"
        "try:\n    import tqdm\nexcept ImportError:\n    tqdm = None\n"
        "try:\n    import yaml\nfinally:\n    pass\n"
        "sk = pytest.importorskip('sklearn')\nfrom sklearn import svm\n"
        "if True:\n    import pandas\n"
        "def f():\n    import matplotlib\n")
    found = [m for m, _ in _unguarded_imports(ast.parse(source).body)]
    assert found == ["os", "hypothesis", "numpy", "yaml", "pandas"]
    assert "pytest" in _modules_of("pytest") and _is_stdlib("json") and not _is_stdlib("numpy")
    # Through fastnet's own modules: fastnet.sklearn needs scikit-learn at its top,
    # fastnet itself only the runtime dependencies.
    through = dict(_imports_of_fastnet_module("fastnet.sklearn"))
    assert "sklearn" in through and "numpy" in through
    assert "fastnet.sklearn line" in through["sklearn"]
    assert not _imports_of_fastnet_module("fastnet.sklearn.FastNetClassifier")
    found = {m for m, _ in _imports_of_fastnet_module("fastnet")}
    assert found and all(_is_stdlib(m) or m in ("numpy", "scipy", "threadpoolctl")
                         for m in found), found
