"""Tests of the weight-normalized convolutions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf.layers import WeightNormConv2D, WeightNormConv2DTranspose
from sdn_tf.layers import weight_norm as weight_norm_lib

CASES = [
    (WeightNormConv2D, keras.layers.Conv2D, (0, 1, 2)),
    (WeightNormConv2DTranspose, keras.layers.Conv2DTranspose, (0, 1, 3)),
]


@pytest.mark.parametrize("wn_cls, plain_cls, axes", CASES)
def test_starts_equal_to_the_plain_convolution(wn_cls, plain_cls, axes):
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    wn = wn_cls(4, 3, strides=2, padding="same", activation="elu")
    wn_out = np.asarray(wn(x))
    plain = plain_cls(4, 3, strides=2, padding="same", activation="elu")
    plain(x)
    plain.set_weights(wn.get_weights()[:2])
    np.testing.assert_allclose(wn_out, np.asarray(plain(x)), atol=1e-5)
    norms = np.sqrt((np.asarray(wn.kernel) ** 2).sum(axis=axes))
    np.testing.assert_allclose(np.asarray(wn.g), norms, rtol=1e-6)


@pytest.mark.parametrize("wn_cls, plain_cls, axes", CASES)
def test_effective_kernel_has_norm_g_and_ignores_the_scale_of_v(
    wn_cls, plain_cls, axes
):
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    wn = wn_cls(4, 3, padding="same")
    wn(x)
    wn.g.assign(np.arange(1.0, 5.0, dtype="float32"))
    before = np.asarray(wn(x))
    wn.kernel.assign(np.asarray(wn.kernel) * 7.0)
    np.testing.assert_allclose(np.asarray(wn(x)), before, rtol=1e-5, atol=1e-5)
    # The output is linear in g per output channel, minus the bias.
    bias = np.asarray(wn.bias)
    wn.g.assign(2.0 * np.asarray(wn.g))
    np.testing.assert_allclose(
        np.asarray(wn(x)) - bias, 2.0 * (before - bias), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("wn_cls", [WeightNormConv2D, WeightNormConv2DTranspose])
def test_gain_and_direction_both_receive_gradients(wn_cls):
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    wn = wn_cls(4, 3, padding="same")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(wn(x)))
    grads = tape.gradient(loss, wn.trainable_variables)
    assert [v.name for v in wn.trainable_variables] == ["kernel", "bias", "g"]
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in grads)


@pytest.mark.parametrize(
    "wn_cls, output_shape",
    [
        (WeightNormConv2D, (2, 3, 3, 4)),
        (WeightNormConv2DTranspose, (2, 10, 12, 4)),
    ],
)
def test_standard_layer_test(wn_cls, output_shape, tmp_path):
    sdn_test_case.run_layer_test(
        wn_cls,
        dict(filters=4, kernel_size=3, strides=2, padding="same"),
        input_shape=(2, 5, 6, 3),
        expected_output_shape=output_shape,
        expected_num_trainable_weights=3,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("wn_cls", [WeightNormConv2D, WeightNormConv2DTranspose])
def test_channels_first_is_rejected(wn_cls):
    with pytest.raises(ValueError, match="argument `data_format`"):
        wn_cls(4, 3, data_format="channels_first")


@pytest.mark.parametrize(
    "transpose, weight_norm, cls, output_shape",
    [
        (False, False, keras.layers.Conv2D, (2, 3, 3, 4)),
        (False, True, WeightNormConv2D, (2, 3, 3, 4)),
        (True, False, keras.layers.Conv2DTranspose, (2, 12, 12, 4)),
        (True, True, WeightNormConv2DTranspose, (2, 12, 12, 4)),
    ],
)
def test_convolution_chooses_the_layer(transpose, weight_norm, cls, output_shape):
    layer = weight_norm_lib.convolution(
        4, 3, 2, transpose=transpose, weight_norm=weight_norm, name="conv"
    )
    assert type(layer) is cls and layer.name == "conv"
    assert layer.padding == "same" and layer.strides == (2, 2)
    assert layer(np.zeros((2, 6, 6, 3), "float32")).shape == output_shape
    valid = weight_norm_lib.convolution(4, 3, padding="valid", weight_norm=weight_norm)
    assert valid.padding == "valid"
