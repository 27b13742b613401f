"""Tests of the ladder layer of the SDN-VAE: the standard layer test."""

import pytest
from keras import ops

import sdn_test_case
from sdn_tf.models.ladder import LadderLayer


def _ladder_pass(layer, images):
    """Bottom-up then top-down through one layer, posterior noise at 0."""
    x = ops.cast(images, layer.compute_dtype)  # as the model's first layer gives
    h, q_up = layer.up(x)
    if h is None:  # the top layer: its top-down path starts at q_up's scale
        h = ops.zeros((*q_up.shape[:-1], layer.h_size), layer.compute_dtype)
    return layer.down(h, q_up=q_up, deterministic=True)


@pytest.mark.parametrize(
    "kwargs, latent_size, num_weights",
    [
        # up_a, up_b, down_a, down_b: kernel, bias, g; IAF: 3 masked convs.
        (dict(), 6, 4 * 3 + 9),
        # The top layer has no up_b; plain convolutions have no g.
        (dict(top=True, weight_norm=False), 6, 3 * 2 + 9),
        # ResSDN down_a and down_b: project-in, one sweep (4), project-out,
        # and the convolutional branch.
        (
            dict(
                downsample=True,
                sdn_features=4,
                directions_a=("down",),
                directions_b=("right",),
            ),
            3,
            2 * 3 + 2 * (3 + 4 + 3 + 3) + 9,
        ),
    ],
    ids=["conv", "top", "sdn_downsample"],
)
def test_standard_layer_test(kwargs, latent_size, num_weights, tmp_path):
    init_kwargs = dict(h_size=8, z_size=2, context_size=4, name="ladder", **kwargs)
    sdn_test_case.run_layer_test(
        LadderLayer,
        init_kwargs,
        input_shape=(2, 6, 6, 8),
        expected_output_shape=(
            (2, 6, 6, 8),  # x'
            (2, latent_size, latent_size, 2),  # z
            (2,),  # log q(z)
            (2,),  # log p(z)
        ),
        expected_num_trainable_weights=num_weights,
        tmp_path=tmp_path,
        call_fn=_ladder_pass,
    )


def test_docstring_example_runs():
    sdn_test_case.run_docstring_example(LadderLayer)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(h_size=0), "argument `h_size`, expected a positive integer, got 0"),
        (dict(sdn_features=2.5), "argument `sdn_features`"),
        (dict(weight_norm="yes"), "argument `weight_norm`, expected True or False"),
        (dict(iaf_layers=0), "argument `iaf_layers`"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LadderLayer(**dict(dict(h_size=8, z_size=2), **kwargs))
