"""Tests of the shared VAE training step: non-finite steps are skipped."""

import keras
import numpy as np

from models import BetaVAE

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
    # Metrics average finite steps only: none here, so nothing was averaged.
    assert history["loss"] == [0.0, 0.0]
    model.fit(good, batch_size=4, epochs=1, verbose=0)
    assert int(model.consecutive_skipped_steps.numpy()) == 0
    assert int(model.skipped_steps.numpy()) == 2
    assert int(model.optimizer.iterations.numpy()) == 2
