"""The paper's systems, built by name: one definition for the CLI, the examples and users.

:func:`make_embedder` is the paper's front end (OpenL3 mel256 / ``"env"`` / 512-d audio
and image embeddings of centred 1-s windows). :func:`make_system` builds a back end, a
scikit-learn :class:`~sklearn.pipeline.Pipeline` from the stored window embeddings
``(n_clips, n_windows, audio_features + video_features)`` to clip labels: column
selection (single-modality systems), :class:`~sk_avsc.ZScore`, and the window-level
classifier inside :class:`~sk_avsc.ClipAggregator` (sum of window probabilities).
Systems are registered by name in this module; comparison systems join the registry
with ``@_register("name")``.

Over 600 lines: the registry of all eight systems of the paper (five OpenL3 systems and
three comparison systems) with their recipes, front ends and parameter counts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._validation import check_choice, check_int

__all__ = [
    "SYSTEMS",
    "COMPARISON_SYSTEMS",
    "SYSTEM_FEATURES",
    "PAPER_ACCURACY",
    "PAPER_PARAMETERS",
    "WEIGHT_FILES",
    "PAPER_FRONTEND",
    "VALIDATION_SPLITS",
    "available_systems",
    "make_system",
    "make_frontend",
    "system_input",
    "FRONTEND_COLUMNS",
    "count_system_parameters",
    "validation_splitter",
    "make_embedder",
    "front_end_weights",
]

#: The paper's five systems (Table 2), in its order.
SYSTEMS = ("audio", "video", "early", "late", "proposed")
#: The paper's comparison systems (section 4): McDonnell & Gao's log-mel ResNet, a
#: ResNet50 on video frames, and their late-fusion ensemble.
COMPARISON_SYSTEMS = ("mcdonnell", "resnet50", "ensemble")
#: The paper's clip accuracy (%) on fold1_evaluate: Table 2 and section 4.
PAPER_ACCURACY = {"audio": 75.8, "video": 68.4, "early": 82.2, "late": 80.8, "proposed": 84.8,
                  "mcdonnell": 82.84, "resnet50": 77.9, "ensemble": 85.8}
#: The parameter counts the paper gives: the OpenL3 audio-visual system in total (both
#: OpenL3 networks and the heads), McDonnell's ResNet (~3 M) and the ResNet50 (~23 M).
PAPER_PARAMETERS = {"proposed": 13.4e6, "mcdonnell": 3e6, "resnet50": 23e6}
#: The OpenL3 audio front-end of the paper's features: openl3 0.3.1's (kapre 0.1.4).
PAPER_FRONTEND = "kapre-0.1.4"
#: The official OpenL3 weight files of the paper's front end (``.h5.gz`` accepted too).
WEIGHT_FILES = {"audio": "openl3_audio_mel256_env.h5", "image": "openl3_image_mel256_env.h5"}

# name -> builder(recipe) returning the Pipeline's steps; see _Recipe
_BUILDERS: dict[str, Callable] = {}
#: The feature kinds (:data:`sk_avsc.store.KINDS`) each system reads: its ``X`` is the
#: stored array of its one kind, or ``{"audio": logmel, "video": frames}`` (ensemble).
SYSTEM_FEATURES: dict[str, tuple[str, ...]] = {}
# the published recipes' training: max_epochs and batch_size
# each recipe's (max_epochs, batch_size, validation_split); McDonnell & Gao keep the last
# epoch, so no validation set
_RECIPES = {"openl3": (200, 64, 0.1), "mcdonnell": (510, 32, None), "resnet50": (30, 64, 0.1)}


def _register(name: str, features=("openl3",)):
    def add(builder):
        _BUILDERS[name] = builder
        SYSTEM_FEATURES[name] = tuple(features)
        return builder

    return add


class _Recipe:
    """What a builder needs: make_system's arguments and fresh heads and networks."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def training(self, recipe: str) -> dict:
        """The training parameters of every network, with the recipe's defaults."""
        epochs, batch, split = _RECIPES[recipe]
        if not (isinstance(self.validation_split, str) and self.validation_split == "default"):
            split = self.validation_split
        return dict(max_epochs=epochs if self.max_epochs is None else self.max_epochs,
                    batch_size=batch if self.batch_size is None else self.batch_size,
                    device=self.device, random_state=self.random_state,
                    validation_split=split)

    def head(self):
        from .neural import SkorchMLPClassifier

        shape = {} if self.hidden_sizes is None else {"hidden_sizes": self.hidden_sizes}
        return SkorchMLPClassifier(**shape, **self.training("openl3"))

    def fusion_head(self):
        from .fusion import _default_fusion

        return _default_fusion().set_params(**self.training("openl3"))

    def mcdonnell(self):
        from .comparison import ResNetAudioClassifier

        return ResNetAudioClassifier(crop_length=self.crop_length,
                                     **self.training("mcdonnell"))

    def resnet50(self):
        from .comparison import ResNet50FrameClassifier

        return ResNet50FrameClassifier(self.resnet50_weights, **self.training("resnet50"))


def _take_columns(X, start: int, stop: int | None):
    """Columns ``start:stop`` of the last axis (module level so that fitted systems pickle)."""
    return np.asarray(X)[..., start:stop]


def _openl3_steps(r, select, clf):
    """Column selection (or none), ZScore, and ``clf`` inside a ClipAggregator."""
    from sklearn.preprocessing import FunctionTransformer

    from .aggregation import ClipAggregator
    from .preprocessing import ZScore

    steps = []
    if select is not None:
        stop = r.audio_features if select == "audio" else None
        start = 0 if select == "audio" else r.audio_features
        steps.append(("select", FunctionTransformer(
            _take_columns, kw_args={"start": start, "stop": stop})))
    return steps + [("zscore", ZScore()), ("clf", ClipAggregator(clf))]


@_register("audio")
def _audio(r):
    return _openl3_steps(r, "audio", r.head())


@_register("video")
def _video(r):
    return _openl3_steps(r, "video", r.head())


@_register("early")
def _early(r):
    return _openl3_steps(r, None, r.head())


@_register("late")
def _late(r):
    from .fusion import LateFusionClassifier

    return _openl3_steps(r, None, LateFusionClassifier(audio=r.head(), video=r.head(),
                                                       audio_features=r.audio_features))


@_register("proposed")
def _proposed(r):
    from .fusion import StackedAVClassifier

    return _openl3_steps(r, None, StackedAVClassifier(
        audio=r.head(), video=r.head(), fusion=r.fusion_head(),
        audio_features=r.audio_features))


@_register("mcdonnell", features=("logmel",))
def _mcdonnell(r):
    return [("clf", r.mcdonnell())]


@_register("resnet50", features=("frames",))
def _resnet50(r):
    return [("clf", r.resnet50())]


@_register("ensemble", features=("logmel", "frames"))
def _ensemble(r):
    from .comparison import AudioVisualEnsemble

    return [("clf", AudioVisualEnsemble(audio=r.mcdonnell(), video=r.resnet50()))]


def available_systems() -> tuple[str, ...]:
    """Names :func:`make_system` accepts: the paper's :data:`SYSTEMS` first.

    Returns
    -------
    names : tuple of str
        The registered system names, in registration order.

    Examples
    --------
    >>> from sk_avsc.systems import available_systems
    >>> available_systems()
    ('audio', 'video', 'early', 'late', 'proposed', 'mcdonnell', 'resnet50', 'ensemble')
    """
    return tuple(_BUILDERS)


def make_system(
    name: str,
    *,
    audio_features: int = 512,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    random_state=None,
    hidden_sizes=None,
    validation_split="default",
    resnet50_weights=None,
    crop_length: int | None = 400,
):
    """One of the paper's systems as an unfitted scikit-learn Pipeline.

    Parameters
    ----------
    name : {"audio", "video", "early", "late", "proposed", "mcdonnell", "resnet50", \
"ensemble"}
        The paper's five OpenL3 systems (Table 2), on window embeddings
        ``(n_clips, n_windows, audio + video features)``: ``"audio"`` / ``"video"``: an
        :class:`~sk_avsc.SkorchMLPClassifier` on the audio (first ``audio_features``) or
        the video columns only; ``"early"``: one SkorchMLPClassifier on all columns;
        ``"late"``: :class:`~sk_avsc.LateFusionClassifier` of an audio and a video
        SkorchMLPClassifier; ``"proposed"``: the paper's two-stage
        :class:`~sk_avsc.StackedAVClassifier` with the authors' fusion head
        (``hidden_sizes=(128,)``, no dropout, no batch norm, identity activation).
        The comparison systems (section 4): ``"mcdonnell"``: McDonnell & Gao's
        :class:`~sk_avsc.comparison.ResNetAudioClassifier` on
        :class:`~sk_avsc.comparison.LogMelSpectrogram` features; ``"resnet50"``:
        :class:`~sk_avsc.comparison.ResNet50FrameClassifier` on
        :class:`~sk_avsc.comparison.VideoFrames`; ``"ensemble"``: the two in an
        :class:`~sk_avsc.comparison.AudioVisualEnsemble` (mean of their clip
        probabilities) on ``{"audio": log-mels, "video": frames}``.
        :data:`SYSTEM_FEATURES` names each system's input.
    audio_features : int, default=512
        Number of leading audio columns in ``X`` (OpenL3's audio embedding size;
        OpenL3 systems only).
    max_epochs : int or None, default=None
        Training epochs of every network; None: the published recipe's (200 for the
        OpenL3 heads, 510 for McDonnell's ResNet, 30 for the ResNet50).
    batch_size : int or None, default=None
        Mini-batch size of every network; None: the recipe's (64, 32 and 64).
    device : str, default="cpu"
        Torch device of every network (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    random_state : int, RandomState instance or None, default=None
        Seed of every network, the fusion head included; an int makes fitting
        repeat exactly on CPU.
    hidden_sizes : sequence of int or None, default=None
        Hidden layer sizes of the OpenL3 audio, video and early heads; None keeps
        SkorchMLPClassifier's default (the paper's ``(512, 128, 64)``). The fusion head of
        ``"proposed"`` keeps the authors' architecture.
    validation_split : float, splitter, None or "default", default="default"
        Every network's held-out validation set (see
        :class:`~sk_avsc.SkorchMLPClassifier`): a fraction (grouped by the ``groups``
        given to ``fit``, e.g. locations), a splitter such as
        :class:`~sk_avsc.datasets.AuthorsSplit` (the paper's split) or
        :class:`~sk_avsc.datasets.LocationShuffleSplit`, or None (no validation, last
        epoch kept). Its best loss picks the kept weights, except for McDonnell's
        ResNet, which keeps its last epoch as the authors do (its validation clips are
        only monitored). ``"default"``: 0.1, and None (all clips trained on, as the
        authors) for McDonnell's ResNet. Every network of a system holds out the same
        clips, since the fraction and the splitters are seeded alike. ``ZScore`` is
        fitted on all clips given to ``fit``, validation clips included (it uses no
        labels).
    resnet50_weights : str, path-like or None, default=None
        A torchvision-format ResNet50 ``state_dict`` file (ImageNet weights), for
        ``"resnet50"`` and ``"ensemble"``; None starts from random weights with a
        :class:`~sk_avsc.exceptions.RandomWeightsWarning`. Nothing is downloaded.
    crop_length : int or None, default=400
        McDonnell's random training crop in frames (the authors' 400 of 461); None
        trains on whole clips (shorter clips than 10 s need a shorter crop).

    Returns
    -------
    system : sklearn.pipeline.Pipeline
        OpenL3 systems: steps ``select`` (audio and video systems only), ``zscore``
        (:class:`~sk_avsc.ZScore`) and ``clf`` (:class:`~sk_avsc.ClipAggregator` of the
        classifier); ``fit`` takes ``X`` of shape ``(n_clips, n_windows, n_features)``
        and clip labels. Comparison systems: one step ``clf``. ``predict_proba``
        gives clip probabilities.

    Raises
    ------
    ParameterError
        For an unknown ``name`` or a non-positive ``audio_features``; the classifiers
        check their own parameters in ``fit``.

    See Also
    --------
    make_embedder : the paper's front end, from ``(audio file, video file)`` pairs to ``X``.
    make_frontend : the comparison systems' front ends.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.systems import make_system
    >>> system = make_system("audio", audio_features=4, max_epochs=2, random_state=0)
    >>> [step for step, _ in system.steps]
    ['select', 'zscore', 'clf']
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(8, 3, 6)), np.array(["bus", "park"] * 4)  # 3 windows per clip
    >>> system.fit(X, y).predict_proba(X).shape
    (8, 2)

    The paper's training, location-grouped validation included, is one ``fit`` call:

    >>> from sk_avsc.datasets import LocationShuffleSplit
    >>> system = make_system("early", max_epochs=2, random_state=0,
    ...                      validation_split=LocationShuffleSplit(test_size=0.25,
    ...                                                            random_state=0))
    >>> location = np.array(["a", "b", "c", "d"] * 2)
    >>> system.fit(X, y, clf__groups=location).predict(X).shape
    (8,)

    The comparison systems, with the published recipes:

    >>> clf = make_system("mcdonnell", random_state=0)[-1]
    >>> clf.max_epochs, clf.batch_size, clf.validation_split, clf.crop_length
    (510, 32, None, 400)
    >>> make_system("ensemble")[-1].video.max_epochs
    30
    """
    from sklearn.pipeline import Pipeline

    check_choice("name", name, available_systems(), owner="make_system")
    audio_features = check_int("audio_features", audio_features, owner="make_system")
    recipe = _Recipe(audio_features=audio_features, max_epochs=max_epochs,
                     batch_size=batch_size, device=device, random_state=random_state,
                     hidden_sizes=hidden_sizes, validation_split=validation_split,
                     resnet50_weights=resnet50_weights, crop_length=crop_length)
    return Pipeline(_BUILDERS[name](recipe))


def system_input(name: str, arrays: dict):
    """A system's ``X`` from its kinds' features (:func:`sk_avsc.store.read_features`).

    Examples
    --------
    >>> from sk_avsc.systems import system_input
    >>> sorted(system_input("ensemble", {"logmel": 1, "frames": 2}).items())
    [('audio', 1), ('video', 2)]
    >>> system_input("mcdonnell", {"logmel": 1})
    1
    """
    check_choice("name", name, available_systems(), owner="system_input")
    kinds = SYSTEM_FEATURES[name]
    if len(kinds) == 1:
        return arrays[kinds[0]]
    # AudioVisualEnsemble's sides: audio_key and video_key
    return {"audio": arrays["logmel"], "video": arrays["frames"]}


#: The comparison features' columns of a dataset table (``load_tau2021(...).frame``).
FRONTEND_COLUMNS = {"logmel": "filename_audio", "frames": "filename_video"}


def make_frontend(kind: str, *, duration: float | None = 10.0):
    """The front end of a comparison feature kind, fitted (it learns nothing).

    Parameters
    ----------
    kind : {"logmel", "frames"}
        ``"logmel"``: :class:`~sk_avsc.comparison.LogMelSpectrogram` (McDonnell & Gao's
        input, from the audio files); ``"frames"``:
        :class:`~sk_avsc.comparison.VideoFrames` (4 candidate frames per second, from
        the video files). The table column each reads is :data:`FRONTEND_COLUMNS`.
    duration : float or None, default=10.0
        Seconds per clip (TAU clips: 10, the recipes' length).

    Returns
    -------
    frontend : LogMelSpectrogram or VideoFrames

    Examples
    --------
    >>> from sk_avsc.systems import make_frontend
    >>> make_frontend("logmel").n_frames_, make_frontend("frames", duration=2.0).n_seconds_
    (461, 2)
    """
    from .comparison import LogMelSpectrogram, VideoFrames

    check_choice("kind", kind, tuple(FRONTEND_COLUMNS), owner="make_frontend")
    if kind == "logmel":
        return LogMelSpectrogram(duration=duration).fit()
    return VideoFrames(duration=duration).fit()


def count_system_parameters(name: str, *, n_classes: int = 10,
                            audio_features: int = 512) -> int:
    """Trainable parameters of a system for ``n_classes``, counted from its modules.

    OpenL3 systems count the OpenL3 networks they read (the audio one for ``"audio"``,
    the image one for ``"video"``, both otherwise; mel256, 512-d) and their heads
    (:class:`~sk_avsc.neural.MLPModule` of the paper's sizes; ``"proposed"`` with the
    fusion head on the two 128-d embeddings); ``"ensemble"`` counts both networks.
    Compare with :data:`PAPER_PARAMETERS`.

    Examples
    --------
    >>> from sk_avsc.systems import count_system_parameters
    >>> count_system_parameters("mcdonnell")
    3247416
    """
    from .comparison import McDonnellResNet, ResNet50, count_parameters
    from .neural import MLPModule
    from .openl3.models import AudioEmbeddingNetwork, ImageEmbeddingNetwork

    check_choice("name", name, available_systems(), owner="count_system_parameters")
    n = check_int("n_classes", n_classes, low=2, owner="count_system_parameters")
    if name == "mcdonnell":
        return count_parameters(McDonnellResNet(n_channels=6, n_classes=n))
    if name == "resnet50":
        return count_parameters(ResNet50(n_classes=n))
    if name == "ensemble":
        return sum(count_system_parameters(s, n_classes=n) for s in ("mcdonnell", "resnet50"))
    kw = dict(input_repr="mel256", content_type="env", embedding_size=audio_features)
    networks = {"audio": [AudioEmbeddingNetwork(**kw)], "video": [ImageEmbeddingNetwork(**kw)]}
    both = networks["audio"] + networks["video"]

    def head(n_features):
        return MLPModule(n_features, n)

    heads = {"audio": [head(audio_features)], "video": [head(audio_features)],
             "early": [head(2 * audio_features)],
             "late": [head(audio_features), head(audio_features)],
             "proposed": [head(audio_features), head(audio_features),
                          MLPModule(256, n, hidden_sizes=(128,), dropout=0.0,
                                    batch_norm=False, activation="identity")]}[name]
    return sum(count_parameters(m) for m in networks.get(name, both) + heads)


#: How :func:`validation_splitter` may choose the validation clips.
VALIDATION_SPLITS = ("auto", "authors", "location", "none")


def validation_splitter(how: str = "auto", groups=None, y=None, *, test_size: float = 0.1,
                        random_state=None):
    """The validation split of the networks, chosen by name for a set of clips.

    Parameters
    ----------
    how : {"auto", "authors", "location", "none"}, default="auto"
        ``"authors"``: the paper's split of TAU 2021 fold1_train
        (:class:`~sk_avsc.datasets.AuthorsSplit`); ``"location"``: a random split by
        location holding out about ``test_size`` of each class
        (:class:`~sk_avsc.datasets.LocationShuffleSplit`); ``"auto"``: the authors'
        split when ``groups`` holds their validation locations, else ``"location"``;
        ``"none"``: no validation set (the last epoch's weights are kept).
    groups : array-like of shape (n_clips,), default=None
        Recording location of every clip; needed except for ``"none"``.
    y : array-like of shape (n_clips,), default=None
        Clip labels, to check that a location split leaves clips on both sides.
    test_size : float, default=0.1
        Fraction held out by ``"location"``.
    random_state : int or None, default=None
        Seeds ``"location"``.

    Returns
    -------
    splitter : splitter or None
        For :func:`make_system`'s ``validation_split``; fit the system with
        ``clf__groups=groups``.
    name : str
        ``"authors"``, ``"location"`` or ``"none"``: what was chosen.

    Raises
    ------
    ParameterError
        When ``how`` is unknown, ``"authors"`` is asked for clips without the authors'
        validation locations, or a location split would leave one side empty.

    Examples
    --------
    >>> from sk_avsc.systems import validation_splitter
    >>> groups = ["a-1", "a-2", "a-3", "b-4", "b-5", "b-6"]
    >>> y = ["park"] * 3 + ["bus"] * 3
    >>> splitter, name = validation_splitter("auto", groups, y, test_size=0.3, random_state=0)
    >>> name, type(splitter).__name__
    ('location', 'LocationShuffleSplit')
    """
    from .datasets import AuthorsSplit, LocationShuffleSplit, authors_split
    from .exceptions import ParameterError

    check_choice("how", how, VALIDATION_SPLITS, owner="validation_splitter")
    if how == "none":
        return None, "none"
    groups = np.asarray(groups, dtype=str)
    if how == "auto":
        try:
            authors_split(groups)
            how = "authors"
        except ParameterError:
            how = "location"
    if how == "authors":
        authors_split(groups)  # raises, naming what to use instead
        return AuthorsSplit(), "authors"
    splitter = LocationShuffleSplit(test_size=test_size, random_state=random_state)
    train, valid = next(splitter.split(groups, y, groups))
    if len(train) == 0 or len(valid) == 0:
        raise ParameterError(
            "validation_splitter: too few locations for a validation split by location "
            "(every class has one location); use no validation split ('none')."
        )
    return splitter, "location"


def make_embedder(
    *,
    weights=None,
    hop_size: float = 0.1,
    duration: float | None = None,
    frontend: str = PAPER_FRONTEND,
    batch_size: int = 32,
    cache_dir=None,
    n_jobs=None,
    device: str = "cpu",
    precision: str = "float32",
    compile: bool = False,
    decode_workers: int = 1,
    verbose: int = 0,
):
    """The paper's front end: OpenL3 audio and video-frame embeddings of every window.

    An :class:`~sk_avsc.AudioVisualEmbedder` of an :class:`~sk_avsc.OpenL3AudioEmbedder`
    and an :class:`~sk_avsc.OpenL3FrameEmbedder`, both mel256 / ``"env"`` / 512-d with
    centred windows, as the paper uses them. Its output of shape
    ``(n_clips, n_windows, 1024)`` (audio then video) is what :func:`make_system`'s
    systems take.

    Parameters
    ----------
    weights : None, "random" or folder path, default=None
        OpenL3 weights of both networks: None finds (or downloads once) the official
        files; a folder holding both :data:`WEIGHT_FILES` (``.h5`` or ``.h5.gz``);
        ``"random"`` for tests. One weight file cannot serve both networks.
    hop_size : float, default=0.1
        Hop between windows in seconds (the paper's 0.1).
    duration : float or None, default=None
        Crop or pad every clip to this many seconds (TAU clips: 10); None keeps each
        clip's length.
    frontend : {"kapre-0.1.4", "kapre", "librosa"}, default="kapre-0.1.4"
        The audio network's spectrogram (see :class:`~sk_avsc.OpenL3AudioEmbedder`):
        the default is openl3 0.3.1's, the version the paper's authors used (and
        their released heads were trained on); ``"kapre"`` is openl3 0.4.2's default,
        whose embeddings differ by a relative L2 of ~0.23 on the official weights.
    batch_size : int, default=32
        Windows (audio) or frames (video) per network call.
    cache_dir : str, path-like or None, default=None
        Per-clip embedding cache, so that a rerun resumes.
    n_jobs : int or None, default=None
        Clips embedded in parallel.
    device : str, default="cpu"
        Torch device of both networks.
    precision : {"float32", "tf32", "bfloat16"}, default="float32"
        Arithmetic of both networks (``"tf32"`` on CUDA only; see
        :class:`~sk_avsc.OpenL3AudioEmbedder`); part of the cache key.
    compile : bool, default=False
        ``torch.compile`` both networks.
    decode_workers : int, default=1
        Threads decoding clips ahead of the networks.
    verbose : int, default=0
        Progress bars when > 0.

    Returns
    -------
    embedder : AudioVisualEmbedder
        Unfitted; ``transform`` takes a table with ``filename_audio`` and
        ``filename_video`` columns (``load_tau2021(...).data``).

    Raises
    ------
    WeightsError
        If ``weights`` is a folder that lacks either file, or is not a folder.

    Examples
    --------
    >>> from sk_avsc.systems import make_embedder
    >>> emb = make_embedder(weights="random", hop_size=0.5)
    >>> emb.audio.hop_size, emb.audio.frontend, emb.video.embedding_size
    (0.5, 'kapre-0.1.4', 512)
    """
    from .embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder

    # a folder is resolved here; None stays None (found, or downloaded, when fitted)
    paths = front_end_weights(weights, download=False) if _is_folder_arg(weights) else {
        "audio": weights, "image": weights}
    common = dict(input_repr="mel256", content_type="env",
                  embedding_size=512, hop_size=hop_size, center=True, duration=duration,
                  batch_size=batch_size)
    return AudioVisualEmbedder(OpenL3AudioEmbedder(weights=paths["audio"], frontend=frontend,
                                                   **common),
                               OpenL3FrameEmbedder(weights=paths["image"], **common),
                               cache_dir=cache_dir, n_jobs=n_jobs, device=device,
                               precision=precision, compile=compile,
                               decode_workers=decode_workers, verbose=verbose)


def _is_folder_arg(weights) -> bool:
    return weights is not None and not (isinstance(weights, str) and weights == "random")


def front_end_weights(weights=None, *, download: bool = True,
                      option: str = "weights=FOLDER") -> dict:
    """The weight files of the paper's two networks, as :func:`make_embedder` takes them.

    Parameters
    ----------
    weights : None, "random" or folder path, default=None
        As for :func:`make_embedder`: None looks for the official files where
        :func:`sk_avsc.openl3.resolve_weights` does (downloading them if allowed),
        a folder must hold both :data:`WEIGHT_FILES`.
    download : bool, default=True
        With ``weights=None``, download files that are not on this machine.
    option : str, default="weights=FOLDER"
        How the caller passes a folder, for the message (the CLI: ``--weights FOLDER``).

    Returns
    -------
    paths : dict
        ``{"audio": path, "image": path}`` (``"random"`` for both with random weights).

    Raises
    ------
    WeightsError
        Naming both files when either is missing, and how to provide them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sk_avsc.systems import WEIGHT_FILES, front_end_weights
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "openl3_audio_mel256_env.h5").write_bytes(b"")
    >>> _ = (folder / "openl3_image_mel256_env.h5.gz").write_bytes(b"")
    >>> sorted(p.name for p in front_end_weights(folder).values())
    ['openl3_audio_mel256_env.h5', 'openl3_image_mel256_env.h5.gz']
    """
    from .exceptions import WeightsError
    from .openl3 import _download

    if not _is_folder_arg(weights):
        if weights is None:
            found, missing, reasons = {}, [], []
            for modality, name in WEIGHT_FILES.items():
                try:
                    found[modality] = _download.resolve_weights(
                        modality, "mel256", "env", download=download)
                except WeightsError as exc:
                    missing.append(name)
                    if exc.__cause__ is not None:  # the download's own failure
                        reasons.append(str(exc.__cause__))
            if missing:
                dirs = ", ".join(str(d) for d in _download.search_dirs())
                raise WeightsError(
                    f"OpenL3 weight file(s) {' and '.join(missing)} not found (searched "
                    f"{dirs})" + (f" and not downloaded ({reasons[0]})" if reasons else "")
                    + f"; the front end needs both {' and '.join(WEIGHT_FILES.values())}: put "
                    f"them (.h5 or .h5.gz, from {_download.DEFAULT_BASE_URL}) in one folder "
                    f"and pass {option}, or set SK_AVSC_WEIGHTS_DIR to that folder."
                )
            return found
        return {"audio": weights, "image": weights}
    folder = Path(os.fspath(weights)).expanduser()
    both = " and ".join(WEIGHT_FILES.values())
    if not folder.is_dir():
        what = "is a file" if folder.is_file() else "does not exist"
        raise WeightsError(
            f"weights {str(folder)!r} {what}: the front end has two networks, so pass the "
            f"folder that holds {both} (.h5 or .h5.gz) as {option}."
        )
    found, missing = {}, []
    for modality, name in WEIGHT_FILES.items():
        path = _download.find_in_folder(folder, name)  # .h5, .h5.gz, -v0_4_0 names
        if path is not None:
            found[modality] = path
        else:
            missing.append(name)
    if missing:
        raise WeightsError(
            f"weights folder {str(folder)!r} lacks {' and '.join(missing)}: it must hold "
            f"{both} (.h5 or .h5.gz, from {_download.DEFAULT_BASE_URL}); pass that folder as "
            f"{option}."
        )
    return found
