"""Argument checks shared by lstm_zoo's layers, data and applications."""

import numbers


def positive_int(name, value):
    """Returns `int(value)`, or raises a `ValueError` naming the argument and value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer; received: {name}={value!r}"
        )
    return int(value)
