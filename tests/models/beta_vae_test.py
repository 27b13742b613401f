"""Tests of the BetaVAE model and the beta annealing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf.data import Circles
from sdn_tf.distributions import observation as observation_models
from sdn_tf.layers import SpatialBroadcast, SpatialDependency
from sdn_tf.models import BetaAnnealing, BetaVAE, beta_vae

SMALL = dict(
    encoder_channels=(8, 8, 8, 8),
    hidden_units=16,
    fc_channels=8,
    decoder_channels=(8, 8, 8),
    sdn_features=8,
    sdn_scale=16,
    broadcast_channels=8,
)


def _images(n=4, size=32, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(np.linspace(-1, 1, 256), size=(n, size, size, channels)).astype(
        "float32"
    )


@pytest.mark.parametrize("decoder", list(beta_vae.DECODERS))
@pytest.mark.parametrize("observation", observation_models.names())
def test_shapes_and_terms_for_every_decoder_and_observation(decoder, observation):
    model = BetaVAE(
        image_shape=(32, 32, 3),
        latent_dim=5,
        decoder=decoder,
        observation=observation,
        beta=3.0,
        **SMALL,
    )
    x = _images()
    terms = {k: float(v) for k, v in model.compute_terms(x).items()}
    assert set(terms) == set(BetaVAE.term_names)
    assert all(np.isfinite(v) for v in terms.values())
    assert terms["loss"] == pytest.approx(
        terms["reconstruction"] + 3.0 * terms["kl"], rel=1e-5
    )
    assert terms["beta_kl"] == pytest.approx(3.0 * terms["kl"], rel=1e-5)
    assert terms["elbo"] == pytest.approx(
        -(terms["reconstruction"] + terms["kl"]), rel=1e-5
    )
    assert terms["kl"] >= 0
    z = model.encode(x)
    assert z.shape == (4, 5) and z.dtype == tf.float32
    assert model.decoder(z).shape == (4, 32, 32, model.observation.num_params)
    decoded = np.asarray(model.decode(z))
    assert (
        decoded.shape == (4, 32, 32, 3) and decoded.min() >= -1 and decoded.max() <= 1
    )
    assert model.sample(3, seed=1).shape == (3, 32, 32, 3)
    assert (model.log_scale is not None) == (observation == "logistic")


def test_kl_term_is_the_analytic_kl_of_the_encoder():
    model = BetaVAE(image_shape=(32, 32, 1), latent_dim=6, **SMALL)
    x = _images(channels=1)
    loc, log_scale = np.split(np.asarray(model.encoder(x), np.float64), 2, axis=-1)
    expected = (0.5 * (np.exp(2 * log_scale) + loc**2 - 1) - log_scale).sum(-1).mean()
    np.testing.assert_allclose(float(model.compute_terms(x)["kl"]), expected, rtol=1e-5)


def test_short_fit_on_circles_lowers_the_loss():
    data = Circles("xy", resolution=8)
    images = data.observations(data.all_factors())  # 64 circles
    images = images.reshape(64, 32, 2, 32, 2, 3).mean(axis=(2, 4))  # 32x32
    keras.utils.set_random_seed(0)
    model = BetaVAE(
        image_shape=(32, 32, 3),
        latent_dim=4,
        decoder="broadcast",
        observation="bernoulli",
        **SMALL,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, batch_size=16, epochs=8, verbose=0).history["loss"]
    assert history[-1] < 0.9 * history[0], history


def test_beta_annealing_reaches_its_final_value_at_the_given_step():
    model = BetaVAE(image_shape=(32, 32, 1), latent_dim=2, **SMALL)
    model.compile(optimizer="adam")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.beta.numpy()))
    )
    annealing = BetaAnnealing(final_beta=2.0, anneal_steps=4)
    model.fit(
        _images(12, channels=1),
        batch_size=2,
        epochs=1,
        verbose=0,
        callbacks=[annealing, record],
    )
    np.testing.assert_allclose(seen, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    assert [annealing.value_at(s) for s in (0, 2, 4, 100)] == [0.0, 1.0, 2.0, 2.0]
    assert BetaAnnealing(3.0, 0).value_at(0) == 3.0


@pytest.mark.parametrize("decoder", ["deconv", "sdn", "broadcast"])
def test_standard_model_test(decoder, tmp_path):
    sdn_test_case.run_model_test(
        BetaVAE,
        dict(
            image_shape=(32, 32, 1),
            latent_dim=4,
            decoder=decoder,
            observation="logistic",  # with the learned log_scale
            **SMALL,
        ),
        _images(channels=1),
        tmp_path,
        output_fn=lambda model, x: (model.encode(x), model(x), model.log_scale),
    )


def test_sdn_decoder_follows_table_9():
    model = BetaVAE(image_shape=(64, 64, 3), decoder="sdn", observation="logistic")
    layers = model.decoder.layers
    sdn = [layer for layer in layers if isinstance(layer, SpatialDependency)]
    assert len(sdn) == 1
    sdn = sdn[0]
    assert (
        sdn.num_features,
        sdn.directions,
        sdn.kernel_size,
        sdn.strides,
        sdn.transpose,
        sdn.filters,
    ) == (200, ("down",), (4, 4), (2, 2), True, 32)
    shapes = [tuple(layer.output.shape[1:]) for layer in layers[-4:]]
    assert shapes == [(8, 8, 64), (16, 16, 32), (32, 32, 32), (64, 64, 3)]
    assert layers[-2] is sdn  # the upsampling to scale 32


def test_broadcast_decoder_follows_table_1():
    model = BetaVAE(
        image_shape=(64, 64, 1), decoder="broadcast", encoder_channels=(64, 64, 64, 64)
    )
    kinds = [type(layer).__name__ for layer in model.decoder.layers]
    assert kinds == ["SpatialBroadcast", "Conv2D", "Conv2D", "Conv2D"]
    assert isinstance(model.decoder.layers[0], SpatialBroadcast)
    convs = model.decoder.layers[1:]
    assert [(c.kernel_size, c.strides, c.filters) for c in convs] == [
        ((4, 4), (1, 1), 64),
        ((4, 4), (1, 1), 64),
        ((4, 4), (1, 1), 1),
    ]
    assert [c.filters for c in model.encoder.layers[:4]] == [64, 64, 64, 64]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image_shape=(60, 64, 3)), "argument `image_shape`"),
        (dict(image_shape=(64, 64)), "argument `image_shape`"),
        (
            dict(decoder="mlp"),
            r"argument `decoder`, expected one of \('deconv', 'sdn', 'broadcast'\), "
            r"got 'mlp'\.",
        ),
        (dict(decoder=["sdn"]), "argument `decoder`"),
        (
            dict(observation="poisson"),
            r"argument `observation`, expected one of \(.*'logistic_mixture'.*\), "
            r"got 'poisson'\.",
        ),
        (dict(observation_options={"num_bits": 5}), "`observation_options`.*num_bits"),
        (dict(decoder="sdn", sdn_scale=24), "argument `sdn_scale`"),
        (dict(latent_dim=0), "argument `latent_dim`"),
        (dict(latent_dim=True), "argument `latent_dim`"),
        (dict(beta=-1.0), "argument `beta`, expected a finite, non-negative"),
        (dict(beta=float("nan")), "argument `beta`"),
        (dict(encoder_channels=(8, 8, 0, 8)), "argument `encoder_channels`"),
        (dict(hidden_units=0), "argument `hidden_units`"),
        (dict(broadcast_layers=-1), "argument `broadcast_layers`"),
        (dict(num_bits=9.5), "argument `num_bits`"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BetaVAE(**kwargs)


def test_compile_refuses_an_external_loss():
    with pytest.raises(ValueError, match="argument `loss`"):
        BetaVAE(image_shape=(32, 32, 1), **SMALL).compile(optimizer="adam", loss="mse")


def test_numpy_integers_are_valid_sizes():
    model = BetaVAE(
        image_shape=(np.int64(32), 32, 1),
        latent_dim=np.int64(3),
        **dict(SMALL, hidden_units=np.int32(16)),
    )
    assert model.encode(_images(2, channels=1)).shape == (2, 3)
    assert type(model.get_config()["latent_dim"]) is int


def test_sampling_checks_its_temperature_and_keeps_nan():
    model = BetaVAE(image_shape=(32, 32, 1), latent_dim=2, **SMALL)
    for temperature in (float("nan"), -1.0):
        with pytest.raises(ValueError, match="argument `temperature`"):
            model.sample(2, temperature=temperature)
    with pytest.raises(ValueError, match=r"argument `images`.*\[-1, 1\]"):
        model.encode(_images(2, channels=1) * 127.5 + 127.5)
    nan_latents = np.full((2, 2), np.nan, "float32")
    assert np.isnan(np.asarray(model.decode(nan_latents))).all()


def test_images_and_codes_of_the_wrong_shape_are_named_early():
    model = BetaVAE(image_shape=(32, 32, 1), latent_dim=2, **SMALL)
    with pytest.raises(ValueError, match=r"`images`, expected a non-empty batch"):
        model.encode(np.zeros((0, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match=r"`images`.*got shape \(2, 64, 64, 1\)"):
        model(_images(2, size=64, channels=1))
    with pytest.raises(ValueError, match=r"`z`.*of shape \(2,\).*got shape \(2, 3\)"):
        model.decode(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"`num_samples`, expected a positive"):
        model.sample(tf.constant(-1))


def _authors_betas(beta_final, beta_rate, steps):
    """The KL weights of the authors' first `steps` training steps, as
    lib/DisentanglementVAE.py (4dd9130) computes them: beta_current = 0
    (line 42), then before each training forward pass (lines 241-243)
    beta_current = min(beta_final, beta_current + beta_rate * beta_final)."""
    beta_current, seen = 0.0, []
    for _ in range(steps):
        beta_current = min(beta_final, beta_current + beta_rate * beta_final)
        seen.append(beta_current)
    return seen


@pytest.mark.parametrize("final, anneal_steps", [(1.0, 4), (32.0, 10), (100.0, 7)])
def test_authors_schedule_is_that_of_the_authors_code(final, anneal_steps):
    annealing = BetaAnnealing(final, anneal_steps, schedule="authors")
    steps = 2 * anneal_steps + 3
    np.testing.assert_allclose(
        [annealing.value_at(step) for step in range(steps)],
        _authors_betas(final, 1.0 / anneal_steps, steps),
        rtol=1e-12,
    )
    # The paper's 100k steps: beta_rate 1e-5, beta_final at step 99,999.
    paper = BetaAnnealing(4.0, 100_000, schedule="authors")
    assert paper.value_at(0) == pytest.approx(4e-5)
    assert paper.value_at(49_999) == pytest.approx(2.0)
    assert paper.value_at(99_998) < 4.0 == paper.value_at(99_999)
    # Ours starts one step later: 0 at the first step.
    assert beta_vae.annealed_beta(0, 4.0, 100_000, "linear") == 0.0
    assert beta_vae.annealed_beta(5, 4.0, 0, "authors") == 4.0


def _fit_and_record(model, annealing, images, steps):
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.beta.numpy()))
    )
    model.fit(
        images[: 2 * steps], batch_size=2, verbose=0, callbacks=[annealing, record]
    )
    return seen


def test_a_resumed_run_continues_the_authors_schedule(tmp_path):
    images = _images(12, channels=1)

    def build():
        model = BetaVAE(image_shape=(32, 32, 1), latent_dim=2, beta=0.0, **SMALL)
        model.compile(optimizer=keras.optimizers.Adamax(1e-3))
        return model

    def annealing():
        return BetaAnnealing(final_beta=3.0, anneal_steps=5, schedule="authors")

    whole = _fit_and_record(build(), annealing(), images, 6)
    np.testing.assert_allclose(whole, _authors_betas(3.0, 0.2, 6))
    # Three steps, a checkpoint, a fresh process's model restored from it.
    first = build()
    before = _fit_and_record(first, annealing(), images, 3)
    path = tf.train.Checkpoint(model=first, optimizer=first.optimizer).save(
        str(tmp_path / "ckpt")
    )
    resumed = build()
    resumed.optimizer.build(resumed.trainable_variables)
    tf.train.Checkpoint(model=resumed, optimizer=resumed.optimizer).restore(
        path
    ).assert_consumed()
    assert int(resumed.optimizer.iterations.numpy()) == 3
    after = _fit_and_record(resumed, annealing(), images, 3)
    np.testing.assert_allclose(before + after, whole)


def test_beta_annealing_checks_its_arguments():
    with pytest.raises(ValueError, match="argument `final_beta`"):
        BetaAnnealing(float("nan"), 10)
    assert BetaAnnealing(1.0, np.int64(10)).anneal_steps == 10
    with pytest.raises(ValueError, match="argument `schedule`"):
        BetaAnnealing(1.0, 10, schedule="cosine")


def _decoder_layer_names(model):
    return [
        layer.name
        for layer in model.decoder.layers
        if not isinstance(layer, keras.layers.Reshape)
    ]


def test_decoder_layer_names_stay_those_of_saved_checkpoints():
    deconv = BetaVAE(image_shape=(32, 32, 1), decoder="deconv", **SMALL)
    upconvs = ["upconv_0", "upconv_1", "upconv_2", "upconv_3"]
    assert _decoder_layer_names(deconv) == ["fc", "fc_map", *upconvs]
    sdn = BetaVAE(image_shape=(32, 32, 1), decoder="sdn", **SMALL)  # sdn_scale 16
    assert _decoder_layer_names(sdn) == ["fc", "fc_map", *upconvs[:2], "sdn_2"] + [
        "upconv_3"
    ]
    broadcast = BetaVAE(
        image_shape=(32, 32, 1), decoder="broadcast", broadcast_mlp_layers=1, **SMALL
    )
    assert _decoder_layer_names(broadcast) == [
        "mlp_0",
        "broadcast",
        "conv_0",
        "conv_1",
        "params",
    ]


def test_a_decoder_added_to_the_registry_is_a_valid_choice(monkeypatch):
    def mlp_decoder(model, outputs):
        height, width, _ = model.image_shape
        return keras.Sequential(
            [
                keras.Input((model.latent_dim,)),
                keras.layers.Dense(height * width * outputs, name="pixels"),
                keras.layers.Reshape((height, width, outputs)),
            ],
            name="decoder",
        )

    monkeypatch.setitem(beta_vae.DECODERS, "mlp", mlp_decoder)
    model = BetaVAE(
        image_shape=(16, 16, 1), decoder="mlp", observation="logistic", **SMALL
    )
    assert model.get_config()["decoder"] == "mlp"
    assert model.decoder.get_layer("pixels").units == 16 * 16 * 1
    terms = model.compute_terms(_images(2, size=16, channels=1))
    assert all(np.isfinite(float(v)) for v in terms.values())
    with pytest.raises(ValueError, match=r"one of \(.*'broadcast', 'mlp'\)"):
        BetaVAE(decoder="conv")


def test_observations_are_the_observation_registry(monkeypatch):
    assert beta_vae.OBSERVATIONS == observation_models.names()
    monkeypatch.setattr(
        observation_models, "_REGISTRY", dict(observation_models._REGISTRY)
    )

    @observation_models.register
    class WideGaussian(observation_models.Gaussian):
        name = "test_wide_gaussian"

    # Registered after beta_vae was imported, and a valid choice at once.
    assert beta_vae.OBSERVATIONS[-1] == "test_wide_gaussian"
    model = BetaVAE(
        image_shape=(16, 16, 1),
        decoder="broadcast",
        observation="test_wide_gaussian",
        observation_options={"variance": 2.0},
        **SMALL,
    )
    assert isinstance(model.observation, WideGaussian)
    assert model.observation.variance == 2.0 and model.log_scale is None
    terms = model.compute_terms(_images(2, size=16, channels=1))
    assert all(np.isfinite(float(v)) for v in terms.values())


def test_the_authors_options():
    model = BetaVAE(
        image_shape=(32, 32, 1),
        latent_dim=3,
        decoder="sdn",
        sdn_scale=16,
        sdn_features=4,
        sdn_directions=("right",),
        encoder_hidden=False,
        latent_parameterization="log_variance",
        sdn_correct_first_row=False,
    )
    names = [layer.name for layer in model.encoder.layers]
    assert "fc" not in names and names[-2:] == ["flatten", "posterior"]
    assert not model.decoder.get_layer("sdn_2").correct_first_row
    images = np.zeros((2, 32, 32, 1), "float32")
    outputs = np.asarray(model.encoder(images))
    np.testing.assert_allclose(
        np.asarray(model.posterior_scale(images)),
        np.exp(0.5 * outputs[:, 3:]),
        rtol=1e-5,
    )
    assert BetaVAE.from_config(model.get_config()).latent_parameterization == (
        "log_variance"
    )
