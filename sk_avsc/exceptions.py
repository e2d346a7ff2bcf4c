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
    """Base class of all sk_avsc exceptions."""


class ParameterError(SkAvscError, ValueError):
    """A parameter has an invalid value; the message lists the valid ones."""


class AudioError(SkAvscError, ValueError):
    """An audio array or file cannot be embedded (empty, non-finite, wrong shape...)."""


class ImageError(SkAvscError, ValueError):
    """An image or batch of frames cannot be embedded (channels, size, shape...)."""


class WeightsError(SkAvscError, ValueError):
    """A weight file is missing, corrupt or does not match the requested network."""


class MediaError(SkAvscError, ValueError):
    """A media file (WAV, MP4, ...) is missing, unreadable or has no usable stream."""


class DatasetError(SkAvscError, ValueError):
    """A dataset's metadata (meta.csv, evaluation_setup lists) is missing or malformed."""


class TrainingError(SkAvscError, RuntimeError):
    """Training failed in a way that would give a useless model (e.g. the loss diverged)."""


class SkAvscWarning(UserWarning):
    """Base class of sk_avsc warnings: something the user should look at or fix."""


class RandomWeightsWarning(SkAvscWarning):
    """A network runs with random weights: its embeddings are meaningless as features."""


class MediaWarning(SkAvscWarning):
    """A media file is damaged or shorter than asked for: its embedding holds padding.

    Raised when an audio file holds fewer samples than its header declares, when a clip is
    zero-padded to ``duration`` by more than one hop, or when windows past the last
    decodable video frame (by more than one hop) repeat that frame.
    """
