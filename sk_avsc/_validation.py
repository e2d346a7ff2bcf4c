"""Parameter validators: the one place where parameters are checked and errors worded.

Every estimator, the OpenL3 port, the dataset generators and the CLI call these
(librosa's ``util`` pattern), so that one parameter gets one rule and one message
everywhere: ``"<owner>: <name> must be <what>, got <value>[; <hint>]."``. Each
function returns the value normalised (an ``int``, a ``float``) so that callers
store what was checked.
"""

from __future__ import annotations

import math
import numbers
import os

from .exceptions import ParameterError

__all__ = [
    "check_int",
    "check_real",
    "check_bool",
    "check_choice",
    "check_hop_size",
    "check_sample_rate",
    "check_path",
    "check_device",
]


def _fail(owner, name, what, value, hint=None):
    prefix = f"{owner}: " if owner else ""
    tail = f"; {hint}" if hint else ""
    raise ParameterError(f"{prefix}{name} must be {what}, got {value!r}{tail}.")


def check_int(name: str, value, *, low: int | None = 1, high: int | None = None,
              allow_none: bool = False, owner: str | None = None, hint: str | None = None):
    """``int(value)`` if it is an integer in ``[low, high]`` (bools are refused).

    Examples
    --------
    >>> check_int("batch_size", 32)
    32
    >>> check_int("batch_size", 0, owner="MLPClassifier")
    Traceback (most recent call last):
    ...
    sk_avsc.exceptions.ParameterError: MLPClassifier: batch_size must be an int >= 1, got 0.
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        if low is not None and high is not None:
            what = f"an int in [{low}, {high}]"
        elif low is not None:
            what = f"an int >= {low}"
        elif high is not None:
            what = f"an int <= {high}"
        else:
            what = "an int"
        _fail(owner, name, ("None or " if allow_none else "") + what, value, hint)
    return int(value)


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, allow_none: bool = False,
               owner: str | None = None, hint: str | None = None):
    """``float(value)`` if it is a finite real number within the bounds.

    Non-finite values (``nan``, ``inf``) are always refused.

    Examples
    --------
    >>> check_real("lr", 1e-4, low=0, low_open=True)
    0.0001
    >>> check_real("lr", float("inf"), low=0, low_open=True)
    Traceback (most recent call last):
    ...
    sk_avsc.exceptions.ParameterError: lr must be a finite number > 0, got inf.
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            bounds.append(f"{'<' if high_open else '<='} {high}")
        what = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        _fail(owner, name, ("None or " if allow_none else "") + what, value, hint)
    return float(value)


def check_bool(name: str, value, *, owner: str | None = None) -> bool:
    """``bool(value)`` if it is True or False (numpy bools too)."""
    if value is True or value is False or type(value).__name__ == "bool_":
        return bool(value)
    _fail(owner, name, "True or False", value)


def check_choice(name: str, value, choices, *, owner: str | None = None,
                 hint: str | None = None):
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("input_repr", "mel256", ("linear", "mel128", "mel256"))
    'mel256'
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a set
        ok = False
    if not ok:
        _fail(owner, name, f"one of {tuple(choices)}", value, hint)
    return value


def check_hop_size(value, *, name: str = "hop_size", owner: str | None = None,
                   hint: str | None = None) -> float:
    """A hop in seconds: finite, positive and at least one sample at 48 kHz.

    Examples
    --------
    >>> check_hop_size(0.1)
    0.1
    >>> check_hop_size(1e-6)
    Traceback (most recent call last):
    ...
    sk_avsc.exceptions.ParameterError: hop_size must be a positive number of seconds \
(>= 1/48000), got 1e-06.
    """
    from .openl3.framing import hop_length

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or hop_length(value) < 1:
        _fail(owner, name, "a positive number of seconds (>= 1/48000)", value, hint)
    return float(value)


def check_sample_rate(value, *, name: str = "sr", owner: str | None = None) -> float:
    """A sample rate in Hz: a finite positive number."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        _fail(owner, name, "a positive sample rate in Hz", value)
    return value


def check_path(name: str, value, *, allow_none: bool = False, owner: str | None = None):
    """``value`` if it is a ``str`` or path-like (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (str, os.PathLike)):
        _fail(owner, name, ("None or " if allow_none else "") + "a file or folder path", value)
    return value


def check_device(value, *, name: str = "device", owner: str | None = None) -> str:
    """``value`` if torch knows the device and, for CUDA, has one on this machine.

    Examples
    --------
    >>> check_device("cpu")
    'cpu'
    >>> check_device("foo")
    Traceback (most recent call last):
    ...
    sk_avsc.exceptions.ParameterError: device must be a torch device (cpu, cuda, cuda:1), got \
'foo'.
    """
    import torch

    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        _fail(owner, name, "a torch device (cpu, cuda, cuda:1)", value)
    if dev.type == "cuda" and not torch.cuda.is_available():
        _fail(owner, name, "a device of this machine", value,
              "CUDA is not available here, use cpu")
    return value
