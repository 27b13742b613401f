"""Keeps BUILD true: Bazel cannot fetch its rules offline here, so this test
is what checks that BUILD names every module and test file, and that every
target declares the first- and third-party code it imports."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ("sdn_tf", "models", "train", "bench", "tests")
# Import name -> PyPI distribution named in requirement(...).
THIRD_PARTY = {
    "absl": "absl-py",
    "keras": "keras",
    "numpy": "numpy",
    "PIL": "pillow",
    "pytest": "pytest",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "tensorflow": "tensorflow",
    "tensorflow_datasets": "tensorflow-datasets",
    "tensorflow_probability": "tensorflow-probability",
    "torch": "torch",  # bench/ only: the authors' layer, when installed
}


def _python_files():
    found = set()
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
            found.update(
                os.path.relpath(os.path.join(dirpath, f), ROOT)
                for f in filenames
                if f.endswith(".py")
            )
    return found


def _targets():
    """Evaluates BUILD with stand-ins for the Bazel rules."""
    targets = {}

    def rule(kind):
        def record(name, srcs=(), deps=(), testonly=0, **kwargs):
            assert name not in targets, f"target {name!r} defined twice"
            targets[name] = dict(
                kind=kind, srcs=list(srcs), deps=list(deps), testonly=testonly, **kwargs
            )

        return record

    namespace = {
        "load": lambda *args: None,
        "package": lambda **kwargs: None,
        "requirement": lambda name: f"@pypi//{name}",
        "py_library": rule("py_library"),
        "py_test": rule("py_test"),
    }
    with open(os.path.join(ROOT, "BUILD"), encoding="utf-8") as f:
        exec(compile(f.read(), "BUILD", "exec"), namespace)  # noqa: S102
    return targets


def _module_file(module, files):
    path = module.replace(".", "/")
    for candidate in (f"{path}.py", f"{path}/__init__.py", f"tests/support/{path}.py"):
        if candidate in files:
            return candidate
    return None


def _imports(path, files):
    """First-party files and third-party distributions `path` imports."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    first, third = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pkg import mod` names a module when pkg/mod.py exists.
            submodules = [f"{node.module}.{a.name}" for a in node.names]
            modules = [m for m in submodules if _module_file(m, files)] or [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in THIRD_PARTY:
                third.add(THIRD_PARTY[top])
            elif (found := _module_file(module, files)) and found != path:
                first.add(found)
    return first, third


@pytest.fixture(scope="module")
def build():
    return _targets(), _python_files()


def test_every_python_file_is_in_exactly_one_target(build):
    targets, files = build
    owners = {}
    for name, target in targets.items():
        for src in target["srcs"]:
            assert src in files, f"{name} names {src}, which does not exist"
            assert src not in owners, f"{src} is in {owners[src]} and {name}"
            owners[src] = name
    missing = sorted(files - set(owners))
    assert not missing, f"BUILD does not name {missing}"


def test_tests_are_py_tests_and_helpers_are_testonly(build):
    targets, _ = build
    for name, target in targets.items():
        srcs = target["srcs"]
        is_test_file = any(s.endswith("_test.py") for s in srcs)
        assert (target["kind"] == "py_test") == is_test_file, name
        if all(s.startswith("tests/") for s in srcs) and not is_test_file:
            assert target["testonly"], f"{name} is a test helper: testonly = 1"


def test_deps_exist_and_cover_every_import(build):
    targets, files = build
    owner = {src: name for name, t in targets.items() for src in t["srcs"]}
    for name, target in targets.items():
        deps = set(target["deps"])
        for dep in deps:
            if dep.startswith(":"):
                assert dep[1:] in targets, f"{name} depends on unknown {dep}"
            else:
                assert dep.startswith("@pypi//"), f"{name}: unexpected dep {dep}"
        for src in target["srcs"]:
            first, third = _imports(src, files)
            for imported in first:
                if owner[imported] != name:
                    assert f":{owner[imported]}" in deps, (
                        f"{name} imports {imported} but does not depend on "
                        f":{owner[imported]}"
                    )
            for dist in third:
                assert f"@pypi//{dist}" in deps, (
                    f"{name} imports {dist} without requirement({dist!r})"
                )
