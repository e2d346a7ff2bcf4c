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

from collections.abc import Callable

import numpy as np

from ._validation import check_choice, check_int

__all__ = ["SYSTEMS", "PAPER_ACCURACY", "available_systems", "make_system", "make_embedder"]

#: The paper's five systems (Table 2), in its order.
SYSTEMS = ("audio", "video", "early", "late", "proposed")
#: Table 2 of the paper: clip accuracy (%) on fold1_evaluate.
PAPER_ACCURACY = {"audio": 75.8, "video": 68.4, "early": 82.2, "late": 80.8, "proposed": 84.8}

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
                    random_state=random_state)

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
    weights : None, "random" or path, default=None
        OpenL3 weights of both networks: None finds (or downloads once) the official
        files; ``"random"`` for tests.
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

    Examples
    --------
    >>> from sk_avsc.systems import make_embedder
    >>> emb = make_embedder(weights="random", hop_size=0.5)
    >>> emb.audio.hop_size, emb.video.embedding_size
    (0.5, 512)
    """
    from .embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder

    common = dict(weights=weights, input_repr="mel256", content_type="env",
                  embedding_size=512, hop_size=hop_size, center=True, duration=duration,
                  batch_size=batch_size)
    return AudioVisualEmbedder(OpenL3AudioEmbedder(**common), OpenL3FrameEmbedder(**common),
                               cache_dir=cache_dir, n_jobs=n_jobs, device=device,
                               verbose=verbose)
