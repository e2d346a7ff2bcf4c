"""Audio-visual fusion: the paper's two-stage (proposed) fusion and late fusion.

The paper's five systems, on window embeddings ``X`` of shape ``(n, 1024)`` (512 audio
columns, then 512 video columns):

- audio only: ``SkorchMLPClassifier()`` on ``X[:, :512]``; video only: on ``X[:, 512:]``;
- early fusion: ``SkorchMLPClassifier()`` on all of ``X`` (no class of its own is needed);
- late fusion: :class:`LateFusionClassifier`;
- proposed fusion: :class:`StackedAVClassifier`.

Wrap any of them in :class:`sk_avsc.ClipAggregator` for clip decisions.

Metadata routing: both classes are routers (like scikit-learn's ``StackingClassifier``),
not consumers. With routing enabled, ``groups`` and ``validation_data`` reach each
sub-classifier that requests them (``set_fit_request(groups=True)``); the networks the
classes build for ``None`` request both. With routing off, every sub-classifier whose
``fit`` accepts them gets them.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import GroupKFold, check_cv
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, _routing_enabled
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._meta import (
    any_non_deterministic,
    check_same_classes,
    predict_from_proba,
    representation,
    route_fit,
)
from ._validation import check_int, check_real, check_validation_split
from .exceptions import ParameterError
from ._net_training import _FractionSplit
from .neural import SkorchMLPClassifier

__all__ = ["StackedAVClassifier", "LateFusionClassifier"]


def _default_fusion(**params) -> SkorchMLPClassifier:
    # the authors' proposed_fusion_head.pt: Linear(256, 128) -> Linear(128, n_classes)
    return SkorchMLPClassifier(
        hidden_sizes=(128,), dropout=0.0, batch_norm=False, activation="identity", **params
    )


class _AVBase(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Column split into audio (first ``audio_features``) and video (the rest)."""

    # routers, not consumers: no set_fit_request of their own (see the module docstring)
    __metadata_request__fit = {
        "groups": metadata_routing.UNUSED,
        "validation_data": metadata_routing.UNUSED,
    }
    _stages = ("audio", "video")

    def _audio_features(self, n_features: int) -> int:
        n_a = check_int("audio_features", self.audio_features, owner=type(self).__name__,
                        hint="the number of leading audio columns, 512 for OpenL3")
        if n_a >= n_features:
            raise ParameterError(
                f"{type(self).__name__}: audio_features={n_a} leaves no video columns, but X "
                f"has {n_features} feature(s); pass audio+video features concatenated audio "
                "first (e.g. AudioVisualEmbedder's 1024-d output) or lower audio_features."
            )
        return n_a

    def _validate_fit(self, X, y, validation_data):
        check_validation_split(self.validation_split, owner=type(self).__name__)
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

    def _components(self) -> dict:
        """``{stage: classifier}``, building the paper's network for each ``None``.

        The built networks get their own seed from ``random_state`` and one shared
        ``validation_split`` (a float becomes one seeded split for all, so they hold out
        the same samples), and, with routing enabled, request ``groups`` and
        ``validation_data``.
        """
        rng = check_random_state(self.random_state)
        n = len(self._stages)
        seeds = [None] * (n + 1)
        if self.random_state is not None:
            seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=n + 1)]
        split = self.validation_split
        builds = any(getattr(self, stage) is None for stage in self._stages)
        if builds and isinstance(split, numbers.Real) and not isinstance(split, bool):
            # one seed even without random_state: the built networks share one split
            seed = seeds[-1] if seeds[-1] is not None else int(rng.randint(2**31 - 1))
            split = _FractionSplit(split, random_state=seed)
        components = {}
        for stage, seed in zip(self._stages, seeds):
            est = getattr(self, stage)
            if est is None:
                params = dict(validation_split=split, random_state=seed)
                est = _default_fusion(**params) if stage == "fusion" else \
                    SkorchMLPClassifier(**params)
                if _routing_enabled():
                    est.set_fit_request(groups=True, validation_data=True)
            components[stage] = est
        return components

    def get_metadata_routing(self):
        """Get the metadata routing of this object (``fit`` to each stage's ``fit``).

        Returns
        -------
        routing : MetadataRouter
            The stages (``audio``, ``video``, and ``fusion`` and the ``cv`` splitter
            for :class:`StackedAVClassifier`) as scikit-learn's routing sees them.
        """
        # the self request is score's sample_weight (ClassifierMixin.score); fit's are removed
        router = MetadataRouter(owner=self).add_self_request(self)
        for stage, est in self._components().items():
            router.add(**{stage: est}, method_mapping=MethodMapping().add(caller="fit",
                                                                          callee="fit"))
        splitter = self._splitter()
        if splitter is not None:
            router.add(splitter=splitter,
                       method_mapping=MethodMapping().add(caller="fit", callee="split"))
        return router

    def _splitter(self):
        return None

    def _route(self, groups, validation_data):
        """(components, the metadata each one gets) for :meth:`fit`."""
        components = self._components()
        children = dict(components)
        if self._splitter() is not None:
            children["splitter"] = self._splitter()
        return components, route_fit(self, children, groups=groups,
                                     validation_data=validation_data)

    def _fit_stages(self, X, y, n_a, val, components, routed):
        """Fit a clone of the audio and the video classifier on their columns."""
        parts = {"audio": slice(None, n_a), "video": slice(n_a, None)}
        for stage, cols in parts.items():
            params = dict(routed[stage])
            if "validation_data" in params:
                params["validation_data"] = (val[0][:, cols], val[1])
            setattr(self, f"{stage}_", clone(components[stage]).fit(X[:, cols], y, **params))
        return parts

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_audio + n_video)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return predict_from_proba(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = any_non_deterministic(*self._components().values())
        return tags


class StackedAVClassifier(_AVBase):
    """The paper's proposed two-stage audio-visual fusion.

    Stage 1 trains an audio classifier on the first ``audio_features`` columns and a
    video classifier on the rest. Stage 2 trains the ``fusion`` classifier on their
    learned representations (the output of each network's second Linear layer, 128-d
    in the paper), concatenated audio first.

    Parameters
    ----------
    audio : classifier or None, default=None
        Stage-1 audio classifier, cloned; ``None`` is ``SkorchMLPClassifier()`` (the
        paper). Its representation is ``embed(X)`` when it has one
        (SkorchMLPClassifier), else ``transform(X)``, else ``predict_proba(X)``.
    video : classifier or None, default=None
        Stage-1 video classifier, likewise.
    fusion : classifier or None, default=None
        Stage-2 classifier, cloned. ``None`` is the authors' head
        ``SkorchMLPClassifier(hidden_sizes=(128,), dropout=0.0, batch_norm=False,
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
    validation_split : float, splitter or None, default=0.1
        The ``validation_split`` of the networks built for ``audio``, ``video`` or
        ``fusion`` left at ``None`` (see :class:`SkorchMLPClassifier`), e.g.
        ``LocationShuffleSplit(test_size=0.1)`` for the paper's split by location. A
        float becomes one seeded split shared by those networks, so all three hold out
        the same samples. Classifiers you pass keep their own.
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
    SkorchMLPClassifier : stage-1 network; early fusion is one on all columns.
    ClipAggregator : clip decisions from window-level predictions.

    Notes
    -----
    Each stage-1 classifier and the fusion classifier hold out their own validation
    data to pick their best epoch. ``groups`` and ``validation_data`` reach each of
    them as the module docstring says (routing on: by request; off: by signature), so
    with one splitter (or one seeded fraction) the three networks use the same
    location split, as in the paper; a splitter with ``random_state=None`` draws
    a different split for each network.

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
    >>> from sk_avsc import SkorchMLPClassifier, StackedAVClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 8)).astype(np.float32)  # 4 audio + 4 video columns
    >>> y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 4] > 0)
    >>> head = SkorchMLPClassifier(hidden_sizes=(16, 8), lr=1e-2, max_epochs=3,
    ...                            random_state=0)
    >>> clf = StackedAVClassifier(audio=head, video=head, audio_features=4,
    ...                           fusion=SkorchMLPClassifier(hidden_sizes=(8,), max_epochs=3,
    ...                                                      lr=1e-2, random_state=0))
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 4)
    >>> clf.transform_stage1(X[:3]).shape  # the fusion head's input: 8 audio + 8 video
    (3, 16)
    """

    _stages = ("audio", "video", "fusion")

    def __init__(
        self, audio=None, video=None, fusion=None, audio_features=512, cv=None,
        validation_split=0.1, random_state=None,
    ):
        self.audio = audio
        self.video = video
        self.fusion = fusion
        self.audio_features = audio_features
        self.cv = cv
        self.validation_split = validation_split
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
            Group (location) of each sample, for the classifiers' validation splits
            and ``cv``'s splitter (see the module docstring for which get it).
        validation_data : tuple (X_val, y_val), default=None
            Fixed validation set (audio+video columns): each classifier that gets it
            sees its own columns (the fusion classifier: their stage-1 features).

        Returns
        -------
        self : StackedAVClassifier
        """
        X, y, n_a, val = self._validate_fit(X, y, validation_data)
        components, routed = self._route(groups, validation_data)
        parts = self._fit_stages(X, y, n_a, val, components, routed)
        if self.cv is None:
            Z = self._stage1(X, n_a)
        else:
            cv_groups = routed["splitter"].get("groups")
            Z = self._out_of_fold(X, y, cv_groups, parts, components, routed)
        params = dict(routed["fusion"])
        if "validation_data" in params:
            params["validation_data"] = (self._stage1(val[0], n_a), val[1])
        self.fusion_ = clone(components["fusion"]).fit(Z, y, **params)
        self.classes_ = self.fusion_.classes_
        return self

    def _splitter(self):
        # an int cv means GroupKFold when groups are passed (StratifiedKFold without)
        if self.cv is None:
            return None
        if isinstance(self.cv, numbers.Integral):
            return GroupKFold(n_splits=self.cv)
        return check_cv(self.cv, classifier=True)

    def _stage1(self, X, n_a):
        return np.hstack(
            [representation(self.audio_, X[:, :n_a]), representation(self.video_, X[:, n_a:])]
        )

    def _out_of_fold(self, X, y, groups, parts, components, routed):
        cv = self._splitter() if groups is not None else self.cv
        cv = check_cv(cv, y, classifier=True)
        blocks = []
        for stage, cols in parts.items():
            width = representation(getattr(self, f"{stage}_"), X[:1, cols]).shape[1]
            Z = np.full((len(X), width), np.nan, dtype=np.float32)
            for train, test in cv.split(X, y, groups):
                params = {}
                if "groups" in routed[stage]:
                    params["groups"] = np.asarray(routed[stage]["groups"])[train]
                est_f = clone(components[stage]).fit(X[train][:, cols], y[train], **params)
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


class LateFusionClassifier(_AVBase):
    """Late fusion: weighted mean of an audio and a video classifier's probabilities.

    Parameters
    ----------
    audio : classifier or None, default=None
        Audio classifier with ``predict_proba``, cloned; ``None`` is
        ``SkorchMLPClassifier()``.
    video : classifier or None, default=None
        Video classifier, likewise.
    audio_features : int, default=512
        Number of leading audio columns in ``X``.
    modality_weights : tuple (w_audio, w_video) or None, default=None
        Non-negative mixing weights of the two modalities, not both 0; ``None`` means
        equal weights. (Not ``weights``: that is the OpenL3 weight file in the
        embedders.)
    validation_split : float, splitter or None, default=0.1
        The ``validation_split`` of the networks built for ``audio`` or ``video`` left
        at ``None``; a float becomes one seeded split shared by both. Classifiers you
        pass keep their own.
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
    SkorchMLPClassifier : early fusion is one on the concatenated columns.

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
    ...                            audio_features=2, modality_weights=(2, 1)).fit(X, y)
    >>> clf.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    def __init__(self, audio=None, video=None, audio_features=512, modality_weights=None,
                 validation_split=0.1, random_state=None):
        self.audio = audio
        self.video = video
        self.audio_features = audio_features
        self.modality_weights = modality_weights
        self.validation_split = validation_split
        self.random_state = random_state

    def _modality_weights(self):
        weights = self.modality_weights
        if weights is None:
            return 0.5, 0.5
        owner = type(self).__name__
        pair = tuple(weights) if isinstance(weights, (tuple, list, np.ndarray)) else ()
        if len(pair) != 2:
            raise ParameterError(
                f"{owner}: modality_weights must be None or a pair (w_audio, w_video), "
                f"got {weights!r}."
            )
        w_a, w_v = (check_real("modality_weights", w, low=0, owner=owner) for w in pair)
        if w_a + w_v == 0:
            raise ParameterError(f"{owner}: modality_weights must not both be 0, got {weights!r}.")
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
            Group (location) of each sample, for the classifiers' validation splits (see
            the module docstring for which get it).
        validation_data : tuple (X_val, y_val), default=None
            Fixed validation set (audio+video columns), split for the two classifiers.

        Returns
        -------
        self : LateFusionClassifier
        """
        self._modality_weights()
        X, y, n_a, val = self._validate_fit(X, y, validation_data)
        components, routed = self._route(groups, validation_data)
        self._fit_stages(X, y, n_a, val, components, routed)
        self.classes_ = check_same_classes(self, self.audio_, self.video_)
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
        w_a, w_v = self._modality_weights()
        return w_a * self.audio_.predict_proba(Xa) + w_v * self.video_.predict_proba(Xv)
