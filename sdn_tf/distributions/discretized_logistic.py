"""Discretized logistic observation models (Salimans et al., 2017).

`DiscretizedLogisticMixture` is the PixelCNN++ likelihood the SDN-VAE uses
for density estimation; `DiscretizedLogistic` is the single-logistic model
of the SDN paper's beta-VAE. Both are distributions over images with event
shape [H, W, C] whose values lie on the grid of `quantization.py`.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from sdn_tf import arguments
from sdn_tf.distributions import quantization

tfd = tfp.distributions
samplers = tfp.random

# log-scales are clamped from below, as in PixelCNN++ and the SDN reference.
MIN_LOG_SCALE = -7.0


def _log_sigmoid_difference(upper, lower):
    """log(sigmoid(upper) - sigmoid(lower)) for upper > lower, stably.

    sigmoid(a) - sigmoid(b) = sigmoid(-b) - sigmoid(-a): the arguments are
    reflected to the side where both sigmoids are small, where
    log sigmoid(a) + log(1 - exp(log sigmoid(b) - log sigmoid(a))) loses no
    precision, in the far tails and for bins tiny against the scale alike.
    """
    reflect = (upper + lower) > 0.0
    a = tf.where(reflect, -lower, upper)
    b = tf.where(reflect, -upper, lower)
    log_a = tf.math.log_sigmoid(a)
    # log sigmoid(a) - log sigmoid(b) = softplus(-b) - softplus(-a) >= 0.
    gap = tf.nn.softplus(-b) - tf.nn.softplus(-a)
    return log_a + tfp.math.log1mexp(tf.maximum(gap, 1e-30))


def discretized_logistic_log_prob(values, loc, log_scale, num_bits):
    """Elementwise log P(values) under logistics discretized to the grid.

    Interior values get the mass of their bin, the lowest value the mass
    below its upper edge (log CDF) and the highest the mass above its lower
    edge (log of 1 - CDF). Float32 math; the arguments broadcast.
    """
    h = quantization.half_bin_width(num_bits)
    values = tf.cast(values, tf.float32)
    inv_scale = tf.exp(-tf.maximum(tf.cast(log_scale, tf.float32), MIN_LOG_SCALE))
    centred = values - tf.cast(loc, tf.float32)
    upper = inv_scale * (centred + h)
    lower = inv_scale * (centred - h)
    log_cdf_upper = tf.math.log_sigmoid(upper)  # lowest value: all mass below
    log_survival_lower = tf.math.log_sigmoid(-lower)  # highest: all mass above
    interior = _log_sigmoid_difference(upper, lower)
    return tf.where(
        values <= -1.0 + 0.5 * h,
        log_cdf_upper,
        tf.where(values >= 1.0 - 0.5 * h, log_survival_lower, interior),
    )


class _ImagesOnTheGrid:
    """log_prob and prob take 8-bit pixels too: integer images are converted
    exactly as `quantization.from_uint8` does, before TFP casts them to
    float32 (as floats, 0..255 would be scored as values far off the grid)."""

    def _call_log_prob(self, value, name, **kwargs):
        return super()._call_log_prob(self._from_pixels(value), name, **kwargs)

    def _call_prob(self, value, name, **kwargs):
        return super()._call_prob(self._from_pixels(value), name, **kwargs)

    def _from_pixels(self, value):
        if tf.is_tensor(value) or isinstance(value, np.ndarray):
            return quantization.as_grid_values(value, self._num_bits)
        return value


def _grid_values(x, event_shape):
    """log_prob's argument as float32, checked against the event shape: a
    1-channel image against 3-channel parameters would broadcast silently."""
    shape = x.shape
    if shape.rank is not None and event_shape.rank is not None:
        tail = shape[-3:] if shape.rank >= 3 else shape
        if shape.rank < 3 or not tail.is_compatible_with(event_shape):
            raise ValueError(
                "Received an invalid value for argument `value`, expected "
                f"images [..., H, W, C] with [H, W, C] = {event_shape.as_list()} "
                f"(the parameters' event shape), got shape {shape.as_list()}."
            )
    return tf.cast(x, tf.float32)


def _uniform_open(shape, seed):
    """Uniform samples in the open interval (0, 1), from a stateless seed."""
    tiny = np.finfo(np.float32).tiny
    return tf.random.stateless_uniform(
        shape, seed=samplers.sanitize_seed(seed), minval=tiny, maxval=1.0
    )


class DiscretizedLogisticMixture(_ImagesOnTheGrid, tfd.Distribution):
    """Discretized mixture of logistics over images (PixelCNN++).

    For each pixel, a mixture of M components; in component m channel c is a
    logistic with mean mu_cm and log-scale s_cm, discretized to the grid of
    `num_bits` bits in [-1, 1] (see `quantization`). For C = 3 the channel
    means are coupled autoregressively as in PixelCNN++:

        mu_g <- mu_g + c0 * x_r
        mu_b <- mu_b + c1 * x_r + c2 * x_g          (c = tanh(raw coefficients))

    while for C = 1 (and any C other than 3) channels are independent given
    the component. Pixels are independent given the parameters.

    #### Parameter layout

    `params` has shape [..., H, W, M + 3*M*C], as a decoder outputs it:
    params[..., :M] are the mixture logits, and params[..., M:] reshaped to
    [..., H, W, C, 3*M] hold, for each channel c, M means, M log-scales and M
    raw coefficients (in that order). The coefficient block of channel k
    carries c_k (only C = 3 uses them). Log-scales are clamped from below at
    -7.

    #### Mathematical details

    With x on the grid, h = 1 / (2**num_bits - 1), sigma the logistic CDF:

        P(x_c | m) = sigma((x_c + h - mu_cm) / s_cm) - sigma((x_c - h - mu_cm) / s_cm)

    with the lowest value taking all the mass below its upper edge and the
    highest all the mass above its lower edge; then

        log p(x) = sum_{h,w} logsumexp_m (log softmax(logits)_m
                                            + sum_c log P(x_c | m)).

    The math runs in float32 whatever dtype the params come in.

    #### Reading an image off the mixture

    `mode()` is the exact per-pixel, channel-by-channel mode: R's most
    probable grid value under its marginal pmf sum_m pi_m P(r | m), then G's
    most probable value given that R, then B's given both (the components
    weighted by their posterior given the earlier channels, the means
    coupled to the earlier values). Each step scans all 2**num_bits grid
    values. It is the mode of each conditional, a greedy mode of the colour,
    not the joint mode over all 2**(3*num_bits) colours.

    `argmax_component_mean()` is what PixelCNN++ and the SDN reference
    (`get_mean`) show, and what sampling at temperature 0 returns: the
    coupled mean of the component with the largest logit, rounded to the
    grid. It is not the most probable value, and it jumps between components
    wherever neighbouring pixels' largest logits change places, whence
    checkerboard-like images from decoders whose logits alternate.
    `sequential_mean()` gives each channel's conditional mean given the
    earlier channels at their `mode()` values. Pictures (the observation
    model's `reconstruct`) use `argmax_component_mean()`.

    #### Examples

    ```python
    params = decoder(z)                       # [B, 32, 32, 10 + 3*10*3]
    p = DiscretizedLogisticMixture(params, num_components=10, num_bits=8)
    nll = -p.log_prob(images)                 # [B], nats per image
    recon = p.mode()                          # [B, 32, 32, 3] on the grid
    x = p.sample(seed=(1, 2), temperature=0.8)
    ```
    """

    def __init__(
        self,
        params,
        num_components,
        num_channels=3,
        num_bits=8,
        validate_args=False,
        allow_nan_stats=True,
        name="DiscretizedLogisticMixture",
    ):
        """Builds the mixture from raw decoder outputs.

        Args:
          params: [..., H, W, M + 3*M*C] float tensor (any float dtype).
          num_components: M, a positive int.
          num_channels: C, a positive int (3 for RGB, 1 for grayscale).
          num_bits: bits per channel of the data, 1 to 16.
          validate_args: check that values passed to log_prob lie in [-1, 1]
            (an InvalidArgumentError otherwise). Off by default, as in every
            TFP distribution: then a value outside [-1, 1] is scored by the
            edge bin's formula (a finite number that means nothing), so
            check data first; the models do (`models.vae.checked_images`).
          allow_nan_stats: as in every tfd.Distribution.
          name: name scope.

        Raises:
          ValueError: if params has fewer than 3 dimensions or its last
            dimension is not M + 3*M*C.
        """
        parameters = dict(locals())
        self._num_components = arguments.positive_integer(
            num_components, "num_components"
        )
        self._num_channels = arguments.positive_integer(num_channels, "num_channels")
        self._num_bits = quantization.check_num_bits(num_bits)
        with tf.name_scope(name) as name:
            self._params = tf.convert_to_tensor(params)
            self._check_params_shape(self._params.shape)
            super().__init__(
                dtype=tf.float32,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @staticmethod
    def num_params(num_components, num_channels=3):
        """Channels a decoder must output: M + 3*M*C."""
        return num_components + 3 * num_components * num_channels

    def _check_params_shape(self, shape):
        expected = self.num_params(self._num_components, self._num_channels)
        if shape.rank is not None and shape.rank < 3:
            raise ValueError(
                "Received an invalid value for argument `params`, expected a "
                f"tensor [..., H, W, {expected}], got shape {shape}."
            )
        if shape.rank is not None and shape[-1] is not None and shape[-1] != expected:
            raise ValueError(
                "Received an invalid value for argument `params`: with "
                f"num_components={self._num_components} and "
                f"num_channels={self._num_channels} it needs M + 3*M*C = "
                f"{expected} channels, got {shape[-1]} (shape {shape})."
            )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(params=tfp.util.ParameterProperties(event_ndims=3))

    @property
    def params(self):
        return self._params

    @property
    def num_components(self):
        return self._num_components

    @property
    def num_channels(self):
        return self._num_channels

    @property
    def num_bits(self):
        return self._num_bits

    def _batch_shape(self):
        return self._params.shape[:-3]

    def _batch_shape_tensor(self):
        return tf.shape(self._params)[:-3]

    def _event_shape(self):
        return self._params.shape[-3:-1].concatenate([self._num_channels])

    def _event_shape_tensor(self):
        return tf.concat([tf.shape(self._params)[-3:-1], [self._num_channels]], 0)

    def _unpack(self):
        """logits [..., H, W, M]; means, log-scales, coefficients [..., H, W, C, M]."""
        m, c = self._num_components, self._num_channels
        params = tf.cast(self._params, tf.float32)
        logits = params[..., :m]
        shape = tf.concat([tf.shape(params)[:-1], [c, 3 * m]], 0)
        rest = tf.reshape(params[..., m:], shape)
        means, log_scales, coefficients = (
            rest[..., :m],
            rest[..., m : 2 * m],
            rest[..., 2 * m :],
        )
        return (
            logits,
            means,
            tf.maximum(log_scales, MIN_LOG_SCALE),
            tf.tanh(coefficients),
        )

    def _coupled_means(self, means, coefficients, values):
        """PixelCNN++ coupling: shift the G and B means by earlier channels.

        Args:
          means, coefficients: [..., H, W, C, M].
          values: [..., H, W, C], the channel values the means condition on.
        """
        if self._num_channels != 3:
            return means
        r = values[..., 0:1]
        g = values[..., 1:2]
        mean_r = means[..., 0, :] + 0.0 * r  # broadcast like the others
        mean_g = means[..., 1, :] + coefficients[..., 0, :] * r
        mean_b = (
            means[..., 2, :] + coefficients[..., 1, :] * r + coefficients[..., 2, :] * g
        )
        return tf.stack([mean_r, mean_g, mean_b], axis=-2)

    def _log_prob(self, x):
        x = _grid_values(x, self.event_shape)
        if self.validate_args:
            x = self._checked_values(x)
        logits, means, log_scales, coefficients = self._unpack()
        means = self._coupled_means(means, coefficients, x)
        per_channel = discretized_logistic_log_prob(
            x[..., None], means, log_scales, self._num_bits
        )  # [..., H, W, C, M]
        per_component = tf.reduce_sum(per_channel, axis=-2) + tf.nn.log_softmax(logits)
        per_pixel = tf.reduce_logsumexp(per_component, axis=-1)  # [..., H, W]
        return tf.reduce_sum(per_pixel, axis=[-2, -1])

    def _checked_values(self, x):
        with tf.control_dependencies(
            [
                tf.debugging.assert_greater_equal(x, -1.0, message="values below -1"),
                tf.debugging.assert_less_equal(x, 1.0, message="values above 1"),
            ]
        ):
            return tf.identity(x)

    def _select(self, component, *tensors):
        """Picks component `component` [..., H, W] from tensors [..., C, M]."""
        one_hot = tf.one_hot(component, self._num_components, dtype=tf.float32)
        return [tf.reduce_sum(t * one_hot[..., None, :], axis=-1) for t in tensors]

    def _sample_n(self, n, seed=None, temperature=1.0):
        temperature = arguments.temperature(temperature)
        component_seed, noise_seed = samplers.split_seed(seed, 2)
        logits, means, log_scales, coefficients = self._unpack()
        batch = tf.concat([[n], tf.shape(logits)], 0)
        logits = tf.broadcast_to(logits, batch)
        if isinstance(temperature, (int, float)) and temperature == 0:
            component = tf.argmax(logits, axis=-1, output_type=tf.int32)
        else:
            gumbel = -tf.math.log(-tf.math.log(_uniform_open(batch, component_seed)))
            component = tf.argmax(
                logits / temperature + gumbel, axis=-1, output_type=tf.int32
            )
        means, log_scales, coefficients = self._select(
            component, means, log_scales, coefficients
        )  # [n, ..., H, W, C]
        u = _uniform_open(tf.shape(means), noise_seed)
        noise = (tf.math.log(u) - tf.math.log1p(-u)) * temperature
        continuous = means + tf.exp(log_scales) * noise
        return self._couple_and_quantize(continuous, means, coefficients)

    def _couple_and_quantize(self, continuous, means, coefficients):
        """Rounds channel by channel, conditioning G and B on rounded values.

        `continuous` is mean + scaled noise before coupling; the coupling adds
        the coefficient terms of the already quantized earlier channels, so
        samples follow exactly the conditionals that log_prob evaluates.
        """
        if self._num_channels != 3:
            return quantization.quantize(continuous, self._num_bits)
        bits = self._num_bits
        r = quantization.quantize(continuous[..., 0], bits)
        g = quantization.quantize(continuous[..., 1] + coefficients[..., 0] * r, bits)
        b = quantization.quantize(
            continuous[..., 2] + coefficients[..., 1] * r + coefficients[..., 2] * g,
            bits,
        )
        return tf.stack([r, g, b], axis=-1)

    def _mode(self):
        """The exact channel-by-channel mode (see the class docstring)."""
        return self._sequential_mode_and_mean()[0]

    def argmax_component_mean(self, name="argmax_component_mean"):
        """The coupled mean of the most probable component, on the grid.

        Per pixel: the component with the largest logit, its R mean rounded
        to the grid, then its G and B means coupled to the rounded earlier
        channels and rounded; what PixelCNN++ and the SDN reference
        (`get_mean`) read off the mixture, and what sampling at temperature
        0 returns; `mode()` returned it until the mode became exact.

        Returns:
          [..., H, W, C] float32 on the grid.
        """
        with self._name_and_control_scope(name):
            logits, means, _, coefficients = self._unpack()
            component = tf.argmax(logits, axis=-1, output_type=tf.int32)
            means, coefficients = self._select(component, means, coefficients)
            return self._couple_and_quantize(means, means, coefficients)

    def sequential_mean(self, name="sequential_mean"):
        """Each channel's conditional mean given the earlier channels at mode().

        Per pixel: E[R], then E[G | R = r*], then E[B | R = r*, G = g*], with
        r*, g* the values `mode()` gives (the components weighted by their
        posterior given those values). With one channel it is `mean()`; for
        three it stands in for the mean, which has no tractable form. Not on
        the grid. It mixes R's mean with G and B conditioned on R's mode:
        where R is wide and dark the mode lies below the mean and the
        coupling pulls G and B down, a red cast (-0.32 and -0.34 in G and
        B on a young main-job model's reconstructions), so pictures use
        `argmax_component_mean()`.

        Returns:
          [..., H, W, C] float32 in [-1, 1].
        """
        with self._name_and_control_scope(name):
            return self._sequential_mode_and_mean()[1]

    def _sequential_mode_and_mean(self):
        """mode() and sequential_mean(), both [..., H, W, C], in one pass.

        Channel c's conditional over the grid is the mixture of its
        discretized logistics with weights pi_m prod_{c' < c} P(x_c' | m)
        (normalized), the means coupled to the earlier channels' modes.
        """
        logits, means, log_scales, coefficients = self._unpack()
        log_weights = tf.nn.log_softmax(logits)  # [..., H, W, M]
        modes, conditional_means = [], []
        unknown = tf.zeros_like(logits[..., 0])  # later channels: not used
        for c in range(self._num_channels):
            known = modes + [unknown] * (self._num_channels - c)
            loc = self._coupled_means(means, coefficients, tf.stack(known, -1))
            loc, log_scale = loc[..., c, :], log_scales[..., c, :]  # [..., H, W, M]
            mode, mean = _mixture_mode_and_mean(
                log_weights, loc, log_scale, self._num_bits
            )  # [..., H, W]
            log_weights += discretized_logistic_log_prob(
                mode[..., None], loc, log_scale, self._num_bits
            )
            log_weights -= tf.reduce_logsumexp(log_weights, axis=-1, keepdims=True)
            modes.append(mode)
            conditional_means.append(mean)
        return tf.stack(modes, axis=-1), tf.stack(conditional_means, axis=-1)

    def _mean(self):
        if self._num_channels == 3:
            raise NotImplementedError(
                "The mean of the coupled 3-channel mixture has no tractable "
                "form (it sums over all 2**(3*num_bits) colours); use mode() "
                "or average samples."
            )
        logits, means, log_scales, _ = self._unpack()
        component_means = _discretized_logistic_mean(means, log_scales, self._num_bits)
        weights = tf.nn.softmax(logits)[..., None, :]  # [..., H, W, 1, M]
        return tf.reduce_sum(weights * component_means, axis=-1)


def _discretized_logistic_mean(loc, log_scale, num_bits):
    """E[x] of discretized logistics, exactly: the sum over the K grid values.

    E[x] = x_max - 2h * sum_{k < K-1} CDF(x_k + h), summation by parts over
    the grid; loc and log_scale broadcast, float32.
    """
    h = quantization.half_bin_width(num_bits)
    upper_edges = quantization.grid(num_bits)[:-1] + h  # [K - 1]
    inv_scale = tf.exp(-tf.maximum(tf.cast(log_scale, tf.float32), MIN_LOG_SCALE))
    z = (upper_edges - tf.cast(loc, tf.float32)[..., None]) * inv_scale[..., None]
    return 1.0 - 2.0 * h * tf.reduce_sum(tf.sigmoid(z), axis=-1)


def _mixture_mode_and_mean(log_weights, loc, log_scale, num_bits):
    """Mode and mean over the grid of sum_m w_m P(x | m), per pixel, exactly.

    The pmf at every grid value from one sigmoid per bin edge and component
    (P(x_k | m) = CDF_m(x_k + h) - CDF_m(x_k - h), the edge bins taking the
    tails, as in log_prob): the mode's mass is at least 1 / K, far above
    float32's rounding of these differences, so the argmax is exact up to
    ties within ~1e-7. Ties go to the lowest value.

    Args:
      log_weights: [..., M] normalized log mixture weights.
      loc, log_scale: [..., M], the components' means and log-scales.
      num_bits: bits of the grid.

    Returns:
      mode [...] on the grid, mean [...]; NaN where the pmf is NaN.
    """
    grid = tf.constant(quantization.grid(num_bits))
    upper_edges = grid[:-1] + quantization.half_bin_width(num_bits)  # [K - 1]
    inv_scale = tf.exp(-tf.maximum(tf.cast(log_scale, tf.float32), MIN_LOG_SCALE))
    z = (upper_edges - tf.cast(loc, tf.float32)[..., None]) * inv_scale[..., None]
    cdf = tf.sigmoid(z)  # [..., M, K - 1]
    zeros = tf.zeros_like(cdf[..., :1])
    mass = tf.concat([cdf, zeros + 1.0], -1) - tf.concat([zeros, cdf], -1)
    weights = tf.exp(tf.cast(log_weights, tf.float32))[..., None]  # [..., M, 1]
    pmf = tf.reduce_sum(weights * mass, axis=-2)  # [..., K]
    index = tf.argmax(pmf, axis=-1, output_type=tf.int32)
    nan = tf.reduce_any(tf.math.is_nan(pmf), axis=-1)
    mode = tf.where(nan, np.float32(np.nan), tf.gather(grid, index))
    mean = tf.reduce_sum(pmf * grid, axis=-1) / tf.reduce_sum(pmf, axis=-1)
    return mode, mean


def _discretized_logistic_mode(loc, log_scale, num_bits):
    """The most probable grid value of discretized logistics, exactly.

    An interior bin's mass F(x + h) - F(x - h) falls off symmetrically on
    either side of loc, so the interior value nearest to loc beats every
    other interior value; the edge values, whose bins take the tails, are
    the only other candidates. NaN where loc or log_scale is NaN.
    """
    grid = quantization.grid(num_bits)
    levels = len(grid)
    loc = tf.cast(loc, tf.float32)
    candidates = [tf.fill(tf.shape(loc), grid[0]), tf.fill(tf.shape(loc), grid[-1])]
    if levels > 2:
        # Picked from the grid by index: arithmetic (x = k * 2h - 1) can be
        # an ulp off the grid under XLA, which fuses it into one FMA.
        k = tf.round((tf.clip_by_value(loc, -1.0, 1.0) + 1.0) * (0.5 * (levels - 1)))
        k = tf.clip_by_value(tf.where(tf.math.is_nan(k), 1.0, k), 1.0, levels - 2.0)
        interior = tf.gather(tf.constant(grid), tf.cast(k, tf.int32))
        candidates.insert(1, interior)
    candidates = tf.stack(candidates, axis=-1)  # [..., 3], lowest first
    scores = discretized_logistic_log_prob(
        candidates, loc[..., None], tf.cast(log_scale, tf.float32)[..., None], num_bits
    )
    chosen = tf.one_hot(
        tf.argmax(scores, axis=-1), candidates.shape[-1], on_value=True, off_value=False
    )
    mode = tf.reduce_sum(tf.where(chosen, candidates, 0.0), axis=-1)  # exact
    nan = tf.reduce_any(tf.math.is_nan(scores), axis=-1)
    return tf.where(nan, np.float32(np.nan), mode)


class DiscretizedLogistic(_ImagesOnTheGrid, tfd.Distribution):
    """A logistic per pixel, discretized to the grid: p(x) over images.

    Each value x[..., h, w, c] is an independent logistic with mean loc and
    log-scale log_scale, discretized as in `DiscretizedLogisticMixture`
    (edge bins absorb the tails). The SDN paper's beta-VAE uses it with one
    learnable log-scale: pass a scalar (or per-channel) tensor or variable
    as `log_scale`; it broadcasts against loc.

    #### Mathematical details

        log p(x) = sum_{h,w,c} log [sigma((x + h - loc) / s)
                                    - sigma((x - h - loc) / s)],

    h = 1 / (2**num_bits - 1), s = exp(max(log_scale, -7)), with the lowest
    and highest values taking the tails.

    #### Examples

    ```python
    log_scale = tf.Variable(0.0)
    p = DiscretizedLogistic(loc=decoder(z), log_scale=log_scale, num_bits=8)
    loss = -p.log_prob(images)  # [B]
    ```
    """

    def __init__(
        self,
        loc,
        log_scale,
        num_bits=8,
        validate_args=False,
        allow_nan_stats=True,
        name="DiscretizedLogistic",
    ):
        """Args:
          loc: [..., H, W, C] means (any float dtype).
          log_scale: log-scales, broadcastable to loc.
          num_bits: bits per channel, 1 to 16.
          validate_args: check that log_prob values lie in [-1, 1].
          allow_nan_stats: as in every tfd.Distribution.
          name: name scope.

        Raises:
          ValueError: if loc has fewer than 3 dimensions or log_scale does not
            broadcast to it.
        """
        parameters = dict(locals())
        self._num_bits = quantization.check_num_bits(num_bits)
        with tf.name_scope(name) as name:
            self._loc = tf.convert_to_tensor(loc)
            self._log_scale = tf.convert_to_tensor(log_scale)
            if self._loc.shape.rank is not None and self._loc.shape.rank < 3:
                raise ValueError(
                    "Received an invalid value for argument `loc`, expected a "
                    f"tensor [..., H, W, C], got shape {self._loc.shape}."
                )
            try:
                tf.broadcast_static_shape(self._loc.shape, self._log_scale.shape)
            except ValueError:
                raise ValueError(
                    "Received an invalid value for argument `log_scale`: shape "
                    f"{self._log_scale.shape} does not broadcast to loc's "
                    f"{self._loc.shape}."
                ) from None
            super().__init__(
                dtype=tf.float32,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @property
    def loc(self):
        return self._loc

    @property
    def log_scale(self):
        return self._log_scale

    @property
    def num_bits(self):
        return self._num_bits

    def _batch_shape(self):
        return self._loc.shape[:-3]

    def _batch_shape_tensor(self):
        return tf.shape(self._loc)[:-3]

    def _event_shape(self):
        return self._loc.shape[-3:]

    def _event_shape_tensor(self):
        return tf.shape(self._loc)[-3:]

    def _log_prob(self, x):
        x = _grid_values(x, self.event_shape)
        if self.validate_args:
            x = DiscretizedLogisticMixture._checked_values(self, x)
        per_value = discretized_logistic_log_prob(
            x, self._loc, self._log_scale, self._num_bits
        )
        return tf.reduce_sum(per_value, axis=[-3, -2, -1])

    def _sample_n(self, n, seed=None, temperature=1.0):
        temperature = arguments.temperature(temperature)
        loc = tf.cast(self._loc, tf.float32)
        log_scale = tf.maximum(tf.cast(self._log_scale, tf.float32), MIN_LOG_SCALE)
        shape = tf.concat([[n], tf.shape(loc)], 0)
        u = _uniform_open(shape, seed)
        noise = (tf.math.log(u) - tf.math.log1p(-u)) * temperature
        return quantization.quantize(loc + tf.exp(log_scale) * noise, self._num_bits)

    def _mode(self):
        """The most probable grid value: the one nearest to loc, unless an
        edge value's bin, which takes a whole tail, holds more mass (loc
        within a few scales of an edge, or scales wide against the range).
        Sampling at temperature 0 returns the value nearest to loc."""
        loc = tf.broadcast_to(tf.cast(self._loc, tf.float32), self._shape_with_scale())
        return _discretized_logistic_mode(loc, self._log_scale, self._num_bits)

    def _shape_with_scale(self):
        return tf.broadcast_dynamic_shape(
            tf.shape(self._loc), tf.shape(self._log_scale)
        )

    def _mean(self):
        loc = tf.broadcast_to(tf.cast(self._loc, tf.float32), self._shape_with_scale())
        return _discretized_logistic_mean(loc, self._log_scale, self._num_bits)
