"""Exceptions and warnings raised by sk_avsc.

Every error that bad input can cause derives from :class:`SkAvscError`; the
ones about values (a parameter, an audio array, a file's content) also derive
from :class:`ValueError`, so ``except ValueError`` written for scikit-learn or
openl3 keeps working.
"""

__all__ = [
    "SkAvscError",
    "ParameterError",
    "AudioError",
    "ImageError",
    "WeightsError",
    "MediaError",
    "DatasetError",
    "TrainingError",
    "SkAvscWarning",
    "RandomWeightsWarning",
    "MediaWarning",
]


class SkAvscError(Exception):
    """Base class of all sk_avsc exceptions.

    Examples
    --------
    >>> from sk_avsc.exceptions import ParameterError, SkAvscError
    >>> issubclass(ParameterError, SkAvscError)
    True
    >>> try:
    ...     raise ParameterError("ZScore: eps must be positive, got -1.")
    ... except SkAvscError as exc:  # catches every error of the package
    ...     print(type(exc).__name__, exc)
    ParameterError ZScore: eps must be positive, got -1.
    """


class ParameterError(SkAvscError, ValueError):
    """A parameter has an invalid value; the message lists the valid ones.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.aggregation import aggregate_windows
    >>> from sk_avsc.exceptions import ParameterError
    >>> try:
    ...     aggregate_windows(np.full((1, 2, 3), 1 / 3), method="max")
    ... except ParameterError as exc:
    ...     print(exc)
    method must be one of ('sum', 'log', 'vote'), got 'max'.
    >>> issubclass(ParameterError, ValueError)  # scikit-learn style code keeps working
    True
    """


class AudioError(SkAvscError, ValueError):
    """An audio array or file cannot be embedded (empty, non-finite, wrong shape...).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc import openl3
    >>> from sk_avsc.exceptions import AudioError
    >>> try:
    ...     openl3.preprocess_audio(np.zeros(0), 48000)
    ... except AudioError as exc:
    ...     print(exc)
    audio is empty (shape (0,)); it needs at least one sample.
    """


class ImageError(SkAvscError, ValueError):
    """An image or batch of frames cannot be embedded (channels, size, shape...).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc import openl3
    >>> from sk_avsc.exceptions import ImageError
    >>> try:
    ...     openl3.preprocess_image(np.zeros((4, 10, 10, 3), dtype=np.uint8))
    ... except ImageError as exc:
    ...     print(exc)
    image is 10x10 px; OpenL3 needs images of at least 224x224 px (upscale them first).
    """


class WeightsError(SkAvscError, ValueError):
    """A weight file is missing, corrupt or does not match the requested network.

    Examples
    --------
    >>> from sk_avsc import openl3
    >>> from sk_avsc.exceptions import WeightsError
    >>> try:
    ...     openl3.load_audio_model("no-such-file.h5", "mel256", "env", 512)
    ... except WeightsError as exc:
    ...     print(str(exc).split(";")[0])
    weight file 'no-such-file.h5' not found
    """


class MediaError(SkAvscError, ValueError):
    """A media file (WAV, MP4, ...) is missing, unreadable or has no usable stream.

    Examples
    --------
    >>> from sk_avsc.embedders import read_audio
    >>> from sk_avsc.exceptions import MediaError
    >>> try:
    ...     read_audio("no-such-file.wav")
    ... except MediaError as exc:
    ...     print(str(exc).split(";")[0])
    audio file 'no-such-file.wav' does not exist
    """


class DatasetError(SkAvscError, ValueError):
    """A dataset's metadata (meta.csv, evaluation_setup lists) is missing or malformed."""


class TrainingError(SkAvscError, RuntimeError):
    """Training failed in a way that would give a useless model (e.g. the loss diverged)."""


class SkAvscWarning(UserWarning):
    """Base class of sk_avsc warnings: something the user should look at or fix."""


class RandomWeightsWarning(SkAvscWarning):
    """A network runs with random weights: its embeddings are meaningless as features.

    Examples
    --------
    >>> import warnings
    >>> from sk_avsc import openl3
    >>> from sk_avsc.exceptions import RandomWeightsWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = openl3.load_audio_model("random", "mel128", "env", 512)
    >>> [w.category.__name__ for w in caught]
    ['RandomWeightsWarning']
    >>> with warnings.catch_warnings():  # a demo that says so itself silences it
    ...     warnings.simplefilter("ignore", RandomWeightsWarning)
    ...     model = openl3.load_audio_model("random", "mel128", "env", 512)
    """


class MediaWarning(SkAvscWarning):
    """A media file is damaged or shorter than asked for: its embedding holds padding.

    Raised when an audio file holds fewer samples than its header declares, when a clip is
    zero-padded to ``duration`` by more than one hop, or when windows past the last
    decodable video frame (by more than one hop) repeat that frame.
    """
