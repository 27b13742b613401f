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


def test_positive_integers_checks_the_count_and_every_entry():
    assert arguments.positive_integers([8, np.int64(4)], "channels", 2) == (8, 4)
    for value in ((8, 0), (8,), (8, 4, 2), (8, True), 8, "84", None):
        with pytest.raises(
            ValueError, match=r"argument `channels`, expected 2 positive integers"
        ):
            arguments.positive_integers(value, "channels", 2)
    with pytest.raises(ValueError, match=r"expected 2 channel counts, got \(1,\)"):
        arguments.positive_integers((1,), "channels", 2, "2 channel counts")


def test_positive_integer_pair_takes_an_int_or_a_pair():
    assert arguments.positive_integer_pair(3, "kernel_size") == (3, 3)
    assert arguments.positive_integer_pair([np.int64(3), 1], "strides") == (3, 1)
    for value in (0, (3, 0), (3,), (3, 3, 3), 2.0, (2, True)):
        with pytest.raises(
            ValueError,
            match=r"argument `strides`, expected a positive integer or a pair of "
            r"positive integers, got",
        ):
            arguments.positive_integer_pair(value, "strides")


def test_one_of_names_the_choices():
    assert arguments.one_of("adam", "optimizer", ("adam", "adamax")) == "adam"
    with pytest.raises(
        ValueError,
        match=r"argument `optimizer`, expected one of \('adam', 'adamax'\), got 'sgd'",
    ):
        arguments.one_of("sgd", "optimizer", ("adam", "adamax"))
