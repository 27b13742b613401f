"""Tests of the shared VAE training step: non-finite steps are skipped."""

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from sdn_tf.distributions import quantization
from sdn_tf.models import BetaVAE, vae

SMALL = dict(
    encoder_channels=(4, 4, 4, 4),
    hidden_units=8,
    fc_channels=4,
    decoder_channels=(4, 4, 4),
)


def test_a_nan_batch_is_skipped_counted_and_leaves_weights_and_optimizer_alone():
    model = BetaVAE(image_shape=(32, 32, 1), latent_dim=2, **SMALL)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    good = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    model.fit(good, batch_size=4, epochs=1, verbose=0)
    weights = [np.asarray(w) for w in model.trainable_weights]
    # The inner optimizer's state (moments, step count) must not move either.
    slots = {v.path: np.asarray(v) for v in model.optimizer.inner_optimizer.variables}
    bad = good.copy()
    bad[0, 0, 0, 0] = np.nan
    history = model.fit(bad, batch_size=4, epochs=2, verbose=0).history
    assert int(model.skipped_steps.numpy()) == 2
    assert int(model.consecutive_skipped_steps.numpy()) == 2
    for before, after in zip(weights, model.trainable_weights):
        np.testing.assert_array_equal(before, np.asarray(after))
    for v in model.optimizer.inner_optimizer.variables:
        np.testing.assert_array_equal(slots[v.path], np.asarray(v), err_msg=v.path)
    assert int(model.optimizer.iterations.numpy()) == 1
    # Metrics average finite steps only: none here, so there is no number.
    assert np.isnan(history["loss"]).all()
    model.fit(good, batch_size=4, epochs=1, verbose=0)
    assert int(model.consecutive_skipped_steps.numpy()) == 0
    assert int(model.skipped_steps.numpy()) == 2
    assert int(model.optimizer.iterations.numpy()) == 2


class TinyRegression(vae.VariationalModel):
    """The smallest VariationalModel: loss = mean((w.x + b)^2) + offset.

    `offset` is a variable without gradient, so setting it to NaN gives a
    NaN loss with finite gradients (as --free_bits=nan did).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
        self.dense.build((None, 4))
        self.offset = self.add_weight(
            name="offset", shape=(), initializer="zeros", trainable=False
        )
        self.built = True

    def compute_terms(self, images, training=False):
        images = vae.checked_images(images)
        x = tf.reshape(images, [-1, 4])
        loss = tf.reduce_mean(tf.square(self.dense(x))) + self.offset
        return {"loss": loss}


def _regression_data(n=4):
    return np.random.default_rng(0).uniform(-1, 1, (n, 2, 2, 1)).astype("float32")


def test_a_nan_loss_with_finite_gradients_changes_neither_weights_nor_optimizer():
    model = TinyRegression()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    data = _regression_data()
    model.fit(data, batch_size=4, epochs=1, verbose=0)
    weights = [np.asarray(w) for w in model.trainable_weights]
    model.offset.assign(np.nan)
    model.fit(data, batch_size=4, epochs=1, verbose=0)
    assert int(model.skipped_steps.numpy()) == 1
    assert int(model.optimizer.iterations.numpy()) == 1
    for before, after in zip(weights, model.trainable_weights):
        np.testing.assert_array_equal(before, np.asarray(after))
    # In float32 the scale stays 1: halving it at every skip would, over a
    # long run, underflow and zero every gradient.
    assert float(model.optimizer.dynamic_scale) == 1.0


def test_the_first_fit_traces_the_train_step_once():
    # Keras builds an unbuilt optimizer inside the first traced step, and
    # TensorFlow traces a step that creates variables a second time: the
    # model builds it before, which halves a small model's first step.
    model = TinyRegression()
    model.compile(optimizer=keras.optimizers.Adamax(0.1))
    traces = []
    train_step = model.train_step

    def counted_train_step(data):
        traces.append(tf.inside_function())
        return train_step(data)

    model.train_step = counted_train_step
    model.fit(_regression_data(), batch_size=2, epochs=2, verbose=0)
    assert traces == [True]
    assert int(model.optimizer.iterations.numpy()) == 4


def test_the_guarded_optimizer_survives_a_keras_round_trip(tmp_path):
    model = TinyRegression()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(_regression_data(), batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(
        path, custom_objects={"TinyRegression": TinyRegression}
    )
    assert type(loaded.optimizer) is vae.SkipNonFiniteOptimizer
    assert float(loaded.optimizer.inner_optimizer.learning_rate) == pytest.approx(0.1)


def test_one_replicas_nan_batch_is_skipped_on_every_replica(two_cpu_strategy):
    with two_cpu_strategy.scope():
        model = TinyRegression()
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    data = _regression_data()
    model.fit(data, batch_size=4, epochs=1, verbose=0, shuffle=False)
    weights = [np.asarray(w) for w in model.trainable_weights]
    data[3, 0, 0, 0] = np.nan  # the second replica's half of the batch
    model.fit(data, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert int(model.skipped_steps.numpy()) == 1
    assert int(model.optimizer.iterations.numpy()) == 1
    for before, after in zip(weights, model.trainable_weights):
        np.testing.assert_array_equal(before, np.asarray(after))


def test_evaluate_counts_nonfinite_batches_and_averages_the_finite_ones():
    model = TinyRegression()
    model.compile(optimizer="sgd")
    data = _regression_data(6)
    data[2, 0, 0, 0] = np.nan  # second batch of two
    expected = np.mean(
        [np.mean(np.sum(data[i : i + 2], (1, 2, 3)) ** 2) for i in (0, 4)]
    )
    with pytest.warns(RuntimeWarning, match="1 non-finite batch"):
        results = model.evaluate(data, batch_size=2, verbose=0, return_dict=True)
    assert results["nonfinite_batches"] == 1
    np.testing.assert_allclose(results["loss"], expected, rtol=1e-5)


def test_evaluate_with_no_finite_batch_raises_and_fit_reports_nan():
    model = TinyRegression()
    model.compile(optimizer="sgd")
    data = np.full((4, 2, 2, 1), np.nan, np.float32)
    with pytest.raises(FloatingPointError, match="all 2 batches"):
        model.evaluate(data, batch_size=2, verbose=0)
    history = model.fit(data, batch_size=2, epochs=1, verbose=0).history
    assert np.isnan(history["loss"][0]) and history["skipped_steps"] == [2]


def test_evaluate_under_a_strategy_counts_each_global_batch_once(two_cpu_strategy):
    with two_cpu_strategy.scope():
        model = TinyRegression()
        model.compile(optimizer="sgd")
    data = _regression_data(8)
    data[1, 0, 0, 0] = np.nan  # first replica of the first global batch
    with pytest.warns(RuntimeWarning):
        results = model.evaluate(data, batch_size=4, verbose=0, return_dict=True)
    assert results["nonfinite_batches"] == 1
    expected = np.mean(np.sum(data[4:], (1, 2, 3)) ** 2)
    np.testing.assert_allclose(results["loss"], expected, rtol=1e-5)


@pytest.mark.parametrize("distributed", [False, True])
def test_images_outside_the_grid_raise_in_fit_and_evaluate(
    distributed, two_cpu_strategy
):
    scope = two_cpu_strategy.scope() if distributed else contextlib.nullcontext()
    with scope:
        model = TinyRegression()
        model.compile(optimizer="sgd")
    pixels = _regression_data() * 127.5 + 127.5  # [0, 255] as floats
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"expected float values in \[-1, 1\]"
    ):
        model.fit(pixels, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="argument `images`"):
        model.evaluate(pixels, batch_size=4, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 0


def test_checked_images_converts_uint8_and_names_the_range_eagerly():
    pixels = np.array([[0, 128], [255, 3]], np.uint8)
    np.testing.assert_array_equal(
        vae.checked_images(pixels), quantization.from_uint8(pixels)
    )
    with pytest.raises(
        ValueError, match=r"argument `images`.*got values in \[0, 255\]"
    ):
        vae.checked_images(pixels.astype("float32"))


def test_under_xla_which_drops_asserts_images_off_the_grid_become_nan():
    check = tf.function(vae.checked_images, jit_compile=True)
    np.testing.assert_array_equal(check(tf.constant([0.5, -1.0])), [0.5, -1.0])
    assert np.isnan(check(tf.constant([0.5, 255.0])).numpy()).all()


@pytest.mark.parametrize(
    "images, message",
    [
        (
            np.full((2, 2), -50, np.int32),
            r"integers 0\.\.255\) as int32, got values in \[-50, -50\]",
        ),
        (np.full((2, 2), 1000, np.int64), r"as int64, got values in \[1000, 1000\]"),
        (
            np.full((2, 2), 60000, np.uint16),
            r"as uint16, got values in \[60000, 60000\]",
        ),
        (np.ones((2, 2), bool), r"got bool images"),
        (np.ones((2, 2), np.complex64), r"got complex64 images"),
    ],
)
def test_images_that_are_no_pixels_raise_naming_what_was_given(images, message):
    with pytest.raises(ValueError, match=r"argument `images`.*" + message):
        vae.checked_images(images)


def test_integer_pixels_of_any_width_in_range_convert_like_uint8():
    pixels = np.array([[0, 128], [255, 3]])
    for dtype in (np.int32, np.int64, np.uint16):
        np.testing.assert_array_equal(
            vae.checked_images(pixels.astype(dtype)),
            quantization.from_uint8(pixels.astype(np.uint8)),
        )


def test_in_a_graph_integer_pixels_out_of_range_fail_with_the_message():
    check = tf.function(vae.checked_images)
    with pytest.raises(tf.errors.InvalidArgumentError, match="integers 0..255"):
        check(tf.constant([[300, 2]], tf.int32))
    xla = tf.function(vae.checked_images, jit_compile=True)
    assert np.isnan(xla(tf.constant([[300, 2]], tf.int32)).numpy()).all()


@pytest.mark.parametrize(
    "num_samples, temperature, message",
    [
        (
            2,
            np.array(-1.0),
            r"`temperature`, expected a finite, non-negative number, got -1\.0",
        ),
        (2, tf.constant(-0.5), r"`temperature`.*got -0\.5"),
        (2, np.float32("nan"), r"`temperature`"),
        (tf.constant(0), 1.0, r"`num_samples`, expected a positive integer, got 0"),
        (tf.constant(-1), 1.0, r"`num_samples`.*got -1"),
        (np.array([2, 3]), 1.0, r"`num_samples`"),
    ],
)
def test_sampling_arguments_known_now_are_checked_now(
    num_samples, temperature, message
):
    with pytest.raises(ValueError, match=message):
        vae.checked_sampling(num_samples, temperature)


def test_sampling_arguments_come_back_as_python_numbers():
    assert vae.checked_sampling(np.int64(3), tf.constant(0.5)) == (3, 0.5)


@pytest.mark.parametrize(
    "num_samples, temperature, message",
    [
        (0, 1.0, "`num_samples`"),
        (2, -1.0, "`temperature`"),
        (2, np.nan, "`temperature`"),
    ],
)
def test_symbolic_sampling_arguments_fail_in_the_graph_with_the_message(
    num_samples, temperature, message
):
    checked = tf.function(
        vae.checked_sampling,
        input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)],
    )
    assert [int(v) if i == 0 else float(v) for i, v in enumerate(checked(2, 0.5))] == [
        2,
        0.5,
    ]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        checked(num_samples, temperature)


def test_a_symbolic_batch_of_the_wrong_shape_fails_in_the_graph_with_the_message():
    checked = tf.function(
        lambda z: vae.checked_shape(z, (2,), "z", "codes"),
        input_signature=[tf.TensorSpec([None, None], tf.float32)],
    )
    assert checked(tf.zeros((3, 2))).shape == (3, 2)
    for shape in ((3, 5), (0, 2)):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"`z`, expected a"):
            checked(tf.zeros(shape))
