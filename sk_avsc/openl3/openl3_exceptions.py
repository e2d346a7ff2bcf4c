"""openl3's exception, under openl3's module name: :class:`OpenL3Error`.

openl3 0.4.2 raises ``openl3.openl3_exceptions.OpenL3Error`` for every bad input. Here it
derives from :class:`~sk_avsc.exceptions.SkAvscError`, and the openl3-named functions of
:mod:`sk_avsc.openl3` (``get_audio_embedding``, ``process_audio_file``,
``openl3.models.load_audio_embedding_model``...) raise errors that are *both*: an
``OpenL3ParameterError`` is an :class:`OpenL3Error` and a
:class:`~sk_avsc.exceptions.ParameterError` (hence a ``ValueError``), with the same message.
So ``except openl3.OpenL3Error`` written for openl3 and ``except ParameterError`` written for
sk_avsc both catch it.
"""

from __future__ import annotations

import functools

from ..exceptions import (
    AudioError,
    ImageError,
    MediaError,
    ParameterError,
    SkAvscError,
    WeightsError,
)

__all__ = [
    "OpenL3Error",
    "OpenL3ParameterError",
    "OpenL3AudioError",
    "OpenL3ImageError",
    "OpenL3WeightsError",
    "OpenL3MediaError",
    "as_openl3_error",
    "raises_openl3_errors",
]


class OpenL3Error(SkAvscError):
    """The root OpenL3 exception class (openl3 0.4.2's), an sk_avsc error."""


class OpenL3ParameterError(OpenL3Error, ParameterError):
    """A :class:`~sk_avsc.exceptions.ParameterError` raised through the openl3 API."""


class OpenL3AudioError(OpenL3Error, AudioError):
    """An :class:`~sk_avsc.exceptions.AudioError` raised through the openl3 API."""


class OpenL3ImageError(OpenL3Error, ImageError):
    """An :class:`~sk_avsc.exceptions.ImageError` raised through the openl3 API."""


class OpenL3WeightsError(OpenL3Error, WeightsError):
    """A :class:`~sk_avsc.exceptions.WeightsError` raised through the openl3 API."""


class OpenL3MediaError(OpenL3Error, MediaError):
    """A :class:`~sk_avsc.exceptions.MediaError` raised through the openl3 API."""


_DUALS = {
    ParameterError: OpenL3ParameterError,
    AudioError: OpenL3AudioError,
    ImageError: OpenL3ImageError,
    WeightsError: OpenL3WeightsError,
    MediaError: OpenL3MediaError,
}


def as_openl3_error(exc: SkAvscError) -> OpenL3Error:
    """``exc`` as an :class:`OpenL3Error` that keeps its sk_avsc class and message.

    Examples
    --------
    >>> err = as_openl3_error(ParameterError("hop_size must be positive"))
    >>> isinstance(err, OpenL3Error), isinstance(err, ParameterError), str(err)
    (True, True, 'hop_size must be positive')
    """
    if isinstance(exc, OpenL3Error):
        return exc
    for base in type(exc).__mro__:
        if base in _DUALS:
            return _DUALS[base](*exc.args)
    return OpenL3Error(*exc.args)


def raises_openl3_errors(func):
    """Decorate an openl3-named function: its sk_avsc errors become :class:`OpenL3Error`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OpenL3Error:
            raise
        except SkAvscError as exc:
            # same traceback, no "during handling" chain: it is the same error
            raise as_openl3_error(exc).with_traceback(exc.__traceback__) from None

    return wrapper
