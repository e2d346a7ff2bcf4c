"""Audio-visual fusion: the paper's two-stage (proposed) fusion and late fusion.

The paper's five systems, on window embeddings ``X`` of shape ``(n, 1024)`` (512 audio
columns, then 512 video columns):

- audio only: ``MLPClassifier()`` on ``X[:, :512]``; video only: on ``X[:, 512:]``;
- early fusion: ``MLPClassifier()`` on all of ``X`` (no class of its own is needed);
- late fusion: :class:`LateFusionClassifier`;
- proposed fusion: :class:`StackedAVClassifier`.

Wrap any of them in :class:`sk_avsc.ClipAggregator` for clip decisions.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import GroupKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._meta import any_non_deterministic, fit_with, representation
from .exceptions import ParameterError
from .neural import MLPClassifier

__all__ = ["StackedAVClassifier", "LateFusionClassifier"]


def _default_fusion(random_state=None) -> MLPClassifier:
    # the authors' proposed_fusion_head.pt: Linear(256, 128) -> Linear(128, n_classes)
    return MLPClassifier(
        hidden_sizes=(128,),
        dropout=0.0,
        batch_norm=False,
        activation="identity",
        random_state=random_state,
    )


def _default_seeds(random_state, n: int) -> list:
    """Seeds for the ``n`` default sub-classifiers (None stays unseeded)."""
    if random_state is None:
        return [None] * n
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=n)]


class _AVBase(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Column split into audio (first ``audio_features``) and video (the rest)."""

    def _audio_features(self, n_features: int) -> int:
        n_a = self.audio_features
        name = type(self).__name__
        if not isinstance(n_a, numbers.Integral) or n_a < 1:
            raise ParameterError(
                f"{name}: audio_features must be a positive int (number of leading audio "
                f"columns, 512 for OpenL3), got {n_a!r}."
            )
        if n_a >= n_features:
            raise ParameterError(
                f"{name}: audio_features={n_a} leaves no video columns, but X has "
                f"{n_features} feature(s); pass audio+video features concatenated audio "
                "first (e.g. AudioVisualEmbedder's 1024-d output) or lower audio_features."
            )
        return int(n_a)

    def _validate_fit(self, X, y, validation_data):
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        check_classification_targets(y)
        if len(np.unique(y)) < 2:
            raise ParameterError(
                f"{type(self).__name__}: training data has 1 class; a classifier needs at "
                "least 2 classes."
            )
        n_a = self._audio_features(X.shape[1])
        val = None
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = validate_data(self, X_val, dtype=[np.float32, np.float64], reset=False)
            val = (X_val, np.asarray(y_val))
        return X, y, n_a, val

    def _split_av(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        n_a = self.audio_features
        return X[:, :n_a], X[:, n_a:]

    def _components(self):
        """(audio, video, fusion) classifiers; defaults for ``None``, seeded by random_state."""
        seeds = _default_seeds(self.random_state, 3)
        audio = MLPClassifier(random_state=seeds[0]) if self.audio is None else self.audio
        video = MLPClassifier(random_state=seeds[1]) if self.video is None else self.video
        fusion = getattr(self, "fusion", None)
        fusion = _default_fusion(seeds[2]) if fusion is None else fusion
        return audio, video, fusion

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class StackedAVClassifier(_AVBase):
    """The paper's proposed two-stage audio-visual fusion.

    Stage 1 trains an audio classifier on the first ``audio_features`` columns and a
    video classifier on the rest. Stage 2 trains the ``fusion`` classifier on their
    learned representations (the output of each network's second Linear layer, 128-d
    in the paper), concatenated audio first.

    Parameters
    ----------
    audio : classifier or None, default=None
        Stage-1 audio classifier, cloned; ``None`` is ``MLPClassifier()`` (the paper).
        Its representation is ``embed(X)`` when it has one (MLPClassifier), else
        ``transform(X)``, else ``predict_proba(X)``.
    video : classifier or None, default=None
        Stage-1 video classifier, likewise.
    fusion : classifier or None, default=None
        Stage-2 classifier, cloned. ``None`` is the authors' head
        ``MLPClassifier(hidden_sizes=(128,), dropout=0.0, batch_norm=False,
        activation="identity")``: Linear(256, 128) then Linear(128, n_classes) with no
        activation between, the layout of ``proposed_fusion_head.pt``.
    audio_features : int, default=512
        Number of leading audio columns in ``X``.
    cv : None, int, cross-validation generator or iterable, default=None
        ``None`` (the paper): stage 2 is trained on the stage-1 representations of the
        same training data the stage-1 networks were trained on. Otherwise stage 2 is
        trained on out-of-fold representations, as in scikit-learn's
        ``StackingClassifier``: an int gives ``GroupKFold(cv)`` when ``groups`` are
        passed to ``fit`` (folds by location), else ``StratifiedKFold(cv)``. See Notes:
        on synthetic data it did not help.
    random_state : int, RandomState instance or None, default=None
        Seeds the classifiers built for ``audio``, ``video`` or ``fusion`` left at
        ``None`` (each gets its own seed drawn from it), so that the default system
        repeats exactly on CPU. Classifiers you pass keep their own ``random_state``.

    Attributes
    ----------
    audio_ : classifier
        Fitted audio classifier (on all training data).
    video_ : classifier
        Fitted video classifier.
    fusion_ : classifier
        Fitted fusion classifier.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input columns (audio + video).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    LateFusionClassifier : averages the two classifiers' probabilities instead.
    MLPClassifier : stage-1 network; early fusion is an MLPClassifier on all columns.
    ClipAggregator : clip decisions from window-level predictions.

    Notes
    -----
    Each stage-1 classifier and the fusion classifier hold out their own validation
    data to pick their best epoch; ``groups`` (and ``validation_data``) reach every
    classifier whose ``fit`` accepts them, so with the same ``random_state`` the three
    networks use the same location split, as in the paper.

    Out-of-fold stage-1 features (``cv=``) did not help on synthetic data
    (``benchmarks/bench_fusion_cv.py``: the task of ``tests/synthetic_av.py``, audio
    separating some class pairs and video others, per-location offsets, 12 locations,
    clip accuracy under ``GroupKFold(4)`` over locations, mean of 3 data seeds, small
    networks). On the default data both are near the ceiling: ``cv=None`` 0.961,
    ``cv=3`` 0.972 (within the seed-to-seed spread; audio only 0.497, video only
    0.485). On noisier data (``--hard``) ``cv=None`` 0.806 and ``cv=3`` 0.757, worse on
    every seed (audio only 0.384, video only 0.419, early fusion 0.780, late fusion
    0.720), at about four times the training cost. A likely reason: unlike the class
    probabilities that scikit-learn's ``StackingClassifier`` stacks, hidden-layer
    representations of separately trained networks share no common basis, so the
    fusion head learns on the fold networks' feature spaces and is applied to another
    network's. The option stays for experiments, e.g. with stage-1 estimators whose
    outputs are comparable across fits.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc import MLPClassifier, StackedAVClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 8)).astype(np.float32)  # 4 audio + 4 video columns
    >>> y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 4] > 0)
    >>> head = MLPClassifier(hidden_sizes=(16, 8), lr=1e-2, max_epochs=3, random_state=0)
    >>> clf = StackedAVClassifier(audio=head, video=head, audio_features=4,
    ...                           fusion=MLPClassifier(hidden_sizes=(8,), max_epochs=3,
    ...                                                lr=1e-2, random_state=0))
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 4)
    >>> clf.transform_stage1(X[:3]).shape  # the fusion head's input: 8 audio + 8 video
    (3, 16)
    """

    def __init__(
        self, audio=None, video=None, fusion=None, audio_features=512, cv=None, random_state=None
    ):
        self.audio = audio
        self.video = video
        self.fusion = fusion
        self.audio_features = audio_features
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Fit the audio and video classifiers, then the fusion classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)
            Audio columns first.
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            Group (location) of each sample, passed to every classifier whose ``fit``
            accepts it (their internal validation split) and to ``cv``'s splitter.
        validation_data : tuple (X_val, y_val), default=None
            Fixed validation set (audio+video columns) for all three classifiers.

        Returns
        -------
        self : StackedAVClassifier
        """
        X, y, n_a, val = self._validate_fit(X, y, validation_data)
        audio, video, fusion = self._components()
        parts = {"audio": (audio, slice(None, n_a)), "video": (video, slice(n_a, None))}
        fitted = {}
        for key, (est, cols) in parts.items():
            val_k = None if val is None else (val[0][:, cols], val[1])
            fitted[key] = fit_with(clone(est), X[:, cols], y, groups=groups, validation_data=val_k)
        self.audio_, self.video_ = fitted["audio"], fitted["video"]

        if self.cv is None:
            Z = self._stage1(X, n_a)
        else:
            Z = self._out_of_fold(X, y, groups, parts)
        val_z = None if val is None else (self._stage1(val[0], n_a), val[1])
        self.fusion_ = fit_with(clone(fusion), Z, y, groups=groups, validation_data=val_z)
        self.classes_ = self.fusion_.classes_
        return self

    def _stage1(self, X, n_a):
        return np.hstack(
            [representation(self.audio_, X[:, :n_a]), representation(self.video_, X[:, n_a:])]
        )

    def _out_of_fold(self, X, y, groups, parts):
        cv = self.cv
        if isinstance(cv, numbers.Integral) and groups is not None:
            cv = GroupKFold(n_splits=cv)
        cv = check_cv(cv, y, classifier=True)
        blocks = []
        for key, (est, cols) in parts.items():
            width = representation(getattr(self, f"{key}_"), X[:1, cols]).shape[1]
            Z = np.full((len(X), width), np.nan, dtype=np.float32)
            for train, test in cv.split(X, y, groups):
                g = None if groups is None else np.asarray(groups)[train]
                est_f = fit_with(clone(est), X[train][:, cols], y[train], groups=g)
                Z[test] = representation(est_f, X[test][:, cols])
            if np.isnan(Z).any():
                raise ParameterError(
                    f"{type(self).__name__}: cv={self.cv!r} left samples without an "
                    "out-of-fold prediction; use a partition (KFold-like) splitter."
                )
            blocks.append(Z)
        return np.hstack(blocks)

    def transform_stage1(self, X):
        """Stage-1 representations that the fusion classifier sees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_audio_repr + n_video_repr), float32
            Audio representation first (256 columns with the paper's networks).
        """
        Xa, Xv = self._split_av(X)
        return np.hstack([representation(self.audio_, Xa), representation(self.video_, Xv)])

    def predict_proba(self, X):
        """Class probabilities of the fusion classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        Z = self.transform_stage1(X)
        return self.fusion_.predict_proba(Z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        audio, video, fusion = self._components()
        tags.non_deterministic = any_non_deterministic(audio, video, fusion)
        return tags


class LateFusionClassifier(_AVBase):
    """Late fusion: weighted mean of an audio and a video classifier's probabilities.

    Parameters
    ----------
    audio : classifier or None, default=None
        Audio classifier with ``predict_proba``, cloned; ``None`` is ``MLPClassifier()``.
    video : classifier or None, default=None
        Video classifier, likewise.
    audio_features : int, default=512
        Number of leading audio columns in ``X``.
    weights : tuple (w_audio, w_video) or None, default=None
        Non-negative weights; ``None`` means equal weights.
    random_state : int, RandomState instance or None, default=None
        Seeds the classifiers built for ``audio`` or ``video`` left at ``None``;
        classifiers you pass keep their own ``random_state``.

    Attributes
    ----------
    audio_ : classifier
        Fitted audio classifier.
    video_ : classifier
        Fitted video classifier.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    StackedAVClassifier : the paper's proposed fusion.
    MLPClassifier : early fusion is an MLPClassifier on the concatenated columns.

    Notes
    -----
    The rule: ``p(c | x) = (w_a * p_audio(c | x_a) + w_v * p_video(c | x_v)) / (w_a +
    w_v)``, a weighted arithmetic mean, so rows sum to 1. Combined with
    :class:`ClipAggregator`'s sum over windows, the clip decision is the argmax of the
    summed window probabilities of both modalities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_avsc import LateFusionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> y = (X[:, 0] + X[:, 3] > 0).astype(int)
    >>> clf = LateFusionClassifier(LogisticRegression(), LogisticRegression(),
    ...                            audio_features=2, weights=(2, 1)).fit(X, y)
    >>> clf.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    def __init__(self, audio=None, video=None, audio_features=512, weights=None,
                 random_state=None):
        self.audio = audio
        self.video = video
        self.audio_features = audio_features
        self.weights = weights
        self.random_state = random_state

    def _weights(self):
        if self.weights is None:
            return 0.5, 0.5
        try:
            w_a, w_v = (float(w) for w in self.weights)
        except (TypeError, ValueError):
            w_a = w_v = -1.0
        if not (w_a >= 0 and w_v >= 0 and w_a + w_v > 0):
            raise ParameterError(
                f"{type(self).__name__}: weights must be None or two non-negative numbers "
                f"(w_audio, w_video) not both 0, got {self.weights!r}."
            )
        return w_a / (w_a + w_v), w_v / (w_a + w_v)

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Fit the audio and the video classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)
            Audio columns first.
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            Passed to each classifier whose ``fit`` accepts it.
        validation_data : tuple (X_val, y_val), default=None
            Fixed validation set (audio+video columns), split for the two classifiers.

        Returns
        -------
        self : LateFusionClassifier
        """
        self._weights()
        X, y, n_a, val = self._validate_fit(X, y, validation_data)
        audio, video, _ = self._components()
        parts = (("audio", audio, slice(None, n_a)), ("video", video, slice(n_a, None)))
        for key, est, cols in parts:
            val_k = None if val is None else (val[0][:, cols], val[1])
            fitted = fit_with(clone(est), X[:, cols], y, groups=groups, validation_data=val_k)
            setattr(self, f"{key}_", fitted)
        if not np.array_equal(self.audio_.classes_, self.video_.classes_):
            raise ParameterError(
                f"{type(self).__name__}: the audio and video classifiers learned different "
                f"classes ({self.audio_.classes_} vs {self.video_.classes_})."
            )
        self.classes_ = self.audio_.classes_
        return self

    def predict_proba(self, X):
        """Weighted mean of the two classifiers' probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        Xa, Xv = self._split_av(X)
        w_a, w_v = self._weights()
        return w_a * self.audio_.predict_proba(Xa) + w_v * self.video_.predict_proba(Xv)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = any_non_deterministic(*self._components()[:2])
        return tags
