"""Observation models p(x | z): from a decoder's output to a distribution.

One small, uniform interface over the models the papers use, chosen by
name from one registry: "bernoulli" and "gaussian" (fixed variance) as in
the Spatial Broadcast paper (appendix A), "logistic" (one discretized
logistic per value, learnable log-scale) as in the SDN paper's beta-VAE,
and "logistic_mixture" (PixelCNN++) as in the SDN-VAE.

Images everywhere in sdn_tf are on the [-1, 1] grid of `quantization`. Each
model maps them to its own support with `targets` and back with `images`:
the logistic models live on [-1, 1]; Bernoulli and Gaussian on pixel
intensities in [0, 1], the setting of the Spatial Broadcast paper (its
suggested Gaussian variance of 0.3 refers to that scale).

    model = observation.get("logistic_mixture", num_channels=3, num_components=5)
    params = decoder(z)                          # [B, H, W, model.num_params]
    p = model.distribution(params)               # event shape [H, W, 3]
    nll = -p.log_prob(model.targets(images))     # [B], nats
    recon = model.reconstruct(params)            # [B, H, W, 3] in [-1, 1]

`get` is the only way a model chooses p(x | z), and `names()` lists what it
can choose. A new observation model is a subclass of `ObservationModel`
with its own `name`, marked `@register`: every model that takes an
`observation` argument (BetaVAE, SDNVAE) can use it at once.
"""

import inspect
import math

import tensorflow as tf
import tensorflow_probability as tfp

from sdn_tf import arguments
from sdn_tf.distributions import quantization
from sdn_tf.distributions.discretized_logistic import (
    DiscretizedLogistic,
    DiscretizedLogisticMixture,
)

tfd = tfp.distributions

# name -> ObservationModel subclass, filled by @register.
_REGISTRY = {}


class ObservationModel:
    """Base: how decoder outputs ("params") become p(x | z) over images.

    Attributes:
      name: the model's name, under which `register` files it.
      num_channels: C, channels of the images.
      num_params: channels the decoder must output per pixel.
      learnable_scale: True when `distribution` needs a `log_scale` that the
        model owns as a variable (the "logistic" model); such a model also
        sets `initial_log_scale`, the variable's initial value.
    """

    name = None
    learnable_scale = False

    def __init__(self, num_channels):
        self.num_channels = arguments.positive_integer(num_channels, "num_channels")

    @property
    def num_params(self):
        return self.num_channels

    def distribution(self, params, log_scale=None):
        """tfd.Distribution with event shape [H, W, C] over `targets(images)`."""
        raise NotImplementedError

    def targets(self, images):
        """Images on the [-1, 1] grid (or 8-bit pixels) -> values in this
        model's support."""
        return quantization.as_grid_values(images, getattr(self, "num_bits", 8))

    def images(self, values):
        """Values in this model's support -> images in [-1, 1]."""
        return tf.cast(values, tf.float32)

    def reconstruct(self, params, log_scale=None):
        """The image a decoder output stands for, in [-1, 1]: the mode (for
        Bernoulli and Gaussian the mean, clipped to the pixel range, since
        their mode is binary or unbounded; for the logistic mixture the
        most probable component's mean)."""
        return self.images(self.distribution(params, log_scale).mode())

    def _check_params(self, params):
        params = tf.convert_to_tensor(params)
        if params.shape.rank is not None and params.shape.rank < 3:
            raise ValueError(
                f"Received an invalid value for argument `params` of the {self.name!r} "
                f"observation model, expected [..., H, W, {self.num_params}], got "
                f"shape {params.shape}."
            )
        if params.shape[-1] is not None and params.shape[-1] != self.num_params:
            raise ValueError(
                f"Received an invalid value for argument `params` of the {self.name!r} "
                f"observation model, expected {self.num_params} channels, got "
                f"{params.shape[-1]} (shape {params.shape})."
            )
        return tf.cast(params, tf.float32)


def register(cls):
    """Class decorator: makes an ObservationModel subclass available to
    `get` (and to every model's `observation` argument) under `cls.name`.

    Raises:
      ValueError: when `cls` is not an ObservationModel subclass with a
        string `name`, or another class already holds that name.
    """
    arguments.check(
        isinstance(cls, type)
        and issubclass(cls, ObservationModel)
        and isinstance(cls.name, str)
        and cls.name != "",
        "cls",
        "an ObservationModel subclass with a non-empty string `name`",
        cls,
    )
    # The same class again (a reloaded module) replaces itself.
    holder = _REGISTRY.get(cls.name, cls)
    holder_path = f"{holder.__module__}.{holder.__qualname__}"
    arguments.check(
        holder_path == f"{cls.__module__}.{cls.__qualname__}",
        "cls",
        f"a `name` no other observation model has ({cls.name!r} is {holder_path})",
        cls,
    )
    _REGISTRY[cls.name] = cls
    return cls


def names():
    """Names of the registered observation models, in registration order."""
    return tuple(_REGISTRY)


def option_names(name):
    """The options `get(name, ...)` takes besides `num_channels` (the keyword
    arguments of the model's constructor), e.g. ("variance",) for
    "gaussian"; models use it to pass on their own `num_bits` only to an
    observation model that has one."""
    _check_name(name)
    parameters = inspect.signature(_REGISTRY[name].__init__).parameters.values()
    return tuple(
        parameter.name
        for parameter in parameters
        if parameter.name not in ("self", "num_channels")
        and parameter.kind
        in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def _check_name(name):
    arguments.check(
        isinstance(name, str) and name in _REGISTRY,
        "name",
        f"one of {names()}",
        name,
    )


class _UnitIntervalModel(ObservationModel):
    """Models over pixel intensities in [0, 1] (the Spatial Broadcast setting)."""

    def targets(self, images):
        return (quantization.as_grid_values(images) + 1.0) * 0.5

    def images(self, values):
        return tf.cast(values, tf.float32) * 2.0 - 1.0

    def reconstruct(self, params, log_scale=None):
        mean = self.distribution(params, log_scale).mean()
        return self.images(tf.clip_by_value(mean, 0.0, 1.0))


@register
class Bernoulli(_UnitIntervalModel):
    """Bernoulli per value, parameterized by logits; intensities in [0, 1]
    serve as soft targets (binary cross-entropy), as in the Spatial
    Broadcast paper."""

    name = "bernoulli"

    def distribution(self, params, log_scale=None):
        logits = self._check_params(params)
        return tfd.Independent(
            tfd.Bernoulli(logits=logits, dtype=tf.float32), reinterpreted_batch_ndims=3
        )


@register
class Gaussian(_UnitIntervalModel):
    """Normal per value with mean = decoder output and a fixed variance
    (0.3 on [0, 1] intensities, the Spatial Broadcast paper's suggestion)."""

    name = "gaussian"

    def __init__(self, num_channels, variance=0.3):
        super().__init__(num_channels)
        self.variance = arguments.positive_number(variance, "variance")

    def distribution(self, params, log_scale=None):
        loc = self._check_params(params)
        return tfd.Independent(
            tfd.Normal(loc, math.sqrt(self.variance)), reinterpreted_batch_ndims=3
        )


@register
class Logistic(ObservationModel):
    """One discretized logistic per value on the [-1, 1] grid; the log-scale
    is a variable of the model (pass it to `distribution`). `reconstruct`
    gives the exact mode: the grid value nearest to the mean, or an edge
    value where the bin that takes a tail holds more mass (means within a
    few scales of an edge, or scales wide against [-1, 1])."""

    name = "logistic"
    learnable_scale = True

    def __init__(self, num_channels, num_bits=8, initial_log_scale=0.0):
        super().__init__(num_channels)
        self.num_bits = quantization.check_num_bits(num_bits)
        self.initial_log_scale = arguments.check_finite_number(
            initial_log_scale, "initial_log_scale"
        )

    def distribution(self, params, log_scale=None):
        if log_scale is None:
            raise ValueError(
                "Received an invalid value for argument `log_scale` of the "
                "'logistic' observation model, expected the model's log-scale "
                "tensor or variable, got None."
            )
        return DiscretizedLogistic(
            self._check_params(params), log_scale, num_bits=self.num_bits
        )


@register
class LogisticMixture(ObservationModel):
    """PixelCNN++'s discretized mixture of logistics on the [-1, 1] grid.

    `reconstruct` reads each pixel as the coupled mean of its most probable
    component, rounded to the grid (`argmax_component_mean`): what
    PixelCNN++ and the SDN authors show (their lib/probability.py,
    `get_mean`). Of the other readings, the exact per-pixel mode (`mode`)
    jumps to a grid edge wherever a component is wide against [-1, 1], and
    the channel-by-channel mean (`sequential_mean`) shows E[R] but
    conditions G and B on R's mode: where R is wide and dark, the mode sits
    below the mean and the coupling pulls G and B down with it, a red cast.
    On the main job's run of 2026-12-02 (400 steps; `python
    bench/checkerboard.py`, 64 test patches) reconstructions read by
    `sequential_mean` were shifted by (+0.08, -0.32, -0.34) in (R, G, B)
    from their inputs, by `argmax_component_mean` by (+0.02, +0.03, +0.01).
    The most probable component changes from pixel to pixel where
    neighbouring logits change places, so a decoder whose logits alternate
    (a stride-2 transposed last layer) shows its checkerboard in this
    reading; `output_upsampling="resize"` removes it at its source.
    """

    name = "logistic_mixture"

    def __init__(self, num_channels, num_components=5, num_bits=8):
        super().__init__(num_channels)
        self.num_components = arguments.positive_integer(
            num_components, "num_components"
        )
        self.num_bits = quantization.check_num_bits(num_bits)

    @property
    def num_params(self):
        return DiscretizedLogisticMixture.num_params(
            self.num_components, self.num_channels
        )

    def distribution(self, params, log_scale=None):
        return DiscretizedLogisticMixture(
            self._check_params(params),
            self.num_components,
            self.num_channels,
            self.num_bits,
        )

    def reconstruct(self, params, log_scale=None):
        return self.images(self.distribution(params, log_scale).argmax_component_mean())


def get(name, num_channels, **options):
    """The observation model called `name`.

    Args:
      name: one of `names()`: "bernoulli", "gaussian", "logistic",
        "logistic_mixture", and any model added with `register`.
      num_channels: channels of the images.
      **options: the model's own options (`option_names(name)`): `variance`
        (gaussian), `num_bits` and `initial_log_scale` (logistic),
        `num_components` and `num_bits` (logistic_mixture).

    Raises:
      ValueError: for an unknown name or an option the model does not take.
    """
    _check_name(name)
    try:
        return _REGISTRY[name](num_channels, **options)
    except TypeError as error:
        raise ValueError(
            f"Received an invalid option for the {name!r} observation model: {error}."
        ) from None
