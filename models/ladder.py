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

from models import iaf
from sdn_tf import arguments
from sdn_tf.distributions import latent
from sdn_tf.layers import (
    ResSpatialDependency,
    WeightNormConv2D,
    WeightNormConv2DTranspose,
)


def _conv(
    filters, kernel_size=3, strides=1, transpose=False, weight_norm=True, **kwargs
):
    if transpose:
        cls = WeightNormConv2DTranspose if weight_norm else keras.layers.Conv2DTranspose
    else:
        cls = WeightNormConv2D if weight_norm else keras.layers.Conv2D
    return cls(filters, kernel_size, strides=strides, padding="same", **kwargs)


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


class LadderLayer(keras.layers.Layer):
    """One bottom-up / top-down pair of the ladder (see module docstring).

    Args:
      h_size: channels of the deterministic path.
      z_size: channels of z.
      downsample: the bottom-up half halves the scale (the top-down half
        doubles it back).
      sdn_features: features of the ResSDN layers, or None for convolutions.
      directions_a, directions_b: sweeps of down_a and down_b.
      context_size: IAF context channels (100 in the paper).
      iaf_layers: masked type-B layers of the IAF network (2).
      weight_norm: weight-normalize the convolutions.
      top: the topmost layer, whose bottom-up output nothing reads (the
        top-down pass starts from a learned constant), so it has no up_b.
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        h_size = arguments.positive_integer(h_size, "h_size")
        z_size = arguments.positive_integer(z_size, "z_size")
        context_size = arguments.positive_integer(context_size, "context_size")
        if sdn_features is not None:
            sdn_features = arguments.positive_integer(sdn_features, "sdn_features")
        self.h_size, self.z_size = h_size, z_size
        self.downsample = arguments.boolean(downsample, "downsample")
        self.top = arguments.boolean(top, "top")
        self.sdn_features, self.context_size = sdn_features, context_size
        self.directions_a, self.directions_b = tuple(directions_a), tuple(directions_b)
        q_channels, p_channels = 2 * z_size + context_size, 2 * z_size
        self.split_down = [h_size, h_size + q_channels]
        dtype = self.dtype_policy
        stride = 2 if downsample else 1
        kernel = 4 if downsample else 3
        self.up_a = _conv(
            h_size + q_channels,
            kernel,
            stride,
            weight_norm=weight_norm,
            name="up_a",
            dtype=dtype,
        )
        self.up_b = (
            None
            if top
            else _conv(2 * h_size, weight_norm=weight_norm, name="up_b", dtype=dtype)
        )
        if sdn_features:
            self.down_a = ResSpatialDependency(
                h_size + q_channels + p_channels,
                sdn_features,
                self.directions_a,
                kernel_size=3,
                weight_norm=weight_norm,
                name="down_a",
                dtype=dtype,
            )
            self.down_b = ResSpatialDependency(
                2 * h_size,
                sdn_features,
                self.directions_b,
                kernel_size=kernel,
                strides=stride,
                transpose=downsample,
                weight_norm=weight_norm,
                name="down_b",
                dtype=dtype,
            )
        else:
            self.down_a = _conv(
                h_size + q_channels + p_channels,
                weight_norm=weight_norm,
                name="down_a",
                dtype=dtype,
            )
            self.down_b = _conv(
                2 * h_size,
                kernel,
                stride,
                transpose=downsample,
                weight_norm=weight_norm,
                name="down_b",
                dtype=dtype,
            )
        self.iaf = iaf.IAFStep(
            z_size, context_size, iaf_layers, name="iaf", dtype=dtype
        )

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
        prior = latent.gaussian_from_params(t[..., self.split_down[1] :], event_ndims=3)
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
        gaussian = latent.gaussian_from_params(params[..., : 2 * z], event_ndims=3)
        loc, scale = gaussian.distribution.loc, gaussian.distribution.scale
        if deterministic:
            z0 = loc
        else:
            z0 = loc + scale * keras.random.normal(ops.shape(loc), seed=seed)
        z_out, log_det_term = self.iaf.flow(z0, params[..., 2 * z :])
        return z_out, gaussian.log_prob(z0) + log_det_term
