"""sdn_tf: Spatial Dependency Networks for TensorFlow/Keras.

Subpackages:
  layers:        SpatialDependency, ResSpatialDependency, SpatialBroadcast and
                 the weight-normalized convolutions the SDN-VAE uses.
  distributions: the observation models (discretized logistic mixture, ...)
                 and the latent distributions, as TFP distributions.
  data:          offline TFDS datasets and the input pipeline.
  metrics:       disentanglement metrics.
"""

import os

# The sweep is written in TensorFlow (tf.scan), so Keras must run on the
# TensorFlow backend. Set it before Keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "sdn_tf needs the TensorFlow Keras backend, but Keras was loaded with "
        f"backend {keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow "
        "before importing keras."
    )

from sdn_tf import data, distributions, layers  # noqa: E402,F401

__version__ = "0.1.0"
