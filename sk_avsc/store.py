"""The feature store: window embeddings of dataset subsets, saved once and reused.

Layout of a store folder (what ``sk-avsc extract --out FEATURES`` writes)::

    FEATURES/store.json        embedding settings, dataset root, class names, subsets
    FEATURES/cache/            the embedders' per-clip cache (what makes reruns resume)
    FEATURES/<subset>.npz      X: float32 (n_clips, n_windows, audio_dim + video_dim)
    FEATURES/<subset>.tsv      one row per clip: filename, scene_label, location, target

Every file is written through :func:`sk_avsc._io.atomic_write`, and only by
:meth:`FeatureStore.write_subset`, so that a reader never sees a half-written file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._io import atomic_write, write_text
from .exceptions import DatasetError

__all__ = ["FeatureStore", "STORE_FILE", "SETTINGS_CHECKED"]

#: The store's settings file.
STORE_FILE = "store.json"
#: Settings that must match for features to be added to an existing store.
SETTINGS_CHECKED = ("weights", "hop_size", "duration")


class FeatureStore:
    """A folder of window embeddings per subset, with the settings that made them.

    Parameters
    ----------
    path : str or path-like
        The store's folder.

    Attributes
    ----------
    path : pathlib.Path
        The store's folder.
    cache_dir : pathlib.Path
        ``path / "cache"``, the embedders' per-clip cache.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from sk_avsc.store import FeatureStore
    >>> store = FeatureStore.create(tempfile.mkdtemp(), {"weights": "random", "hop_size": 0.5,
    ...                                                  "duration": None})
    >>> index = pd.DataFrame({"filename": ["a.wav"], "scene_label": ["bus"],
    ...                       "location": ["x-1"], "target": [0]})
    >>> store.write_subset("fold1_train", np.zeros((1, 2, 4)), index, target_names=["bus"])
    >>> X, idx = FeatureStore.open(store.path).read_subset("fold1_train")
    >>> X.shape, X.dtype, store.subsets
    ((1, 2, 4), dtype('float32'), {'fold1_train': {'n_clips': 1, 'n_windows': 2}})
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.cache_dir = self.path / "cache"
        self._settings: dict | None = None

    @property
    def _settings_path(self) -> Path:
        return self.path / STORE_FILE

    @classmethod
    def create(cls, path: str | os.PathLike, settings: dict) -> FeatureStore:
        """A store for features made with ``settings``: a new one, or the one at ``path``.

        Parameters
        ----------
        path : str or path-like
            The store's folder. Nothing is written until the first
            :meth:`write_subset`.
        settings : dict
            Embedding settings (JSON-serialisable); those of :data:`SETTINGS_CHECKED`
            must equal the existing store's, the others replace them.

        Returns
        -------
        store : FeatureStore

        Raises
        ------
        DatasetError
            If the store at ``path`` holds features made with other settings.
        """
        store = cls(path)
        settings = dict(settings)
        if store._settings_path.exists():
            old = store.settings
            if any(old.get(k) != settings.get(k) for k in SETTINGS_CHECKED):
                raise DatasetError(
                    f"{store.path} holds features made with other settings "
                    f"({ {k: old.get(k) for k in SETTINGS_CHECKED} }); choose another "
                    "folder or delete it."
                )
            settings = {**old, **settings, "subsets": old.get("subsets", {})}
        settings.setdefault("subsets", {})
        store._settings = settings
        return store

    @classmethod
    def open(cls, path: str | os.PathLike) -> FeatureStore:
        """The existing store at ``path``.

        Parameters
        ----------
        path : str or path-like
            A folder written by ``sk-avsc extract`` (or :meth:`write_subset`).

        Returns
        -------
        store : FeatureStore
            The store, its settings read lazily.

        Raises
        ------
        DatasetError
            If ``path`` holds no ``store.json``.
        """
        store = cls(path)
        if not store._settings_path.is_file():
            raise DatasetError(f"{store.path} is not a feature store (no {STORE_FILE}); run "
                               "'sk-avsc extract ROOT --out FEATURES' first.")
        return store

    @property
    def settings(self) -> dict:
        """The store's settings (``store.json``), ``subsets`` included."""
        if self._settings is None:
            self._settings = json.loads(self._settings_path.read_text())
        return self._settings

    @property
    def subsets(self) -> dict:
        """Stored subsets: name -> ``{"n_clips": ..., "n_windows": ...}``."""
        return self.settings.get("subsets", {})

    def write_subset(self, name: str, X, index, *, target_names=None) -> None:
        """Store the features ``X`` and the clip table ``index`` of subset ``name``.

        Parameters
        ----------
        name : str
            Subset name (e.g. ``"fold1_train"``).
        X : array-like of shape (n_clips, n_windows, n_features)
            Window embeddings, stored as float32.
        index : pandas.DataFrame
            One row per clip of ``X``, in the same order.
        target_names : list of str, default=None
            Class names to record in the settings.
        """
        X = np.asarray(X)
        with atomic_write(self.path / f"{name}.npz") as f:
            np.savez(f, X=X.astype(np.float32))
        with atomic_write(self.path / f"{name}.tsv", "w", newline="") as f:
            index.to_csv(f, sep="\t", index=False)
        settings = self.settings
        if target_names is not None:
            settings["target_names"] = list(target_names)
        settings.setdefault("subsets", {})[name] = {"n_clips": int(X.shape[0]),
                                                    "n_windows": int(X.shape[1])}
        write_text(self._settings_path, json.dumps(settings, indent=2))

    def read_subset(self, name: str):
        """Features and clip table of subset ``name``.

        Parameters
        ----------
        name : str
            A subset of the store, e.g. ``"fold1_train"`` (see ``subsets``).

        Returns
        -------
        X : ndarray of shape (n_clips, n_windows, n_features)
        index : pandas.DataFrame
            One row per clip (``location`` read as text).

        Raises
        ------
        DatasetError
            If the store has no such subset.
        """
        import pandas as pd

        if name not in self.subsets:
            raise DatasetError(f"{self.path} has no features of {name!r} (it has "
                               f"{sorted(self.subsets)}); run extract with --subset {name}.")
        with np.load(self.path / f"{name}.npz") as data:
            X = data["X"]
        index = pd.read_csv(self.path / f"{name}.tsv", sep="\t", dtype={"location": str})
        return X, index
