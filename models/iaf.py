"""One inverse autoregressive flow step (Kingma et al. 2016) for the ladder.

The SDN-VAE's posterior at each ladder layer is a diagonal Gaussian pushed
through one IAF step, as in the authors' code: an autoregressive
convolutional network (a masked 3x3 convolution of type A, then
`num_layers` masked 3x3 convolutions of type B, ELUs between, a context
added after the first) gives (m, s) and

    z = (z0 - m) / exp(s),       log q(z) = log q(z0) + sum(s).

Masks follow the raster order of pixels: a type-A output at pixel p sees
only pixels before p, a type-B output also sees p itself (through type-A
features that already exclude p). So m and s at p depend on z0 only through
pixels before p, the Jacobian dz/dz0 is triangular in raster order with a
diagonal exp(-s) on its diagonal blocks, and its log-determinant is -sum(s).
"""

import keras
import numpy as np
from keras import ops

from sdn_tf import arguments
from sdn_tf.layers import weight_norm

# The authors scale the network's outputs by 0.1, which keeps the first
# steps of training close to the identity flow.
OUTPUT_SCALE = 0.1


def raster_mask(kernel_size, in_channels, out_channels, mask_type):
    """[k, k, in, out] mask: 1 for the pixels a masked convolution may see."""
    mask = np.ones((kernel_size, kernel_size, in_channels, out_channels), np.float32)
    centre = kernel_size // 2
    mask[centre, centre + (mask_type == "B") :] = (
        0.0  # the centre row, from p (A) or after p
    )
    mask[centre + 1 :] = 0.0  # the rows below
    return mask


class MaskedConv2D(weight_norm.WeightNormConv2D):
    """A weight-normalized 3x3 'same' convolution with a raster-order mask.

    The mask applies to v before the normalization: w = g * (m*v) / ||m*v||.
    """

    def __init__(self, filters, mask_type, kernel_size=3, **kwargs):
        if mask_type not in ("A", "B"):
            raise ValueError(
                "Received an invalid value for argument `mask_type`, expected 'A' "
                f"or 'B', got {mask_type!r}."
            )
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.mask_type = mask_type

    def build(self, input_shape):
        self._mask = raster_mask(
            self.kernel_size[0], input_shape[-1], self.filters, self.mask_type
        )
        super().build(input_shape)
        # Start equal to the plain masked convolution: g = ||m * v||.
        masked = self._masked(ops.convert_to_tensor(self.kernel))
        self.g.assign(ops.sqrt(ops.sum(ops.square(masked), axis=self._norm_axes)))

    def _masked(self, kernel):
        return kernel * ops.cast(self._mask, kernel.dtype)

    def call(self, inputs):
        kernel = weight_norm._normalized_kernel(
            self._masked(self.kernel), self.g, self._norm_axes
        )
        outputs = self._convolve(inputs, kernel)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(mask_type=self.mask_type)
        return config


class IAFStep(keras.layers.Layer):
    """The flow z0 -> z with its log-determinant term sum(s), per example.

    Args:
      z_size: channels of z.
      context_size: channels of the context (and of the hidden layers).
      num_layers: masked type-B layers after the type-A one (the authors: 2).
    """

    def __init__(self, z_size, context_size=100, num_layers=2, **kwargs):
        super().__init__(**kwargs)
        self.z_size = arguments.positive_integer(z_size, "z_size")
        self.context_size = arguments.positive_integer(context_size, "context_size")
        # At least one type-B layer: the last one outputs (m, s).
        self.num_layers = arguments.positive_integer(num_layers, "num_layers")
        self.first = MaskedConv2D(
            self.context_size, "A", name="masked_a", dtype=self.dtype_policy
        )
        self.hidden = [
            MaskedConv2D(
                2 * self.z_size if i == self.num_layers - 1 else self.context_size,
                "B",
                name=f"masked_b_{i}",
                dtype=self.dtype_policy,
            )
            for i in range(self.num_layers)
        ]

    def flow(self, z0, context):
        """Returns z and sum(s) over all but the batch axis (float32).

        A method rather than `call`: Layer.__call__ would cast z0 to the
        compute dtype, and the flow must see the float32 z0 that log q(z0)
        was computed for.
        """
        self.built = True
        h = self.first(ops.cast(z0, self.compute_dtype)) + ops.cast(
            context, self.compute_dtype
        )
        for layer in self.hidden:
            h = layer(ops.elu(h))
        shift, log_scale = ops.split(ops.cast(h, "float32") * OUTPUT_SCALE, 2, axis=-1)
        z = (ops.cast(z0, "float32") - shift) / ops.exp(log_scale)
        return z, ops.sum(log_scale, axis=(1, 2, 3))
