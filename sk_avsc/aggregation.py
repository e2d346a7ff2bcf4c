"""Clip-level decisions from window-level classifiers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._meta import fit_accepts, fit_with, ndim
from .exceptions import ParameterError

__all__ = ["ClipAggregator", "aggregate_windows", "AGGREGATION_METHODS"]

#: The clip rules :func:`aggregate_windows` (and :class:`ClipAggregator`) know.
AGGREGATION_METHODS = ("sum", "log", "vote")


def check_window_proba(proba, name: str = "window_proba", ndims=(3,)) -> np.ndarray:
    """``proba`` as float64 after checking shape and values; raise ParameterError."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim not in ndims:
        shapes = " or ".join(
            {2: "(n_clips, n_classes)", 3: "(n_clips, n_windows, n_classes)"}[d] for d in ndims
        )
        raise ParameterError(f"{name} must have shape {shapes}, got shape {proba.shape}.")
    if proba.size == 0 or proba.shape[-1] < 2:
        raise ParameterError(f"{name} must hold at least one row and 2 classes, got {proba.shape}.")
    if not np.isfinite(proba).all() or (proba < 0).any():
        raise ParameterError(
            f"{name} must hold finite, non-negative probabilities (predict_proba output, "
            "not logits)."
        )
    return proba


def normalise_rows(p: np.ndarray) -> np.ndarray:
    """Divide each row (last axis) by its sum."""
    total = p.sum(axis=-1, keepdims=True)
    if (total <= 0).any():
        raise ParameterError("a row of probabilities sums to 0; cannot normalise it.")
    return p / total


def aggregate_windows(window_proba, *, method: str = "sum") -> np.ndarray:
    """Clip probabilities from window probabilities: the one home of the clip rule.

    Parameters
    ----------
    window_proba : array-like of shape (n_clips, n_windows, n_classes)
        Class probabilities of every window of every clip.
    method : {"sum", "log", "vote"}, default="sum"
        ``"sum"``: the paper's rule, the sum of the windows' probabilities (the same as
        their mean). ``"log"``: the sum of the windows' log-probabilities (a product
        rule). ``"vote"``: the fraction of windows whose argmax is each class.

    Returns
    -------
    proba : ndarray of shape (n_clips, n_classes)
        Normalised so that each row sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.aggregation import aggregate_windows
    >>> p = np.array([[[0.6, 0.4], [0.2, 0.8], [0.3, 0.7]]])
    >>> aggregate_windows(p)
    array([[0.3667, 0.6333]])
    >>> aggregate_windows(p, method="vote")
    array([[0.3333, 0.6667]])
    """
    if method not in AGGREGATION_METHODS:
        raise ParameterError(f"method must be one of {AGGREGATION_METHODS}, got {method!r}.")
    p = check_window_proba(window_proba)
    if method == "sum":
        scores = p.sum(axis=1)
    elif method == "log":
        logp = np.log(np.clip(p, np.finfo(p.dtype).tiny, None)).sum(axis=1)
        scores = np.exp(logp - logp.max(axis=1, keepdims=True))
    else:
        votes = p.argmax(axis=2)
        scores = np.stack([(votes == k).sum(axis=1) for k in range(p.shape[2])], axis=1)
        scores = scores.astype(p.dtype)
    return normalise_rows(scores)


class ClipAggregator(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Train a window-level classifier on every window; decide per clip.

    ``X`` holds clips as ``(n_clips, n_windows, n_features)`` (the embedders' output).
    :meth:`fit` trains ``estimator`` on all ``n_clips * n_windows`` windows, each
    labelled with its clip's label. :meth:`predict_proba` aggregates the windows'
    class probabilities per clip; :meth:`predict` takes the argmax, the paper's rule
    with ``method="sum"``. A 2-D ``X`` is read as one window per clip.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier with ``predict_proba`` (cloned), e.g.
        :class:`MLPClassifier`, :class:`StackedAVClassifier` or ``LogisticRegression``.
    method : {"sum", "log", "vote"}, default="sum"
        The clip rule of :func:`aggregate_windows`: ``"sum"`` (the paper's) sums the
        window probabilities, ``"log"`` their logarithms, ``"vote"`` counts argmaxes.

    Attributes
    ----------
    estimator_ : classifier
        The fitted window-level classifier.
    classes_ : ndarray of shape (n_classes,)
        Class labels (``estimator_.classes_``).
    n_features_in_ : int
        Number of features per window.

    See Also
    --------
    MLPClassifier, StackedAVClassifier, LateFusionClassifier : window-level classifiers.

    Notes
    -----
    Windows of one clip are strongly correlated, so they must not straddle a
    validation split. When ``fit`` gets no ``groups``, the clip index is passed as
    ``groups`` to an estimator whose ``fit`` accepts ``groups`` (MLPClassifier and
    the fusion classifiers do), so its internal validation split is by clip; clip-level
    ``groups`` (e.g. locations, recommended) are repeated for each window.
    ``validation_data=(X_val, y_val)`` with 3-D ``X_val`` is likewise expanded to
    windows for an estimator that accepts it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_avsc import ClipAggregator
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["bus", "park"] * 10)
    >>> X = rng.normal(size=(20, 5, 3)) + (y == "park")[:, None, None]  # 5 windows/clip
    >>> clf = ClipAggregator(LogisticRegression()).fit(X, y)
    >>> clf.predict_proba(X).shape, clf.predict_window_proba(X).shape
    ((20, 2), (20, 5, 2))
    >>> (clf.predict(X) == y).mean() > 0.9
    np.True_
    """

    def __init__(self, estimator, method: str = "sum"):
        self.estimator = estimator
        self.method = method

    def _windows(self, X, *, reset: bool):
        """Validate X; return (windows 2-D, n_clips, n_windows)."""
        if ndim(X) == 3:
            X = np.asarray(X)
            n, w, d = X.shape
            if w == 0:
                raise ParameterError(
                    f"{type(self).__name__}: X of shape {X.shape} has 0 windows per clip."
                )
            X2 = validate_data(self, X.reshape(n * w, d), dtype=[np.float32, np.float64],
                               reset=reset)
            return X2, n, w
        X2 = validate_data(self, X, dtype=[np.float32, np.float64], reset=reset)
        return X2, X2.shape[0], 1

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Fit ``estimator`` on all windows.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_features) or (n_clips, n_features)
            Window embeddings per clip.
        y : array-like of shape (n_clips,)
            Clip labels (repeated for each window).
        groups : array-like of shape (n_clips,), default=None
            Group of each clip (e.g. location), repeated per window and passed to an
            estimator whose ``fit`` accepts ``groups``; default: the clip index.
        validation_data : tuple (X_val, y_val), default=None
            Clip-level validation set, expanded to windows and passed to an estimator
            whose ``fit`` accepts ``validation_data``.

        Returns
        -------
        self : ClipAggregator
        """
        name = type(self).__name__
        if self.method not in AGGREGATION_METHODS:
            raise ParameterError(
                f"{name}: method must be one of {AGGREGATION_METHODS}, got {self.method!r}."
            )
        if y is None:
            raise ParameterError(
                f"{name} requires y to be passed, but the target y is None."
            )
        X2, n, w = self._windows(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ParameterError(f"{name}: X has {n} clips but y has {len(y)} labels.")
        check_classification_targets(y)
        if groups is None:
            groups = np.arange(n)
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ParameterError(
                f"{name}: groups must have one entry per clip ({n}), got shape {groups.shape}."
            )
        estimator = clone(self.estimator)
        val = None
        if validation_data is not None and fit_accepts(estimator, "validation_data"):
            X_val, y_val = validation_data
            Xv2, nv, wv = self._windows(X_val, reset=False)
            val = (Xv2, np.repeat(np.asarray(y_val), wv))
        self.estimator_ = fit_with(
            estimator, X2, np.repeat(y, w), groups=np.repeat(groups, w), validation_data=val
        )
        self.classes_ = self.estimator_.classes_
        return self

    def predict_window_proba(self, X):
        """Class probabilities of every window (for the 1-s scoring DCASE uses).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_features) or (n_clips, n_features)

        Returns
        -------
        proba : ndarray of shape (n_clips, n_windows, n_classes)
        """
        check_is_fitted(self)
        X2, n, w = self._windows(X, reset=False)
        proba = np.asarray(self.estimator_.predict_proba(X2))
        return proba.reshape(n, w, proba.shape[1])

    def predict_proba(self, X):
        """Clip probabilities aggregated from the windows with ``method``.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_features) or (n_clips, n_features)

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
            Rows sum to 1.
        """
        return aggregate_windows(self.predict_window_proba(X), method=self.method)

    def predict(self, X):
        """Clip labels: argmax of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_features) or (n_clips, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = get_tags(self.estimator).non_deterministic
        return tags
