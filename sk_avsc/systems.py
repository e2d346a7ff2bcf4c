"""The paper's systems, built by name: one definition for the CLI, the examples and users.

:func:`make_embedder` is the paper's front end (OpenL3 mel256 / ``"env"`` / 512-d audio
and image embeddings of centred 1-s windows). :func:`make_system` builds a back end, a
scikit-learn :class:`~sklearn.pipeline.Pipeline` from the stored window embeddings
``(n_clips, n_windows, audio_features + video_features)`` to clip labels: column
selection (single-modality systems), :class:`~sk_avsc.ZScore`, and the window-level
classifier inside :class:`~sk_avsc.ClipAggregator` (sum of window probabilities).
Systems are registered by name in this module; comparison systems join the registry
with ``@_register("name")``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._validation import check_choice, check_int

__all__ = [
    "SYSTEMS",
    "PAPER_ACCURACY",
    "WEIGHT_FILES",
    "VALIDATION_SPLITS",
    "available_systems",
    "make_system",
    "validation_splitter",
    "make_embedder",
    "front_end_weights",
]

#: The paper's five systems (Table 2), in its order.
SYSTEMS = ("audio", "video", "early", "late", "proposed")
#: Table 2 of the paper: clip accuracy (%) on fold1_evaluate.
PAPER_ACCURACY = {"audio": 75.8, "video": 68.4, "early": 82.2, "late": 80.8, "proposed": 84.8}
#: The official OpenL3 weight files of the paper's front end (``.h5.gz`` accepted too).
WEIGHT_FILES = {"audio": "openl3_audio_mel256_env.h5", "image": "openl3_image_mel256_env.h5"}

# name -> builder(audio_features, head, fusion_head) returning (column range or None,
# window-level classifier); head() and fusion_head() make fresh MLPClassifiers
_BUILDERS: dict[str, Callable] = {}


def _register(name: str):
    def add(builder):
        _BUILDERS[name] = builder
        return builder

    return add


def _take_columns(X, start: int, stop: int | None):
    """Columns ``start:stop`` of the last axis (module level so that fitted systems pickle)."""
    return np.asarray(X)[..., start:stop]


@_register("audio")
def _audio(audio_features, head, fusion_head):
    return (0, audio_features), head()


@_register("video")
def _video(audio_features, head, fusion_head):
    return (audio_features, None), head()


@_register("early")
def _early(audio_features, head, fusion_head):
    return None, head()


@_register("late")
def _late(audio_features, head, fusion_head):
    from .fusion import LateFusionClassifier

    return None, LateFusionClassifier(audio=head(), video=head(), audio_features=audio_features)


@_register("proposed")
def _proposed(audio_features, head, fusion_head):
    from .fusion import StackedAVClassifier

    return None, StackedAVClassifier(audio=head(), video=head(), fusion=fusion_head(),
                                     audio_features=audio_features)


def available_systems() -> tuple[str, ...]:
    """Names :func:`make_system` accepts: the paper's :data:`SYSTEMS` first.

    Returns
    -------
    names : tuple of str
        The registered system names, in registration order.

    Examples
    --------
    >>> from sk_avsc.systems import available_systems
    >>> available_systems()[:5]
    ('audio', 'video', 'early', 'late', 'proposed')
    """
    return tuple(_BUILDERS)


def make_system(
    name: str,
    *,
    audio_features: int = 512,
    max_epochs: int = 200,
    batch_size: int = 64,
    device: str = "cpu",
    random_state=None,
    hidden_sizes=None,
    validation_split=0.1,
):
    """One of the paper's systems as an unfitted scikit-learn Pipeline on window embeddings.

    Parameters
    ----------
    name : {"audio", "video", "early", "late", "proposed"}
        ``"audio"`` / ``"video"``: an :class:`~sk_avsc.SkorchMLPClassifier` on the audio
        (first ``audio_features``) or the video columns only; ``"early"``: one
        SkorchMLPClassifier on all columns; ``"late"``: :class:`~sk_avsc.LateFusionClassifier`
        of an audio and a video SkorchMLPClassifier; ``"proposed"``: the paper's two-stage
        :class:`~sk_avsc.StackedAVClassifier` with the authors' fusion head
        (``hidden_sizes=(128,)``, no dropout, no batch norm, identity activation).
    audio_features : int, default=512
        Number of leading audio columns in ``X`` (OpenL3's audio embedding size).
    max_epochs : int, default=200
        Training epochs of every SkorchMLPClassifier (the paper's 200).
    batch_size : int, default=64
        Mini-batch size of every SkorchMLPClassifier (the paper's 64).
    device : str, default="cpu"
        Torch device of every SkorchMLPClassifier (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    random_state : int, RandomState instance or None, default=None
        Seed of every SkorchMLPClassifier, the fusion head included; an int makes fitting
        repeat exactly on CPU.
    hidden_sizes : sequence of int or None, default=None
        Hidden layer sizes of the audio, video and early heads; None keeps
        SkorchMLPClassifier's default (the paper's ``(512, 128, 64)``). The fusion head of
        ``"proposed"`` keeps the authors' architecture.
    validation_split : float, splitter or None, default=0.1
        Every network's held-out validation set, whose best loss picks the kept weights
        (see :class:`~sk_avsc.SkorchMLPClassifier`): a fraction (grouped by the ``groups``
        given to ``fit``, e.g. locations), a splitter such as
        :class:`~sk_avsc.datasets.AuthorsSplit` (the paper's split) or
        :class:`~sk_avsc.datasets.LocationShuffleSplit`, or None (no validation, last
        epoch kept). Every network of a system holds out the same clips, since the
        fraction and the splitters are seeded alike. ``ZScore`` is fitted on all clips
        given to ``fit``, validation clips included (it uses no labels).

    Returns
    -------
    system : sklearn.pipeline.Pipeline
        Steps ``select`` (audio and video systems only), ``zscore`` (:class:`~sk_avsc.ZScore`)
        and ``clf`` (:class:`~sk_avsc.ClipAggregator` of the classifier). ``fit`` takes
        ``X`` of shape ``(n_clips, n_windows, n_features)`` and clip labels;
        ``predict_proba`` gives clip probabilities.

    Raises
    ------
    ParameterError
        For an unknown ``name`` or a non-positive ``audio_features``; the classifiers
        check their own parameters in ``fit``.

    See Also
    --------
    make_embedder : the paper's front end, from ``(audio file, video file)`` pairs to ``X``.

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
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from .aggregation import ClipAggregator
    from .fusion import _default_fusion
    from .neural import SkorchMLPClassifier
    from .preprocessing import ZScore

    check_choice("name", name, available_systems(), owner="make_system")
    audio_features = check_int("audio_features", audio_features, owner="make_system")
    training = dict(max_epochs=max_epochs, batch_size=batch_size, device=device,
                    random_state=random_state, validation_split=validation_split)

    def head():
        shape = {} if hidden_sizes is None else {"hidden_sizes": hidden_sizes}
        return SkorchMLPClassifier(**shape, **training)

    def fusion_head():
        return _default_fusion().set_params(**training)

    select, clf = _BUILDERS[name](audio_features, head, fusion_head)
    steps = []
    if select is not None:
        steps.append(("select", FunctionTransformer(
            _take_columns, kw_args={"start": select[0], "stop": select[1]})))
    steps += [("zscore", ZScore()), ("clf", ClipAggregator(clf))]
    return Pipeline(steps)


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
    batch_size: int = 32,
    cache_dir=None,
    n_jobs=None,
    device: str = "cpu",
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
    batch_size : int, default=32
        Windows (audio) or frames (video) per network call.
    cache_dir : str, path-like or None, default=None
        Per-clip embedding cache, so that a rerun resumes.
    n_jobs : int or None, default=None
        Clips embedded in parallel.
    device : str, default="cpu"
        Torch device of both networks.
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
    >>> emb.audio.hop_size, emb.video.embedding_size
    (0.5, 512)
    """
    from .embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder

    # a folder is resolved here; None stays None (found, or downloaded, when fitted)
    paths = front_end_weights(weights, download=False) if _is_folder_arg(weights) else {
        "audio": weights, "image": weights}
    common = dict(input_repr="mel256", content_type="env",
                  embedding_size=512, hop_size=hop_size, center=True, duration=duration,
                  batch_size=batch_size)
    return AudioVisualEmbedder(OpenL3AudioEmbedder(weights=paths["audio"], **common),
                               OpenL3FrameEmbedder(weights=paths["image"], **common),
                               cache_dir=cache_dir, n_jobs=n_jobs, device=device,
                               verbose=verbose)


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
        # the names resolve_weights accepts in a folder (name.h5, .h5.gz, -v0_4_0 ones)
        hits = [folder / n for n in _download._candidate_names(name) if (folder / n).is_file()]
        if hits:
            found[modality] = hits[0]
        else:
            missing.append(name)
    if missing:
        raise WeightsError(
            f"weights folder {str(folder)!r} lacks {' and '.join(missing)}: it must hold "
            f"{both} (.h5 or .h5.gz, from {_download.DEFAULT_BASE_URL}); pass that folder as "
            f"{option}."
        )
    return found
