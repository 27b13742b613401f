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

# The models, distributions, data and training commands are TensorFlow
# (TFP, tf.data, tf.distribute); without a choice, Keras runs on it. Set it
# before Keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

from sdn_tf import layers  # noqa: E402,F401

# The layers also run under JAX (sdn_tf.layers.SUPPORTED_BACKENDS, checked
# when a layer is made); data and distributions are imported with the
# TensorFlow backend only, so a JAX program that uses the layers does not
# load TFP and TFDS.
if keras.backend.backend() == "tensorflow":
    from sdn_tf import data, distributions  # noqa: F401

__version__ = "0.1.0"
