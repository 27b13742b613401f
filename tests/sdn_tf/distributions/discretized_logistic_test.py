"""Tests of DiscretizedLogisticMixture and DiscretizedLogistic."""

import itertools

import numpy as np
import numpy_reference
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from sdn_tf.distributions import (
    DiscretizedLogistic,
    DiscretizedLogisticMixture,
    quantization,
)

tfd = tfp.distributions
Mixture = DiscretizedLogisticMixture


def _params(rng, shape, m, c, extreme=False):
    """Raw params; `extreme` mixes in clamped scales, huge means and logits."""
    p = rng.normal(size=(*shape, Mixture.num_params(m, c))).astype("float32")
    rest = p[..., m:].reshape(*shape, c, 3, m)
    rest[..., 0, :] *= 0.7  # means
    rest[..., 1, :] = rng.uniform(-4.0, 0.5, size=rest[..., 1, :].shape)  # log-scales
    if extreme:
        flat = rest.reshape(-1, c, 3, m)
        flat[0::4, :, 1, :] = -7.0 - rng.uniform(0, 3, size=flat[0::4, :, 1, :].shape)
        flat[1::4, :, 0, :] = rng.choice([-60.0, 60.0], size=flat[1::4, :, 0, :].shape)
        flat[2::4, :, 1, :] = 6.0  # scales far wider than [-1, 1]
        flat[3::4, :, 0, :] = rng.uniform(-1.2, 1.2, size=flat[3::4, :, 0, :].shape)
        flat[3::4, :, 2, :] = 20.0  # saturated coefficients
        p[..., :m] *= 8.0  # peaked mixture weights
    p[..., m:] = rest.reshape(*shape, -1)
    return p


# --- Normalization --------------------------------------------------------


def test_one_channel_normalizes_at_8_bits():
    rng = np.random.default_rng(0)
    params = _params(rng, (40, 1, 1), m=5, c=1, extreme=True)  # 40 pixels
    dist = Mixture(params, num_components=5, num_channels=1, num_bits=8)
    values = quantization.grid(8).reshape(256, 1, 1, 1, 1)  # every value
    total = np.exp(dist.log_prob(values).numpy().astype(np.float64)).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, atol=1e-4)


def test_three_channels_normalize_over_all_colours_at_4_bits():
    rng = np.random.default_rng(1)
    params = _params(rng, (12, 1, 1), m=4, c=3, extreme=True)
    dist = Mixture(params, num_components=4, num_channels=3, num_bits=4)
    g = quantization.grid(4)
    colours = np.array(list(itertools.product(g, g, g)), "float32")  # 4096 x 3
    log_p = dist.log_prob(colours.reshape(4096, 1, 1, 1, 3)).numpy()  # [4096, 12]
    np.testing.assert_allclose(
        np.exp(log_p.astype(np.float64)).sum(axis=0), 1.0, atol=1e-4
    )


def test_discretized_logistic_normalizes():
    values = quantization.grid(6).reshape(64, 1, 1, 1, 1)
    loc = np.array([-3.0, -1.0, -0.3, 0.0, 0.99, 5.0], "float32").reshape(6, 1, 1, 1)
    log_scale = np.array([-9.0, -7.0, -2.0, 0.0, 1.0, 4.0], "float32").reshape(
        6, 1, 1, 1
    )
    dist = DiscretizedLogistic(loc, log_scale, num_bits=6)
    total = np.exp(dist.log_prob(values).numpy().astype(np.float64)).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, atol=1e-4)


# --- Agreement with independent implementations ---------------------------


def test_matches_the_numpy_pixelcnn_pp_formula():
    rng = np.random.default_rng(2)
    params = _params(rng, (3, 5, 4), m=5, c=3)
    x = rng.choice(quantization.grid(8), size=(3, 5, 4, 3)).astype("float32")
    x[0, 0, 0] = [-1.0, 1.0, -1.0]  # edge values
    got = Mixture(params, 5, 3, num_bits=8).log_prob(x).numpy()
    # In float64 the bin mass is exact down to 1e-12, where we are exact too.
    exact = numpy_reference.pixelcnn_pp_log_prob(
        x, params, 5, 8, tiny_bin_threshold=1e-12
    )
    np.testing.assert_allclose(got, exact, rtol=2e-6)
    # Salimans' float32 code swaps bins below 1e-5 for a midpoint density;
    # that approximation differs from the exact mass, a little.
    approximate = numpy_reference.pixelcnn_pp_log_prob(x, params, 5, 8)
    np.testing.assert_allclose(got, approximate, rtol=1e-4)


def test_matches_a_tfd_composition_without_coupling():
    """MixtureSameFamily of QuantizedDistribution(Logistic) on the levels."""
    rng = np.random.default_rng(3)
    m, c, bits = 3, 3, 5
    params = _params(rng, (2, 3, 4), m=m, c=c)
    rest = params[..., m:].reshape(2, 3, 4, c, 3, m)
    rest[..., 2, :] = 0.0  # tanh(0) = 0: no coupling
    params[..., m:] = rest.reshape(2, 3, 4, -1)
    means = rest[..., 0, :]
    scales = np.exp(np.maximum(rest[..., 1, :], -7.0))
    levels = 2**bits - 1
    # Level units: x = 2k / (K - 1) - 1, so a bin is [k - 1/2, k + 1/2], and
    # QuantizedDistribution's P(k) = F(k) - F(k - 1) needs the loc shifted.
    loc_levels = (means + 1.0) * levels / 2.0 - 0.5
    scale_levels = scales * levels / 2.0
    logistic = tfd.Logistic(
        np.moveaxis(loc_levels, -2, -1).astype("float64"),
        np.moveaxis(scale_levels, -2, -1).astype("float64"),
    )
    quantized = tfd.QuantizedDistribution(logistic, low=0.0, high=float(levels))
    components = tfd.Independent(quantized, reinterpreted_batch_ndims=1)
    mixture = tfd.MixtureSameFamily(
        tfd.Categorical(logits=params[..., :m].astype("float64")), components
    )
    composition = tfd.Independent(mixture, reinterpreted_batch_ndims=2)
    k = rng.integers(0, levels + 1, size=(2, 3, 4, c))
    x = (2.0 * k / levels - 1.0).astype("float32")
    got = Mixture(params, m, c, num_bits=bits).log_prob(x).numpy()
    np.testing.assert_allclose(
        got, composition.log_prob(k.astype("float64")).numpy(), rtol=1e-5
    )


def test_discretized_logistic_is_the_one_component_mixture():
    rng = np.random.default_rng(4)
    loc = rng.normal(size=(2, 3, 4, 1)).astype("float32")
    log_scale = np.float32(-2.5)
    params = np.concatenate(
        [np.zeros_like(loc), loc, np.full_like(loc, log_scale), np.zeros_like(loc)],
        axis=-1,
    )
    x = rng.choice(quantization.grid(8), size=(2, 3, 4, 1)).astype("float32")
    single = DiscretizedLogistic(loc, log_scale).log_prob(x).numpy()
    mixture = Mixture(params, 1, 1).log_prob(x).numpy()
    np.testing.assert_allclose(single, mixture, rtol=1e-6)


# --- Numerics --------------------------------------------------------------


def test_gradients_are_finite_at_extreme_parameters():
    m = 2
    cases = []
    for log_scale, mean, value in itertools.product(
        [-6.99, -7.0, -7.01, -12.0, 8.0],
        [-80.0, -1.0, 0.0, 0.999, 80.0],
        [-1.0, -1.0 + 2.0 / 255, 0.0, 1.0 - 2.0 / 255, 1.0],
    ):
        p = np.zeros(Mixture.num_params(m, 1), "float32")
        p[m : 2 * m] = mean
        p[2 * m : 3 * m] = log_scale
        cases.append((p, value))
    params = tf.constant(np.stack([p for p, _ in cases])[:, None, None, :])
    x = np.array([v for _, v in cases], "float32").reshape(-1, 1, 1, 1)
    with tf.GradientTape() as tape:
        tape.watch(params)
        log_p = Mixture(params, m, 1).log_prob(x)
        total = tf.reduce_sum(log_p)
    grad = tape.gradient(total, params).numpy()
    assert np.all(np.isfinite(log_p.numpy()))
    assert np.all(np.isfinite(grad))
    assert np.all(log_p.numpy() <= 1e-6)


def test_far_tail_log_prob_is_exact_not_clamped():
    # One bin far in the tail: the exact log mass, not a floor at log(1e-12).
    dist = DiscretizedLogistic(
        np.full((1, 1, 1), -0.5, "float32"), np.float32(-5.0), num_bits=8
    )
    value = np.full((1, 1, 1), 0.6, "float32")
    s, h = np.exp(-5.0), 1.0 / 255
    upper, lower = (0.6 + h + 0.5) / s, (0.6 - h + 0.5) / s
    # log(sigmoid(upper) - sigmoid(lower)) with both deep in the upper tail.
    expected = -lower + np.log1p(-np.exp(lower - upper))  # leading order
    np.testing.assert_allclose(dist.log_prob(value).numpy(), expected, rtol=1e-4)


@pytest.mark.parametrize("dtype, rtol", [("float16", 2e-2), ("bfloat16", 5e-2)])
def test_half_precision_params_give_float32_log_probs_close_to_float32(dtype, rtol):
    rng = np.random.default_rng(5)
    params = _params(rng, (2, 4, 4), m=5, c=3)
    x = rng.choice(quantization.grid(8), size=(2, 4, 4, 3)).astype("float32")
    full = Mixture(params, 5, 3).log_prob(x).numpy()
    half = Mixture(tf.cast(params, dtype), 5, 3).log_prob(x)
    assert half.dtype == tf.float32
    assert np.all(np.isfinite(half.numpy()))
    np.testing.assert_allclose(half.numpy(), full, rtol=rtol)


# --- Sampling ---------------------------------------------------------------


def _total_variation_check(dist, support, samples):
    """TV between sample frequencies and exp(log_prob) within 4x its noise."""
    n = samples.shape[0]
    probs = np.exp(dist.log_prob(support).numpy().astype(np.float64)).ravel()
    index = {tuple(v.ravel()): i for i, v in enumerate(support)}
    counts = np.zeros(len(support))
    for s in samples:
        counts[index[tuple(np.round(s.ravel(), 6))]] += 1
    tv = 0.5 * np.abs(counts / n - probs).sum()
    noise = 0.5 * np.sqrt(probs * (1 - probs) / n).sum()
    assert tv < 4 * noise + 1e-3, (tv, noise)


def test_single_component_samples_match_log_prob():
    params = np.array([0.0, 0.3, -1.6, 0.0], "float32").reshape(1, 1, 4)
    dist = Mixture(params, 1, 1, num_bits=4)
    samples = dist.sample(20000, seed=(4, 2)).numpy()
    support = np.round(quantization.grid(4), 6).reshape(16, 1, 1, 1)
    _total_variation_check(dist, support, samples)


def test_coupled_mixture_samples_match_log_prob():
    rng = np.random.default_rng(6)
    params = _params(rng, (1, 1), m=3, c=3)
    dist = Mixture(params, 3, 3, num_bits=2)
    samples = dist.sample(30000, seed=(7, 3)).numpy()
    g = np.round(quantization.grid(2), 6)
    support = np.array(list(itertools.product(g, g, g)), "float32").reshape(64, 1, 1, 3)
    _total_variation_check(dist, support, samples)


def test_discretized_logistic_samples_match_log_prob():
    dist = DiscretizedLogistic(
        np.full((1, 1, 1), 0.8, "float32"), np.float32(-1.2), num_bits=3
    )
    samples = dist.sample(20000, seed=(1, 1)).numpy()
    support = np.round(quantization.grid(3), 6).reshape(8, 1, 1, 1)
    _total_variation_check(dist, support, samples)


def test_samples_lie_on_the_grid_and_are_deterministic_given_the_seed():
    rng = np.random.default_rng(7)
    dist = Mixture(_params(rng, (2, 3, 3), m=3, c=3), 3, 3, num_bits=5)
    a = dist.sample(2, seed=(9, 9), temperature=0.7).numpy()
    b = dist.sample(2, seed=(9, 9), temperature=0.7).numpy()
    np.testing.assert_array_equal(a, b)
    levels = (a + 1.0) * (2**5 - 1) / 2.0
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)


def test_temperature_zero_sampling_returns_the_argmax_component_mean():
    rng = np.random.default_rng(8)
    for m, c in [(4, 3), (2, 1)]:
        dist = Mixture(_params(rng, (2, 3, 3), m=m, c=c), m, c)
        np.testing.assert_array_equal(
            dist.sample(seed=(1, 2), temperature=0.0).numpy(),
            dist.argmax_component_mean().numpy(),
        )
    loc = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    single = DiscretizedLogistic(loc, -1.0)
    np.testing.assert_array_equal(
        single.sample(seed=(3, 4), temperature=0.0).numpy(),
        quantization.quantize(tf.constant(loc), 8).numpy(),
    )


def test_lower_temperature_concentrates_samples():
    params = np.array([0.0, 0.1, -1.0, 0.0], "float32").reshape(1, 1, 4)
    dist = Mixture(params, 1, 1)
    spread = [
        dist.sample(4000, seed=(5, 5), temperature=t).numpy().std() for t in (1.0, 0.5)
    ]
    assert spread[1] < 0.6 * spread[0]


# --- Mode ------------------------------------------------------------------


def _run(execution, fn, *arrays):
    """fn(*arrays) eagerly, as a tf.function with unknown shapes, or under XLA."""
    if execution == "eager":
        return fn(*arrays)
    specs = [tf.TensorSpec([None] * np.ndim(a), tf.float32) for a in arrays]
    compiled = tf.function(fn, input_signature=specs, jit_compile=execution == "xla")
    return compiled(*arrays)


def _levels(values, num_bits):
    """Indices on the grid of values that lie on it."""
    return np.searchsorted(quantization.grid(num_bits), values)


@pytest.mark.parametrize("execution", ["eager", "function", "xla"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("bits", [1, 5, 8])
def test_mode_matches_the_numpy_sequential_mode(bits, channels, execution):
    rng = np.random.default_rng(10 * bits + channels)
    m = 4
    params = np.concatenate(
        [
            _params(rng, (2, 6, 5), m=m, c=channels),
            _params(rng, (2, 6, 5), m=m, c=channels, extreme=True),
        ]
    )

    def mode_and_mean(p):
        dist = Mixture(p, m, channels, num_bits=bits)
        return dist.mode(), dist.sequential_mean()

    mode, mean = [t.numpy() for t in _run(execution, mode_and_mean, params)]
    grid = quantization.grid(bits)
    assert mode.shape == (4, 6, 5, channels) and np.isin(mode, grid).all()
    for c in range(channels):
        # log P(x_c = v | the earlier channels as chosen), for every v.
        log_p = numpy_reference.mixture_channel_log_pmf(
            params, [mode[..., k] for k in range(c)], m, channels, bits
        )
        chosen = np.take_along_axis(log_p, _levels(mode[..., c], bits)[..., None], -1)
        # float32 against float64: values tied within 1e-4 nats may swap.
        np.testing.assert_array_less(log_p.max(axis=-1) - chosen[..., 0], 1e-4)
        expected_mean = (np.exp(log_p) * grid).sum(axis=-1)
        np.testing.assert_allclose(mean[..., c], expected_mean, atol=2e-5)
    expected, _ = numpy_reference.sequential_mixture_mode(params, m, channels, bits)
    assert np.mean(mode == expected) > 0.97


def test_one_channel_mode_beats_every_value_and_the_argmax_component_mean():
    rng = np.random.default_rng(11)
    m = 5
    params = np.concatenate(
        [
            _params(rng, (40, 1, 1), m=m, c=1),
            _params(rng, (40, 1, 1), m=m, c=1, extreme=True),
        ]
    )  # 80 one-pixel images
    dist = Mixture(params, m, 1, num_bits=8)
    every_value = dist.log_prob(quantization.grid(8).reshape(256, 1, 1, 1, 1))
    at_mode = dist.log_prob(dist.mode()).numpy()
    at_argmax_component = dist.log_prob(dist.argmax_component_mean()).numpy()
    np.testing.assert_array_less(every_value.numpy().max(axis=0) - at_mode, 1e-5)
    assert np.all(at_mode >= at_argmax_component - 1e-5)
    assert np.sum(at_mode > at_argmax_component + 0.1) >= 10  # it matters


def test_three_channel_mode_is_the_greedy_mode_of_the_joint():
    """Brute force over all 4096 colours of 4 bits, from log_prob alone:
    the most probable R, then G given it, then B given both."""
    rng = np.random.default_rng(12)
    m, bits = 3, 4
    params = np.concatenate(
        [
            _params(rng, (8, 1, 1), m=m, c=3),
            _params(rng, (8, 1, 1), m=m, c=3, extreme=True),
        ]
    )  # 16 one-pixel images
    dist = Mixture(params, m, 3, num_bits=bits)
    g = quantization.grid(bits)
    colours = np.array(list(itertools.product(g, g, g)), "float32")
    joint = dist.log_prob(colours.reshape(16**3, 1, 1, 1, 3)).numpy()
    joint = np.exp(joint.astype(np.float64)).reshape(16, 16, 16, -1)  # r, g, b, image
    levels = _levels(dist.mode().numpy().reshape(-1, 3), bits)
    for image, (r, gr, b) in enumerate(levels):
        p = joint[..., image]
        for marginal, chosen in [
            (p.sum(axis=(1, 2)), r),  # P(R)
            (p[r].sum(axis=1), gr),  # P(R = r, G)
            (p[r, gr], b),  # P(R = r, G = g, B)
        ]:
            assert marginal[chosen] >= marginal.max() * (1 - 1e-4)


def _one_component_params(loc, log_scale):
    loc = np.asarray(loc, "float32")[..., None]
    log_scale = np.broadcast_to(np.asarray(log_scale, "float32")[..., None], loc.shape)
    zeros = np.zeros_like(loc)
    return np.concatenate([zeros, loc, log_scale, zeros], axis=-1)


def test_one_component_mode_is_the_nearest_value_away_from_the_edges():
    rng = np.random.default_rng(13)
    # Narrow logistics (s < 0.011) at least 0.1 from the edges.
    loc = rng.uniform(-0.9, 0.9, size=(60, 1, 1)).astype("float32")
    log_scale = rng.uniform(-10.0, -4.5, size=loc.shape).astype("float32")
    dist = Mixture(_one_component_params(loc, log_scale), 1, 1)
    nearest = quantization.quantize(tf.constant(loc[..., None]), 8).numpy()
    np.testing.assert_array_equal(dist.mode().numpy(), nearest)
    np.testing.assert_array_equal(dist.argmax_component_mean().numpy(), nearest)


def test_an_edge_value_is_the_mode_when_its_tail_outweighs_every_bin():
    loc = np.array([-0.99, 0.1, 0.3, 0.985, 5.0, -2.0, 0.5, -0.3], "float32")
    log_scale = np.array([-3.0, 0.0, -1.0, -4.5, -2.0, -12.0, -9.0, -5.0], "float32")
    loc, log_scale = loc.reshape(8, 1, 1), log_scale.reshape(8, 1, 1)
    expected = numpy_reference.discretized_logistic_mode(loc, log_scale, 8)
    np.testing.assert_allclose(
        expected.ravel(),
        [-1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 127 / 255, -77 / 255],
        atol=1e-6,
    )
    mixture = Mixture(_one_component_params(loc, log_scale), 1, 1)
    np.testing.assert_allclose(mixture.mode().numpy()[..., 0], expected, atol=1e-7)
    single = DiscretizedLogistic(loc[..., None], log_scale[..., None])
    np.testing.assert_allclose(single.mode().numpy()[..., 0], expected, atol=1e-7)
    # Rounding the mean misses the first four.
    rounded = mixture.argmax_component_mean().numpy().ravel()
    assert np.sum(np.abs(rounded - expected.ravel()) > 1e-6) == 4


@pytest.mark.parametrize("execution", ["eager", "function", "xla"])
@pytest.mark.parametrize("bits", [1, 3, 8])
def test_discretized_logistic_mode_scores_every_value(bits, execution):
    rng = np.random.default_rng(bits)
    loc = rng.uniform(-1.5, 1.5, size=(4, 5, 6, 1)).astype("float32")
    log_scale = rng.uniform(-9.0, 1.0, size=(5, 6, 1)).astype("float32")
    mode = _run(
        execution,
        lambda a, b: DiscretizedLogistic(a, b, num_bits=bits).mode(),
        loc,
        log_scale,
    ).numpy()
    assert mode.shape == loc.shape and np.isin(mode, quantization.grid(bits)).all()
    expected = numpy_reference.discretized_logistic_mode(loc, log_scale, bits)
    log_p = numpy_reference.discretized_logistic_log_pmf(mode, loc, log_scale, bits)
    best = numpy_reference.discretized_logistic_log_pmf(expected, loc, log_scale, bits)
    np.testing.assert_array_less(best - log_p, 1e-4)
    assert np.mean(mode == expected) > 0.97
    # The one-component mixture agrees.
    params = _one_component_params(
        loc[..., 0], np.broadcast_to(log_scale[..., 0], loc.shape[:-1])
    )
    np.testing.assert_array_equal(
        Mixture(params, 1, 1, num_bits=bits).mode().numpy(), mode
    )


def test_sequential_mean_of_one_channel_is_the_mean():
    rng = np.random.default_rng(14)
    dist = Mixture(_params(rng, (2, 3, 4), m=3, c=1, extreme=True), 3, 1)
    np.testing.assert_allclose(
        dist.sequential_mean().numpy(), dist.mean().numpy(), atol=2e-5
    )


def test_argmax_component_mean_is_the_most_probable_component_mean_coupled():
    m = 2
    params = np.zeros((1, 1, Mixture.num_params(m, 3)), "float32")
    params[..., :m] = [0.0, 3.0]  # component 1 is most probable
    rest = np.zeros((3, 3, m), "float32")  # channel, (mean, log-scale, coeff), m
    rest[:, 0, 1] = [0.5, -0.2, 0.1]
    rest[:, 2, 1] = np.arctanh([0.5, -0.5, 1.0 - 1e-6])
    params[..., m:] = rest.reshape(-1)
    mode = Mixture(params, m, 3, num_bits=8).argmax_component_mean().numpy().ravel()
    q = lambda v: float(quantization.quantize(tf.constant(v), 8))  # noqa: E731
    r = q(0.5)
    g = q(-0.2 + 0.5 * r)
    b = q(0.1 - 0.5 * r + 1.0 * g)
    np.testing.assert_allclose(mode, [r, g, b], atol=1e-6)


# --- Mean ---------------------------------------------------------------------


def test_mean_is_the_sum_over_the_grid():
    rng = np.random.default_rng(9)
    dist = Mixture(_params(rng, (2, 2, 3), m=3, c=1), 3, 1, num_bits=5)
    grid = quantization.grid(5).reshape(32, 1, 1, 1, 1)
    # log_prob sums over pixels, so evaluate one pixel at a time.
    single = Mixture(_params(rng, (1, 1), m=3, c=1), 3, 1, num_bits=5)
    probs = np.exp(single.log_prob(grid[:, 0]).numpy().astype(np.float64))
    expected = (probs * quantization.grid(5)).sum()
    np.testing.assert_allclose(single.mean().numpy().ravel(), expected, rtol=1e-5)
    loc = np.array([[[[-0.95]]], [[[0.3]]]], "float32")
    logistic = DiscretizedLogistic(loc, np.float32(-1.0), num_bits=5)
    for i in range(2):
        one = DiscretizedLogistic(loc[i], np.float32(-1.0), num_bits=5)
        p = np.exp(one.log_prob(grid[:, 0]).numpy().astype(np.float64))
        np.testing.assert_allclose(
            logistic.mean().numpy()[i].ravel(),
            (p * quantization.grid(5)).sum(),
            rtol=1e-5,
        )
    assert dist.mean().shape == (2, 2, 3, 1)


def test_coupled_mean_is_not_pretended():
    dist = Mixture(np.zeros((1, 1, Mixture.num_params(2, 3)), "float32"), 2, 3)
    with pytest.raises(NotImplementedError, match="use mode"):
        dist.mean()


# --- Shapes and arguments ------------------------------------------------------


def test_batch_and_event_shapes():
    params = np.zeros((4, 2, 6, 5, Mixture.num_params(3, 3)), "float32")
    dist = Mixture(params, 3, 3)
    assert dist.batch_shape == (4, 2)
    assert dist.event_shape == (6, 5, 3)
    assert dist.log_prob(np.zeros((4, 2, 6, 5, 3), "float32")).shape == (4, 2)
    assert dist.sample(7, seed=(1, 1)).shape == (7, 4, 2, 6, 5, 3)
    assert dist.mode().shape == (4, 2, 6, 5, 3)
    logistic = DiscretizedLogistic(np.zeros((4, 6, 5, 1), "float32"), np.float32(0.0))
    assert logistic.batch_shape == (4,) and logistic.event_shape == (6, 5, 1)


def test_learnable_log_scale_receives_a_gradient():
    log_scale = tf.Variable(0.5)
    x = np.full((2, 3, 3, 1), 0.2, "float32")
    with tf.GradientTape() as tape:
        nll = -tf.reduce_sum(
            DiscretizedLogistic(np.zeros_like(x), log_scale).log_prob(x)
        )
    assert tape.gradient(nll, log_scale).numpy() > 0  # narrower fits 0.2 better


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(params=np.zeros((2, 4, 4, 48), "float32"), num_components=5),
            "needs M \\+ 3\\*M\\*C = 50 channels, got 48",
        ),
        (
            dict(
                params=np.zeros((2, 4, 22), "float32"), num_components=2, num_channels=1
            ),
            "M \\+ 3\\*M\\*C = 8 channels, got 22",
        ),
        (dict(params=np.zeros((8,), "float32"), num_components=2), "expected a tensor"),
        (
            dict(params=np.zeros((2, 4, 4, 50), "float32"), num_components=0),
            "argument `num_components`",
        ),
        (
            dict(
                params=np.zeros((2, 4, 4, 50), "float32"), num_components=5, num_bits=17
            ),
            "argument `num_bits`",
        ),
    ],
)
def test_mismatched_params_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Mixture(**kwargs)


def test_log_scale_that_does_not_broadcast_raises():
    with pytest.raises(ValueError, match="argument `log_scale`"):
        DiscretizedLogistic(
            np.zeros((2, 4, 4, 3), "float32"), np.zeros((5,), "float32")
        )


def test_validate_args_rejects_values_off_the_range():
    dist = Mixture(np.zeros((1, 1, 4), "float32"), 1, 1, validate_args=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="above 1"):
        dist.log_prob(np.full((1, 1, 1), 1.5, "float32"))


@pytest.mark.parametrize("value", [-50.0, -1.5, 1.5, 3.0])
def test_by_default_values_off_the_range_are_scored_by_the_edge_bins(value):
    # params: logit 0, mean 0.2, log-scale -1, coefficient 0 (M = C = 1).
    params = np.array([[[0.0, 0.2, -1.0, 0.0]]], "float32")
    dist = Mixture(params, 1, 1, num_bits=8)
    h, mean, scale = 1 / 255, 0.2, np.exp(-1.0)

    def cdf(t):
        return 1 / (1 + np.exp(-(t - mean) / scale))

    expected = np.log(cdf(value + h)) if value < 0 else np.log(1 - cdf(value - h))
    got = float(dist.log_prob(np.full((1, 1, 1), value, "float32")))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_uint8_images_score_as_their_grid_values():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (2, 2, 2, 3)).astype(np.uint8)
    mixture = Mixture(_params(rng, (2, 2, 2), m=2, c=3), 2, 3, num_bits=5)
    logistic = DiscretizedLogistic(rng.normal(0, 0.5, (2, 2, 3)), -1.0, num_bits=5)
    for dist in (mixture, logistic):
        grid_values = quantization.from_uint8(pixels, 5)
        np.testing.assert_array_equal(
            dist.log_prob(pixels).numpy(), dist.log_prob(grid_values).numpy()
        )
        np.testing.assert_array_equal(
            dist.log_prob(tf.constant(pixels)).numpy(),
            dist.log_prob(grid_values).numpy(),
        )


def test_images_with_other_event_shapes_raise_naming_both_shapes():
    mixture = Mixture(np.zeros((1, 2, 2, Mixture.num_params(1, 3)), "float32"), 1, 3)
    logistic = DiscretizedLogistic(np.zeros((2, 2, 3), "float32"), 0.0)
    for dist in (mixture, logistic):
        with pytest.raises(ValueError, match=r"\[2, 2, 3\].*got shape \[1, 2, 2, 1\]"):
            dist.log_prob(np.zeros((1, 2, 2, 1), "float32"))
        with pytest.raises(ValueError, match=r"got shape \[2, 3\]"):
            dist.log_prob(np.zeros((2, 3), "float32"))


def test_nan_parameters_give_nan_images_not_plausible_ones():
    params = np.full((1, 2, 2, Mixture.num_params(2, 3)), np.nan, "float32")
    mixture = Mixture(params, 2, 3)
    assert np.isnan(mixture.mode().numpy()).all()
    assert np.isnan(mixture.sequential_mean().numpy()).all()
    assert np.isnan(mixture.argmax_component_mean().numpy()).all()
    params[0, 0, 0] = 0.0  # one finite pixel among NaN ones
    assert np.isnan(Mixture(params, 2, 3).mode().numpy()).sum() == 3 * 3
    assert np.isnan(mixture.sample(seed=(1, 2)).numpy()).all()
    logistic = DiscretizedLogistic(np.full((2, 2, 1), np.nan, "float32"), 0.0)
    assert np.isnan(logistic.mode().numpy()).all()
    assert np.isnan(logistic.sample(seed=(1, 2)).numpy()).all()


@pytest.mark.parametrize("temperature", [float("nan"), -0.5, float("inf")])
def test_invalid_temperatures_raise(temperature):
    dist = Mixture(np.zeros((1, 1, Mixture.num_params(1, 1)), "float32"), 1, 1)
    with pytest.raises(ValueError, match="argument `temperature`"):
        dist.sample(seed=(1, 2), temperature=temperature)


def test_numpy_integers_are_valid_sizes():
    params = np.zeros((1, 1, Mixture.num_params(2, 3)), "float32")
    dist = Mixture(params, np.int64(2), np.int32(3), num_bits=np.int64(8))
    assert dist.num_components == 2 and dist.event_shape == (1, 1, 3)
