"""Helpers shared by the meta-estimators (fusion, aggregation)."""

from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import _routing_enabled, process_routing
from sklearn.utils.validation import check_is_fitted

from .exceptions import ParameterError


def fit_accepts(estimator, name: str) -> bool:
    """Whether ``estimator.fit`` has an explicit keyword parameter ``name``."""
    try:
        params = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False
    param = params.get(name)
    return param is not None and param.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def route_fit(owner, children: dict, **metadata) -> dict:
    """Which metadata each child of ``owner.fit`` gets: ``{child name: {name: value}}``.

    With metadata routing enabled, scikit-learn decides (``process_routing`` on
    ``owner.get_metadata_routing()``): a child gets what it requested
    (``set_fit_request``, or ``set_split_request`` for the child named
    ``"splitter"``), and metadata passed to a child that left its request unset
    raises. With routing off (the behaviour from before routing existed), each
    estimator whose ``fit`` accepts a keyword gets it, and the splitter gets ``groups``.
    ``None`` values count as not passed. Callers replace a value by what the child must
    see (its columns, its windows) and keep the keys.
    """
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if _routing_enabled():
        routed = process_routing(owner, "fit", **metadata)
        return {
            name: dict(routed[name]["split" if name == "splitter" else "fit"])
            for name in children
        }
    return {
        name: (
            {k: v for k, v in metadata.items() if k == "groups"}
            if name == "splitter"
            else {k: v for k, v in metadata.items() if fit_accepts(child, k)}
        )
        for name, child in children.items()
    }


def check_groups(groups, n: int, *, owner: str, per: str = "sample"):
    """``groups`` as an array of shape ``(n,)`` (None stays None); raise ParameterError."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ParameterError(
            f"{owner}: groups must have one entry per {per} ({n}), got shape {groups.shape}."
        )
    return groups


def check_same_classes(owner, audio, video):
    """The fitted ``audio`` and ``video`` classifiers' common ``classes_``; raise if they differ."""
    if not np.array_equal(audio.classes_, video.classes_):
        raise ParameterError(
            f"{type(owner).__name__}: the audio and video classifiers learned different "
            f"classes ({audio.classes_} vs {video.classes_})."
        )
    return audio.classes_


def predict_from_proba(estimator, X):
    """``estimator.classes_`` at the argmax of ``estimator.predict_proba(X)``."""
    check_is_fitted(estimator)
    return estimator.classes_[np.argmax(estimator.predict_proba(X), axis=1)]


def representation(estimator, X) -> np.ndarray:
    """Stage-1 features: ``embed`` (SkorchMLPClassifier), else ``transform``, else probabilities."""
    for method in ("embed", "transform", "predict_proba"):
        if hasattr(estimator, method):
            return np.asarray(getattr(estimator, method)(X), dtype=np.float32)
    raise TypeError(
        f"{type(estimator).__name__} has none of embed, transform, predict_proba: "
        "it cannot provide stage-1 features for fusion."
    )


def any_non_deterministic(*estimators) -> bool:
    return any(get_tags(e).non_deterministic for e in estimators)


def ndim(X) -> int:
    """Number of dimensions of an array-like, without converting DataFrames/sparse."""
    if sp.issparse(X) or hasattr(X, "iloc"):
        return 2
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape)
    try:
        return np.asarray(X).ndim
    except ValueError:  # ragged: let validate_data raise its own error
        return -1
