"""The hierarchical SDN-VAE for density estimation (section 4 and appendix
A.1 of Miladinovic et al. 2021), and its IAF-VAE+ baseline (use_sdn=False).

    image --first conv--> ladder bottom-up (image scale to top)
    learned top constant --> ladder top-down (top to image scale) --> last layer
                                                                      --> p(x | z)

The ladder is organized by scales, bottom-up: `scales` lists (resolution,
number of ladder layers, SDN features or None) from the first layer's scale
up; the first layer of every scale but the first one halves the resolution
on the way up (and doubles it on the way down), so every layer of a scale
has its latents and its top-down ResSDN at that resolution.
Inside [sdn_min_scale, sdn_max_scale] the top-down convolutions of a layer
are ResSpatialDependency layers whose directions rotate through (right,
left, down, up), `sdn_directions` per layer, as in the authors' code. The
last layer maps the top-down path to the parameters of the observation
model p(x | z) (by default PixelCNN++'s discretized mixture of logistics;
any model registered in `sdn_tf.distributions.observation`), with a
4-direction ResSDN when SDN covers the image scale.

The objective per image, in nats, is -log p(x | z) + sum over layers of
max(batch-mean KL of the layer, free_bits) (free bits per layer, the
authors' code); the reported ELBO uses the true KL. Both are reported in
bits per dimension.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from sdn_tf import arguments
from sdn_tf.distributions import latent, quantization
from sdn_tf.layers import ResSpatialDependency
from sdn_tf.layers.weight_norm import convolution
from sdn_tf.models import ladder, vae

DIRECTION_CYCLE = ("right", "left", "down", "up")
OUTPUT_UPSAMPLINGS = ("transpose", "resize")


def bits_per_dim(nats, image_shape):
    """nats per image -> bits per dimension (pixel channel)."""
    return nats / (float(np.prod(image_shape)) * math.log(2.0))


def free_bits_kl(kl_per_layer, free_bits):
    """sum_l max(mean over the batch of KL_l, free_bits); KL [layers, batch]."""
    return ops.sum(ops.maximum(ops.mean(kl_per_layer, axis=1), free_bits))


def _image_shape(image_shape):
    """(size, size, channels) of positive integers, as ints."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else ()
    arguments.check(
        len(shape) == 3
        and all(arguments.is_integer(d) and d > 0 for d in shape)
        and shape[0] == shape[1],
        "image_shape",
        "a square (size, size, channels) of positive integers",
        image_shape,
    )
    return tuple(int(d) for d in shape)


def _width(value):
    return value is None or (arguments.is_integer(value) and value > 0)


def _scales(scales):
    """((resolution, layers, features), ...) as ints, checked; `features` is
    one SDN width (or None) for the scale, or one per layer."""
    entries = tuple(tuple(s) if isinstance(s, (tuple, list)) else s for s in scales)
    arguments.check(
        len(entries) > 0
        and all(
            isinstance(s, tuple)
            and len(s) == 3
            and arguments.is_integer(s[0])
            and s[0] > 0
            and arguments.is_integer(s[1])
            and s[1] >= 1
            and (
                _width(s[2])
                or (
                    isinstance(s[2], (tuple, list))
                    and len(s[2]) == s[1]
                    and all(_width(f) for f in s[2])
                )
            )
            for s in entries
        ),
        "scales",
        "(resolution, layers >= 1, sdn_features) triples of positive integers, "
        "sdn_features an int, None, or one of those per layer",
        scales,
    )

    def features(value):
        if isinstance(value, (tuple, list)):
            return tuple(None if f is None else int(f) for f in value)
        return None if value is None else int(value)

    return tuple((int(s), int(n), features(f)) for s, n, f in entries)


def layer_widths(scales):
    """The SDN width (or None) of every ladder layer, bottom-up."""
    widths = []
    for _, count, features in scales:
        per_layer = features if isinstance(features, tuple) else (features,) * count
        widths.extend(per_layer)
    return tuple(widths)


def decremented_widths(
    layers, resolution, start, decrement, minimum=50, max_resolution=None
):
    """The authors' rule for SDN widths (lib/DensityVAE.py, lines 83-105), as
    `scales` with one width per layer.

    Going up the ladder, a layer whose input resolution is at most
    `max_resolution` uses SDN with the current width; after each such layer
    that halves the resolution (the first of every scale but the first),
    the width drops by `decrement`, never below `minimum`. So a downsampling
    layer keeps the finer scale's width, and CIFAR-10's (layers (5, 5, 5),
    start 360, decrement 128) gives 360 x 6, 232 x 5, 104 x 4.

    Args:
      layers: ladder layers per scale, bottom-up.
      resolution: the first scale's resolution; each next scale halves it.
      start, decrement, minimum: the widths (--sdn_nfeat_0, --sdn_nfeat_diff).
      max_resolution: no SDN on inputs above it (--sdn_max_scale).

    Returns:
      ((resolution, layers, (width or None, ...)), ...) for SDNVAE's scales.
    """
    width, scales = start, []
    for group, count in enumerate(layers):
        scale_resolution = resolution // 2**group
        widths = []
        for j in range(count):
            downsample = j == 0 and group > 0
            seen = scale_resolution * 2 if downsample else scale_resolution
            uses_sdn = max_resolution is None or seen <= max_resolution
            widths.append(width if uses_sdn else None)
            if downsample and uses_sdn:
                width = max(minimum, width - decrement)
        scales.append((scale_resolution, count, tuple(widths)))
    return tuple(scales)


@keras.saving.register_keras_serializable(package="sdn_tf")
class SDNVAE(vae.VariationalModel):
    """SDN-VAE (use_sdn=True) or IAF-VAE+ (use_sdn=False) over images.

    Args:
      image_shape: (height, width, channels), square.
      h_size: deterministic channels per layer (200 in Table 3).
      z_size: stochastic channels per layer (4, or 8 for CelebAHQ256).
      scales: ((resolution, layers, sdn_features), ...) bottom-up, starting
        at the first layer's resolution; consecutive resolutions halve.
        sdn_features is the scale's SDN width (None: convolutions) or a
        tuple with one width (or None) per layer (see `decremented_widths`,
        the authors' rule). The last layer's ResSDN takes the first layer's
        width. Defaults to Table 3's CIFAR-10 ((32, 5, 260), (16, 5, 240),
        (8, 5, 120)).
      sdn_directions: sweeps per ResSDN layer (2 for CIFAR-10).
      use_sdn: False gives IAF-VAE+ (convolutions everywhere).
      sdn_min_scale: SDN only at resolutions of at least this.
      sdn_max_scale: SDN only at resolutions of at most this (None: no
        upper bound).
      num_components: logistic mixture components (5 for CIFAR-10), for
        an observation model that takes `num_components`.
      num_bits: bits per channel of the data (also given to an observation
        model that takes `num_bits`).
      free_bits: nats per layer below which a layer's KL is not pushed down.
      kl_warmup_steps: the training objective's KL term is weighted from 0
        at the first update up to 1 at this optimizer step, linearly (KL
        warm-up, Sonderby et al. 2016); the reported bits/dim are the full
        ELBO's throughout. 0 (the paper's recipe): weight 1 from the start.
        Read from the optimizer's step count, so a resumed run continues
        it. Defaults to 0.
      iaf_context: IAF context channels (100).
      iaf_layers: masked type-B layers of the IAF network (2).
      downsample_first: the first convolution halves the resolution.
      output_upsampling: with `downsample_first`, how the last layer
        doubles the resolution back: "transpose" (a 4x4 stride-2 transposed
        convolution, or a ResSDN with one as its project-in: the paper's
        and the authors' code) or "resize" (nearest-neighbour doubling, then
        a 3x3 layer: Odena et al. 2016's cure for the checkerboard that a
        stride-2 transposed convolution draws at the image's highest
        frequency). Defaults to "transpose".
      weight_norm: weight-normalized convolutions.
      observation: the observation model p(x | z), a name in
        `sdn_tf.distributions.observation.names()`. Defaults to
        "logistic_mixture" (the paper's).
      observation_options: its options other than `num_components` and
        `num_bits`, e.g. {"variance": 0.1} for "gaussian". Defaults to None.
      latent_parameterization: "log_scale" (std = exp(s)) or "log_variance"
        (std = exp(s / 2), the authors' code) for the priors and posteriors.
        Defaults to "log_scale".
      kernel_initializer: initializer of every convolution kernel.
        Defaults to "glorot_uniform"; the authors' code: "orthogonal"
        (lib/utils.py, weights_init).
      sdn_correct_first_row: the SDN layers correct the first row of every
        sweep, as Algorithm 1 (True), or leave it as the authors' code
        does (False). Defaults to True.
      **kwargs: keras.Model arguments.

    Example:

    >>> model = SDNVAE(image_shape=(8, 8, 1), h_size=8, z_size=2,
    ...                scales=((8, 1, 8), (4, 1, None)), num_components=2,
    ...                iaf_context=4)
    >>> model.sample(2, temperature=0.0).shape
    TensorShape([2, 8, 8, 1])
    """

    term_names = ("loss", "bpd", "reconstruction_bpd", "kl_bpd")

    def __init__(
        self,
        image_shape=(32, 32, 3),
        h_size=200,
        z_size=4,
        scales=((32, 5, 260), (16, 5, 240), (8, 5, 120)),
        sdn_directions=2,
        use_sdn=True,
        sdn_min_scale=0,
        sdn_max_scale=None,
        num_components=5,
        num_bits=8,
        free_bits=0.01,
        kl_warmup_steps=0,
        iaf_context=100,
        iaf_layers=2,
        downsample_first=False,
        output_upsampling="transpose",
        weight_norm=True,
        observation="logistic_mixture",
        observation_options=None,
        latent_parameterization="log_scale",
        kernel_initializer="glorot_uniform",
        sdn_correct_first_row=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        image_shape = _image_shape(image_shape)
        scales = _scales(scales)
        h_size = arguments.positive_integer(h_size, "h_size")
        z_size = arguments.positive_integer(z_size, "z_size")
        first = image_shape[0] // (2 if downsample_first else 1)
        arguments.check(
            scales[0][0] == first,
            "scales",
            f"a first resolution of {first} for images of size {image_shape[0]}",
            scales,
        )
        arguments.check(
            all(b[0] * 2 == a[0] for a, b in zip(scales, scales[1:])),
            "scales",
            "resolutions halving from one scale to the next",
            scales,
        )
        sdn_directions = arguments.integer_in_range(
            sdn_directions, "sdn_directions", 1, 4
        )
        use_sdn = arguments.boolean(use_sdn, "use_sdn")
        sdn_min_scale = arguments.non_negative_integer(sdn_min_scale, "sdn_min_scale")
        if sdn_max_scale is not None:
            sdn_max_scale = arguments.non_negative_integer(
                sdn_max_scale, "sdn_max_scale"
            )
        num_components = arguments.positive_integer(num_components, "num_components")
        num_bits = quantization.check_num_bits(num_bits)
        free_bits = arguments.non_negative_number(free_bits, "free_bits")
        self.kl_warmup_steps = arguments.non_negative_integer(
            kl_warmup_steps, "kl_warmup_steps"
        )
        iaf_context = arguments.positive_integer(iaf_context, "iaf_context")
        iaf_layers = arguments.positive_integer(iaf_layers, "iaf_layers")
        downsample_first = arguments.boolean(downsample_first, "downsample_first")
        self.output_upsampling = arguments.one_of(
            output_upsampling, "output_upsampling", OUTPUT_UPSAMPLINGS
        )
        weight_norm = arguments.boolean(weight_norm, "weight_norm")
        self.image_shape, self.h_size, self.z_size = image_shape, h_size, z_size
        self.scales, self.sdn_directions, self.use_sdn = scales, sdn_directions, use_sdn
        self.sdn_min_scale, self.sdn_max_scale = sdn_min_scale, sdn_max_scale
        self.num_components, self.num_bits, self.free_bits = (
            num_components,
            num_bits,
            free_bits,
        )
        self.iaf_context, self.iaf_layers = iaf_context, iaf_layers
        self.downsample_first, self.weight_norm = downsample_first, weight_norm
        self.latent_parameterization = arguments.one_of(
            latent_parameterization,
            "latent_parameterization",
            latent.PARAMETERIZATIONS,
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.sdn_correct_first_row = arguments.boolean(
            sdn_correct_first_row, "sdn_correct_first_row"
        )
        # Observation model p(x | z).
        self.observation = vae.observation_model(
            observation,
            image_shape[-1],
            observation_options,
            num_components=num_components,
            num_bits=num_bits,
        )
        self.observation_name = observation
        self.observation_options = dict(observation_options or {})
        self.num_params = self.observation.num_params
        self.log_scale = vae.add_log_scale(self, self.observation)
        self._next_direction = 0

        # First layer.
        stride, kernel = (2, 4) if downsample_first else (1, 3)
        conv_options = dict(
            weight_norm=weight_norm,
            # A config per layer: one unseeded instance repeats its values.
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        self.first_layer = convolution(
            h_size, kernel, stride, name="first_layer", **conv_options
        )
        # Ladder, bottom-up.
        self.ladder = []
        widths = iter(layer_widths(scales))
        for group, (resolution, count, _) in enumerate(scales):
            for j in range(count):
                width = next(widths)
                sdn = width if self.sdn_at(resolution, width) else None
                self.ladder.append(
                    ladder.LadderLayer(
                        h_size,
                        z_size,
                        downsample=(j == 0 and group > 0),
                        sdn_features=sdn,
                        directions_a=self._directions(sdn_directions) if sdn else (),
                        directions_b=self._directions(sdn_directions) if sdn else (),
                        context_size=iaf_context,
                        iaf_layers=iaf_layers,
                        top=(group == len(scales) - 1 and j == count - 1),
                        latent_parameterization=self.latent_parameterization,
                        correct_first_row=self.sdn_correct_first_row,
                        name=f"ladder_{len(self.ladder)}",
                        **conv_options,
                    )
                )
        self.top_resolution = scales[-1][0]
        self.top = self.add_weight(name="top", shape=(h_size,), initializer="zeros")
        # Last layer.
        if self._resizes_output:
            stride, kernel = 1, 3
        image_features = layer_widths(scales)[0]
        if self.sdn_at(scales[0][0], image_features):
            self.last_layer = ResSpatialDependency(
                self.num_params,
                image_features,
                self._directions(4),
                kernel_size=kernel,
                strides=stride,
                transpose=stride == 2,
                correct_first_row=self.sdn_correct_first_row,
                name="last_layer",
                **conv_options,
            )
        else:
            self.last_layer = convolution(
                self.num_params,
                kernel,
                stride,
                transpose=stride == 2,
                name="last_layer",
                **conv_options,
            )
        self.layer_kl = self.add_weight(
            name="layer_kl",
            shape=(self.depth,),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.seed_generator = keras.random.SeedGenerator(0, name="sampling_seed")
        self.build()

    # Structure
    @property
    def _resizes_output(self):
        return self.downsample_first and self.output_upsampling == "resize"

    def sdn_at(self, resolution, features):
        upper = self.sdn_max_scale if self.sdn_max_scale is not None else float("inf")
        return bool(
            self.use_sdn and features and self.sdn_min_scale <= resolution <= upper
        )

    def _directions(self, count):
        directions = tuple(
            DIRECTION_CYCLE[(self._next_direction + i) % 4] for i in range(count)
        )
        self._next_direction = (self._next_direction + count) % 4
        return directions

    @property
    def depth(self):
        return len(self.ladder)

    @property
    def sdn_layers(self):
        """Every ResSpatialDependency of the model."""
        found = [
            layer
            for step in self.ladder
            for layer in (step.down_a, step.down_b)
            if isinstance(layer, ResSpatialDependency)
        ]
        if isinstance(self.last_layer, ResSpatialDependency):
            found.append(self.last_layer)
        return found

    def latent_shapes(self):
        """Shape [H, W, z_size] of each layer's z, top layer first."""
        shapes, resolution = [], self.scales[0][0]
        for step in self.ladder:
            if step.downsample:
                resolution //= 2
            shapes.append((resolution, resolution, self.z_size))
        return shapes[::-1]

    # Passes
    def _bottom_up(self, images):
        x = self.first_layer(ops.cast(images, self.compute_dtype))
        q_ups = []
        for step in self.ladder:
            x, q_up = step.up(x)
            q_ups.append(q_up)
        return q_ups

    def _top(self, batch):
        top = ops.cast(self.top, self.compute_dtype)
        return ops.broadcast_to(
            top[None, None, None, :],
            (batch, self.top_resolution, self.top_resolution, self.h_size),
        )

    def _top_down(
        self,
        batch,
        q_ups=None,
        zs=None,
        fixed_layers=None,
        temperature=1.0,
        deterministic=False,
    ):
        """Runs the top-down pass; returns (observation params, zs, log qs, log ps).

        q_ups (bottom-up order): posterior z at every layer. zs (top first):
        given z for the first `fixed_layers` layers (all by default), prior
        samples at `temperature` below.
        """
        h = self._top(batch)
        zs_out, log_qs, log_ps = [], [], []
        fixed = (
            len(zs) if zs is not None and fixed_layers is None else (fixed_layers or 0)
        )
        for index, step in enumerate(reversed(self.ladder)):
            q_up = q_ups[self.depth - 1 - index] if q_ups is not None else None
            z = zs[index] if zs is not None and index < fixed else None
            h, z, log_q, log_p = step.down(
                h,
                q_up=q_up,
                z=z,
                temperature=temperature,
                deterministic=deterministic,
                seed=self.seed_generator,
            )
            zs_out.append(z)
            log_qs.append(log_q)
            log_ps.append(log_p)
        h = ops.elu(h)
        if self._resizes_output:
            h = ladder.upsample(h)
        params = self.last_layer(h)
        return params, zs_out, log_qs, log_ps

    def likelihood(self, params):
        """p(x | z) given the last layer's output, over the observation
        model's support (`self.observation.targets(images)`)."""
        return self.observation.distribution(params, self.log_scale)

    def _reconstruction(self, params):
        """The images in [-1, 1] that the last layer's output stands for
        (`observation.reconstruct`: the logistic mixture's channel-by-channel
        mean, the single logistic's mode, Bernoulli and Gaussian: the mean)."""
        return self.observation.reconstruct(params, self.log_scale)

    def log_weights(self, images, deterministic=False):
        """Per example: log p(x | z), KL per layer [layers, B] (top first), and
        log p(x | z) + log p(z) - log q(z), all float32 nats."""
        images = vae.checked_images(images, self.num_bits, self.image_shape)
        q_ups = self._bottom_up(images)
        params, _, log_qs, log_ps = self._top_down(
            ops.shape(images)[0], q_ups=q_ups, deterministic=deterministic
        )
        log_px = self.likelihood(params).log_prob(self.observation.targets(images))
        kl = ops.stack([q - p for q, p in zip(log_qs, log_ps)])  # [layers, B]
        return log_px, kl, log_px - ops.sum(kl, axis=0)

    def compute_terms(self, images, training=False):
        log_px, kl, _ = self.log_weights(images)
        reconstruction = -ops.mean(log_px)
        self.layer_kl.assign(ops.mean(kl, axis=1))
        kl_weight = self.kl_weight() if training else 1.0
        objective = reconstruction + kl_weight * free_bits_kl(kl, self.free_bits)
        kl_total = ops.mean(ops.sum(kl, axis=0))
        return {
            "loss": bits_per_dim(objective, self.image_shape),
            "bpd": bits_per_dim(reconstruction + kl_total, self.image_shape),
            "reconstruction_bpd": bits_per_dim(reconstruction, self.image_shape),
            "kl_bpd": bits_per_dim(kl_total, self.image_shape),
        }

    def kl_weight(self):
        """The KL term's weight in the training objective at the optimizer's
        current step (`kl_warmup_steps`); 1 without an optimizer."""
        if not self.kl_warmup_steps or getattr(self, "optimizer", None) is None:
            return 1.0
        step = ops.cast(self.optimizer.iterations, "float32")
        return ops.minimum(1.0, step / self.kl_warmup_steps)

    # Evaluation
    def negative_elbo_bpd(self, images):
        """Single-sample negative ELBO per image, bits per dimension."""
        return -bits_per_dim(self.log_weights(images)[2], self.image_shape)

    def importance_weighted_bpd(self, images, num_samples, chunk=16):
        """The importance-weighted bound (Burda et al.) with `num_samples`
        samples per image, in bits per dimension, and the negative ELBO
        averaged over the same samples (never below the bound).

        Samples are drawn `chunk` at a time (the batch repeated), keeping a
        running log-sum-exp, so memory does not grow with num_samples.

        Returns:
          (iw_bpd [B], elbo_bpd [B]) as float32 numpy arrays.
        """
        num_samples = arguments.positive_integer(num_samples, "num_samples")
        chunk = arguments.positive_integer(chunk, "chunk")
        images = np.asarray(vae.checked_images(images, self.num_bits, self.image_shape))
        batch = len(images)
        running, total = np.full(batch, -np.inf), np.zeros(batch)
        done = 0
        while done < num_samples:
            count = min(chunk, num_samples - done)
            repeated = np.tile(images, (count, 1, 1, 1))
            weights = np.asarray(self.log_weights(repeated)[2], np.float64).reshape(
                count, batch
            )
            running = np.logaddexp(running, np.logaddexp.reduce(weights, axis=0))
            total += weights.sum(axis=0)
            done += count
        iw = running - math.log(num_samples)
        elbo = total / num_samples
        return (
            -bits_per_dim(iw, self.image_shape).astype(np.float32),
            -bits_per_dim(elbo, self.image_shape).astype(np.float32),
        )

    # Generation
    def encode(self, images):
        """z of every layer (top first), with posterior noise set to 0."""
        images = vae.checked_images(images, self.num_bits, self.image_shape)
        q_ups = self._bottom_up(images)
        _, zs, _, _ = self._top_down(
            ops.shape(images)[0], q_ups=q_ups, deterministic=True
        )
        return zs

    def decode(self, zs, fixed_layers=None, temperature=1.0):
        """Images (see `_reconstruction`) from z of the top `fixed_layers`
        layers (all given ones by default) and prior samples below."""
        zs = list(zs)
        arguments.check(
            0 < len(zs) <= self.depth,
            "zs",
            f"the latents of 1 to {self.depth} layers, top first",
            f"{len(zs)} tensors",
        )
        zs = [
            vae.checked_shape(tf.convert_to_tensor(z), shape, f"zs[{i}]", "latents")
            for i, (z, shape) in enumerate(zip(zs, self.latent_shapes()))
        ]
        if fixed_layers is not None:
            fixed_layers = arguments.integer_in_range(
                fixed_layers, "fixed_layers", 0, len(zs)
            )
        temperature = arguments.temperature(temperature)
        batch = ops.shape(zs[0])[0]
        params, _, _, _ = self._top_down(
            batch, zs=zs, fixed_layers=fixed_layers, temperature=temperature
        )
        return self._reconstruction(params)

    def sample(self, num_samples, temperature=1.0):
        """Images from the prior at `temperature` (0: deterministic)."""
        num_samples, temperature = vae.checked_sampling(num_samples, temperature)
        params, _, _, _ = self._top_down(
            num_samples, temperature=temperature, deterministic=temperature == 0
        )
        return self._reconstruction(params)

    def reconstruct(self, images):
        return self.decode(self.encode(images))

    def call(self, images, training=False):
        return self.reconstruct(vae.images_of(images))

    def build(self, input_shape=None):
        if self.built:
            return
        # One forward pass creates every weight (shapes follow the config).
        self.log_weights(np.zeros((1, *self.image_shape), np.float32))
        self.built = True

    def serving_endpoints(self):
        images = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        latents = {
            f"z_{i}": tf.TensorSpec([None, *shape], tf.float32, name=f"z_{i}")
            for i, shape in enumerate(self.latent_shapes())
        }
        count = tf.TensorSpec([], tf.int32, name="num_samples")
        temperature = tf.TensorSpec([], tf.float32, name="temperature")

        def encode(x):
            return {f"z_{i}": z for i, z in enumerate(self.encode(x))}

        def decode(z):
            return self.decode([z[f"z_{i}"] for i in range(self.depth)])

        def sample(num_samples, temperature):
            num_samples, temperature = vae.checked_sampling(num_samples, temperature)
            params, _, _, _ = self._top_down(num_samples, temperature=temperature)
            return self._reconstruction(params)

        return {
            "sample": (sample, [count, temperature]),
            "encode": (encode, [images]),
            "decode": (decode, [latents]),
            "reconstruct": (self.reconstruct, [images]),
            "bits_per_dim": (self.negative_elbo_bpd, [images]),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            h_size=self.h_size,
            z_size=self.z_size,
            scales=[
                [r, n, list(f) if isinstance(f, tuple) else f]
                for r, n, f in self.scales
            ],
            sdn_directions=self.sdn_directions,
            use_sdn=self.use_sdn,
            sdn_min_scale=self.sdn_min_scale,
            sdn_max_scale=self.sdn_max_scale,
            num_components=self.num_components,
            num_bits=self.num_bits,
            free_bits=self.free_bits,
            kl_warmup_steps=self.kl_warmup_steps,
            iaf_context=self.iaf_context,
            iaf_layers=self.iaf_layers,
            downsample_first=self.downsample_first,
            output_upsampling=self.output_upsampling,
            weight_norm=self.weight_norm,
            observation=self.observation_name,
            observation_options=self.observation_options,
            latent_parameterization=self.latent_parameterization,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            sdn_correct_first_row=self.sdn_correct_first_row,
        )
        return config
