"""Tests of the observation models chosen by name."""

import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

from sdn_tf.distributions import observation, quantization

SHAPE = (2, 4, 5)  # batch, H, W


def _images(channels, bits=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(quantization.grid(bits), size=(*SHAPE, channels)).astype(
        "float32"
    )


@pytest.mark.parametrize(
    "name, options, channels, num_params",
    [
        ("bernoulli", {}, 3, 3),
        ("gaussian", {"variance": 0.1}, 1, 1),
        ("logistic", {"num_bits": 5}, 3, 3),
        ("logistic_mixture", {"num_components": 4}, 3, 4 + 36),
        ("logistic_mixture", {"num_components": 2}, 1, 2 + 6),
    ],
)
def test_every_model_gives_image_distributions(name, options, channels, num_params):
    model = observation.get(name, channels, **options)
    assert model.name == name and model.num_params == num_params
    params = tf.constant(
        np.random.default_rng(1).normal(size=(*SHAPE, num_params)), tf.float16
    )  # float16 in, float32 out
    log_scale = tf.Variable(-1.0) if model.learnable_scale else None
    dist = model.distribution(params, log_scale)
    assert dist.event_shape == (4, 5, channels) and dist.batch_shape == (2,)
    log_p = dist.log_prob(model.targets(_images(channels)))
    assert log_p.shape == (2,) and log_p.dtype == tf.float32
    assert np.all(np.isfinite(log_p.numpy()))
    recon = model.reconstruct(params, log_scale).numpy()
    assert recon.shape == (*SHAPE, channels)
    assert recon.min() >= -1.0 and recon.max() <= 1.0
    x = _images(channels)
    np.testing.assert_allclose(model.images(model.targets(x)).numpy(), x, atol=1e-6)


def test_bernoulli_is_binary_cross_entropy_on_intensities():
    model = observation.get("bernoulli", 3)
    logits = np.random.default_rng(2).normal(size=(*SHAPE, 3)).astype("float32")
    x = _images(3)
    t = (x + 1) / 2
    p = numpy_reference.sigmoid(logits.astype(np.float64))
    expected = (t * np.log(p) + (1 - t) * np.log1p(-p)).sum(axis=(1, 2, 3))
    got = model.distribution(logits).log_prob(model.targets(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_gaussian_has_the_fixed_variance():
    model = observation.get("gaussian", 3)  # variance 0.3 by default
    loc = np.random.default_rng(3).uniform(size=(*SHAPE, 3)).astype("float32")
    x = _images(3)
    t = (x + 1) / 2
    expected = (-0.5 * np.log(2 * np.pi * 0.3) - (t - loc) ** 2 / (2 * 0.3)).sum(
        axis=(1, 2, 3)
    )
    got = model.distribution(loc).log_prob(model.targets(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_logistic_needs_the_models_log_scale():
    model = observation.get("logistic", 1)
    with pytest.raises(ValueError, match="argument `log_scale`"):
        model.distribution(np.zeros((*SHAPE, 1), "float32"))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: observation.get("poisson", 3), "argument `name`"),
        (lambda: observation.get("gaussian", 3, num_components=3), "invalid option"),
        (lambda: observation.get("gaussian", 3, variance=0.0), "argument `variance`"),
        (lambda: observation.get("bernoulli", 0), "argument `num_channels`"),
        (lambda: observation.get("bernoulli", True), "argument `num_channels`"),
        (
            lambda: observation.get("gaussian", 3, variance=float("nan")),
            "argument `variance`",
        ),
        (
            lambda: observation.get("logistic", 3, initial_log_scale=float("inf")),
            "argument `initial_log_scale`",
        ),
        (
            lambda: observation.get("logistic_mixture", 3, num_components=0),
            "argument `num_components`",
        ),
        (
            lambda: observation.get("bernoulli", 3).distribution(
                np.zeros((*SHAPE, 4), "float32")
            ),
            "expected 3 channels, got 4",
        ),
        (
            lambda: observation.get(
                "logistic_mixture", 3, num_components=2
            ).distribution(np.zeros((*SHAPE, 3), "float32")),
            "expected 20 channels, got 3",
        ),
    ],
)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["bernoulli", "logistic"])
def test_uint8_images_give_the_targets_of_their_grid_values(name):
    model = observation.get(name, 3)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    np.testing.assert_array_equal(
        model.targets(pixels), model.targets(quantization.from_uint8(pixels))
    )
