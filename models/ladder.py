"""One ladder layer of the SDN-VAE: the IAF-VAE ResNet block with the
paper's changes (Figure 4 of Miladinovic et al. 2021; Kingma et al. 2016).

Bottom-up half (3x3 convs; up_a is 4x4 stride 2 when downsampling):
    [h, q_up] = up_a(elu(x))
    [h, g]    = up_b(elu(h))
    x'        = (1 - s) * x + s * h,  s = sigmoid(g - 1)   (x downsampled)

Top-down half (down_a: ResSDN inside the SDN scales, else 3x3 conv;
down_b: ResSDN or conv, transposed when upsampling):
    [h_det, q_down, p] = down_a(elu(x))
    q = q_up + q_down                          posterior parameters merged
    z = IAF(loc_q + exp(log_scale_q) * eps)    one IAF step, context from q
    [h, g]    = down_b(elu(concat(z, h_det)))
    x'        = (1 - s) * x + s * h,  s = sigmoid(g - 1)   (x upsampled)

Gated ("highway") residuals replace the IAF-VAE's sums; activations are
ELUs; convolutions are weight-normalized. The prior p(z) is the diagonal
Gaussian with parameters p; the layer's KL is the single-sample estimate
log q(z) - log p(z), as a flow shapes q.
"""

import keras
from keras import ops

from sdn_tf import arguments
from sdn_tf.distributions import latent
from sdn_tf.layers import ResSpatialDependency
from sdn_tf.layers.weight_norm import convolution
from sdn_tf.models import iaf


def gated_residual(residual, update):
    """(1 - s) * residual + s * h with [h, g] = update and s = sigmoid(g - 1)."""
    h, gate = ops.split(update, 2, axis=-1)
    gate = ops.sigmoid(gate - 1.0)
    return (1.0 - gate) * residual + gate * h


def downsample(x):
    """Nearest-neighbour halving (every other pixel)."""
    return x[:, ::2, ::2, :]


def upsample(x):
    """Nearest-neighbour doubling."""
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


@keras.saving.register_keras_serializable(package="sdn_tf")
class LadderLayer(keras.layers.Layer):
    """One bottom-up / top-down pair of the SDN-VAE's ladder.

    The bottom-up half `up` computes the deterministic path and this
    layer's share of the posterior parameters; the top-down half `down`
    samples z (from the posterior given `q_up`, else from the prior) and
    updates the top-down path (see the module docstring for the formulas).
    A model calls the two halves as methods, bottom-up through all layers
    and then top-down, not through `__call__`; the first pass builds the
    layer.

    Args:
      h_size: positive int, channels of the deterministic path.
      z_size: positive int, channels of z.
      downsample: bool, the bottom-up half halves the scale (the top-down
        half doubles it back). Defaults to False.
      sdn_features: positive int, features of the ResSDN layers down_a and
        down_b, or None for convolutions. Defaults to None.
      directions_a, directions_b: sweeps of down_a and down_b (used with
        `sdn_features`). Default to ().
      context_size: positive int, IAF context channels (100 in the paper).
        Defaults to 100.
      iaf_layers: positive int, masked type-B layers of the IAF network.
        Defaults to 2.
      weight_norm: bool, weight-normalize the convolutions. Defaults to True.
      top: bool, the topmost layer, whose bottom-up output nothing reads
        (the top-down pass starts from a learned constant), so it has no
        up_b. Defaults to False.
      latent_parameterization: how the networks' outputs give the Gaussians'
        scales: "log_scale" (std = exp(s)) or "log_variance" (std =
        exp(s / 2), the authors' code). Defaults to "log_scale".
      kernel_initializer: initializer of every convolution kernel (and of
        the SDN layers' input kernels). Defaults to "glorot_uniform"; the
        authors' code uses "orthogonal".
      correct_first_row: the ResSDN layers correct the first row of each
        sweep (Algorithm 1); False is the authors' sweep. Defaults to True.
      **kwargs: base Layer arguments (name, dtype, ...).

    Input shape:
      `up`: 4D tensor `(batch, size, size, h_size)`. `down`: 4D tensor
      `(batch, size / 2, size / 2, h_size)` when downsampling, else the
      bottom-up input's shape; `q_up` as `up` returned it.

    Output shape:
      `up`: `(x', q_up)`, x' `(batch, size / 2, size / 2, h_size)` when
      downsampling, else `(batch, size, size, h_size)` (None for `top`),
      and q_up at x''s resolution with `2 * z_size + context_size`
      channels. `down`: `(x', z, log_q, log_p)`, x' at the bottom-up
      input's resolution with h_size channels, z `(batch, ..., z_size)` at
      the latent resolution, log_q and log_p `(batch,)` (None without
      `q_up`).

    Example:

    >>> layer = LadderLayer(h_size=8, z_size=2, downsample=True, context_size=4)
    >>> h, q_up = layer.up(np.zeros((2, 8, 8, 8), "float32"))
    >>> h.shape, q_up.shape
    (TensorShape([2, 4, 4, 8]), TensorShape([2, 4, 4, 8]))
    >>> x, z, log_q, log_p = layer.down(h, q_up=q_up)
    >>> x.shape, z.shape, log_q.shape
    (TensorShape([2, 8, 8, 8]), TensorShape([2, 4, 4, 2]), TensorShape([2]))
    """

    def __init__(
        self,
        h_size,
        z_size,
        downsample=False,
        sdn_features=None,
        directions_a=(),
        directions_b=(),
        context_size=100,
        iaf_layers=2,
        weight_norm=True,
        top=False,
        latent_parameterization="log_scale",
        kernel_initializer="glorot_uniform",
        correct_first_row=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        h_size = arguments.positive_integer(h_size, "h_size")
        z_size = arguments.positive_integer(z_size, "z_size")
        context_size = arguments.positive_integer(context_size, "context_size")
        iaf_layers = arguments.positive_integer(iaf_layers, "iaf_layers")
        if sdn_features is not None:
            sdn_features = arguments.positive_integer(sdn_features, "sdn_features")
        self.h_size, self.z_size = h_size, z_size
        self.downsample = arguments.boolean(downsample, "downsample")
        self.top = arguments.boolean(top, "top")
        self.weight_norm = arguments.boolean(weight_norm, "weight_norm")
        self.sdn_features, self.context_size = sdn_features, context_size
        self.directions_a, self.directions_b = tuple(directions_a), tuple(directions_b)
        self.latent_parameterization = arguments.one_of(
            latent_parameterization,
            "latent_parameterization",
            latent.PARAMETERIZATIONS,
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.correct_first_row = arguments.boolean(
            correct_first_row, "correct_first_row"
        )
        conv_options = dict(
            weight_norm=self.weight_norm,
            # A config, not the instance: a shared unseeded initializer
            # would give every layer the same values.
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            dtype=self.dtype_policy,
        )
        sdn_options = dict(conv_options, correct_first_row=self.correct_first_row)
        q_channels, p_channels = 2 * z_size + context_size, 2 * z_size
        self.split_down = [h_size, h_size + q_channels]
        stride = 2 if self.downsample else 1
        kernel = 4 if self.downsample else 3
        self.up_a = convolution(
            h_size + q_channels, kernel, stride, name="up_a", **conv_options
        )
        self.up_b = (
            None
            if self.top
            else convolution(2 * h_size, 3, name="up_b", **conv_options)
        )
        if sdn_features:
            self.down_a = ResSpatialDependency(
                h_size + q_channels + p_channels,
                sdn_features,
                self.directions_a,
                kernel_size=3,
                name="down_a",
                **sdn_options,
            )
            self.down_b = ResSpatialDependency(
                2 * h_size,
                sdn_features,
                self.directions_b,
                kernel_size=kernel,
                strides=stride,
                transpose=self.downsample,
                name="down_b",
                **sdn_options,
            )
        else:
            self.down_a = convolution(
                h_size + q_channels + p_channels, 3, name="down_a", **conv_options
            )
            self.down_b = convolution(
                2 * h_size,
                kernel,
                stride,
                transpose=self.downsample,
                name="down_b",
                **conv_options,
            )
        self.iaf = iaf.IAFStep(
            z_size,
            context_size,
            iaf_layers,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            name="iaf",
            dtype=self.dtype_policy,
        )

    @property
    def iaf_layers(self):
        return self.iaf.num_layers

    @property
    def uses_sdn(self):
        return bool(self.sdn_features)

    def up(self, x):
        """Bottom-up half: (x', posterior parameters q_up); x' is None at the top."""
        # Built by its first pass (up, then down), not by __call__.
        self.built = True
        t = self.up_a(ops.elu(x))
        h, q_up = t[..., : self.h_size], t[..., self.h_size :]
        if self.top:
            return None, q_up
        residual = downsample(x) if self.downsample else x
        return gated_residual(residual, self.up_b(ops.elu(h))), q_up

    def down(
        self, x, q_up=None, z=None, temperature=1.0, deterministic=False, seed=None
    ):
        """Top-down half.

        With q_up: z from the posterior (training and encoding), and the
        float32 log q(z) and log p(z) per example. Without q_up: z from the
        prior at `temperature`, or the given `z`; log terms are None.
        `deterministic` replaces the Gaussian noise by 0.

        Returns:
          (x', z, log_q, log_p).
        """
        t = self.down_a(ops.elu(x))
        h_det = t[..., : self.h_size]
        q_down = t[..., self.h_size : self.split_down[1]]
        prior = latent.gaussian_from_params(
            t[..., self.split_down[1] :],
            event_ndims=3,
            parameterization=self.latent_parameterization,
        )
        log_q = log_p = None
        if z is None and q_up is not None:
            z, log_q = self._posterior_sample(q_up + q_down, deterministic, seed)
            log_p = prior.log_prob(z)
        elif z is None:
            loc, scale = prior.distribution.loc, prior.distribution.scale
            if deterministic or (
                isinstance(temperature, (int, float)) and temperature == 0
            ):
                z = loc
            else:
                z = loc + scale * temperature * keras.random.normal(
                    ops.shape(loc), seed=seed
                )
        inputs = ops.concatenate([ops.cast(z, self.compute_dtype), h_det], axis=-1)
        residual = upsample(x) if self.downsample else x
        return gated_residual(residual, self.down_b(ops.elu(inputs))), z, log_q, log_p

    def _posterior_sample(self, params, deterministic, seed):
        """z and log q(z) of the Gaussian-then-IAF posterior (float32)."""
        params = ops.cast(params, "float32")
        z = self.z_size
        gaussian = latent.gaussian_from_params(
            params[..., : 2 * z],
            event_ndims=3,
            parameterization=self.latent_parameterization,
        )
        loc, scale = gaussian.distribution.loc, gaussian.distribution.scale
        if deterministic:
            z0 = loc
        else:
            z0 = loc + scale * keras.random.normal(ops.shape(loc), seed=seed)
        z_out, log_det_term = self.iaf.flow(z0, params[..., 2 * z :])
        return z_out, gaussian.log_prob(z0) + log_det_term

    def get_config(self):
        config = super().get_config()
        config.update(
            h_size=self.h_size,
            z_size=self.z_size,
            downsample=self.downsample,
            sdn_features=self.sdn_features,
            directions_a=list(self.directions_a),
            directions_b=list(self.directions_b),
            context_size=self.context_size,
            iaf_layers=self.iaf_layers,
            weight_norm=self.weight_norm,
            top=self.top,
            latent_parameterization=self.latent_parameterization,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            correct_first_row=self.correct_first_row,
        )
        return config
