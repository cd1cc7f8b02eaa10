"""Argument checks shared by lstm_zoo's layers, data and applications."""

import numbers


def positive_int(name, value):
    """Returns `int(value)`, or raises a `ValueError` naming the argument and value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer; received: {name}={value!r}"
        )
    return int(value)


def on_error_mode(on_error):
    """Returns `on_error` if it is `"raise"` or `"skip"` (what loaders do with a
    bad file), or raises a `ValueError` naming the argument and value."""
    if on_error not in ("raise", "skip"):
        raise ValueError(
            f"Argument `on_error` must be 'raise' or 'skip'; received: on_error={on_error!r}"
        )
    return on_error


def int_at_least(name, value, minimum, reason=""):
    """Returns `int(value)` if it is an integer >= `minimum`, or raises a
    `ValueError` naming the argument, the value and, if given, the reason."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Argument `{name}` must be an integer; received: {name}={value!r}")
    if value < minimum:
        why = f" ({reason})" if reason else ""
        raise ValueError(f"Argument `{name}` must be >= {minimum}{why}; received: {name}={value!r}")
    return int(value)


def one_of(name, value, choices):
    """Returns `value` if it is in `choices`, or raises a `ValueError` naming the
    argument, the value and the choices."""
    if value not in choices:
        raise ValueError(f"Argument `{name}` must be one of {choices}; received: {name}={value!r}")
    return value
