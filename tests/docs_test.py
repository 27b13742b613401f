"""The documentation site (mkdocs.yml, docs/): it builds with warnings as
errors, and its API reference covers every public symbol.

The public API is what the packages export: `__all__` where a module has
one, else the functions and classes a module defines under names without a
leading underscore. A new public symbol or module missing from
docs/reference/ fails here; so does a docstring that documents a parameter
the signature does not have (mkdocstrings' warning, made an error).
"""

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import zlib

import pytest

import sdn_tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The modules the reference documents, as users import them.
REFERENCED_MODULES = (
    "sdn_tf.layers",
    "sdn_tf.distributions",
    "sdn_tf.distributions.latent",
    "sdn_tf.distributions.observation",
    "sdn_tf.distributions.quantization",
    "sdn_tf.data",
    "sdn_tf.metrics",
    "sdn_tf.metrics.checkerboard",
    "sdn_tf.metrics.image_quality",
    "sdn_tf.native",
    "sdn_tf.models",
    "sdn_tf.train.config",
    "sdn_tf.train.configs.density",
    "sdn_tf.train.configs.disentangle",
)
# Subpackages and modules of sdn_tf that are not API, and why.
INTERNAL = {
    "sdn_tf.arguments": "argument checks shared by the layers and models",
    "sdn_tf.train": "the commands: documented by their --help and the guides; "
    "their configs are in the reference",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built as CI builds it (mkdocs.yml sets strict mode)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return out


def inventory(site):
    """The names of the site's objects.inv (what the reference documents)."""
    with open(site / "objects.inv", "rb") as f:
        data = f.read()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed entries
        header_end = data.index(b"\n", header_end) + 1
    entries = zlib.decompress(data[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in entries.splitlines()}


def public_names(module):
    """(public name, its canonical dotted path) of `module`'s public API."""
    if hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__
        ]
    for name in names:
        value = getattr(module, name)
        canonical = (
            f"{value.__module__}.{value.__qualname__}"
            if inspect.isfunction(value) or inspect.isclass(value)
            else f"{module.__name__}.{name}"
        )
        yield f"{module.__name__}.{name}", canonical


def test_the_site_builds_strictly(site):
    assert (site / "index.html").exists()
    assert (site / "reference" / "layers" / "index.html").exists()


@pytest.mark.parametrize("module_name", REFERENCED_MODULES)
def test_the_reference_covers_every_public_symbol(site, module_name):
    documented = inventory(site)
    module = importlib.import_module(module_name)
    assert module_name in documented
    missing = [
        public
        for public, canonical in public_names(module)
        if public not in documented and canonical not in documented
    ]
    assert not missing, f"add to docs/reference/: {missing}"


def test_every_module_of_sdn_tf_is_referenced_or_internal():
    found = {
        f"sdn_tf.{info.name}"
        for info in pkgutil.iter_modules(sdn_tf.__path__)
        if not info.name.startswith("_")
    } | {"sdn_tf.models", "sdn_tf.train"}
    covered = {m for m in found if any(r.startswith(m) for r in REFERENCED_MODULES)}
    assert found - covered - set(INTERNAL) == set()
