"""Spatial dependency layers: SDN (section 2 of the paper) and ResSDN (Fig. 3).

Miladinovic et al., "Spatial Dependency Networks: Neural Layers for Improved
Generative Image Modeling", ICLR 2021.

A spatial dependency layer maps a feature map X to X' in three stages:

  1. project-in   I  = tanh(conv(X))                 (Conv2D or Conv2DTranspose)
  2. correction   I' = sweep_d(...sweep_1(I))        (one sweep per direction)
  3. project-out  X' = conv1x1(I')

The correction sweep (Algorithm 1, as a GRU cell over the three neighbours in
the previous row) lives in `correction.py` (TensorFlow), `correction_jax.py`
(JAX) and `correction_torch.py` (PyTorch); the layers pick the one of Keras'
backend (`_sweep_for_backend`). All other math here is `keras.ops`, so the
layers run on any of the three backends.
"""

import logging

import keras
import tensorflow as tf
from keras import ops

from sdn_tf import arguments
from sdn_tf.layers import correction as correction_lib
from sdn_tf.layers import correction_native
from sdn_tf.layers.weight_norm import convolution

# The Keras backends with a sweep implementation (see _sweep_for_backend).
SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")
"""The Keras backends the layers run under; making a layer under another
raises a ValueError."""

# Direction name -> (axis the sweep walks along, whether it starts at the end).
DIRECTIONS = {
    "down": ("rows", False),  # top to bottom
    "up": ("rows", True),  # bottom to top
    "right": ("cols", False),  # left to right
    "left": ("cols", True),  # right to left
}

# Transpositions between the image layout [B, H, W, F] (None) and the
# sweep-major layouts "rows" [H, B, W, F] and "cols" [W, B, H, F].
_PERMUTATIONS = {
    (None, "rows"): (1, 0, 2, 3),
    (None, "cols"): (2, 0, 1, 3),
    ("rows", None): (1, 0, 2, 3),
    ("cols", None): (1, 2, 0, 3),
    ("rows", "cols"): (2, 1, 0, 3),
    ("cols", "rows"): (2, 1, 0, 3),
}


def _relayout(x, current, target):
    if current == target:
        return x
    return ops.transpose(x, _PERMUTATIONS[(current, target)])


def _validate_directions(directions):
    if isinstance(directions, str):
        directions = (directions,)
    try:
        directions = tuple(directions)
    except TypeError:
        directions = None
    if not directions or any(d not in DIRECTIONS for d in directions):
        raise ValueError(
            "Received an invalid value for argument `directions`, expected a "
            f"non-empty sequence of names from {tuple(DIRECTIONS)}, got "
            f"{directions!r}."
        )
    return directions


def _validate_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
        raise ValueError(
            "Received an invalid value for argument `padding`, expected "
            f"'same' or 'valid', got {padding!r}."
        )
    return padding.lower()


def _validate_jit_compile(jit_compile):
    if jit_compile not in ("auto", True, False):
        raise ValueError(
            "Received an invalid value for argument `jit_compile`, expected "
            f"True, False or 'auto', got {jit_compile!r}."
        )
    return jit_compile


def _validate_image_shape(shape, name):
    """Rank 4 with a known channel dimension; returns the shape as a tuple."""
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a 4D "
            f"input (batch, height, width, channels), got shape {shape}."
        )
    if shape[-1] is None:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"known channel dimension, got shape {shape}."
        )
    for size in shape[1:3]:
        if size is not None and size < 1:
            raise ValueError(
                f"Received an invalid value for argument `{name}`, expected "
                f"non-empty height and width, got shape {shape}."
            )
    return shape


def _validate_native_kernel(native_kernel):
    if native_kernel not in ("auto", True, False):
        raise ValueError(
            "Received an invalid value for argument `native_kernel`, expected "
            f"True, False or 'auto', got {native_kernel!r}."
        )
    return native_kernel if isinstance(native_kernel, str) else bool(native_kernel)


def _projected_size(size, kernel, stride, padding, transpose):
    """Output length of Conv2D/Conv2DTranspose along one axis (None stays)."""
    if size is None:
        return None
    if transpose:
        return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def _check_projection_fits(shape, kernel_size, strides, padding, transpose, name):
    """A strided 'valid' convolution must find room for at least one output."""
    if transpose or padding != "valid":
        return
    for size, k, axis in zip(shape[1:3], kernel_size, ("height", "width")):
        if size is not None and size < k:
            raise ValueError(
                f"Received an invalid value for argument `{name}`: its {axis} "
                f"{size} is smaller than kernel_size {k} with padding='valid', "
                f"so the project-in convolution has no output. Got shape {shape}."
            )


def _use_xla(jit_compile):
    """Resolves jit_compile='auto' for the sweep: XLA when a GPU is visible.

    On GPUs XLA fuses the gate arithmetic of a row into one kernel instead
    of a dozen launches. On CPUs oneDNN's matmul outside XLA is faster than
    XLA's and the plain graph measured faster, forward and backward
    (bench/spatial_dependency_bench.py --jit_compile=true). The sweep takes
    tensors, not variables, so an XLA sweep also works under
    MirroredStrategy.
    """
    if jit_compile == "auto":
        return bool(tf.config.list_logical_devices("GPU"))
    return bool(jit_compile)


# Shapes are not relaxed: the gate split needs the static feature size.
_sweep_xla = tf.function(
    correction_lib.correction_sweep, jit_compile=True, autograph=False
)


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's retracing warning for the eager sweep function.

    Eagerly, every sweep of a different shape, direction or dtype traces the
    function once (a deep model has many); that is by design, not the bug
    the warning is about.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("correction_sweep" in message and "retracing" in message)


logging.getLogger("tensorflow").addFilter(_ExpectedRetracing())
_sweep_graph = tf.function(correction_lib.correction_sweep, autograph=False)


def _with_forward_chains(sweep):
    """`sweep` with the forward chains measured faster on CPUs (see
    `correction.forward_chains`); XLA sweeps keep one loop."""

    def sweep_in_chains(features, *weights, **kwargs):
        chains = correction_lib.forward_chains(features)
        return sweep(features, *weights, chains=chains, **kwargs)

    return sweep_in_chains


def _tensorflow_sweep(jit_compile, native_kernel, state_dtype):
    """The TensorFlow sweep function for `jit_compile` and `native_kernel`
    where the call runs (see `correction_native.use_kernel`)."""
    xla = _use_xla(jit_compile)
    compiled = xla or correction_native.in_xla_context()
    if correction_native.use_kernel(native_kernel, state_dtype, compiled):
        # One op per sweep: eagerly it needs no tf.function around it.
        return correction_native.correction_sweep
    if xla:
        return _sweep_xla
    if tf.executing_eagerly():
        # One graph instead of op-by-op execution.
        return _with_forward_chains(_sweep_graph)
    # Already inside a graph (fit, tf.function): inline the ops. A nested
    # function would trace a forward and a backward function of its own per
    # layer, which dominates tracing a deep model.
    return _with_forward_chains(correction_lib.correction_sweep)


def _sweep_for_backend(jit_compile, native_kernel, state_dtype):
    """The sweep function of Keras' backend; all take the same arguments.

    TensorFlow: the native kernel (`correction_native.correction_sweep`)
    where `native_kernel` takes it, else `correction.correction_sweep`,
    compiled as `jit_compile` asks. JAX: `correction_jax.correction_sweep`,
    always compiled by jax.jit (JAX has no uncompiled graph to choose
    instead). PyTorch: `correction_torch.correction_sweep`, always eager
    (`jit_compile` does not apply). `native_kernel=True` raises on both.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_sweep(jit_compile, native_kernel, state_dtype)
    if backend not in SUPPORTED_BACKENDS:
        raise _unsupported_backend(backend)
    if native_kernel is True:
        raise ValueError(
            "Received an invalid value for argument `native_kernel`: the "
            f"native sweep kernel is a TensorFlow op, but Keras runs on "
            f"{backend!r}. Use native_kernel='auto' or False."
        )
    # Imported here so that installs without JAX or PyTorch never import them.
    if backend == "jax":
        from sdn_tf.layers import correction_jax

        return correction_jax.correction_sweep
    from sdn_tf.layers import correction_torch

    return correction_torch.correction_sweep


def _unsupported_backend(backend):
    return ValueError(
        "The spatial dependency layers run on the Keras backends "
        f"{SUPPORTED_BACKENDS}, but Keras runs on {backend!r}. Set "
        "KERAS_BACKEND to one of them before importing keras."
    )


def _check_backend():
    """Raises the ValueError of `_unsupported_backend` on other backends."""
    backend = keras.backend.backend()
    if backend not in SUPPORTED_BACKENDS:
        raise _unsupported_backend(backend)


def own_copy(initializer):
    """A new initializer from `initializer`'s config.

    An unseeded Keras initializer fixes its seed when it is made, so one
    instance gives every weight of a shape the same values: the sweeps of
    two directions would start from the same kernels. A copy per weight
    draws its own (a seeded one keeps its seed, as asked).
    """
    return keras.initializers.get(keras.initializers.serialize(initializer))


class _CorrectionSweep(keras.layers.Layer):
    """The weights of one sweep, in GRU-cell layout (see SpatialDependency)."""

    def __init__(
        self,
        direction,
        num_features,
        kernel_initializer,
        recurrent_initializer,
        bias_initializer,
        correct_first_row=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.direction = direction
        self.axis, self.reverse = DIRECTIONS[direction]
        self.correct_first_row = correct_first_row
        self.num_features = num_features
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer

    def build(self, input_shape=None):
        f = self.num_features
        self.kernel = self.add_weight(
            name="kernel", shape=(3 * f, 3 * f), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(f, 3 * f),
            initializer=self.recurrent_initializer,
        )
        self.input_bias = self.add_weight(
            name="input_bias", shape=(3 * f,), initializer=self.bias_initializer
        )
        self.recurrent_bias = self.add_weight(
            name="recurrent_bias", shape=(3 * f,), initializer=self.bias_initializer
        )

    def correct(self, features, matmul_dtype, jit_compile, native_kernel="auto"):
        """One sweep over sweep-major features [steps, batch, length, F].

        `features` carry the state dtype (float32, or float64 under a float64
        policy); the matmuls run in `matmul_dtype` (in float32 on the native
        kernel).
        """
        state_dtype = features.dtype
        sweep = _sweep_for_backend(jit_compile, native_kernel, state_dtype)
        return sweep(
            features,
            # Tensors, not variables: an XLA sweep then also works under
            # MirroredStrategy. The sweep casts matmul operands itself.
            ops.cast(self.kernel, state_dtype),
            ops.cast(self.input_bias, state_dtype),
            ops.cast(self.recurrent_kernel, state_dtype),
            ops.cast(self.recurrent_bias, state_dtype),
            reverse=self.reverse,
            matmul_dtype=keras.backend.standardize_dtype(matmul_dtype),
            correct_first_row=self.correct_first_row,
        )


@keras.saving.register_keras_serializable(package="sdn_tf")
class SpatialDependency(keras.layers.Layer):
    """Spatial dependency layer (SDN), a drop-in for Conv2D/Conv2DTranspose.

    Computes, on NHWC input X (Miladinovic et al. 2021, section 2):

      1. Project-in: I = tanh(conv(X)), a Conv2D (or a Conv2DTranspose when
         `transpose=True`) with `kernel_size`, `strides`, `padding` and
         `num_features` output channels.
      2. Correction: one sweep per entry of `directions`, in order. A sweep
         visits the rows (or columns) one after another and corrects each
         feature vector from its 3 neighbours in the previous, already
         corrected row with a GRU cell (Algorithm 1):
             nb = concat(P[j-1], P[j], P[j+1])
             r  = sigmoid(nb.W_r + b_r + I.U_r + c_r)
             z  = sigmoid(nb.W_z + b_z + I.U_z + c_z)
             n  = tanh(nb.W_n + b_n + r * (I.U_n + c_n))
             I' = z * I + (1 - z) * n
         Borders are zero padded and the first row is corrected too, from
         zero neighbours (unless `correct_first_row=False`). "down" sweeps
         top to bottom, "up" bottom to top, "right" left to right and "left"
         right to left; for "right"/"left" the neighbours are rows i-1, i,
         i+1 of the previous column.
      3. Project-out: X' = conv1x1(I') with `filters` output channels,
         followed by `activation` if one is given.

    Weights of sweep k (`layer.corrections[k]`) are stored in GRU-cell layout,
    so weights of a GRU-cell based implementation load directly:
      kernel           [3F, 3F]  W: rows are the neighbours (P[j-1], P[j],
                                 P[j+1]), columns the gates (r, z, n);
      recurrent_kernel [F, 3F]   U, gate order (r, z, n);
      input_bias       [3F]      b;
      recurrent_bias   [3F]      c.
    From PyTorch's `GRUCell(3F, F)` (the reference implementation): kernel =
    weight_ih.T, recurrent_kernel = weight_hh.T, input_bias = bias_ih,
    recurrent_bias = bias_hh. From Keras' `GRUCell(F, reset_after=True)`
    reorder its gate blocks (z, r, h) to (r, z, n). To reproduce a layer of
    the authors' PyTorch code (`SDNLayer` in lib/nn.py of djordjemila/sdn),
    also pass `correct_first_row=False` and map its `dirs` 0, 1, 2, 3 to
    "right", "left", "down", "up". Its convolution weights, Conv2d
    [out, in, kh, kw] and ConvTranspose2d [in, out, kh, kw], become Keras
    kernels with transpose(2, 3, 1, 0); its padding=1 with kernel 3 (or with
    kernel 4, stride 2) is padding="same".

    Dtypes: under a mixed-precision policy the convolutions and the two
    matmuls of every sweep take float16/bfloat16 operands, while the gates,
    the carried row and the per-row state between sweeps stay in float32
    (a long sweep would otherwise accumulate rounding in the half-precision
    state). The output has the compute dtype of the policy. The native
    kernel (`native_kernel`) computes its sweeps' matmuls in float32 too.

    Backends: the layer runs under Keras' TensorFlow, JAX and PyTorch
    backends, with the same weights, config and `.keras` files; each has its
    own sweep (`correction.py`, `correction_jax.py`, `correction_torch.py`;
    on TensorFlow CPUs the native kernel, `correction_native.py`) and the
    rest is `keras.ops`.

    Args:
      filters: positive int, output channels.
      num_features: positive int F, channels of the corrected representation.
      directions: sequence of "down", "up", "right", "left" (a sweep each, in
        order). Defaults to ("down", "right").
      kernel_size: int or pair, project-in kernel. Defaults to 1.
      strides: int or pair, project-in strides. Defaults to 1.
      padding: "same" or "valid", project-in padding. Defaults to "same".
      transpose: bool, project-in with a Conv2DTranspose (upsampling).
        Defaults to False.
      activation: activation applied to the output. Defaults to None.
      weight_norm: bool, weight-normalize the project-in and project-out
        convolutions (Salimans & Kingma 2016). Defaults to False.
      kernel_initializer: initializer of the convolution kernels and of the
        neighbour kernels W. Defaults to "glorot_uniform".
      recurrent_initializer: initializer of the kernels U. Defaults to
        "orthogonal".
      bias_initializer: initializer of all biases. Defaults to "zeros".
      jit_compile: True, False or "auto": compile the sweeps with XLA. "auto"
        uses XLA when a GPU is visible (on CPUs the plain graph is faster).
        Independent of `model.compile(jit_compile=...)`, which compiles the
        whole step. TensorFlow only: under JAX the sweeps are always
        compiled (jax.jit), under PyTorch they run eagerly. Defaults to
        "auto".
      correct_first_row: bool. True (Algorithm 1 of the paper) corrects the
        first row of every sweep from zero neighbours. False leaves it as it
        enters the sweep (for the first sweep I = tanh(conv(X))) and corrects
        the second row from it, as the authors' PyTorch code does (lib/nn.py
        of djordjemila/sdn, `_CorrectionLayer.forward0`-`forward3`: the loops
        at lines 43, 60, 77 and 94 start at the second row); use False for
        weights trained with that code. Unlike that code, a sweep along the
        width runs over the whole width (theirs takes its length from the
        height, lines 40, 57, 74 and 91: square inputs only). Defaults to
        True.
      native_kernel: True, False or "auto": run each sweep as the native CPU
        kernel (one op per sweep and one per backward sweep, compiled for
        this machine at first use and cached; `sdn_tf.layers.
        correction_native`), like Keras' `use_cudnn`. "auto" takes it on CPU
        with the TensorFlow backend outside XLA, and the graph path on GPUs,
        under XLA and where it cannot be built (with one warning that says
        why). True requires it (a RuntimeError where it cannot run), False
        never takes it; the environment variable SDN_TF_NATIVE=1/0 overrides
        the argument (see `sdn_tf.native`). Exported SavedModels always hold
        the graph path. The kernel computes in float32 under mixed-precision
        policies. A TensorFlow op: under JAX and PyTorch "auto" and False
        run the backend's sweep, True raises a ValueError. Defaults to
        "auto".
      **kwargs: base Layer arguments (name, dtype, trainable, ...).

    Input shape:
      4D tensor `(batch, height, width, channels)`; height and width may be
      None until call time, channels must be known.

    Output shape:
      4D tensor `(batch, new_height, new_width, filters)`, the spatial size
      that Conv2D (or Conv2DTranspose) with the same kernel_size, strides and
      padding gives.

    Raises:
      ValueError: on a Keras backend other than TensorFlow, JAX and
        PyTorch, on an invalid argument, on an input of rank other than 4 or
        with unknown channels, on a 'valid' projection larger than the
        input, and on `transpose=True` with strides larger than kernel_size
        (which would leave output pixels that no input reaches).

    Example:

    >>> x = np.zeros((2, 8, 8, 32), "float32")
    >>> layer = SpatialDependency(64, 128, kernel_size=4, strides=2,
    ...                           transpose=True)
    >>> layer(x).shape
    TensorShape([2, 16, 16, 64])
    """

    def __init__(
        self,
        filters,
        num_features,
        directions=("down", "right"),
        kernel_size=1,
        strides=1,
        padding="same",
        transpose=False,
        activation=None,
        weight_norm=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        jit_compile="auto",
        correct_first_row=True,
        native_kernel="auto",
        **kwargs,
    ):
        _check_backend()
        super().__init__(**kwargs)
        self.filters = arguments.positive_integer(filters, "filters")
        self.num_features = arguments.positive_integer(num_features, "num_features")
        self.directions = _validate_directions(directions)
        self.kernel_size = arguments.positive_integer_pair(kernel_size, "kernel_size")
        self.strides = arguments.positive_integer_pair(strides, "strides")
        self.padding = _validate_padding(padding)
        self.transpose = arguments.boolean(transpose, "transpose")
        if self.transpose and any(
            s > k for s, k in zip(self.strides, self.kernel_size)
        ):
            raise ValueError(
                "Received an invalid value for argument `strides`: with "
                f"transpose=True, strides {self.strides} larger than kernel_size "
                f"{self.kernel_size} leave output pixels that no input reaches, "
                "so the input cannot be upsampled as asked. Use kernel_size >= "
                "strides."
            )
        self.activation = keras.activations.get(activation)
        self.weight_norm = arguments.boolean(weight_norm, "weight_norm")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.jit_compile = _validate_jit_compile(jit_compile)
        self.correct_first_row = arguments.boolean(
            correct_first_row, "correct_first_row"
        )
        self.native_kernel = _validate_native_kernel(native_kernel)

    def build(self, input_shape):
        input_shape = _validate_image_shape(input_shape, "inputs")
        _check_projection_fits(
            input_shape,
            self.kernel_size,
            self.strides,
            self.padding,
            self.transpose,
            "inputs",
        )
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: input_shape[-1]})
        self.project_in = convolution(
            self.num_features,
            self.kernel_size,
            self.strides,
            transpose=self.transpose,
            weight_norm=self.weight_norm,
            padding=self.padding,
            activation="tanh",
            name="project_in",
            **self._sublayer_initializers(),
        )
        self.project_in.build(input_shape)
        self.corrections = [
            _CorrectionSweep(
                direction,
                self.num_features,
                recurrent_initializer=own_copy(self.recurrent_initializer),
                correct_first_row=self.correct_first_row,
                name=f"correction_{index}_{direction}",
                **self._sublayer_initializers(),
            )
            for index, direction in enumerate(self.directions)
        ]
        for correction in self.corrections:
            correction.build()
        self.project_out = convolution(
            self.filters,
            1,
            weight_norm=self.weight_norm,
            name="project_out",
            **self._sublayer_initializers(),
        )
        self.project_out.build(self.project_in.compute_output_shape(input_shape))

    def _sublayer_initializers(self):
        """Initializers of one sublayer, its own copies (see `own_copy`)."""
        return dict(
            kernel_initializer=own_copy(self.kernel_initializer),
            bias_initializer=own_copy(self.bias_initializer),
            dtype=self.dtype_policy,
        )

    def call(self, inputs):
        _check_projection_fits(
            tuple(inputs.shape),
            self.kernel_size,
            self.strides,
            self.padding,
            self.transpose,
            "inputs",
        )
        # Stage 1: project-in (tanh included), then the state dtype.
        features = ops.cast(self.project_in(inputs), self._state_dtype)  # [B,H,W,F]
        # Stage 2: the sweeps, each in its sweep-major layout; consecutive
        # sweeps along the same axis share it, so only axis changes transpose.
        layout = None
        for correction in self.corrections:
            features = _relayout(features, layout, correction.axis)
            features = correction.correct(
                features, self.compute_dtype, self.jit_compile, self.native_kernel
            )
            layout = correction.axis
        features = _relayout(features, layout, None)  # [B, H, W, F]
        # Stage 3: project-out.
        outputs = self.project_out(ops.cast(features, self.compute_dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    @property
    def _state_dtype(self):
        """Dtype of the carried rows: float32, or float64 under a float64 policy."""
        return "float64" if self.compute_dtype == "float64" else "float32"

    def compute_output_shape(self, input_shape):
        input_shape = _validate_image_shape(input_shape, "input_shape")
        spatial = [
            _projected_size(size, k, s, self.padding, self.transpose)
            for size, k, s in zip(input_shape[1:3], self.kernel_size, self.strides)
        ]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            num_features=self.num_features,
            directions=list(self.directions),
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            transpose=self.transpose,
            activation=keras.activations.serialize(self.activation),
            weight_norm=self.weight_norm,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(
                self.recurrent_initializer
            ),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            jit_compile=self.jit_compile,
            correct_first_row=self.correct_first_row,
            native_kernel=self.native_kernel,
        )
        return config


@keras.saving.register_keras_serializable(package="sdn_tf")
class ResSpatialDependency(keras.layers.Layer):
    """Residual spatial dependency layer (ResSDN, Figure 3 of the paper).

    A gated residual around a SpatialDependency layer, used on the top-down
    path of the SDN-VAE:

      [s, g] = SpatialDependency(2 * filters, ...)(x)     split on channels
      c      = conv(x)                                    same kernel/strides
      output = sigmoid(g) * c + (1 - sigmoid(g)) * s

    where `conv` is a Conv2D, or a Conv2DTranspose when `transpose=True`, with
    `filters` channels and the same kernel_size, strides and padding as the
    project-in stage, so both branches have the same shape.

    `filters`, `num_features`, `directions`, `kernel_size`, `strides`,
    `padding`, `transpose`, `weight_norm` (which also applies to the
    convolutional branch), `kernel_initializer`, `recurrent_initializer`,
    `bias_initializer`, `jit_compile`, `correct_first_row` and
    `native_kernel` are `SpatialDependency`'s arguments.

    Args:
      activation: activation applied to the gated output. Defaults to None.
      **kwargs: base Layer arguments.

    Input shape:
      4D tensor `(batch, height, width, channels)`.

    Output shape:
      4D tensor `(batch, new_height, new_width, filters)`, as SpatialDependency.

    Raises:
      ValueError: as `SpatialDependency`.

    Example:

    >>> x = np.zeros((2, 8, 6, 16), "float32")
    >>> ResSpatialDependency(32, 64, kernel_size=3)(x).shape
    TensorShape([2, 8, 6, 32])
    """

    def __init__(
        self,
        filters,
        num_features,
        directions=("down", "right"),
        kernel_size=1,
        strides=1,
        padding="same",
        transpose=False,
        activation=None,
        weight_norm=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        jit_compile="auto",
        correct_first_row=True,
        native_kernel="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = arguments.positive_integer(filters, "filters")
        # The inner layer validates every shared argument.
        self._inner_kwargs = dict(
            num_features=num_features,
            directions=directions,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            transpose=transpose,
            weight_norm=weight_norm,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            jit_compile=jit_compile,
            correct_first_row=correct_first_row,
            native_kernel=native_kernel,
        )
        self.spatial = SpatialDependency(
            2 * self.filters,
            **self._inner_kwargs,
            name="spatial",
            dtype=self.dtype_policy,
        )
        self.activation = keras.activations.get(activation)
        s = self.spatial
        self.conv = convolution(
            self.filters,
            s.kernel_size,
            s.strides,
            transpose=s.transpose,
            weight_norm=s.weight_norm,
            padding=s.padding,
            name="conv",
            **s._sublayer_initializers(),
        )

    def build(self, input_shape):
        input_shape = _validate_image_shape(input_shape, "inputs")
        self.spatial.build(input_shape)
        self.conv.build(input_shape)
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: input_shape[-1]})

    def call(self, inputs):
        spatial, gate = ops.split(self.spatial(inputs), 2, axis=-1)
        gate = ops.sigmoid(gate)
        outputs = gate * self.conv(inputs) + (1.0 - gate) * spatial
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        shape = self.spatial.compute_output_shape(input_shape)
        return shape[:-1] + (self.filters,)

    def get_config(self):
        config = super().get_config()
        inner = self.spatial.get_config()
        for key in self._inner_kwargs:
            config[key] = inner[key]
        config.update(
            filters=self.filters,
            activation=keras.activations.serialize(self.activation),
        )
        return config
