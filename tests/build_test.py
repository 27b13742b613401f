"""Keeps the BUILD files true. Bazel cannot fetch its rules offline here, so
this test is what checks that the BUILD files are ones Bazel would accept
and that they say what the code does:

* one BUILD per directory of Python files, naming each file in exactly one
  target named after the module (`//sdn_tf/layers:spatial_dependency`; a
  package's `__init__.py` is `//sdn_tf/layers:layers`, written `//sdn_tf/layers`);
* each target's deps are exactly what its sources import, resolved with `ast`
  the way Python would (a module imported from a package names that module's
  target, a name re-exported by a package names the package's target);
* a test's deps include the conftest.py pytest loads for it, and its data
  the scripts it runs by path; helpers tests import by bare name (pytest's
  `pythonpath`) carry `imports`, so Bazel puts their directory on sys.path;
* the dependency graph has no cycle, deps are sorted as buildifier sorts
  them and visible where used, and test code is `testonly`.

Every failure says which BUILD to change and what to write there (for a new
file, the whole target; for wrong deps, the whole list).
"""

import ast
import dataclasses
import os
import re
import sys
import textwrap
import traceback
import warnings

import pytest

from sdn_tf import CHECKOUT_SUBPACKAGES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ("sdn_tf", "models", "train", "bench", "tests")
# Import name -> PyPI distribution named in requirement(...).
THIRD_PARTY = {
    "absl": "absl-py",
    "jax": "jax",  # sdn_tf/layers/correction_jax.py, under Keras' JAX backend
    "keras": "keras",
    "ml_collections": "ml-collections",
    "numpy": "numpy",
    "PIL": "pillow",
    "pytest": "pytest",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "tensorflow": "tensorflow",
    "tensorflow_datasets": "tensorflow-datasets",
    "tensorflow_probability": "tensorflow-probability",
    "matplotlib": "matplotlib",  # bench/ plots
    "torch": "torch",  # bench/ only: the authors' layer, when installed
}
# Distributions needed at run time that no source imports (setup.py says why).
# TFDS 4.9 needs importlib_resources, which its own requirements do not name:
IMPLIED = {"tensorflow-datasets": ("importlib-resources",)}
# tf.summary writes nothing without TensorBoard, which TensorFlow no longer
# pulls in:
RUNTIME_ONLY = {"train/callbacks.py": ("tensorboard",)}

RULES_PYTHON = "@rules_python//python:defs.bzl"
PIP = "@pypi//:requirements.bzl"
SIZES = ("small", "medium", "large", "enormous")
PUBLIC = "//visibility:public"


@dataclasses.dataclass
class Target:
    build: str  # "train/BUILD"
    kind: str  # py_library, py_test, py_binary, alias
    name: str
    srcs: list  # as written: relative to the BUILD's directory
    deps: list  # as written, requirement("x") as "@pypi//x"
    data: list
    testonly: bool
    visibility: list
    attrs: dict

    @property
    def package(self):
        return os.path.dirname(self.build)

    @property
    def label(self):
        return f"//{self.package}:{self.name}"

    def files(self):
        return [os.path.join(self.package, s) for s in self.srcs]

    def absolute(self, attr):
        return [_absolute(label, self.package) for label in getattr(self, attr)]


def _absolute(label, package):
    """`label` as written in `package`'s BUILD, made //package:name."""
    if label.startswith("@"):
        return label
    if label.startswith("//"):
        pkg, _, name = label[2:].partition(":")
        return f"//{pkg}:{name or pkg.rsplit('/', 1)[-1]}"
    return f"//{package}:{label.lstrip(':')}"


def _short(label, package):
    """How buildifier writes absolute `label` inside `package`'s BUILD."""
    if label.startswith("@"):
        return label
    pkg, name = label[2:].split(":")
    if pkg == package:
        return f":{name}"
    return f"//{pkg}" if pkg and name == pkg.rsplit("/", 1)[-1] else label


def _sort_key(label):
    """Buildifier's order: ":local", then "//absolute", then "@external"."""
    phase = {":": 1, "/": 2, "@": 3}.get(label[:1], 0)
    return phase, re.split(r"[.:]", label), label


def _shown(label):
    """`label` as a person writes it outside its package, for messages."""
    if label.startswith("@pypi//"):
        return f'requirement("{label[len("@pypi//") :]}")'
    return _short(label, None)


def _render(labels, package, attr="deps"):
    """`attr = [...]` listing absolute `labels` as buildifier writes them."""
    lines = [f"    {attr} = ["]
    for label in sorted((_short(x, package) for x in labels), key=_sort_key):
        if label.startswith("@pypi//"):
            lines.append(f'        requirement("{label[len("@pypi//") :]}"),')
        else:
            lines.append(f'        "{label}",')
    return "\n".join(lines + ["    ],"])


def _file_label(path):
    """The target a .py file belongs in: its module's name, in its directory's
    BUILD; a package's __init__.py is the package's own target."""
    directory, filename = os.path.split(path)
    stem = filename[: -len(".py")]
    return (
        f"//{directory}:{os.path.basename(directory) if stem == '__init__' else stem}"
    )


def _skipped(dirname):
    return dirname.startswith((".", "__")) or dirname.endswith(".egg-info")


def _walk():
    """(directory relative to ROOT, its file names) for ROOT and below."""
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d))
        relative = os.path.relpath(dirpath, ROOT)
        yield ("" if relative == "." else relative), filenames


def _python_files():
    return {
        os.path.join(directory, f)
        for directory, filenames in _walk()
        if directory.split("/")[0] in SOURCE_DIRS
        for f in filenames
        if f.endswith(".py")
    }


def _parse(build):
    """Evaluates one BUILD file with stand-ins for the Bazel rules; names
    become usable only once the BUILD loads them, as in Bazel."""
    targets = []
    default = {"visibility": ["//visibility:private"]}

    def rule(kind):
        def record(name, srcs=(), deps=(), data=(), testonly=0, visibility=None, **a):
            targets.append(
                Target(
                    build,
                    kind,
                    name,
                    list(srcs),
                    list(deps),
                    list(data),
                    bool(testonly),
                    visibility,
                    a,
                )
            )

        return record

    def alias(name, actual, visibility=None, **attrs):
        targets.append(
            Target(build, "alias", name, [], [actual], [], False, visibility, attrs)
        )

    def package(default_visibility=None, **_):
        if default_visibility is not None:
            default["visibility"] = list(default_visibility)

    loadable = {
        RULES_PYTHON: {k: rule(k) for k in ("py_binary", "py_library", "py_test")},
        PIP: {"requirement": lambda dist: f"@pypi//{dist}"},
    }

    def load(module, *symbols):
        for symbol in symbols:
            if symbol not in loadable.get(module, {}):
                raise NameError(f"load({module!r}, {symbol!r}) loads nothing known")
            namespace[symbol] = loadable[module][symbol]

    namespace = {"__builtins__": {}, "load": load, "package": package, "alias": alias}
    with open(os.path.join(ROOT, build), encoding="utf-8") as f:
        source = f.read()
    problem = None
    try:
        exec(compile(source, build, "exec"), namespace)  # noqa: S102
    except Exception as error:  # noqa: BLE001
        lines = [
            f.lineno
            for f in traceback.extract_tb(error.__traceback__)
            if f.filename == build
        ] or [getattr(error, "lineno", "?")]
        problem = f"{build}:{lines[-1]}: {type(error).__name__}: {error}"
        if isinstance(error, NameError) and error.name in loadable[RULES_PYTHON]:
            problem += f": load it from {RULES_PYTHON}"
    if problem:
        pytest.fail(problem, pytrace=False)
    for target in targets:
        if target.visibility is None:
            target.visibility = default["visibility"]
    return targets


@dataclasses.dataclass
class Repo:
    builds: list  # BUILD paths
    targets: dict  # label -> Target
    files: set  # every .py under SOURCE_DIRS
    owners: dict  # .py path -> [labels whose srcs name it]
    errors: list  # problems found while indexing


def _index():
    builds = [
        os.path.join(directory, "BUILD")
        for directory, filenames in _walk()
        if "BUILD" in filenames
    ]
    targets, owners, errors = {}, {}, []
    for build in builds:
        for target in _parse(build):
            if target.label in targets:
                errors.append(f"{build}: target {target.name!r} is defined twice")
            targets[target.label] = target
            for path in target.files():
                owners.setdefault(path, []).append(target.label)
    return Repo(builds, targets, _python_files(), owners, errors)


@pytest.fixture(scope="module")
def repo():
    return _index()


def _sorted(repo):
    return [repo.targets[label] for label in sorted(repo.targets)]


# Imports ------------------------------------------------------------------


def _pytest_pythonpath():
    """The directories pytest puts on sys.path (pyproject.toml `pythonpath`)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        found = re.search(r"^pythonpath\s*=\s*\[([^\]]*)\]", f.read(), re.MULTILINE)
    return re.findall(r"\"([^\"]+)\"", found.group(1)) if found else []


def _is_script(path):
    """Run as `python path`: Python puts its directory first on sys.path.
    pytest imports tests and conftest.py itself, adding no directory."""
    name = os.path.basename(path)
    package = os.path.join(ROOT, os.path.dirname(path), "__init__.py")
    return not (
        name.endswith("_test.py") or name == "conftest.py" or os.path.exists(package)
    )


def _search_path(path):
    """Where an absolute import in `path` is looked for, first first."""
    found = [os.path.dirname(path)] if _is_script(path) else []
    if path.startswith("tests/"):
        found += _pytest_pythonpath()
    return found + [""]


def _repository_name(module):
    """The dotted path of `module`'s file in the repository: sdn_tf.models.vae
    is models/vae.py (see sdn_tf.CHECKOUT_SUBPACKAGES)."""
    for name, directory in CHECKOUT_SUBPACKAGES.items():
        if module == name or module.startswith(name + "."):
            return directory + module[len(name) :]
    return module


def _find_module(module, search, files):
    """(file, directory it was found under) for dotted `module`, or None."""
    relative = _repository_name(module).replace(".", "/")
    for directory in search:
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            path = os.path.normpath(os.path.join(directory, candidate))
            if path in files:
                return path, directory
    return None


def _strings(tree):
    """String literals in `tree` other than docstrings (f-strings with `_`
    for each placeholder)."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(
                v.value if isinstance(v, ast.Constant) else "_" for v in node.values
            )


def _import_statements(tree, path):
    """(line, dotted base module, imported names or None) of every import in
    `tree`, relative ones resolved against `path`'s package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = os.path.dirname(path).split("/")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            yield node.lineno, base, [a.name for a in node.names]


@dataclasses.dataclass
class Imports:
    first: dict  # imported .py path -> "path:line" where
    third: dict  # distribution -> "path:line" where
    found_under: dict  # imported .py path -> the sys.path entry it came from
    scripts: dict  # .py run by path from a string literal -> "path"
    unknown: list  # messages


def _imports(path, files):
    """What `path` needs: the first-party files and third-party distributions
    it imports, including in Python programs it passes as strings (a
    subprocess's `-c` script), and the scripts it names to run by path."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = Imports({}, {}, {}, {}, [])
    scripts = {
        os.path.basename(f): f
        for f in files
        if _is_script(f) and os.path.basename(f) != os.path.basename(path)
    }
    programs = [(tree, _search_path(path), "")]
    for text in _strings(tree):
        if os.path.basename(text) in scripts and text.endswith(".py"):
            found.scripts[scripts[os.path.basename(text)]] = path
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                program = ast.parse(textwrap.dedent(text))
        except (SyntaxError, ValueError):
            continue
        programs.append((program, [""], " (in a program run from a string)"))

    for program, search, how in programs:
        for line, base, names in _import_statements(program, path):
            where = f"{path}{how}" if how else f"{path}:{line}"
            top = base.split(".")[0]
            if not _find_module(top, search, files):
                if top in THIRD_PARTY:
                    found.third.setdefault(THIRD_PARTY[top], where)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.unknown.append(
                        f"{where} imports {top!r}, which is neither first-party, "
                        "standard library nor in THIRD_PARTY: add "
                        f"{top!r}: '<its PyPI name>' to THIRD_PARTY in "
                        "tests/build_test.py"
                    )
                continue
            # `from package import module` names the module; any other name
            # is one the package (or module) `base` defines or re-exports.
            modules = [f"{base}.{n}" for n in names or ()]
            resolved = [m for m in modules if _find_module(m, search, files)]
            if names is None or len(resolved) < len(modules):
                resolved.append(base)
            for module in resolved:
                hit = _find_module(module, search, files)
                if hit is None:
                    found.unknown.append(f"{where} imports {module}, which is missing")
                elif hit[0] != path:
                    found.first.setdefault(hit[0], where)
                    found.found_under[hit[0]] = hit[1]
    return found


def _conftests(path, files):
    """The conftest.py files pytest loads for test file `path`."""
    parts = os.path.dirname(path).split("/")
    candidates = [
        os.path.join(*parts[:i], "conftest.py") for i in range(1, len(parts) + 1)
    ]
    return [c for c in candidates if c in files]


def _expected(target, files):
    """(deps, data, why, problems): the absolute labels `target`'s sources call
    for in deps and in data, and for each label why, as "<verb> <label> (<where>)"
    with {} for the label."""
    deps, data, why, unknown = set(), set(), {}, []

    def need(into, label, reason):
        into.add(label)
        why.setdefault(label, reason)

    for path in target.files():
        if path not in files:
            continue
        found = _imports(path, files)
        unknown += found.unknown
        for imported, at in found.first.items():
            need(deps, _file_label(imported), f"imports {{}} ({at})")
        for dist, at in found.third.items():
            need(deps, f"@pypi//{dist}", f"imports {{}} ({at})")
            for implied in IMPLIED.get(dist, ()):
                need(deps, f"@pypi//{implied}", f"needs {{}} (IMPLIED by {dist})")
        for dist in RUNTIME_ONLY.get(path, ()):
            need(deps, f"@pypi//{dist}", f"needs {{}} (RUNTIME_ONLY[{path!r}])")
        if target.kind == "py_test":
            for conftest in _conftests(path, files):
                need(deps, _file_label(conftest), "needs {} (pytest loads it)")
        for script, at in found.scripts.items():
            need(data, _file_label(script), f"runs {{}} by path ({at})")
    deps.discard(target.label)
    return deps, data, why, unknown


def _kind_for(path):
    if path.endswith("_test.py"):
        return "py_test"
    return "py_binary" if path.endswith("_bench.py") else "py_library"


def _suggest(path, files):
    """A target for `path`, ready to paste into its directory's BUILD."""
    label = _file_label(path)
    package, name = label[2:].split(":")
    stub = Target(
        os.path.join(package, "BUILD"),
        _kind_for(path),
        name,
        [os.path.basename(path)],
        [],
        [],
        False,
        [],
        {},
    )
    deps, data, _, _ = _expected(stub, files)
    lines = [f"{stub.kind}(", f'    name = "{name}",']
    if path.startswith("tests/") and stub.kind != "py_test":
        lines.append("    testonly = 1,")
    lines.append(f'    srcs = ["{stub.srcs[0]}"],')
    if data:
        lines.append(_render(data, package, "data"))
    if deps:
        lines.append(_render(deps, package))
    return "\n".join(lines + [")"])


def _fail(errors):
    errors = list(dict.fromkeys(errors))
    if errors:
        pytest.fail("\n".join([f"{len(errors)} problem(s):", *errors]), False)


# Cycles --------------------------------------------------------------------


def find_cycles(graph):
    """One cycle per back edge a depth-first search of `graph` (node -> its
    successors) meets, each as a path [a, b, ..., a]; [] when acyclic."""
    color = {}  # absent: unvisited; 1: on the current path; 2: done
    path, cycles = [], []

    def visit(node):
        color[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if color.get(successor) == 1:
                cycles.append(path[path.index(successor) :] + [successor])
            elif successor not in color:
                visit(successor)
        path.pop()
        color[node] = 2

    for node in sorted(graph):
        if node not in color:
            visit(node)
    return cycles


def _is_cycle_of(cycle, graph):
    return (
        len(cycle) >= 2
        and cycle[0] == cycle[-1]
        and all(b in graph[a] for a, b in zip(cycle, cycle[1:]))
    )


def test_find_cycles_finds_a_known_cycle_and_accepts_a_dag():
    graph = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": [], "e": ["a"]}
    (cycle,) = find_cycles(graph)
    assert _is_cycle_of(cycle, graph) and set(cycle) == {"a", "b", "c"}
    # A cycle not reachable from the first node, and a self-loop.
    graph = {"a": [], "x": ["y"], "y": ["x"], "z": ["z"]}
    assert sorted(find_cycles(graph)) == [["x", "y", "x"], ["z", "z"]]
    # A diamond joins two paths without closing a cycle.
    assert find_cycles({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}) == []
    # Breaking the known cycle's back edge leaves a DAG.
    assert find_cycles({"a": ["b"], "b": ["c", "d"], "c": [], "d": []}) == []


# The BUILD files ------------------------------------------------------------


def test_every_python_file_is_in_one_target_in_its_own_directorys_build(repo):
    errors = list(repo.errors)
    for directory in sorted({os.path.dirname(f) for f in repo.files}):
        if os.path.join(directory, "BUILD") not in repo.builds:
            errors.append(f"{directory}/ holds Python files but no BUILD: create it")
    for target in _sorted(repo):
        where = f"{target.build}: target {target.name!r}"
        if target.kind == "alias":
            continue
        if len(target.srcs) != 1:
            errors.append(f"{where} has srcs {target.srcs}: one file per target")
        for src, path in zip(target.srcs, target.files()):
            if "/" in src:
                errors.append(
                    f"{where} names {src}, in another directory: move it to "
                    f"{os.path.dirname(path)}/BUILD"
                )
            elif path not in repo.files:
                errors.append(f"{where} names {src}, which does not exist: remove it")
            elif _file_label(path) != target.label:
                errors.append(
                    f"{where}: rename it {_file_label(path).split(':')[1]!r}, "
                    f"after the module {src}"
                )
    for path in sorted(repo.files):
        owners = repo.owners.get(path, [])
        if not owners:
            errors.append(
                f"{path} is in no target: add to {os.path.dirname(path)}/BUILD\n"
                + textwrap.indent(_suggest(path, repo.files), "    ")
            )
        elif len(owners) > 1:
            errors.append(f"{path} is in {len(owners)} targets: {sorted(owners)}")
    _fail(errors)


def test_deps_are_exactly_what_the_sources_import(repo):
    errors = []
    for target in _sorted(repo):
        if target.kind == "alias":
            continue
        where = f"{target.build}: target {target.name!r}"
        deps, data, why, unknown = _expected(target, repo.files)
        errors += unknown
        for attr, expected in (("deps", deps), ("data", data)):
            actual = set(target.absolute(attr))
            problems = [
                f"{where} {why[dep].format(_shown(dep))} but does not list it in {attr}"
                for dep in sorted(expected - actual, key=_sort_key)
            ] + [
                f"{where} lists {_shown(dep)} in {attr}, which its sources do "
                "not need: remove it"
                for dep in sorted(actual - expected, key=_sort_key)
            ]
            if problems:
                problems[-1] += (
                    f"\n  so {target.name!r} in {target.build} should have\n"
                    + _render(expected, target.package, attr)
                )
            errors += problems
    _fail(errors)


def test_deps_are_sorted_short_and_resolve_to_visible_targets(repo):
    errors = []
    for target in _sorted(repo):
        where = f"{target.build}: target {target.name!r}"
        for attr in ("deps", "data"):
            written = getattr(target, attr)
            if target.kind != "alias" and written != sorted(written, key=_sort_key):
                errors.append(
                    f"{where}: sort {attr} as buildifier does:\n"
                    + _render(target.absolute(attr), target.package, attr)
                )
            if len(set(written)) != len(written):
                errors.append(f"{where} lists a {attr} entry twice")
            for text, dep in zip(written, target.absolute(attr)):
                if dep.startswith("@"):
                    if not dep.startswith("@pypi//"):
                        errors.append(f"{where}: unexpected external {text}")
                    continue
                if text != _short(dep, target.package) and target.kind != "alias":
                    errors.append(
                        f"{where}: write {_short(dep, target.package)!r} for {text!r}"
                    )
                other = repo.targets.get(dep)
                if other is None:
                    errors.append(f"{where} depends on {dep}, which no BUILD defines")
                elif not _visible(other, target.package):
                    errors.append(
                        f"{where} depends on {dep}, which {other.build} keeps "
                        f"private ({other.visibility}): make it visible"
                    )
    _fail(errors)


def _visible(target, package):
    if target.package == package:
        return True
    for rule in target.visibility:
        if rule == PUBLIC:
            return True
        pkg, _, scope = rule[2:].partition(":")
        if scope == "__pkg__" and package == pkg:
            return True
        if scope == "__subpackages__" and (package + "/").startswith(pkg + "/"):
            return True
    return False


def test_the_dependency_graph_has_no_cycle(repo):
    """Over the deps the BUILD files list and those the imports call for, so
    that an import closing a cycle is reported as one at once."""
    graph = {}
    for label, target in repo.targets.items():
        deps, data, _, _ = _expected(target, repo.files)
        written = target.absolute("deps") + target.absolute("data")
        graph[label] = {d for d in {*written, *deps, *data} if d.startswith("//")}
    _fail(
        [
            "dependency cycle, which Bazel refuses: "
            + " -> ".join(cycle)
            + "\n    break it: move what one of these needs out of the next"
            for cycle in find_cycles(graph)
        ]
    )


def test_tests_are_py_tests_and_test_code_is_testonly(repo):
    errors = []
    for target in _sorted(repo):
        where = f"{target.build}: target {target.name!r}"
        if target.kind == "alias":
            continue
        is_test_file = any(s.endswith("_test.py") for s in target.srcs)
        if (target.kind == "py_test") != is_test_file:
            kind = "py_test" if is_test_file else "not a py_test"
            errors.append(f"{where} is a {target.kind}; it should be {kind}")
        in_tests = target.package.split("/")[0] == "tests"
        if in_tests and target.kind != "py_test" and not target.testonly:
            errors.append(f"{where} is test code: add testonly = 1")
        if "size" in target.attrs and (
            target.kind != "py_test" or target.attrs["size"] not in SIZES
        ):
            errors.append(f"{where}: size must be one of {SIZES}, on a py_test")
        if target.kind == "py_test" or target.testonly:
            continue
        for dep in target.absolute("deps") + target.absolute("data"):
            other = repo.targets.get(dep)
            if other is not None and (other.testonly or other.kind == "py_test"):
                errors.append(f"{where} is not testonly but depends on test code {dep}")
    _fail(errors)


def test_modules_imported_by_bare_name_put_their_directory_on_sys_path(repo):
    """pytest's `pythonpath` (pyproject.toml) lets tests `import sdn_test_case`;
    under Bazel the target must say so with `imports`."""
    errors = []
    for target in _sorted(repo):
        for path in target.files():
            if path not in repo.files:
                continue
            found = _imports(path, repo.files)
            for imported, directory in sorted(found.found_under.items()):
                own = os.path.dirname(path) if _is_script(path) else None
                dep = repo.targets.get(_file_label(imported))
                if directory in ("", own) or dep is None:
                    continue
                dirs = {
                    os.path.normpath(os.path.join(dep.package, d))
                    for d in dep.attrs.get("imports", ())
                }
                if directory not in dirs:
                    errors.append(
                        f"{dep.build}: target {dep.name!r} is imported by bare name "
                        f"({found.first[imported]}): give it imports = "
                        f'["{os.path.relpath(directory, dep.package)}"]'
                    )
    _fail(sorted(set(errors)))
