"""Tests of the SDN-VAE and its IAF-VAE+ baseline."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf.distributions import DiscretizedLogisticMixture, quantization
from sdn_tf.layers import ResSpatialDependency, SpatialDependency
from sdn_tf.models import SDNVAE
from sdn_tf.models import sdn_vae as sdn_vae_lib

TINY = dict(
    image_shape=(8, 8, 3),
    h_size=8,
    z_size=2,
    scales=((8, 1, 8), (4, 1, 8)),
    num_components=2,
    iaf_context=4,
)


def _images(n=4, size=8, seed=0, levels=256):
    """Quantized images in [-1, 1]: a smooth pattern plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(3 * x + k) * np.cos(2 * y) for k in range(3)], -1)
    images = base[None] * rng.uniform(0.5, 1.0, (n, 1, 1, 1))
    images = images + rng.normal(0, 0.05, images.shape)
    k = np.round((np.clip(images, -1, 1) + 1) / 2 * (levels - 1))
    return (2 * k / (levels - 1) - 1).astype(np.float32)


@pytest.mark.parametrize("use_sdn", [True, False])
@pytest.mark.parametrize("downsample_first", [False, True])
def test_shapes_and_terms(use_sdn, downsample_first):
    scales = ((4, 1, 8), (2, 1, 8)) if downsample_first else TINY["scales"]
    model = SDNVAE(
        **dict(TINY, scales=scales, use_sdn=use_sdn, downsample_first=downsample_first)
    )
    images = _images()
    terms = model.compute_terms(images)
    assert set(terms) == set(SDNVAE.term_names)
    values = {k: float(v) for k, v in terms.items()}
    assert all(np.isfinite(v) for v in values.values())
    np.testing.assert_allclose(
        values["bpd"], values["reconstruction_bpd"] + values["kl_bpd"], rtol=1e-5
    )
    assert values["loss"] >= values["bpd"] - 1e-6  # free bits only add
    assert model.sample(3, temperature=1.0).shape == (3, 8, 8, 3)
    assert model.reconstruct(images).shape == images.shape
    zs = model.encode(images)
    assert [tuple(z.shape[1:]) for z in zs] == model.latent_shapes()
    first = scales[0][0]
    assert model.latent_shapes() == [(first // 2, first // 2, 2), (first, first, 2)]
    assert (len(model.sdn_layers) > 0) == use_sdn


@pytest.mark.parametrize("use_sdn", [True, False])
def test_resized_output_doubles_by_nearest_neighbours_then_a_3x3_layer(use_sdn):
    kwargs = dict(TINY, scales=((4, 1, 8), (2, 1, 8)), downsample_first=True)
    transposed = SDNVAE(**kwargs, use_sdn=use_sdn)
    resized = SDNVAE(**kwargs, use_sdn=use_sdn, output_upsampling="resize")
    conv = resized.last_layer.conv if use_sdn else resized.last_layer
    assert isinstance(conv, keras.layers.Conv2D)
    assert not isinstance(conv, keras.layers.Conv2DTranspose)
    assert conv.kernel_size == (3, 3) and conv.strides == (1, 1)
    old = transposed.last_layer.conv if use_sdn else transposed.last_layer
    assert isinstance(old, keras.layers.Conv2DTranspose) and old.strides == (2, 2)
    images = _images()  # 8x8: the stride-1 last layer sees the doubled 4x4 map
    assert resized.reconstruct(images).shape == images.shape
    assert np.isfinite(float(resized.compute_terms(images)["bpd"]))
    config = resized.get_config()
    assert config["output_upsampling"] == "resize"
    rebuilt = SDNVAE.from_config(config)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in resized.weights]


def test_output_upsampling_applies_only_when_the_first_layer_downsamples():
    plain = SDNVAE(**TINY)
    resized = SDNVAE(**TINY, output_upsampling="resize")
    assert [w.shape for w in plain.weights] == [w.shape for w in resized.weights]


def _sdn_scales(model):
    """Resolution at which each ResSpatialDependency runs (its input)."""
    return [layer._build_shapes_dict["input_shape"][1] for layer in model.sdn_layers]


def test_sdn_layers_and_their_scales_follow_the_config():
    model = SDNVAE(
        **dict(
            TINY,
            image_shape=(16, 16, 3),
            scales=((16, 2, 8), (8, 1, None), (4, 2, 8)),
        )
    )
    # Two ResSDN (down_a, down_b) per ladder layer at an SDN scale, and the
    # last layer at the image scale. down_b of the first layer of a scale
    # upsamples, so its input is at that scale too.
    assert _sdn_scales(model) == [16, 16, 16, 16, 4, 4, 4, 4, 16]
    assert [step.sdn_features for step in model.ladder] == [8, 8, None, 8, 8]
    assert model.depth == 5
    # Directions rotate through the four, two per layer as configured.
    directions = [tuple(layer.get_config()["directions"]) for layer in model.sdn_layers]
    assert directions[:4] == [
        ("right", "left"),
        ("down", "up"),
        ("right", "left"),
        ("down", "up"),
    ]
    assert directions[-1] == ("right", "left", "down", "up")
    limited = SDNVAE(
        **dict(TINY, image_shape=(16, 16, 3), scales=((16, 2, 8), (8, 1, 8))),
        sdn_max_scale=8,
    )
    assert _sdn_scales(limited) == [8, 8]


def test_iaf_vae_plus_has_no_sdn_layers():
    for kwargs in (dict(use_sdn=False), dict(sdn_min_scale=64)):
        model = SDNVAE(**dict(TINY, **kwargs))
        assert model.sdn_layers == []
        assert not any(
            isinstance(layer, ResSpatialDependency) for layer in model._flatten_layers()
        )


def test_free_bits_replace_a_small_kl_in_the_objective_only():
    kl = np.array([[0.001, 0.003], [2.0, 4.0]], np.float32)  # [layers, batch]
    np.testing.assert_allclose(
        float(sdn_vae_lib.free_bits_kl(kl, 0.01)), 0.01 + 3.0, rtol=1e-6
    )
    model = SDNVAE(**dict(TINY, free_bits=1000.0))  # far above any layer's KL
    terms = {k: float(v) for k, v in model.compute_terms(_images()).items()}
    dims = 8 * 8 * 3 * math.log(2.0)
    # Objective: reconstruction + threshold per layer; ELBO: the true KL.
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction_bpd"] + 2 * 1000.0 / dims, rtol=1e-5
    )
    np.testing.assert_allclose(
        terms["bpd"], terms["reconstruction_bpd"] + terms["kl_bpd"], rtol=1e-5
    )
    assert abs(terms["kl_bpd"]) < 1.0


def test_kl_warmup_weighs_the_objectives_kl_by_the_optimizers_step_only():
    model = SDNVAE(**dict(TINY, free_bits=1000.0, kl_warmup_steps=4))
    dims = 8 * 8 * 3 * math.log(2.0)
    for training in (True, False):  # before compile: no step, weight 1
        terms = model.compute_terms(_images(), training=training)
        np.testing.assert_allclose(
            float(terms["loss"]),
            float(terms["reconstruction_bpd"]) + 2000.0 / dims,
            rtol=1e-5,
        )
    model.compile(optimizer=keras.optimizers.Adamax(1e-3))
    for step, weight in [(0, 0.0), (1, 0.25), (3, 0.75), (4, 1.0), (9, 1.0)]:
        model.optimizer.iterations.assign(step)
        terms = {k: float(v) for k, v in model.compute_terms(_images(), True).items()}
        np.testing.assert_allclose(
            terms["loss"],
            terms["reconstruction_bpd"] + weight * 2000.0 / dims,
            rtol=1e-5,
            atol=1e-6,
        )
        # What is reported as bits/dim stays the whole ELBO.
        np.testing.assert_allclose(
            terms["bpd"], terms["reconstruction_bpd"] + terms["kl_bpd"], rtol=1e-5
        )
    evaluated = model.compute_terms(_images(), training=False)
    np.testing.assert_allclose(
        float(evaluated["loss"]),
        float(evaluated["reconstruction_bpd"]) + 2000.0 / dims,
        rtol=1e-5,
    )


def test_bits_per_dim_by_hand():
    # A uniform distribution over 256 levels costs 8 bits per dimension.
    shape = (32, 32, 3)
    nats = 32 * 32 * 3 * math.log(256.0)
    np.testing.assert_allclose(sdn_vae_lib.bits_per_dim(nats, shape), 8.0)
    # The model's negative ELBO: -(log p(x|z) - KL) / (D ln 2).
    model = SDNVAE(**TINY)
    images = _images(2)
    state = model.seed_generator.state.numpy()
    log_px, kl, log_w = (np.asarray(t) for t in model.log_weights(images))
    np.testing.assert_allclose(log_w, log_px - kl.sum(0), rtol=1e-5)
    model.seed_generator.state.assign(state)  # the same posterior samples
    np.testing.assert_allclose(
        np.asarray(model.negative_elbo_bpd(images)),
        -log_w / (8 * 8 * 3 * math.log(2.0)),
        rtol=1e-5,
    )


def test_importance_weighted_bound_is_tighter_than_the_elbo_and_tightens_with_k():
    model = SDNVAE(**TINY)
    images = _images(6)
    iw_1, elbo_1 = model.importance_weighted_bpd(images, 1)
    np.testing.assert_allclose(iw_1, elbo_1, rtol=1e-6)  # k = 1: the ELBO
    iw_4, elbo_4 = model.importance_weighted_bpd(images, 4, chunk=3)
    iw_32, elbo_32 = model.importance_weighted_bpd(images, 32, chunk=8)
    assert np.all(iw_4 <= elbo_4 + 1e-6) and np.all(iw_32 <= elbo_32 + 1e-6)
    assert iw_32.mean() < iw_4.mean() < elbo_32.mean()


def test_importance_weighted_bound_matches_a_direct_log_mean_exp():
    model = SDNVAE(**TINY)
    images = _images(2)
    state = model.seed_generator.state.numpy()
    iw, _ = model.importance_weighted_bpd(images, 6, chunk=4)
    model.seed_generator.state.assign(state)
    weights = np.concatenate(
        [
            np.asarray(model.log_weights(np.tile(images, (n, 1, 1, 1)))[2]).reshape(
                n, 2
            )
            for n in (4, 2)
        ]
    ).astype(np.float64)
    expected = -(np.logaddexp.reduce(weights, axis=0) - math.log(6)) / (
        8 * 8 * 3 * math.log(2.0)
    )
    np.testing.assert_allclose(iw, expected, rtol=1e-5)


def _coloured_images(n, seed, num_bits=3):
    """8x8 images that differ mostly in colour: one random colour per image
    over the faint pattern of `_images`, quantized to `num_bits`."""
    rng = np.random.default_rng(seed)
    colours = rng.uniform(-0.7, 0.7, (n, 1, 1, 3))
    images = np.clip(colours + 0.2 * _images(n, seed=seed), -1, 1)
    return np.asarray(quantization.quantize(images.astype(np.float32), num_bits))


@pytest.mark.parametrize("use_sdn", [True, False])
def test_short_fit_lowers_the_loss_and_reconstructions_follow_their_inputs(use_sdn):
    # 100 steps on 3-bit images of random colours. Reconstructions of
    # held-out images must be nearer their own inputs than other images:
    # encode -> decode -> the picture reading carries each image through its
    # latents (a decoder fed the prior, or another image's latents, would
    # land about equally far from all). Free bits let so short a run afford
    # the nats a colour costs.
    keras.utils.set_random_seed(0)
    model = SDNVAE(**dict(TINY, use_sdn=use_sdn, num_bits=3, free_bits=0.5))
    model.compile(optimizer=keras.optimizers.Adamax(5e-3))
    images, test = _coloured_images(64, seed=0), _coloured_images(16, seed=1)
    before = model.evaluate(images, batch_size=16, verbose=0, return_dict=True)
    model.fit(images, batch_size=16, epochs=25, verbose=0)
    after = model.evaluate(images, batch_size=16, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] - 0.3
    reconstructions = np.asarray(model.reconstruct(test))
    to_own = np.abs(reconstructions - test).mean()
    to_other = np.mean(
        [np.abs(reconstructions - np.roll(test, k, axis=0)).mean() for k in (1, 5)]
    )
    assert to_own < 0.85 * to_other, (to_own, to_other)


def test_sampling_at_temperature_zero_is_deterministic():
    model = SDNVAE(**TINY)
    first = np.asarray(model.sample(2, temperature=0.0))
    second = np.asarray(model.sample(2, temperature=0.0))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[0], first[1])  # no noise at all
    assert not np.array_equal(
        np.asarray(model.sample(2, temperature=1.0)),
        np.asarray(model.sample(2, temperature=1.0)),
    )


def test_decode_keeps_the_fixed_top_layers():
    model = SDNVAE(**TINY)
    images = _images(1)
    zs = model.encode(images)
    np.testing.assert_array_equal(
        np.asarray(model.decode(zs)), np.asarray(model.reconstruct(images))
    )
    # Keeping every layer is deterministic; keeping only the top one is not.
    a = np.asarray(model.decode(zs, fixed_layers=1, temperature=1.0))
    b = np.asarray(model.decode(zs, fixed_layers=1, temperature=1.0))
    assert not np.array_equal(a, b)


def test_standard_model_test(tmp_path):
    sdn_test_case.run_model_test(
        SDNVAE,
        dict(
            image_shape=(8, 8, 1),
            h_size=8,
            z_size=2,
            scales=((8, 1, 8), (4, 1, None)),
            num_components=2,
            iaf_context=4,
        ),
        _images(4)[..., :1],
        tmp_path,
        # Reconstructions and prior modes: deterministic given the weights.
        output_fn=lambda model, x: (model(x), model.sample(2, temperature=0.0)),
        # Tracing a step through the sweeps takes ~40 s on a CPU; the graph
        # fit is test_short_fit_lowers_the_loss's.
        run_eagerly=True,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image_shape=(8, 6, 3)), "image_shape"),
        (dict(scales=((4, 1, 8),)), "first resolution of 8"),
        (dict(scales=((8, 1, 8), (2, 1, 8))), "halving"),
        (dict(sdn_directions=5), "sdn_directions"),
        (dict(z_size=0), r"argument `z_size`, expected a positive integer, got 0\."),
        (dict(h_size=-5), r"argument `h_size`, expected a positive integer, got -5"),
        (dict(num_components=0), "argument `num_components`"),
        (dict(iaf_context=0), "argument `iaf_context`"),
        (dict(iaf_layers=-1), "argument `iaf_layers`"),
        (dict(free_bits=-0.1), "argument `free_bits`.*non-negative.*got -0.1"),
        (dict(free_bits=float("nan")), "argument `free_bits`.*got nan"),
        (dict(use_sdn="no"), "argument `use_sdn`, expected True or False, got 'no'"),
        (dict(weight_norm=1), "argument `weight_norm`"),
        (dict(num_bits=0), "argument `num_bits`"),
        (dict(kl_warmup_steps=-1), "argument `kl_warmup_steps`"),
        (dict(z_size=2.0), "argument `z_size`"),
        (dict(scales=((8, 1, 8.5), (4, 1, 8))), "argument `scales`"),
        (dict(scales=((8, 0, 8), (4, 1, 8))), "argument `scales`"),
        (
            dict(observation="poisson"),
            r"argument `observation`, expected one of \(.*'logistic_mixture'.*\), "
            r"got 'poisson'\.",
        ),
        (dict(observation=None), "argument `observation`"),
        (
            dict(output_upsampling="bilinear"),
            r"argument `output_upsampling`, expected one of \('transpose', "
            r"'resize'\), got 'bilinear'",
        ),
        (dict(observation_options={"num_bits": 5}), "`observation_options`.*num_bits"),
        (dict(observation_options=[("variance", 1)]), "`observation_options`"),
        (dict(observation="gaussian", observation_options={"scale": 1}), "option"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SDNVAE(**dict(TINY, **kwargs))


def test_numpy_integers_are_valid_sizes():
    sizes = dict(h_size=np.int64(8), z_size=np.int32(2), num_components=np.int64(2))
    model = SDNVAE(**dict(TINY, **sizes, scales=((np.int64(8), 1, 8), (4, 1, 8))))
    config = model.get_config()
    assert (config["h_size"], config["z_size"]) == (8, 2)
    assert type(config["h_size"]) is int and config["scales"][0] == [8, 1, 8]


@pytest.fixture(scope="module")
def tiny_model():
    return SDNVAE(**TINY)


@pytest.mark.parametrize("temperature", [float("nan"), -1.0])
def test_invalid_temperatures_raise(tiny_model, temperature):
    with pytest.raises(ValueError, match="argument `temperature`"):
        tiny_model.sample(2, temperature=temperature)
    zs = tiny_model.encode(_images(2))
    with pytest.raises(ValueError, match="argument `temperature`"):
        tiny_model.decode(zs, fixed_layers=1, temperature=temperature)


def test_fixed_layers_beyond_the_latents_raise(tiny_model):
    zs = tiny_model.encode(_images(2))
    with pytest.raises(ValueError, match="argument `fixed_layers`.*0 to 2, got 3"):
        tiny_model.decode(zs, fixed_layers=3)
    with pytest.raises(ValueError, match="argument `zs`"):
        tiny_model.decode(zs * 2)


def test_images_and_latents_of_the_wrong_shape_are_named_early(tiny_model):
    expected = r"expected a non-empty batch of (images|latents) of shape"
    with pytest.raises(ValueError, match=rf"`images`, {expected} \(8, 8, 3\)"):
        tiny_model.encode(np.zeros((0, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"`images`.*got shape \(2, 16, 16, 3\)"):
        tiny_model.negative_elbo_bpd(_images(2, size=16))
    zs = tiny_model.encode(_images(2))
    with pytest.raises(ValueError, match=rf"`zs\[0\]`, {expected} \(4, 4, 2\)"):
        tiny_model.decode([zs[0][:, :1], zs[1]])
    with pytest.raises(ValueError, match=r"`num_samples`, expected a positive"):
        tiny_model.sample(tf.constant(0))


def test_images_off_the_grid_raise_and_uint8_images_convert(tiny_model):
    images = _images(2)
    pixels = np.asarray(quantization.to_uint8(images))
    with pytest.raises(ValueError, match=r"argument `images`.*\[-1, 1\]"):
        tiny_model.encode(pixels.astype("float32"))
    with pytest.raises(ValueError, match=r"argument `images`"):
        tiny_model.negative_elbo_bpd(pixels.astype("float32") / 255.0 * 2.0)
    np.testing.assert_array_equal(
        tiny_model.encode(pixels)[0],
        tiny_model.encode(quantization.from_uint8(pixels))[0],
    )


def test_a_diverged_decoder_gives_nan_images_not_plausible_ones():
    model = SDNVAE(**TINY)
    for weight in model.last_layer.weights:
        weight.assign(np.full(weight.shape, np.nan, "float32"))
    assert np.isnan(np.asarray(model.sample(2, temperature=0.0))).all()
    assert np.isnan(np.asarray(model.sample(2, temperature=1.0))).all()
    assert np.isnan(np.asarray(model.reconstruct(_images(2)))).all()


def _authors_widths(image_size, depth, ds_list, start, decrement, max_scale=None):
    """Their loop (lib/DensityVAE.py, lines 83-105), in their own terms: the
    width of each of `depth` layers, None where a layer has no SDN."""
    width, resolution, widths = start, image_size, []
    for i in range(depth):
        uses_sdn = max_scale is None or resolution <= max_scale
        widths.append(width if uses_sdn else None)
        if i in ds_list:
            resolution //= 2
            if uses_sdn:
                width = max(50, width - decrement)
    return tuple(widths)


@pytest.mark.parametrize(
    "layers, size, start, decrement, max_resolution, depth, ds_list",
    [
        ((5, 5, 5), 32, 360, 128, None, 15, (5, 10)),  # CIFAR-10
        ((3, 4, 4, 5), 32, 424, 0, None, 16, (3, 7, 11)),  # ImageNet32
        ((4, 3, 2, 2, 2, 2, 2), 256, 400, 80, 64, 17, (4, 7, 9, 11, 13, 15)),
        ((2, 2, 2, 2), 32, 120, 50, 16, 8, (2, 4, 6)),  # the minimum of 50
    ],
)
def test_decremented_widths_follow_the_authors_rule(
    layers, size, start, decrement, max_resolution, depth, ds_list
):
    scales = sdn_vae_lib.decremented_widths(
        layers, size, start, decrement, max_resolution=max_resolution
    )
    assert [(r, n) for r, n, _ in scales] == [
        (size // 2**g, n) for g, n in enumerate(layers)
    ]
    assert sdn_vae_lib.layer_widths(scales) == _authors_widths(
        size, depth, ds_list, start, decrement, max_resolution
    )


def test_per_layer_widths_reach_the_ladder_and_the_last_layer():
    scales = ((8, 2, (6, None)), (4, 2, (5, 7)))
    model = SDNVAE(**dict(TINY, scales=scales))
    assert [step.sdn_features for step in model.ladder] == [6, None, 5, 7]
    assert model.last_layer.spatial.num_features == 6
    assert len(model.sdn_layers) == 2 * 3 + 1
    rebuilt = SDNVAE.from_config(model.get_config())
    assert [step.sdn_features for step in rebuilt.ladder] == [6, None, 5, 7]
    with pytest.raises(ValueError, match="one of those per layer"):
        SDNVAE(**dict(TINY, scales=((8, 1, (6, 6)), (4, 1, 8))))


def test_the_authors_options_reach_every_layer():
    model = SDNVAE(
        **TINY,
        kernel_initializer="orthogonal",
        latent_parameterization="log_variance",
        sdn_correct_first_row=False,
    )
    convolutions = [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose)
    ]
    assert len(convolutions) > 10
    for layer in convolutions:
        assert isinstance(layer.kernel_initializer, keras.initializers.Orthogonal), (
            layer.path
        )
    sweeps = [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, SpatialDependency)
    ]
    assert sweeps and not any(layer.correct_first_row for layer in sweeps)
    assert {step.latent_parameterization for step in model.ladder} == {"log_variance"}


def test_the_default_observation_is_the_papers_logistic_mixture():
    model = SDNVAE(**TINY)
    config = model.get_config()
    assert (config["observation"], config["observation_options"]) == (
        "logistic_mixture",
        {},
    )
    assert SDNVAE.from_config(config).observation.name == "logistic_mixture"
    assert model.log_scale is None
    assert (model.observation.num_components, model.observation.num_bits) == (2, 8)
    assert model.num_params == DiscretizedLogisticMixture.num_params(2, 3)
    assert model.last_layer.filters == model.num_params
    params = np.zeros((1, 8, 8, model.num_params), "float32")
    assert isinstance(model.likelihood(params), DiscretizedLogisticMixture)


@pytest.mark.parametrize("name", ["logistic", "bernoulli"])
def test_other_observation_models_train(name):
    # Convolutions only: the observation model does not depend on them.
    model = SDNVAE(**TINY, observation=name, num_bits=5, use_sdn=False)
    assert model.observation.name == name
    # The SDN-VAE's num_bits reach an observation model that takes them.
    assert getattr(model.observation, "num_bits", None) == (
        5 if name == "logistic" else None
    )
    assert model.num_params == model.observation.num_params == 3
    assert (model.log_scale is not None) == (name == "logistic")
    images = _images(8, levels=32)
    # The reconstruction term is the observation model's log-likelihood.
    state = model.seed_generator.state.numpy()
    log_px, _, _ = model.log_weights(images)
    model.seed_generator.state.assign(state)
    params, _, _, _ = model._top_down(8, q_ups=model._bottom_up(images))
    expected = model.observation.distribution(params, model.log_scale).log_prob(
        model.observation.targets(images)
    )
    np.testing.assert_allclose(np.asarray(log_px), np.asarray(expected), rtol=1e-5)
    model.compile(optimizer=keras.optimizers.Adamax(2e-3), run_eagerly=True)
    before = [np.array(v) for v in model.trainable_variables]
    logs = model.train_on_batch(images, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["skipped_steps"] == 0
    assert logs["bpd"] > 0
    changed = {
        v.path
        for b, v in zip(before, model.trainable_variables)
        if not np.array_equal(b, np.asarray(v))
    }
    trained = [*model.last_layer.trainable_weights, model.log_scale]
    assert all(v.path in changed for v in trained if v is not None)
    decoded = np.asarray(model.reconstruct(images))
    assert decoded.shape == images.shape
    assert decoded.min() >= -1.0 and decoded.max() <= 1.0
    assert model.sample(2, temperature=0.0).shape == (2, 8, 8, 3)


def test_keras_round_trip_keeps_the_observation_and_its_log_scale(tmp_path):
    model = SDNVAE(**TINY, observation="logistic")
    model.log_scale.assign(-1.5)
    images = _images(2)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.observation.name == "logistic"
    assert float(loaded.log_scale.numpy()) == -1.5
    np.testing.assert_allclose(
        np.asarray(loaded.reconstruct(images)), np.asarray(model.reconstruct(images))
    )


@pytest.mark.parametrize("initializer", ["glorot_uniform", "orthogonal"])
def test_layers_of_the_same_shape_start_from_different_kernels(initializer):
    model = SDNVAE(
        **dict(TINY, scales=((8, 2, None), (4, 1, None))),
        kernel_initializer=initializer,
    )
    first, second = model.ladder[0], model.ladder[1]
    for a, b in (
        (first.up_b.kernel, second.up_b.kernel),
        (first.down_a.kernel, second.down_a.kernel),
        (first.iaf.hidden[0].kernel, second.iaf.hidden[0].kernel),
    ):
        assert not np.allclose(np.asarray(a), np.asarray(b))
