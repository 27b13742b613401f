"""Tests of the shared argument checks."""

import numpy as np
import pytest

from sdn_tf import arguments


@pytest.mark.parametrize("value", [1, 8, np.int64(8), np.int32(3), np.uint8(2)])
def test_positive_integer_accepts_every_integral_number(value):
    result = arguments.positive_integer(value, "z_size")
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [0, -5, True, 2.0, "8", None, np.float32(3)])
def test_positive_integer_names_the_argument_and_the_value(value):
    with pytest.raises(
        ValueError,
        match=(
            r"^Received an invalid value for argument `z_size`, expected a positive "
            rf"integer, got {repr(value)}\.$"
        )
        .replace("(", r"\(")
        .replace(")", r"\)"),
    ):
        arguments.positive_integer(value, "z_size")


@pytest.mark.parametrize("value", [float("nan"), -1e-9, float("inf"), True, "0.1"])
def test_non_negative_number_refuses_nan_negative_and_non_numbers(value):
    with pytest.raises(ValueError, match="argument `free_bits`, expected a finite"):
        arguments.non_negative_number(value, "free_bits")


def test_temperature_checks_numbers_and_lets_tensors_through():
    assert arguments.temperature(np.float32(0.5)) == 0.5
    tensor = np.array([0.5])  # an array is not a number: checked where it runs
    assert arguments.temperature(tensor) is tensor
    with pytest.raises(ValueError, match="argument `temperature`.*got -1"):
        arguments.temperature(-1)


def test_boolean_refuses_strings_and_numbers():
    assert arguments.boolean(np.bool_(True), "use_sdn") is True
    for value in ("no", 1, None):
        with pytest.raises(ValueError, match="argument `use_sdn`, expected True or"):
            arguments.boolean(value, "use_sdn")
