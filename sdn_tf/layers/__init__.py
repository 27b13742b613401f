"""Keras layers of sdn_tf. Every layer is registered for saving under "sdn_tf".

They run under Keras' TensorFlow, JAX and PyTorch backends
(SUPPORTED_BACKENDS).
"""

from sdn_tf.layers.correction import correction_sweep
from sdn_tf.layers.spatial_broadcast import SpatialBroadcast
from sdn_tf.layers.spatial_dependency import (
    SUPPORTED_BACKENDS,
    ResSpatialDependency,
    SpatialDependency,
)
from sdn_tf.layers.weight_norm import WeightNormConv2D, WeightNormConv2DTranspose

__all__ = [
    "SUPPORTED_BACKENDS",
    "ResSpatialDependency",
    "SpatialBroadcast",
    "SpatialDependency",
    "WeightNormConv2D",
    "WeightNormConv2DTranspose",
    "correction_sweep",
]
