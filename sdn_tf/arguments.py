"""How sdn_tf and its models check the arguments a user gives them.

One message form everywhere, naming the argument as the user wrote it, what
was expected and what was received:

    Received an invalid value for argument `z_size`, expected a positive
    integer, got 0.

Sizes accept any integral number (Python int, np.int64, ...) except bools,
which Python counts as integers but no user means as a size; numbers must be
real and finite (NaN compares false with everything, so it would slip
through a plain `value >= 0`).
"""

import math
import numbers

import numpy as np


def check(condition, name, expected, got):
    """Raises the ValueError for argument `name` unless `condition`."""
    if not condition:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected "
            f"{expected}, got {got!r}."
        )


def one_of(value, name, choices):
    """`value`, or the ValueError for a value outside `choices`."""
    check(value in tuple(choices), name, f"one of {tuple(choices)}", value)
    return value


def is_integer(value):
    """An integral number that is not a bool (np.int64(8) counts)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_finite_number(value):
    """A real, finite number that is not a bool (np.float32(0.5) counts)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def positive_integer(value, name):
    """`value` as an int, or the ValueError for a size of at least 1."""
    check(is_integer(value) and value >= 1, name, "a positive integer", value)
    return int(value)


def non_negative_integer(value, name):
    """`value` as an int, or the ValueError for a count of at least 0."""
    check(is_integer(value) and value >= 0, name, "a non-negative integer", value)
    return int(value)


def positive_integers(values, name, count, expected=None):
    """`count` positive integers (a tuple or list) as a tuple of ints.

    `expected` words the ValueError's expectation, defaulting to
    "{count} positive integers".
    """
    items = tuple(values) if isinstance(values, (tuple, list)) else ()
    check(
        len(items) == count and all(is_integer(v) and v >= 1 for v in items),
        name,
        expected or f"{count} positive integers",
        values,
    )
    return tuple(int(v) for v in items)


def positive_integer_pair(value, name):
    """A kernel size or strides: an int or a pair of them, as a pair of ints."""
    pair = (value, value) if is_integer(value) else value
    check(
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(is_integer(v) and v >= 1 for v in pair),
        name,
        "a positive integer or a pair of positive integers",
        value,
    )
    return tuple(int(v) for v in pair)


def integer_in_range(value, name, low, high):
    """`value` as an int, or the ValueError for an integer in [low, high]."""
    check(
        is_integer(value) and low <= value <= high,
        name,
        f"an integer from {low} to {high}",
        value,
    )
    return int(value)


def check_finite_number(value, name):
    """`value` as a float, or the ValueError for a finite number."""
    check(is_finite_number(value), name, "a finite number", value)
    return float(value)


def non_negative_number(value, name):
    """`value` as a float, or the ValueError for a finite number >= 0."""
    check(
        is_finite_number(value) and value >= 0,
        name,
        "a finite, non-negative number",
        value,
    )
    return float(value)


def positive_number(value, name):
    """`value` as a float, or the ValueError for a finite number > 0."""
    check(
        is_finite_number(value) and value > 0, name, "a finite, positive number", value
    )
    return float(value)


def boolean(value, name):
    """`value` as a bool, or the ValueError: 'no' or 0.5 is not a switch."""
    check(isinstance(value, (bool, np.bool_)), name, "True or False", value)
    return bool(value)


def temperature(value, name="temperature"):
    """A sampling temperature: a finite number >= 0 (0: the mode).

    Tensors pass unchecked (an exported model's input is only known when
    it runs); a NaN one gives NaN images, never plausible-looking ones.
    """
    if isinstance(value, numbers.Number):
        return non_negative_number(value, name)
    return value
