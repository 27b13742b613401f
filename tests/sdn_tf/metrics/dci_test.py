"""Tests of DCI's own arguments (its scores: metrics_test)."""

import metrics_test_util as util
import pytest

from sdn_tf.metrics.dci import dci


@pytest.mark.parametrize(
    "sizes, message",
    [
        (dict(num_train=1), r"`num_train`, expected an integer >= 2 .*got 1"),
        (dict(num_train=0), r"`num_train`, expected an integer >= 2 .*got 0"),
        (dict(num_test=0), r"`num_test`, expected a positive integer, got 0"),
    ],
)
def test_sample_sizes_are_checked_before_sampling(sizes, message):
    def never(observations):
        raise AssertionError("sampled before checking the sizes")

    with pytest.raises(ValueError, match=message):
        dci(util.IdentityObservations(), never, **sizes)


def test_samples_that_hold_one_value_of_a_factor_are_named():
    # A factor with one value: every sample holds it, whatever num_train.
    data = util.IdentityObservations(factor_sizes=(4, 1))
    with pytest.raises(
        ValueError, match=r"`num_train`: its 20 samples hold only the value 0 of "
    ):
        dci(data, util.perfect, num_train=20, num_test=10)
