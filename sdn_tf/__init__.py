"""sdn_tf: Spatial Dependency Networks for TensorFlow/Keras.

Subpackages:
  layers:        SpatialDependency, ResSpatialDependency, SpatialBroadcast and
                 the weight-normalized convolutions the SDN-VAE uses.
  distributions: the observation models (discretized logistic mixture, ...)
                 and the latent distributions, as TFP distributions.
  data:          offline TFDS datasets and the input pipeline.
  metrics:       disentanglement metrics.
  models:        the paper models, BetaVAE and SDNVAE (the repository's
                 models/ directory).
  train:         the training commands and their runtime (train/).
"""

import importlib.abc
import importlib.util
import os
import sys

__version__ = "0.2.0"

# The repository keeps the paper models and the commands at its top level
# (models/, train/); the wheel installs them as sdn_tf.models and
# sdn_tf.train (setup.py's package_dir), so that they take no generic
# top-level names in a user's environment. In a checkout, Bazel's runfiles or
# a PYTHONPATH pointing at the repository, the same names find the top-level
# directories: the same code runs either way, imported under one name.
CHECKOUT_SUBPACKAGES = {"sdn_tf.models": "models", "sdn_tf.train": "train"}


class _CheckoutSubpackages(importlib.abc.MetaPathFinder):
    """Finds sdn_tf.models and sdn_tf.train in the repository's top level."""

    def __init__(self, root):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in CHECKOUT_SUBPACKAGES:
            return None
        directory = os.path.join(self.root, CHECKOUT_SUBPACKAGES[fullname])
        return importlib.util.spec_from_file_location(
            fullname,
            os.path.join(directory, "__init__.py"),
            submodule_search_locations=[directory],
        )


def _checkout_root():
    """The repository's root when this package is a checkout's (the models
    beside it, not inside it as in the wheel), else None."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if os.path.isdir(os.path.join(here, "models")):
        return None
    return root if os.path.isfile(os.path.join(root, "models", "sdn_vae.py")) else None


_ROOT = _checkout_root()
if _ROOT and not any(isinstance(f, _CheckoutSubpackages) for f in sys.meta_path):
    sys.meta_path.insert(0, _CheckoutSubpackages(_ROOT))

# The models, distributions, data and training commands are TensorFlow
# (TFP, tf.data, tf.distribute); without a choice, Keras runs on it. Set it
# before Keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from sdn_tf.train import startup  # noqa: E402  (standard library only)

# In a training command, TensorFlow's start-up lines are held back
# (train/startup.py); elsewhere this block is a plain import.
with startup.quiet_start(sys.argv, command=startup.started_as_a_command()):
    import keras

    from sdn_tf import layers  # noqa: F401

    # The layers also run under JAX and PyTorch
    # (sdn_tf.layers.SUPPORTED_BACKENDS, checked when a layer is made); data
    # and distributions are imported with the TensorFlow backend only, so a
    # JAX or PyTorch program that uses the layers does not load TFP and TFDS.
    if keras.backend.backend() == "tensorflow":
        from sdn_tf import data, distributions  # noqa: F401
