"""The feature store: features of dataset subsets, saved once and reused.

A store holds one kind of features (:data:`KINDS`, ``store.json``'s ``kind``):
``"openl3"``, the paper's window embeddings (the default, and what a store without
``kind`` holds), or the comparison systems' inputs, ``"logmel"``
(:class:`~sk_avsc.comparison.LogMelSpectrogram`, float32 ``(n_clips, 6, 128, 461)``)
and ``"frames"`` (:class:`~sk_avsc.comparison.VideoFrames`, uint8
``(n_clips, 10, 4, 224, 224, 3)``). ``sk-avsc extract --out FEATURES`` writes the
OpenL3 store in ``FEATURES`` and the others in ``FEATURES/<kind>``
(:func:`store_path`), so that one folder serves all eight systems.

Layout of an OpenL3 store folder::

    FEATURES/store.json        embedding settings, dataset root, class names, subsets
    FEATURES/store.json.lock   the lock every writer and reader of the store takes
    FEATURES/cache/            the embedders' per-clip cache (what makes reruns resume)
    FEATURES/<subset>.npz      X: float32 (n_clips, n_windows, audio_dim + video_dim) and
                               clips: the clip ids (``filename``) of X's rows
    FEATURES/<subset>.tsv      one row per clip: filename, scene_label, location, target

A log-mel or frame store has ``FEATURES/<kind>/<subset>.<sha>.npy`` instead of the
``.npz``: the features as one ``.npy`` file (read memory-mapped, never whole: frames
of fold1_train are 52 GB), named after the checksum of its clip ids, written clip by
clip into a temporary file that is renamed into place. The per-clip cache of these
kinds (:func:`cached_clip_features`) uses the embedders' cache keys, so that an
interrupted ``extract`` resumes.

Every file is written through :func:`sk_avsc._io.atomic_write`, so that a reader never
sees a half-written file. A subset is two files, so a crash between their writes could
pair new features with an old table: the ``.npz`` therefore carries its clip ids, and
``store.json`` a checksum of them, which :meth:`FeatureStore.read_subset` compares with
the table. ``store.json`` is read, modified and written under an exclusive
:class:`filelock.FileLock`, and so are the settings check and the subset's files, so
that concurrent ``extract`` runs into one folder neither lose a subset nor mix
settings.

Over 600 lines: one store with two layouts (window embeddings in ``.npz``, memory-mapped
log-mel and frame arrays) that share the locking, checksums and torn-write checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ._io import TEMP_SUFFIX, atomic_write, remove_stale_temps, write_text
from ._version import __version__
from .exceptions import DatasetError, SkAvscWarning

__all__ = ["FeatureStore", "STORE_FILE", "SETTINGS_CHECKED", "MODEL_SETTINGS",
           "SETTING_DEFAULTS", "KINDS",
           "store_path", "cached_clip_features", "clips_checksum", "read_features"]

#: The store's settings file.
STORE_FILE = "store.json"
#: Kinds of features: OpenL3 window embeddings, McDonnell's log-mels, video frames.
KINDS = ("openl3", "logmel", "frames")
#: Settings that must match for features to be added to an existing store.
SETTINGS_CHECKED = ("kind", "weights", "hop_size", "duration", "frontend", "precision",
                    "extractor")
#: Settings that change the features: a model must be used on features made with its own.
MODEL_SETTINGS = ("kind", "weights", "hop_size", "duration", "audio_dim", "center", "frontend",
                  "precision", "extractor")
#: What a setting absent from an older store (or model) means: it predates the setting.
SETTING_DEFAULTS = {"precision": "float32"}
#: Seconds to wait for another process's lock (held only while files are written).
LOCK_TIMEOUT = 600.0


def clips_checksum(clips) -> str:
    """SHA-1 of a list of clip ids, in order (what ``store.json`` records per subset).

    Examples
    --------
    >>> from sk_avsc.store import clips_checksum
    >>> clips_checksum(["a.wav", "b.wav"]) == clips_checksum(["b.wav", "a.wav"])
    False
    """
    digest = hashlib.sha1()
    for clip in clips:
        digest.update(str(clip).encode("utf-8") + b"\0")
    return digest.hexdigest()


def store_path(features: str | os.PathLike, kind: str = "openl3") -> Path:
    """The folder of the store of ``kind`` in a features folder.

    Examples
    --------
    >>> from sk_avsc.store import store_path
    >>> store_path("FEATURES").as_posix(), store_path("FEATURES", "logmel").as_posix()
    ('FEATURES', 'FEATURES/logmel')
    """
    from ._validation import check_choice

    check_choice("kind", kind, KINDS, owner="store_path")
    return Path(features) if kind == "openl3" else Path(features) / kind


def _load_clip(path: Path, key: str):
    """A cached clip's features, or None (absent; corrupt files warn, as the embedders')."""
    from .embedders._cache import _corrupt

    try:
        with np.load(path, allow_pickle=False) as data:
            stored_key, features = str(data["key"]), data["features"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return _corrupt(path, f"unreadable ({type(exc).__name__}: {exc})")
    if stored_key != key:
        return _corrupt(path, "it holds another clip's key")
    if features.dtype.kind == "f" and not np.isfinite(features).all():
        return _corrupt(path, "non-finite values")
    return features


def cached_clip_features(transformer, sources, *, cache_dir=None, modality: str):
    """``transformer.transform([source])[0]`` of every source, cached per clip.

    The cache files are the embedders' (:mod:`sk_avsc.embedders._cache`): one
    ``.npz`` per clip under ``cache_dir/<modality>/``, keyed by a SHA-256 of the
    file's identity (path, size, modification time), the transformer's class and
    parameters and the package version, written atomically; a corrupt file warns and
    is recomputed. So an interrupted extraction resumes where it stopped.

    Parameters
    ----------
    transformer : fitted transformer
        Maps a list of one source to an array of one clip (``LogMelSpectrogram``,
        ``VideoFrames``).
    sources : iterable of str or path-like
        Media files, one per clip.
    cache_dir : str, path-like or None, default=None
        None computes every clip.
    modality : str
        Sub-folder of ``cache_dir`` (the store kind).

    Yields
    ------
    features : ndarray
        One clip's features, in the order of ``sources``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, soundfile as sf
    >>> from sk_avsc.comparison import LogMelSpectrogram
    >>> from sk_avsc.store import cached_clip_features
    >>> tmp = tempfile.mkdtemp()
    >>> sf.write(f"{tmp}/a.wav", np.zeros((48000, 2)), 48000)
    >>> lm = LogMelSpectrogram(duration=1.0).fit()
    >>> [x.shape for x in cached_clip_features(lm, [f"{tmp}/a.wav"], cache_dir=tmp,
    ...                                        modality="logmel")]
    [(6, 128, 39)]
    """
    from .embedders._cache import cache_key, cache_path, source_identity

    params = {"transformer": type(transformer).__name__, **transformer.get_params()}
    for source in sources:
        if cache_dir is None:
            yield transformer.transform([source])[0]
            continue
        key = cache_key(source_identity(source), params)
        path = cache_path(cache_dir, modality, source, key)
        features = _load_clip(path, key)
        if features is None:
            features = transformer.transform([source])[0]
            with atomic_write(path) as fh:
                np.savez(fh, features=features, key=np.asarray(key),
                         clip=np.asarray(os.fspath(source)))
        yield features


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
    >>> X.shape, X.dtype, idx["filename"].tolist()
    ((1, 2, 4), dtype('float32'), ['a.wav'])
    >>> store.subsets["fold1_train"]["n_clips"]
    1
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.cache_dir = self.path / "cache"
        self._settings: dict | None = None
        self._own: dict = {}  # the settings create() was given, rewritten by write_subset

    @property
    def _settings_path(self) -> Path:
        return self.path / STORE_FILE

    @classmethod
    def create(cls, path: str | os.PathLike, settings: dict) -> FeatureStore:
        """A store for features made with ``settings``: a new one, or the one at ``path``.

        Parameters
        ----------
        path : str or path-like
            The store's folder. A new store's ``store.json`` (no subsets yet) is
            written at once, under the store's lock, so that a concurrent first run
            with other settings is refused rather than mixed in.
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
        settings = {k: v for k, v in dict(settings).items() if k != "subsets"}
        store.path.mkdir(parents=True, exist_ok=True)
        with store._lock():
            remove_stale_temps(store.path)  # left by killed writers
            if store._settings_path.exists():
                old = store._read_settings()
                store._check_settings(old, settings)
                merged = {**old, **settings, "subsets": old.get("subsets", {})}
            else:
                merged = {**settings, "sk_avsc_version": __version__, "subsets": {}}
            write_text(store._settings_path, json.dumps(merged, indent=2))
        store._own = settings
        store._settings = merged
        return store

    def _check_settings(self, old: dict, settings: dict) -> None:
        different = [k for k in SETTINGS_CHECKED if _setting(old, k) != _setting(settings, k)]
        if different:
            said = ", ".join(f"{k} {_setting(old, k)!r} there, {_setting(settings, k)!r} here"
                             for k in different)
            raise DatasetError(
                f"{self.path} holds features made with other settings ({said}); choose "
                "another folder or delete it."
            )

    @contextlib.contextmanager
    def _lock(self):
        """The store's exclusive lock (a read-only store is read without it)."""
        import filelock

        lock = filelock.FileLock(self.path / f"{STORE_FILE}.lock", timeout=LOCK_TIMEOUT)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DatasetError(
                f"{self.path} is locked by another sk-avsc process for over {LOCK_TIMEOUT:.0f} "
                f"s; wait for it to finish (if none runs, delete {lock.lock_file})."
            ) from None
        except PermissionError:  # a read-only store: nobody writes it
            lock = None
        try:
            yield
        finally:
            if lock is not None:
                lock.release()

    def _read_settings(self) -> dict:
        try:
            return json.loads(self._settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{self._settings_path} cannot be read ({exc}); rerun "
                               "'sk-avsc extract' into a new folder.") from exc

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
        with contextlib.suppress(OSError):  # a read-only store keeps its temporaries
            remove_stale_temps(store.path)
        return store

    @property
    def settings(self) -> dict:
        """The store's settings (``store.json``), ``subsets`` included."""
        if self._settings is None:
            self._settings = self._read_settings()
        return self._settings

    @property
    def kind(self) -> str:
        """The kind of features held (:data:`KINDS`)."""
        return (self._own or self.settings).get("kind") or "openl3"

    @property
    def subsets(self) -> dict:
        """Stored subsets: name -> ``{"n_clips": ..., "n_windows": ..., "clips_sha1": ...}``."""
        return self.settings.get("subsets", {})

    def write_subset(self, name: str, X, index, *, target_names=None) -> None:
        """Store the features ``X`` and the clip table ``index`` of subset ``name``.

        Parameters
        ----------
        name : str
            Subset name (e.g. ``"fold1_train"``).
        X : array-like of shape (n_clips, ...) or iterable of per-clip arrays
            OpenL3 stores: window embeddings ``(n_clips, n_windows, n_features)``,
            stored as float32. Log-mel and frame stores: the clips' arrays, all of one
            shape and dtype, written one by one into a memory-mapped file (an
            iterable, such as :func:`cached_clip_features`, never holds them all).
        index : pandas.DataFrame
            One row per clip of ``X``, in the same order.
        target_names : list of str, default=None
            Class names to record in the settings.

        Notes
        -----
        The files are written under the store's lock, ``store.json`` last and
        re-read first (a read-modify-write), so that concurrent writers of other
        subsets keep each other's entries. A log-mel or frame array is written into a
        temporary file before the lock is taken, and renamed under it.
        """
        clips = index["filename"].astype(str).to_numpy()
        if self.kind == "openl3":
            X = np.asarray(X)
            if X.ndim != 3 or len(clips) != X.shape[0]:
                raise DatasetError(f"subset {name!r}: X of shape {X.shape} and a table of "
                                   f"{len(clips)} clips do not pair one clip per row.")
            shape, tmp = X.shape, None
        else:
            tmp, shape = self._write_array(name, X, clips)
        checksum = clips_checksum(clips)
        try:
            with self._lock():
                settings = self._read_settings() if self._settings_path.exists() else {}
                if settings:
                    self._check_settings(settings, self._own or settings)
                if tmp is None:
                    with atomic_write(self.path / f"{name}.npz") as f:
                        np.savez(f, X=X.astype(np.float32), clips=clips.astype(str))
                else:
                    os.replace(tmp, self._array_path(name, checksum))
                    tmp = None
                with atomic_write(self.path / f"{name}.tsv", "w", newline="") as f:
                    index.to_csv(f, sep="\t", index=False)
                subsets = settings.get("subsets", {})
                settings = {**settings, **self._own, "sk_avsc_version": __version__}
                if target_names is not None:
                    settings["target_names"] = list(target_names)
                entry = {"n_clips": int(shape[0]), "clips_sha1": checksum}
                if self.kind == "openl3":
                    entry["n_windows"] = int(shape[1])
                else:
                    entry["shape"] = [int(n) for n in shape[1:]]
                settings["subsets"] = {**subsets, name: entry}
                write_text(self._settings_path, json.dumps(settings, indent=2))
                if self.kind != "openl3":  # earlier versions of the subset, now unlisted
                    for old in self.path.glob(f"{name}.*.npy"):
                        if old != self._array_path(name, checksum):
                            old.unlink()
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self._settings = settings

    def _array_path(self, name: str, checksum: str) -> Path:
        return self.path / f"{name}.{checksum[:16]}.npy"

    def _write_array(self, name: str, X, clips):
        """Write the clips' arrays into a temporary ``.npy`` file; return it and the shape."""
        from ._io import _umask

        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{name}.npy.", suffix=TEMP_SUFFIX)
        os.close(fd)
        out = None
        try:
            n = 0
            for i, clip in enumerate(X):
                clip = np.asarray(clip)
                if out is None:
                    if len(clips) == 0:
                        break
                    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=clip.dtype,
                                                    shape=(len(clips),) + clip.shape)
                if i >= len(clips) or clip.shape != out.shape[1:] or clip.dtype != out.dtype:
                    what = ("more clips than the table" if i >= len(clips) else
                            f"{clip.dtype} {clip.shape}, not {out.dtype} {out.shape[1:]}")
                    raise DatasetError(f"subset {name!r}: clip {i} gives {what}; "
                                       "every clip must give features of one shape.")
                out[i] = clip
                n = i + 1
            if n != len(clips) or out is None:
                raise DatasetError(f"subset {name!r}: {n} clips of features for a table of "
                                   f"{len(clips)} clips.")
            out.flush()
            shape = out.shape
            del out
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
            return tmp, shape
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read_subset(self, name: str):
        """Features and clip table of subset ``name``.

        Parameters
        ----------
        name : str
            A subset of the store, e.g. ``"fold1_train"`` (see ``subsets``).

        Returns
        -------
        X : ndarray of shape (n_clips, ...)
            OpenL3: ``(n_clips, n_windows, n_features)``; log-mels and frames: a
            read-only memory map of the stored array.
        index : pandas.DataFrame
            One row per clip (``location`` read as text).

        Raises
        ------
        DatasetError
            If the store has no such subset, or its features, its table and
            ``store.json`` do not name the same clips (a torn or tampered store).
        """
        with self._lock():
            self._settings = self._read_settings()
            if name not in self.subsets:
                raise DatasetError(f"{self.path} has no features of {name!r} (it has "
                                   f"{sorted(self.subsets)}); run extract with --subset "
                                   f"{name}.")
            npz, tsv = self.path / f"{name}.npz", self.path / f"{name}.tsv"
            out = (f"{self.path}" if self.kind == "openl3"
                   else f"{self.path.parent} --kind {self.kind}")
            rerun = (f"rerun 'sk-avsc extract ROOT --out {out} --subset {name}' (it "
                     "resumes from the cache)")
            entry = self.subsets[name]
            try:
                if self.kind == "openl3":
                    with np.load(npz, allow_pickle=False) as data:
                        X = data["X"]
                        clips = data["clips"] if "clips" in data.files else None
                else:  # named after its clips' checksum: the name pairs it with them
                    npz = self._array_path(name, str(entry.get("clips_sha1")))
                    X = np.load(npz, mmap_mode="r", allow_pickle=False)
                    clips = None
                index = self._read_tsv(tsv)
            except (OSError, ValueError, KeyError) as exc:
                raise DatasetError(f"subset {name!r} of {self.path} cannot be read ({exc}); "
                                   f"{rerun}.") from exc
        if clips is None and self.kind == "openl3":
            raise DatasetError(f"{npz} holds no clip ids (written by an older sk_avsc), so its "
                               f"rows cannot be checked against {tsv.name}; {rerun}.")
        if clips is None:
            clips = index["filename"].to_numpy(dtype=str)
        recorded = entry.get("clips_sha1")
        if (len(clips) != len(index) or len(clips) != X.shape[0]
                or not np.array_equal(clips.astype(str), index["filename"].to_numpy(dtype=str))
                or recorded != clips_checksum(clips)):
            raise DatasetError(
                f"subset {name!r} of {self.path} is torn: {npz.name} ({X.shape[0]} clips), "
                f"{tsv.name} ({len(index)} clips) and {STORE_FILE} do not list the same clips "
                f"(an interrupted or concurrent extract?); {rerun}."
            )
        stored = self.settings.get("sk_avsc_version")
        if stored is not None and stored != __version__:
            warnings.warn(f"the features in {self.path} were extracted by sk_avsc {stored}, "
                          f"this is {__version__}; rerun extract into a new folder if the "
                          "embeddings have changed since.", SkAvscWarning, stacklevel=2)
        return X, index

    @staticmethod
    def _read_tsv(path):
        import pandas as pd

        return pd.read_csv(path, sep="\t", dtype={"location": str, "filename": str})

    def read_table(self, name: str):
        """The clip table of subset ``name`` alone (``filename``, labels, ``location``).

        Cheaper than :meth:`read_subset` (no features are read, nor checked against it).

        Raises
        ------
        DatasetError
            If the store has no such subset.
        """
        with self._lock():
            self._settings = self._read_settings()
            if name not in self.subsets:
                raise DatasetError(f"{self.path} has no features of {name!r} (it has "
                                   f"{sorted(self.subsets)}); run extract with --subset "
                                   f"{name}.")
            return self._read_tsv(self.path / f"{name}.tsv")

    def check_settings_of(self, settings: dict, *, what: str) -> None:
        """Refuse features made otherwise than ``settings`` say (a model's, for example).

        Parameters
        ----------
        settings : dict
            Embedding settings, compared on :data:`MODEL_SETTINGS`.
        what : str
            Who wants them, for the message (e.g. ``"model file m.joblib"``).

        Raises
        ------
        DatasetError
            Naming each setting that differs and both values.

        Examples
        --------
        >>> import tempfile
        >>> from sk_avsc.store import FeatureStore
        >>> store = FeatureStore.create(tempfile.mkdtemp(), {"weights": "random",
        ...                             "hop_size": 0.25, "duration": None})
        >>> store.check_settings_of({"weights": "random", "hop_size": 0.5, "duration": None},
        ...                         what="model m.joblib")
        Traceback (most recent call last):
        ...
        sk_avsc.exceptions.DatasetError: model m.joblib was trained on features with \
hop_size 0.5, but ... holds hop_size 0.25; ...
        """
        mine = self.settings
        known = [k for k in MODEL_SETTINGS
                 if k in SETTING_DEFAULTS or (k in settings and k in mine)]
        different = [k for k in known if _setting(settings, k) != _setting(mine, k)]
        if different:
            theirs = ", ".join(f"{k} {_setting(settings, k)!r}" for k in different)
            ours = ", ".join(f"{k} {_setting(mine, k)!r}" for k in different)
            raise DatasetError(
                f"{what} was trained on features with {theirs}, but {self.path} holds {ours}; "
                "extract features with the model's settings into another folder, or train a "
                "model on these."
            )


def _setting(settings: dict, name: str):
    """A store's (or model's) setting; an absent one has the value it had before it existed."""
    return settings.get(name, SETTING_DEFAULTS.get(name))


def read_features(features: str | os.PathLike, subset: str, kinds=("openl3",)):
    """The features of ``subset`` of each kind in a features folder, for the same clips.

    Parameters
    ----------
    features : str or path-like
        The folder ``sk-avsc extract --out`` wrote (its kinds' stores: :func:`store_path`).
    subset : str
        Subset name.
    kinds : sequence of str, default=("openl3",)
        The kinds a system reads (:data:`sk_avsc.systems.SYSTEM_FEATURES`).

    Returns
    -------
    settings : dict
        Kind to its store's settings.
    arrays : dict
        Kind to its features (:meth:`FeatureStore.read_subset`).
    index : pandas.DataFrame
        The clip table (the same for every kind).

    Raises
    ------
    DatasetError
        If a kind's store or subset is missing, torn, or lists other clips than another
        kind's (extract both from the same dataset).
    """
    settings, arrays, index = {}, {}, None
    for kind in kinds:
        path = store_path(features, kind)
        if not (path / STORE_FILE).is_file():
            option = "" if kind == "openl3" else f" --kind {kind}"
            raise DatasetError(
                f"{path} is not a feature store of {kind} features (no {STORE_FILE}); run "
                f"'sk-avsc extract ROOT --out {features}{option}' first.")
        store = FeatureStore.open(path)
        X, idx = store.read_subset(subset)
        if index is not None and not np.array_equal(idx["filename"].to_numpy(dtype=str),
                                                    index["filename"].to_numpy(dtype=str)):
            raise DatasetError(
                f"the {kinds[0]} and {kind} features of {subset!r} in {features} are of other "
                f"clips; extract both from the same dataset with the same --on-missing.")
        settings[kind], arrays[kind], index = store.settings, X, idx
    return settings, arrays, index
