"""Clip-level decisions from window-level classifiers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags, metadata_routing
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    get_routing_for_object,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._meta import check_groups, ndim, predict_from_proba, route_fit
from ._validation import check_choice
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
    check_choice("method", method, AGGREGATION_METHODS)
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
        :class:`SkorchMLPClassifier`, :class:`StackedAVClassifier` or
        ``LogisticRegression``.
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
    SkorchMLPClassifier, StackedAVClassifier, LateFusionClassifier : window-level
        classifiers.

    Notes
    -----
    Windows of one clip are strongly correlated, so they must not straddle a
    validation split. Clip-level ``groups`` (e.g. locations, recommended) are repeated
    for each window; when ``fit`` gets none, the clip index is passed instead, so the
    estimator's internal validation split is at least by clip.
    ``validation_data=(X_val, y_val)`` with 3-D ``X_val`` is likewise expanded to
    windows. Who gets them: with metadata routing off, an estimator whose ``fit``
    accepts ``groups`` (:class:`SkorchMLPClassifier` and the fusion classifiers do)
    or ``validation_data``. With routing on, ClipAggregator is a router like
    scikit-learn's meta-estimators (it has no ``set_fit_request`` of its own): the
    estimator gets what it requested, e.g.
    ``ClipAggregator(SkorchMLPClassifier().set_fit_request(groups=True))``, and
    passing metadata whose request the estimator left unset raises.

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

    # a router, not a consumer: no set_fit_request of its own (see Notes)
    __metadata_request__fit = {
        "groups": metadata_routing.UNUSED,
        "validation_data": metadata_routing.UNUSED,
    }

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
            Group of each clip (e.g. location), repeated per window and passed to the
            estimator (see Notes for when); default: the clip index.
        validation_data : tuple (X_val, y_val), default=None
            Clip-level validation set, expanded to windows and passed to the estimator
            (see Notes for when).

        Returns
        -------
        self : ClipAggregator
        """
        name = type(self).__name__
        check_choice("method", self.method, AGGREGATION_METHODS, owner=name)
        if y is None:
            raise ParameterError(
                f"{name} requires y to be passed, but the target y is None."
            )
        X2, n, w = self._windows(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ParameterError(f"{name}: X has {n} clips but y has {len(y)} labels.")
        check_classification_targets(y)
        groups = check_groups(groups, n, owner=name, per="clip")
        # without groups, the clip index, to an estimator that would get groups
        consumes = not _routing_enabled() or get_routing_for_object(self.estimator).consumes(
            "fit", ["groups"])
        if groups is None and consumes:
            groups = np.arange(n)  # keep a clip's windows on one side of a split
        estimator = clone(self.estimator)
        params = route_fit(self, {"estimator": estimator}, groups=groups,
                           validation_data=validation_data)["estimator"]
        if "groups" in params:
            params["groups"] = np.repeat(groups, w)
        if "validation_data" in params:
            X_val, y_val = validation_data
            Xv2, _, wv = self._windows(X_val, reset=False)
            params["validation_data"] = (Xv2, np.repeat(np.asarray(y_val), wv))
        self.estimator_ = estimator.fit(X2, np.repeat(y, w), **params)
        self.classes_ = self.estimator_.classes_
        return self

    def get_metadata_routing(self):
        """Get the metadata routing of this object (``fit`` to ``estimator.fit``).

        Returns
        -------
        routing : MetadataRouter
            The estimator's requests as scikit-learn's routing sees them.
        """
        # the self request is score's sample_weight (ClassifierMixin.score); fit's are removed
        return MetadataRouter(owner=self).add_self_request(self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit",
                                                                         callee="fit")
        )

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
        return predict_from_proba(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = get_tags(self.estimator).non_deterministic
        return tags
