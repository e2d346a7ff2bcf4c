"""sk_avsc: audio-visual scene classification as scikit-learn estimators.

An implementation of the system of Wang, Mesaros, Heittola and Virtanen,
"A curated dataset of urban scenes for audio-visual scene analysis"
(ICASSP 2021): OpenL3 audio and image embeddings (a PyTorch port that reads
the official weight files), z-scoring, PyTorch classifier heads wrapped with
skorch, and the paper's two-stage audio-visual fusion.

Layout: the OpenL3 port (:mod:`sk_avsc.openl3`) and the estimators built on it
(``embedders``, ``preprocessing``, ``neural``, ``fusion``, ``aggregation``, and
``comparison`` for the paper's baselines) are the building blocks; ``systems`` builds the
paper's front end and its eight systems by name; ``store`` keeps extracted features on
disk; ``metrics`` scores and ``report`` writes tables and figures; ``datasets`` reads TAU
and makes synthetic data; ``experiment`` is the paper's procedure (extract, train,
evaluate, predict, reproduce), ``demo`` runs it on synthetic scenes, and ``cli`` only
parses arguments. One home each: window timing in ``openl3.framing``, clip decisions in
``aggregation``, skorch training in ``_net_training``, parameter checks in
``_validation``, atomic writes in ``_io``.

Public names are imported lazily, so ``import sk_avsc`` stays cheap and does
not load torch until an estimator or the OpenL3 port is used.
"""

import importlib

from ._version import __version__
from .exceptions import (
    AudioError,
    DatasetError,
    ImageError,
    MediaError,
    MediaWarning,
    ParameterError,
    RandomWeightsWarning,
    SkAvscError,
    SkAvscWarning,
    TrainingError,
    WeightsError,
)

# public name -> module (relative to this package) that defines it
_LAZY = {
    "OpenL3AudioEmbedder": "embedders",
    "OpenL3FrameEmbedder": "embedders",
    "AudioVisualEmbedder": "embedders",
    "ZScore": "preprocessing",
    "SkorchMLPClassifier": "neural",
    "StackedAVClassifier": "fusion",
    "LateFusionClassifier": "fusion",
    "ClipAggregator": "aggregation",
    "make_system": "systems",
    "FeatureStore": "store",
    "LogMelSpectrogram": "comparison",
    "ResNetAudioClassifier": "comparison",
    "VideoFrames": "comparison",
    "ResNet50FrameClassifier": "comparison",
    "AudioVisualEnsemble": "comparison",
}
_SUBMODULES = {
    "openl3",
    "embedders",
    "preprocessing",
    "neural",
    "fusion",
    "aggregation",
    "datasets",
    "metrics",
    "report",
    "systems",
    "store",
    "comparison",
    "hear",
    "demo",
    "experiment",
    "cli",
    "exceptions",
}

__all__ = [
    "__version__",
    "AudioError",
    "DatasetError",
    "ImageError",
    "MediaError",
    "MediaWarning",
    "ParameterError",
    "RandomWeightsWarning",
    "SkAvscError",
    "SkAvscWarning",
    "TrainingError",
    "WeightsError",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
