"""Feature standardisation for window embeddings."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._meta import ndim
from ._validation import check_bool, check_real

__all__ = ["ZScore"]


def _is_3d(X) -> bool:
    return ndim(X) == 3


class ZScore(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise each feature to zero mean and unit variance over all samples and windows.

    The statistics are computed over every row of a 2-D ``(n_samples, n_features)``
    array, or over every window of every clip of a 3-D
    ``(n_clips, n_windows, n_features)`` array (the embedders' output), as the paper
    does before training its classifiers. The output has the input's shape and float
    dtype (float32 stays float32; other dtypes become float64).

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the per-feature mean.
    with_std : bool, default=True
        Divide by the per-feature standard deviation (population, ``ddof=0``).
    eps : float, default=1e-8
        Features whose standard deviation is not above ``eps`` (constant features) are
        left unscaled (scale 1) instead of producing NaN or huge values.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Per-feature mean (float64); None when ``with_mean=False``.
    var_ : ndarray of shape (n_features,) or None
        Per-feature variance (float64); None when ``with_std=False``.
    scale_ : ndarray of shape (n_features,) or None
        Per-feature divisor (standard deviation, 1 for constant features); None when
        ``with_std=False``.
    n_samples_seen_ : int
        Number of rows (2-D) or windows (3-D) seen so far.
    n_features_in_ : int
        Number of features (last axis).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : the 2-D-only equivalent.

    Notes
    -----
    ``partial_fit`` merges batch statistics with Chan et al.'s pairwise update in
    float64, so fitting batch by batch (data larger than memory, e.g. HDF5 chunks of
    the 870,000 training windows) gives the same statistics as one ``fit`` up to
    rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc import ZScore
    >>> X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)  # 2 clips, 3 windows
    >>> Z = ZScore().fit_transform(X)
    >>> Z.shape, Z.dtype
    ((2, 3, 4), dtype('float32'))
    >>> np.allclose(Z.reshape(-1, 4).mean(0), 0), np.allclose(Z.reshape(-1, 4).std(0), 1)
    (True, True)
    """

    def __init__(self, *, with_mean: bool = True, with_std: bool = True, eps: float = 1e-8):
        self.with_mean = with_mean
        self.with_std = with_std
        self.eps = eps

    # -- helpers -----------------------------------------------------------------------
    def _validate(self, X, *, reset: bool):
        """Return (2-D array, original shape or None)."""
        if _is_3d(X):
            X = np.asarray(X)
            shape = X.shape
            X2 = validate_data(
                self, X.reshape(-1, shape[-1]), dtype=[np.float64, np.float32], reset=reset
            )
            return X2, shape
        X2 = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
        return X2, None

    def _check_params(self):
        check_bool("with_mean", self.with_mean, owner="ZScore")
        check_bool("with_std", self.with_std, owner="ZScore")
        check_real("eps", self.eps, low=0, owner="ZScore")

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y=None):
        """Compute the per-feature mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_clips, n_windows, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : ZScore
        """
        for attr in ("n_samples_seen_", "mean_", "var_", "scale_"):
            self.__dict__.pop(attr, None)
        return self.partial_fit(X, y)

    def partial_fit(self, X, y=None):
        """Update the statistics with one more batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_clips, n_windows, n_features)
            A batch of training data.
        y : None
            Ignored.

        Returns
        -------
        self : ZScore
        """
        self._check_params()
        first = not hasattr(self, "n_samples_seen_")
        X2, _ = self._validate(X, reset=first)
        n_b = X2.shape[0]
        Xd = X2.astype(np.float64, copy=False)
        mean_b = Xd.mean(axis=0)
        m2_b = ((Xd - mean_b) ** 2).sum(axis=0)
        if first:
            n, mean, m2 = n_b, mean_b, m2_b
        else:
            n_a = self.n_samples_seen_
            mean_a, m2_a = self._mean_acc, self._m2_acc
            n = n_a + n_b
            delta = mean_b - mean_a
            mean = mean_a + delta * (n_b / n)
            m2 = m2_a + m2_b + delta**2 * (n_a * n_b / n)
        self._mean_acc, self._m2_acc = mean, m2
        self.n_samples_seen_ = int(n)
        var = m2 / n
        self.mean_ = mean if self.with_mean else None
        if self.with_std:
            self.var_ = var
            std = np.sqrt(var)
            # constant features: leave unscaled rather than dividing by ~0
            self.scale_ = np.where(std > self.eps, std, 1.0)
        else:
            self.var_ = None
            self.scale_ = None
        return self

    # -- transforming ------------------------------------------------------------------
    def transform(self, X):
        """Standardise ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_clips, n_windows, n_features)
            Data to standardise.

        Returns
        -------
        Z : ndarray of the same shape as ``X``
            Standardised data, float32 if ``X`` is float32, else float64.
        """
        check_is_fitted(self)
        X2, shape = self._validate(X, reset=False)
        Z = self._apply(X2, inverse=False)
        return Z if shape is None else Z.reshape(shape)

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_clips, n_windows, n_features)
            Standardised data.

        Returns
        -------
        X_original : ndarray of the same shape as ``X``
        """
        check_is_fitted(self)
        X2, shape = self._validate(X, reset=False)
        Z = self._apply(X2, inverse=True)
        return Z if shape is None else Z.reshape(shape)

    def _apply(self, X2, *, inverse: bool):
        dtype = X2.dtype
        Z = np.array(X2, dtype=dtype, copy=True)
        mean = None if self.mean_ is None else self.mean_.astype(dtype)
        scale = None if self.scale_ is None else self.scale_.astype(dtype)
        if inverse:
            if scale is not None:
                Z *= scale
            if mean is not None:
                Z += mean
        else:
            if mean is not None:
                Z -= mean
            if scale is not None:
                Z /= scale
        return Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.three_d_array = True
        return tags
