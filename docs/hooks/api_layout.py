"""mkdocs hook: the API reference reads the package as the wheel installs it.

The repository keeps the paper models and the commands at its top level
(models/, train/); the wheel installs them as sdn_tf.models and sdn_tf.train
(setup.py). mkdocstrings reads the code without importing it, so it is
given a directory that holds sdn_tf in the wheel's layout: links to the
files of sdn_tf/, models/ and train/, made in a temporary directory for each
build.
"""

import ast
import atexit
import os
import shutil
import tempfile

from mkdocs.plugins import event_priority

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def checkout_subpackages():
    """sdn_tf.CHECKOUT_SUBPACKAGES, read from sdn_tf/__init__.py's source."""
    with open(os.path.join(ROOT, "sdn_tf", "__init__.py"), encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and any(
                getattr(target, "id", None) == "CHECKOUT_SUBPACKAGES"
                for target in node.targets
            ):
                return ast.literal_eval(node.value)
    raise RuntimeError("sdn_tf/__init__.py defines no CHECKOUT_SUBPACKAGES")


def wheel_layout(directory):
    """Makes directory/sdn_tf: sdn_tf's entries, and models/ and train/ as
    its subpackages; returns `directory`."""
    package = os.path.join(directory, "sdn_tf")
    os.makedirs(package)
    for entry in os.listdir(os.path.join(ROOT, "sdn_tf")):
        os.symlink(os.path.join(ROOT, "sdn_tf", entry), os.path.join(package, entry))
    for name, source in checkout_subpackages().items():
        os.symlink(
            os.path.join(ROOT, source), os.path.join(package, name.split(".")[1])
        )
    return directory


@event_priority(100)  # before mkdocstrings reads its handlers' paths
def on_config(config):
    directory = tempfile.mkdtemp(prefix="sdn_tf_api_")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    handler = config["plugins"]["mkdocstrings"].config["handlers"]["python"]
    handler["paths"] = [wheel_layout(directory)]
    return config
