"""The beta-VAE of the SDN paper's disentanglement experiments (section 6,
appendix A.5) with the decoders it compares and the Spatial Broadcast
decoder (Watters et al. 2019).

Encoder (Table 8; Table 1 of the Spatial Broadcast paper with 64 channels):
four 4x4 stride-2 convolutions with ReLU, FC 256 ReLU, FC 2 x latent_dim
giving the posterior's [loc, log_scale].

Decoders:
  "deconv"     Table 8: FC 256, FC (H/16 x W/16 x fc_channels), four 4x4
               stride-2 transposed convolutions (64, 32, 32, then the
               observation's parameters).
  "sdn"        Table 9: as "deconv" with the transposed convolution that
               outputs scale `sdn_scale` replaced by a SpatialDependency layer
               (sdn_features = 200 features, sdn_directions = ("down",)).
  "broadcast"  Table 1 of the Spatial Broadcast paper: optional MLP, spatial
               broadcast at the image size, `broadcast_layers` 4x4 stride-1
               convolutions with 64 channels, then a 4x4 convolution to the
               observation's parameters.

Objective: -E_q[log p(x | z)] + beta * KL(q(z | x) || N(0, I)), in nats per
image; beta is a variable that `BetaAnnealing` raises linearly from 0
(`ANNEALING_SCHEDULES`: ours, or the authors' form).
"""

import keras
import tensorflow as tf
from keras import layers, ops

from sdn_tf import arguments
from sdn_tf.distributions import latent, quantization
from sdn_tf.distributions import observation as observation_models
from sdn_tf.layers import SpatialBroadcast, SpatialDependency
from sdn_tf.models import vae


def __getattr__(name):
    # OBSERVATIONS: the observation registry's names, read when asked (a
    # model registered after this import is among them).
    if name == "OBSERVATIONS":
        return observation_models.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@keras.saving.register_keras_serializable(package="sdn_tf")
class BetaVAE(vae.VariationalModel):
    """beta-VAE with a deconvolutional, SDN or Spatial Broadcast decoder.

    Args:
      image_shape: (height, width, channels); height and width divisible by
        16. Defaults to (64, 64, 3).
      latent_dim: size of z. Defaults to 10.
      decoder: a name in `DECODERS`: "deconv", "sdn" or "broadcast".
        Defaults to "deconv".
      observation: a registered observation model (`OBSERVATIONS`, from
        `sdn_tf.distributions.observation`): "bernoulli", "gaussian",
        "logistic", "logistic_mixture", .... Defaults to "bernoulli".
      beta: initial value of the KL weight (a non-trainable variable that
        `BetaAnnealing` sets during training). Defaults to 1.0.
      encoder_channels: channels of the four encoder convolutions. Defaults
        to (32, 32, 64, 64) (Table 8); the Spatial Broadcast paper uses 64s.
      hidden_units: width of the fully connected layers. Defaults to 256.
      fc_channels: channels of the decoder's first feature map (Table 8:
        256; the authors' code and disentanglement_lib use 64).
      decoder_channels: channels of the first three transposed
        convolutions. Defaults to (64, 32, 32).
      sdn_scale: output scale of the upsampling replaced by SDN ("sdn").
        Defaults to 32 (Table 9).
      sdn_features: SDN features. Defaults to 200.
      sdn_directions: SDN directions. Defaults to ("down",).
      broadcast_layers: hidden 4x4 stride-1 convolutions ("broadcast").
        Defaults to 2 (Table 1).
      broadcast_channels: their channels. Defaults to 64.
      broadcast_mlp_layers: fully connected layers before the broadcast.
        Defaults to 0.
      num_bits: bits per channel of the data (also given to an observation
        model that takes `num_bits`). Defaults to 8.
      observation_options: extra options of the observation model, e.g.
        {"variance": 0.3} for "gaussian" (not `num_bits`).
      encoder_hidden: the encoder's fully connected hidden layer (Table 8);
        False feeds the convolutions straight to the posterior layer, as
        the authors' code (lib/DisentanglementVAE.py). Defaults to True.
      latent_parameterization: "log_scale" (std = exp(s)) or "log_variance"
        (std = exp(s / 2), the authors' code) of the posterior. Defaults to
        "log_scale".
      sdn_correct_first_row: the SDN layer corrects the first row of its
        sweep (Algorithm 1); False is the authors' sweep. Defaults to True.
      **kwargs: keras.Model arguments (name, ...).

    Example:

    >>> model = BetaVAE(image_shape=(32, 32, 1), latent_dim=4, decoder="broadcast")
    >>> model.encode(np.zeros((2, 32, 32, 1), "float32")).shape
    TensorShape([2, 4])
    """

    term_names = ("loss", "reconstruction", "kl", "beta_kl", "elbo")

    def __init__(
        self,
        image_shape=(64, 64, 3),
        latent_dim=10,
        decoder="deconv",
        observation="bernoulli",
        beta=1.0,
        encoder_channels=(32, 32, 64, 64),
        hidden_units=256,
        fc_channels=256,
        decoder_channels=(64, 32, 32),
        sdn_scale=32,
        sdn_features=200,
        sdn_directions=("down",),
        broadcast_layers=2,
        broadcast_channels=64,
        broadcast_mlp_layers=0,
        num_bits=8,
        observation_options=None,
        encoder_hidden=True,
        latent_parameterization="log_scale",
        sdn_correct_first_row=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else ()
        arguments.check(
            len(shape) == 3
            and all(arguments.is_integer(d) and d > 0 for d in shape)
            and shape[0] % 16 == 0
            and shape[1] % 16 == 0,
            "image_shape",
            "(height, width, channels) with height and width divisible by 16",
            image_shape,
        )
        image_shape = tuple(int(d) for d in shape)
        latent_dim = arguments.positive_integer(latent_dim, "latent_dim")
        arguments.check(
            decoder in tuple(DECODERS), "decoder", f"one of {tuple(DECODERS)}", decoder
        )
        beta = arguments.non_negative_number(beta, "beta")
        encoder_channels = arguments.positive_integers(
            encoder_channels, "encoder_channels", 4, "4 positive channel counts"
        )
        decoder_channels = arguments.positive_integers(
            decoder_channels, "decoder_channels", 3, "3 positive channel counts"
        )
        hidden_units = arguments.positive_integer(hidden_units, "hidden_units")
        fc_channels = arguments.positive_integer(fc_channels, "fc_channels")
        sdn_features = arguments.positive_integer(sdn_features, "sdn_features")
        broadcast_layers = arguments.non_negative_integer(
            broadcast_layers, "broadcast_layers"
        )
        broadcast_channels = arguments.positive_integer(
            broadcast_channels, "broadcast_channels"
        )
        broadcast_mlp_layers = arguments.non_negative_integer(
            broadcast_mlp_layers, "broadcast_mlp_layers"
        )
        num_bits = quantization.check_num_bits(num_bits)
        scales = [
            image_shape[0] // 8,
            image_shape[0] // 4,
            image_shape[0] // 2,
            image_shape[0],
        ]
        arguments.check(
            decoder != "sdn" or sdn_scale in scales,
            "sdn_scale",
            f"one of the decoder's output scales {scales}",
            sdn_scale,
        )
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.decoder_name = decoder
        self.observation_name = observation
        self.initial_beta = float(beta)
        self.encoder_channels = tuple(encoder_channels)
        self.hidden_units = hidden_units
        self.fc_channels = fc_channels
        self.decoder_channels = tuple(decoder_channels)
        self.sdn_scale = sdn_scale
        self.sdn_features = sdn_features
        self.sdn_directions = tuple(sdn_directions)
        self.broadcast_layers = broadcast_layers
        self.broadcast_channels = broadcast_channels
        self.broadcast_mlp_layers = broadcast_mlp_layers
        self.num_bits = num_bits
        self.observation = vae.observation_model(
            observation, image_shape[-1], observation_options, num_bits=num_bits
        )
        self.observation_options = dict(observation_options or {})
        self.encoder_hidden = arguments.boolean(encoder_hidden, "encoder_hidden")
        self.latent_parameterization = arguments.one_of(
            latent_parameterization,
            "latent_parameterization",
            latent.PARAMETERIZATIONS,
        )
        self.sdn_correct_first_row = arguments.boolean(
            sdn_correct_first_row, "sdn_correct_first_row"
        )

        self.beta = self.add_weight(
            name="beta",
            shape=(),
            initializer=keras.initializers.Constant(beta),
            trainable=False,
            aggregation="only_first_replica",
        )
        self.log_scale = vae.add_log_scale(self, self.observation)
        self.seed_generator = keras.random.SeedGenerator(0, name="sampling_seed")
        self.encoder = self._build_encoder()
        self.decoder = self._build_decoder()
        self.build()

    # Encoder
    def _build_encoder(self):
        stack = [keras.Input(self.image_shape)]
        for i, channels in enumerate(self.encoder_channels):
            stack.append(
                layers.Conv2D(
                    channels, 4, 2, padding="same", activation="relu", name=f"conv_{i}"
                )
            )
        stack.append(layers.Flatten())
        if self.encoder_hidden:
            stack.append(layers.Dense(self.hidden_units, activation="relu", name="fc"))
        stack.append(layers.Dense(2 * self.latent_dim, name="posterior"))
        return keras.Sequential(stack, name="encoder")

    # Decoder
    def _build_decoder(self):
        return DECODERS[self.decoder_name](self, self.observation.num_params)

    # Probabilistic parts
    def posterior(self, images):
        return latent.gaussian_from_params(
            self.encoder(images), parameterization=self.latent_parameterization
        )

    def likelihood(self, z):
        """p(x | z) over the observation's support."""
        return self.observation.distribution(self.decoder(z), self.log_scale)

    def compute_terms(self, images, training=False):
        images = self._model_images(images)
        q = self.posterior(images)
        loc = q.distribution.loc
        scale = q.distribution.scale
        eps = keras.random.normal(ops.shape(loc), seed=self.seed_generator)
        z = loc + scale * eps  # reparameterized sample, float32
        p = self.observation.distribution(
            self.decoder(ops.cast(z, self.compute_dtype)), self.log_scale
        )
        reconstruction = -ops.mean(p.log_prob(self.observation.targets(images)))
        kl = ops.mean(latent.kl_divergence(q, latent.standard_normal(ops.shape(loc))))
        beta = ops.cast(self.beta, "float32")
        return {
            "loss": reconstruction + beta * kl,
            "reconstruction": reconstruction,
            "kl": kl,
            "beta_kl": beta * kl,
            "elbo": -(reconstruction + kl),
        }

    # Public API
    def encode(self, images):
        """Posterior means [B, latent_dim] (float32)."""
        return self.posterior(self._model_images(images)).mean()

    def posterior_scale(self, images):
        """Posterior standard deviations [B, latent_dim] (float32)."""
        return self.posterior(self._model_images(images)).stddev()

    def _model_images(self, images):
        """Images on the [-1, 1] grid (checked) in the compute dtype."""
        images = vae.checked_images(images, self.num_bits, self.image_shape)
        return ops.cast(images, self.compute_dtype)

    def decode(self, z):
        """Images in [-1, 1] that latents stand for: the mode of p(x | z)
        (the mean for Bernoulli and Gaussian, the channel-by-channel mean for
        the logistic mixture; `observation.reconstruct`)."""
        z = vae.checked_shape(tf.convert_to_tensor(z), (self.latent_dim,), "z", "codes")
        return self.observation.reconstruct(
            self.decoder(ops.cast(z, self.compute_dtype)), self.log_scale
        )

    def sample(self, num_samples, temperature=1.0, seed=None):
        """Decoded draws from the prior N(0, temperature^2 I)."""
        num_samples, temperature = vae.checked_sampling(num_samples, temperature)
        z = keras.random.normal((num_samples, self.latent_dim), seed=seed) * temperature
        return self.decode(z)

    def call(self, images, training=False):
        """Reconstructions: decode(encode(images))."""
        return self.decode(self.encode(images))

    def serving_endpoints(self):
        """{name: (function, input signature)} of an exported SavedModel."""
        height, width, channels = self.image_shape
        images = tf.TensorSpec(
            [None, height, width, channels], tf.float32, name="images"
        )
        latents = tf.TensorSpec([None, self.latent_dim], tf.float32, name="latents")
        count = tf.TensorSpec([], tf.int32, name="num_samples")
        temperature = tf.TensorSpec([], tf.float32, name="temperature")

        def sample(num_samples, temperature):
            num_samples, temperature = vae.checked_sampling(num_samples, temperature)
            z = tf.random.normal([num_samples, self.latent_dim]) * temperature
            return self.decode(z)

        return {
            "encode": (self.encode, [images]),
            "decode": (self.decode, [latents]),
            "reconstruct": (lambda x: self.decode(self.encode(x)), [images]),
            "sample": (sample, [count, temperature]),
        }

    def build(self, input_shape=None):
        self.encoder.build((None, *self.image_shape))
        self.decoder.build((None, self.latent_dim))
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            latent_dim=self.latent_dim,
            decoder=self.decoder_name,
            observation=self.observation_name,
            beta=self.initial_beta,
            encoder_channels=self.encoder_channels,
            hidden_units=self.hidden_units,
            fc_channels=self.fc_channels,
            decoder_channels=self.decoder_channels,
            sdn_scale=self.sdn_scale,
            sdn_features=self.sdn_features,
            sdn_directions=self.sdn_directions,
            broadcast_layers=self.broadcast_layers,
            broadcast_channels=self.broadcast_channels,
            broadcast_mlp_layers=self.broadcast_mlp_layers,
            num_bits=self.num_bits,
            observation_options=self.observation_options,
            encoder_hidden=self.encoder_hidden,
            latent_parameterization=self.latent_parameterization,
            sdn_correct_first_row=self.sdn_correct_first_row,
        )
        return config


# Decoders: name -> builder(model, outputs), a keras.Sequential from z
# [B, latent_dim] to [B, H, W, outputs] that reads the model's settings.
# Layer names are those of saved checkpoints: keep them.


def _upsampling_decoder(model, outputs, sdn):
    """FC, FC to an (H/16, W/16) map, four 4x4 stride-2 transposed
    convolutions; with `sdn`, a SpatialDependency layer for the one that
    outputs scale `model.sdn_scale`."""
    height, width, _ = model.image_shape
    stack = [
        keras.Input((model.latent_dim,)),
        layers.Dense(model.hidden_units, activation="relu", name="fc"),
        layers.Dense(
            (height // 16) * (width // 16) * model.fc_channels,
            activation="relu",
            name="fc_map",
        ),
        layers.Reshape((height // 16, width // 16, model.fc_channels)),
    ]
    channels = list(model.decoder_channels) + [outputs]
    for i, filters in enumerate(channels):
        last = i == len(channels) - 1
        scale = height // 8 * 2**i
        kwargs = dict(
            strides=2,
            padding="same",
            activation=None if last else "relu",
            name=f"upconv_{i}",
        )
        if sdn and scale == model.sdn_scale:
            stack.append(
                SpatialDependency(
                    filters,
                    model.sdn_features,
                    directions=model.sdn_directions,
                    kernel_size=4,
                    transpose=True,
                    correct_first_row=model.sdn_correct_first_row,
                    **{**kwargs, "name": f"sdn_{i}"},
                )
            )
        else:
            stack.append(layers.Conv2DTranspose(filters, 4, **kwargs))
    return keras.Sequential(stack, name="decoder")


def _deconv_decoder(model, outputs):
    """Table 8 of the SDN paper: transposed convolutions only."""
    return _upsampling_decoder(model, outputs, sdn=False)


def _sdn_decoder(model, outputs):
    """Table 9 of the SDN paper: "deconv" with SDN at `sdn_scale`."""
    return _upsampling_decoder(model, outputs, sdn=True)


def _broadcast_decoder(model, outputs):
    """Table 1 of the Spatial Broadcast paper: optional MLP, broadcast at the
    image size, 4x4 stride-1 convolutions."""
    height, width, _ = model.image_shape
    stack = [keras.Input((model.latent_dim,))]
    for i in range(model.broadcast_mlp_layers):
        stack.append(
            layers.Dense(model.hidden_units, activation="relu", name=f"mlp_{i}")
        )
    stack.append(SpatialBroadcast(height, width, name="broadcast"))
    for i in range(model.broadcast_layers):
        stack.append(
            layers.Conv2D(
                model.broadcast_channels,
                4,
                padding="same",
                activation="relu",
                name=f"conv_{i}",
            )
        )
    stack.append(layers.Conv2D(outputs, 4, padding="same", name="params"))
    return keras.Sequential(stack, name="decoder")


DECODERS = {
    "deconv": _deconv_decoder,
    "sdn": _sdn_decoder,
    "broadcast": _broadcast_decoder,
}


# Beta warm-up schedules: name -> fraction of the final beta at optimizer
# step `step` (0 for the first update) of a warm-up over `anneal_steps`.
ANNEALING_SCHEDULES = {
    # From 0 at the first update to the final value at step anneal_steps.
    "linear": lambda step, anneal_steps: step / anneal_steps,
    # The authors' code (lib/DisentanglementVAE.py at 4dd9130, lines 42 and
    # 241-243): beta_current starts at 0 and, before every training forward
    # pass, becomes min(beta_final, beta_current + beta_rate * beta_final),
    # so the first update already uses beta_rate * beta_final; here
    # beta_rate = 1 / anneal_steps and the final value is reached at step
    # anneal_steps - 1.
    "authors": lambda step, anneal_steps: (step + 1) / anneal_steps,
}


def annealed_beta(step, final_beta, anneal_steps, schedule="linear"):
    """The KL weight at optimizer step `step` (0-based) of a warm-up of
    `anneal_steps` steps to `final_beta` (`ANNEALING_SCHEDULES`); the final
    value from then on, and at once when `anneal_steps` is 0."""
    if anneal_steps == 0:
        return float(final_beta)
    fraction = ANNEALING_SCHEDULES[schedule](float(step), anneal_steps)
    return float(final_beta) * min(1.0, fraction)


class BetaAnnealing(keras.callbacks.Callback):
    """Raises the model's beta linearly from 0 to `final_beta` over
    `anneal_steps` optimizer steps (the SDN paper: over 100k steps), then
    holds it. Computed from the optimizer's step count, so a resumed run
    continues the schedule where it stopped (the authors' beta_current is a
    plain attribute, outside their checkpoints: their resumed run would
    warm up again from 0).

    Args:
      final_beta: the value beta reaches.
      anneal_steps: steps to get there; 0 sets it at once.
      schedule: a name in `ANNEALING_SCHEDULES`: "linear" (0 at the first
        step) or "authors" (final_beta / anneal_steps at the first step, as
        the authors' --beta_rate = 1 / anneal_steps). Defaults to "linear".
    """

    def __init__(self, final_beta, anneal_steps, schedule="linear"):
        super().__init__()
        self.final_beta = arguments.non_negative_number(final_beta, "final_beta")
        self.anneal_steps = arguments.non_negative_integer(anneal_steps, "anneal_steps")
        self.schedule = arguments.one_of(
            schedule, "schedule", tuple(ANNEALING_SCHEDULES)
        )

    def value_at(self, step):
        return annealed_beta(step, self.final_beta, self.anneal_steps, self.schedule)

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.model.beta.assign(self.value_at(step))

    def on_train_begin(self, logs=None):
        self.on_train_batch_begin(0)
