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


@keras.saving.register_keras_serializable(package="sdn_tf")
class MaskedConv2D(weight_norm.WeightNormConv2D):
    """A weight-normalized 'same' convolution with a raster-order mask.

    The output at pixel p sees the input pixels before p in raster order
    (rows top to bottom, each left to right), and p itself for mask type
    "B" (see `raster_mask`). The mask applies to v before the
    normalization: w = g * (m*v) / ||m*v||, and g starts at ||m*v|| so the
    layer starts out equal to the plain masked convolution.

    Args:
      filters: positive int, output channels.
      mask_type: "A" (pixels before p) or "B" (also p itself).
      kernel_size: odd positive int, or a pair of equal ones, the square
        kernel. Defaults to 3.
      **kwargs: every other `keras.layers.Conv2D` argument (activation,
        initializers, name, dtype, ...); `padding` can only be "same".

    Input shape:
      4D tensor `(batch, height, width, channels)`.

    Output shape:
      4D tensor `(batch, height, width, filters)`.

    Raises:
      ValueError: for an unknown mask type, an even or non-square kernel,
        or a padding other than "same".

    Example:

    >>> layer = MaskedConv2D(8, "A")
    >>> layer(np.zeros((2, 5, 5, 3), "float32")).shape
    TensorShape([2, 5, 5, 8])
    """

    def __init__(self, filters, mask_type, kernel_size=3, **kwargs):
        arguments.check(mask_type in ("A", "B"), "mask_type", "'A' or 'B'", mask_type)
        size = arguments.positive_integer_pair(kernel_size, "kernel_size")
        arguments.check(
            size[0] == size[1] and size[0] % 2 == 1,
            "kernel_size",
            "an odd size of a square kernel",
            kernel_size,
        )
        # A config holds Conv2D's padding, always "same" here.
        padding = kwargs.pop("padding", "same")
        arguments.check(padding == "same", "padding", "'same'", padding)
        super().__init__(filters, size, padding="same", **kwargs)
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
        if self.activation is not None:
            return self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(mask_type=self.mask_type)
        return config


@keras.saving.register_keras_serializable(package="sdn_tf")
class IAFStep(keras.layers.Layer):
    """One IAF step z0 -> z with its log-determinant term sum(s), per example.

    A masked type-A convolution of z0 plus the context, then `num_layers`
    masked type-B convolutions with ELUs between, give (m, s) (scaled by
    0.1) and z = (z0 - m) / exp(s) (see the module docstring). Called
    through `flow`, not `__call__`, so that z0 stays float32 under a
    mixed-precision policy; the first `flow` builds the layer.

    Args:
      z_size: positive int, channels of z.
      context_size: positive int, channels of the context (and of the
        hidden layers). Defaults to 100.
      num_layers: positive int, masked type-B layers after the type-A one
        (the authors: 2). Defaults to 2.
      kernel_initializer: initializer of the masked kernels (before the
        mask). Defaults to "glorot_uniform".
      **kwargs: base Layer arguments (name, dtype, ...).

    Input shape:
      `flow(z0, context)`: z0 a 4D tensor `(batch, height, width, z_size)`,
      context `(batch, height, width, context_size)`.

    Output shape:
      `(z, log_det_term)`: z float32 `(batch, height, width, z_size)`,
      log_det_term float32 `(batch,)`.

    Example:

    >>> step = IAFStep(z_size=2, context_size=4)
    >>> z, log_det_term = step.flow(np.zeros((3, 5, 5, 2), "float32"),
    ...                             np.zeros((3, 5, 5, 4), "float32"))
    >>> z.shape, log_det_term.shape
    (TensorShape([3, 5, 5, 2]), TensorShape([3]))
    """

    def __init__(
        self,
        z_size,
        context_size=100,
        num_layers=2,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.z_size = arguments.positive_integer(z_size, "z_size")
        self.context_size = arguments.positive_integer(context_size, "context_size")
        # At least one type-B layer: the last one outputs (m, s).
        self.num_layers = arguments.positive_integer(num_layers, "num_layers")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        options = dict(
            # A config per layer: one unseeded instance repeats its values.
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=self.dtype_policy,
        )
        self.first = MaskedConv2D(self.context_size, "A", name="masked_a", **options)
        self.hidden = [
            MaskedConv2D(
                2 * self.z_size if i == self.num_layers - 1 else self.context_size,
                "B",
                name=f"masked_b_{i}",
                **options,
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

    def get_config(self):
        config = super().get_config()
        config.update(
            z_size=self.z_size,
            context_size=self.context_size,
            num_layers=self.num_layers,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
