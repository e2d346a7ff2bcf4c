"""Helpers shared by the meta-estimators (fusion, aggregation)."""

from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp
from sklearn.utils import get_tags


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


def fit_with(estimator, X, y, **kwargs):
    """``estimator.fit(X, y, **kwargs)`` passing only the non-None keywords it accepts."""
    accepted = {k: v for k, v in kwargs.items() if v is not None and fit_accepts(estimator, k)}
    return estimator.fit(X, y, **accepted)


def representation(estimator, X) -> np.ndarray:
    """Stage-1 features: ``embed`` (MLPClassifier), else ``transform``, else probabilities."""
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
