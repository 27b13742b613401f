"""Tests of the observation models chosen by name."""

import numpy as np
import numpy_reference
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

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


def test_the_mixture_reconstructs_with_its_most_probable_component():
    # A pixel whose largest logit belongs to a wide component (mean 0.5)
    # while a narrow one (mean -0.3) holds the most probable value.
    model = observation.get("logistic_mixture", 1, num_components=2)
    params = np.zeros((1, 1, 2, model.num_params), "float32")
    params[..., :2] = [0.1, 0.0]  # logits
    params[..., 2:4] = [0.5, -0.3]  # means
    params[..., 4:6] = [-1.5, -5.0]  # log-scales
    params[0, 0, 1, :2] = [0.0, 0.1]  # a pixel beside it: component 1 leads
    dist = model.distribution(params)
    recon = model.reconstruct(params).numpy().ravel()
    # Each pixel shows its largest logit's mean on the grid, not the mode
    # (which sits on the narrow component) nor the mean between them.
    np.testing.assert_allclose(recon, [127 / 255, -77 / 255], atol=1e-6)
    modes, means = numpy_reference.sequential_mixture_mode(params, 2, 1, 8)
    assert modes.ravel()[0] == pytest.approx(-77 / 255)
    assert -77 / 255 < means.ravel()[0] < 0.4
    np.testing.assert_allclose(dist.mode().numpy(), modes, atol=1e-6)


def test_the_mixture_reconstructs_three_channels_without_a_colour_cast():
    """A wide dark R beside narrow G and B coupled to it: reading R's mean
    but conditioning G and B on R's mode (sequential_mean) shifts G and B
    below R's coupling at the shown R; the component mean keeps them on it."""
    m = 1
    model = observation.get("logistic_mixture", 3, num_components=m)
    rest = np.zeros((3, 3, m), "float32")  # channel, (mean, log-scale, coeff)
    rest[:, 0, 0] = [-0.8, 0.0, 0.0]  # R near the bottom, G and B at 0 + r
    rest[:, 1, 0] = [-1.0, -6.0, -6.0]  # R wide, G and B narrow
    rest[:, 2, 0] = np.arctanh([0.999, 0.999, 0.0])  # G = B = r
    params = np.concatenate([[0.0], rest.reshape(-1)]).astype("float32")
    params = params.reshape(1, 1, 1, -1)
    r, g, b = model.reconstruct(params).numpy().ravel()
    assert abs(g - r) < 0.01 and abs(b - r) < 0.01
    r, g, b = model.distribution(params).sequential_mean().numpy().ravel()
    assert g < r - 0.05 and b < r - 0.05  # the cast the picture no longer has


def test_the_logistic_reconstructs_with_its_mode():
    # A logistic near the lowest value: its bin takes the whole lower tail.
    model = observation.get("logistic", 1)
    loc = np.array([-0.97, 0.2], "float32").reshape(1, 1, 2, 1)
    recon = model.reconstruct(loc, tf.constant(-3.0)).numpy().ravel()
    np.testing.assert_allclose(recon, [-1.0, 51 / 255], atol=1e-6)


@pytest.mark.parametrize("name", ["bernoulli", "logistic"])
def test_uint8_images_give_the_targets_of_their_grid_values(name):
    model = observation.get(name, 3)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    np.testing.assert_array_equal(
        model.targets(pixels), model.targets(quantization.from_uint8(pixels))
    )


def _observation_classes():
    """Every ObservationModel subclass of the module that has a name."""
    found, todo = [], [observation.ObservationModel]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ == observation.__name__ and cls.name is not None:
            found.append(cls)
    return found


def test_the_registry_holds_every_named_model_of_the_module():
    classes = _observation_classes()
    assert sorted(observation.names()) == sorted(cls.name for cls in classes)
    assert len(set(observation.names())) == len(observation.names())
    for cls in classes:
        model = observation.get(cls.name, 2)
        assert type(model) is cls and model.name == cls.name
        # Every option the registry reports is one `get` takes.
        assert set(observation.option_names(cls.name)) <= set(
            cls.__init__.__code__.co_varnames
        )
    assert observation.option_names("gaussian") == ("variance",)
    assert observation.option_names("bernoulli") == ()


class _Laplace(observation.ObservationModel):
    """A Laplace per value on [-1, 1] with a fixed scale (for the tests)."""

    name = "test_laplace"

    def __init__(self, num_channels, scale=0.5):
        super().__init__(num_channels)
        self.scale = scale

    def distribution(self, params, log_scale=None):
        loc = self._check_params(params)
        return tfp.distributions.Independent(
            tfp.distributions.Laplace(loc, self.scale), reinterpreted_batch_ndims=3
        )


@pytest.fixture
def registry(monkeypatch):
    """The registry, restored after the test."""
    monkeypatch.setattr(observation, "_REGISTRY", dict(observation._REGISTRY))
    return observation._REGISTRY


def test_a_registered_model_is_usable_through_get(registry):
    assert "test_laplace" not in observation.names()
    assert observation.register(_Laplace) is _Laplace
    assert observation.names()[-1] == "test_laplace"
    assert observation.option_names("test_laplace") == ("scale",)
    model = observation.get("test_laplace", 2, scale=0.25)
    assert isinstance(model, _Laplace) and model.num_params == 2
    loc = np.random.default_rng(4).uniform(-1, 1, (*SHAPE, 2)).astype("float32")
    x = _images(2)
    expected = (-np.log(2 * 0.25) - np.abs(x - loc) / 0.25).sum(axis=(1, 2, 3))
    got = model.distribution(loc).log_prob(model.targets(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(model.reconstruct(loc).numpy(), loc)
    with pytest.raises(ValueError, match="invalid option"):
        observation.get("test_laplace", 2, variance=1.0)


def test_register_refuses_a_taken_name_and_other_classes(registry):
    class Impostor(_Laplace):
        name = "gaussian"

    with pytest.raises(ValueError, match="argument `cls`.*'gaussian' is .*Gaussian"):
        observation.register(Impostor)
    assert observation.get("gaussian", 1).__class__ is observation.Gaussian
    observation.register(observation.Gaussian)  # the same class again: no change
    assert observation.names().count("gaussian") == 1

    class Nameless(observation.ObservationModel):
        pass

    for cls in (Nameless, int, "gaussian"):
        with pytest.raises(ValueError, match="argument `cls`"):
            observation.register(cls)
    assert "test_laplace" not in observation.names()
