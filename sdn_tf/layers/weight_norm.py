"""Weight-normalized convolutions (Salimans & Kingma, 2016).

The kernel is reparameterized as  w = g * v / ||v||,  with one norm and one
gain per output channel. As in PyTorch's `weight_norm` (which the SDN-VAE
reference uses), g starts at ||v||, so at initialization the layer computes
exactly what the plain convolution with the same kernel would.
"""

import keras
from keras import ops


def _normalized_kernel(kernel, gain, norm_axes):
    """g * v / ||v||, the norm over `norm_axes`, g along the remaining axis."""
    norm = ops.sqrt(ops.sum(ops.square(kernel), axis=norm_axes, keepdims=True))
    gain_shape = [1 if axis in norm_axes else -1 for axis in range(4)]
    return kernel * ops.reshape(gain, gain_shape) / (norm + 1e-12)


class _WeightNormMixin:
    """Adds the gain `g` and swaps the kernel for g * v / ||v|| in `call`."""

    # Axes of the Keras kernel that one output channel's norm runs over.
    _norm_axes = None

    def build(self, input_shape):
        super().build(input_shape)
        self.g = self.add_weight(
            name="g", shape=(self.filters,), initializer="ones", dtype=self.dtype
        )
        kernel = ops.convert_to_tensor(self.kernel)
        self.g.assign(
            ops.reshape(
                ops.sqrt(ops.sum(ops.square(kernel), axis=self._norm_axes)),
                (self.filters,),
            )
        )

    # Keras' convolutions save only kernel and bias; save every variable.
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def call(self, inputs):
        kernel = _normalized_kernel(self.kernel, self.g, self._norm_axes)
        outputs = self._convolve(inputs, kernel)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="sdn_tf")
class WeightNormConv2D(_WeightNormMixin, keras.layers.Conv2D):
    """A `keras.layers.Conv2D` whose kernel is weight-normalized.

    kernel = g * v / ||v|| with the norm over (height, width, input channels)
    for each output channel; g is initialized to ||v|| so the layer starts
    out equal to a Conv2D with kernel v. The variables are `kernel` (v),
    `bias` and `g`.

    Args:
      filters: positive int, output channels.
      kernel_size: int or pair, the kernel size.
      *args: every other positional `keras.layers.Conv2D` argument.
      **kwargs: every other `keras.layers.Conv2D` argument (strides,
        padding, activation, initializers, ...); `data_format` must be
        "channels_last".

    Input shape:
      4D tensor `(batch, height, width, channels)`.

    Output shape:
      4D tensor `(batch, new_height, new_width, filters)`, as Conv2D.

    Example:

    >>> layer = WeightNormConv2D(8, 3, padding="same")
    >>> layer(np.zeros((2, 5, 5, 3), "float32")).shape
    TensorShape([2, 5, 5, 8])
    """

    _norm_axes = (0, 1, 2)

    def _convolve(self, inputs, kernel):
        return self.convolution_op(inputs, kernel)

    def __init__(self, filters, kernel_size, *args, **kwargs):
        super().__init__(filters, kernel_size, *args, **kwargs)
        if self.data_format != "channels_last":
            raise ValueError(
                "Received an invalid value for argument `data_format`, expected "
                f"'channels_last', got {self.data_format!r}."
            )


@keras.saving.register_keras_serializable(package="sdn_tf")
class WeightNormConv2DTranspose(_WeightNormMixin, keras.layers.Conv2DTranspose):
    """A `keras.layers.Conv2DTranspose` whose kernel is weight-normalized.

    kernel = g * v / ||v||, one norm per output channel. The Keras transposed
    kernel is (height, width, filters, input channels), so that norm runs
    over axes (0, 1, 3). g is initialized to ||v||.

    Args:
      filters: positive int, output channels.
      kernel_size: int or pair, the kernel size.
      *args: every other positional `keras.layers.Conv2DTranspose` argument.
      **kwargs: every other `keras.layers.Conv2DTranspose` argument;
        `data_format` must be "channels_last".

    Input shape:
      4D tensor `(batch, height, width, channels)`.

    Output shape:
      4D tensor `(batch, new_height, new_width, filters)`, as
      Conv2DTranspose.

    Example:

    >>> layer = WeightNormConv2DTranspose(8, 4, strides=2, padding="same")
    >>> layer(np.zeros((2, 5, 5, 3), "float32")).shape
    TensorShape([2, 10, 10, 8])
    """

    _norm_axes = (0, 1, 3)

    def _convolve(self, inputs, kernel):
        return ops.conv_transpose(
            inputs,
            kernel,
            strides=list(self.strides),
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def __init__(self, filters, kernel_size, *args, **kwargs):
        super().__init__(filters, kernel_size, *args, **kwargs)
        if self.data_format != "channels_last":
            raise ValueError(
                "Received an invalid value for argument `data_format`, expected "
                f"'channels_last', got {self.data_format!r}."
            )


def convolution(
    filters,
    kernel_size,
    strides=1,
    transpose=False,
    weight_norm=True,
    padding="same",
    **kwargs,
):
    """The convolution layer the arguments ask for, by one rule everywhere.

    `transpose` chooses a transposed (upsampling) convolution, `weight_norm`
    its weight-normalized form:

      transpose  weight_norm  layer
      False      False        keras.layers.Conv2D
      False      True         WeightNormConv2D
      True       False        keras.layers.Conv2DTranspose
      True       True         WeightNormConv2DTranspose

    Args:
      filters: positive int, output channels.
      kernel_size: int or pair, the kernel size.
      strides: int or pair. Defaults to 1.
      transpose: bool, a transposed convolution. Defaults to False.
      weight_norm: bool, weight-normalized. Defaults to True.
      padding: "same" or "valid". Defaults to "same".
      **kwargs: every other argument of the chosen layer (name, dtype,
        activation, initializers, ...).

    Returns:
      The layer, unbuilt.

    Example:

    >>> layer = convolution(8, 4, strides=2, transpose=True)
    >>> type(layer).__name__, layer(np.zeros((2, 5, 5, 3), "float32")).shape
    ('WeightNormConv2DTranspose', TensorShape([2, 10, 10, 8]))
    """
    if transpose:
        cls = WeightNormConv2DTranspose if weight_norm else keras.layers.Conv2DTranspose
    else:
        cls = WeightNormConv2D if weight_norm else keras.layers.Conv2D
    return cls(filters, kernel_size, strides=strides, padding=padding, **kwargs)
