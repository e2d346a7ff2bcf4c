"""On-disk cache of per-clip embeddings: one ``.npz`` file per clip and modality.

A file's name holds a SHA-256 of everything that changes the embedding (the
clip's identity, see :func:`source_identity`, and every result-changing
parameter), so a stale entry is never read: changing the weights, the hop, the
file itself... changes the key.
Writes go to a temporary file in the same folder, renamed into place, so a
killed run leaves either a complete file or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_write
from .._version import __version__
from ..exceptions import SkAvscWarning

__all__ = [
    "CACHE_FORMAT",
    "CACHE_KEYS",
    "source_identity",
    "cache_key",
    "cache_path",
    "load_cached",
    "save_cached",
]

#: Bumped when the file layout or the meaning of a key changes.
CACHE_FORMAT = 2
#: How a file is identified: by ``os.stat`` or by a hash of its bytes.
CACHE_KEYS = ("stat", "content")
_CHUNK = 1 << 20


def source_identity(source, st: os.stat_result | None = None, mode: str = "stat") -> dict:
    """The part of the key that identifies a clip.

    A file, ``mode="stat"``: its absolute real path, size in bytes, modification
    and status-change times (ns), device and inode: content replaced in place
    keeping the size and mtime (``cp -p``, ``rsync -t``, unzip) still changes
    the ctime (and a new file the inode). ``mode="content"``: a BLAKE2b digest of
    the file's bytes, read in chunks, and its size; no path, so the same bytes
    anywhere share an entry. An in-memory ``(waveform, sr)`` pair, in both
    modes: a SHA-1 of the samples, their dtype, shape and the sample rate.
    """
    if isinstance(source, tuple):
        waveform, sr = source
        data = np.ascontiguousarray(waveform)
        return {
            "sha1": hashlib.sha1(data.tobytes()).hexdigest(),
            "dtype": data.dtype.str,
            "shape": list(data.shape),
            "sr": sr,
        }
    st = os.stat(source) if st is None else st
    if mode == "content":
        digest = hashlib.blake2b(digest_size=32)
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        return {"blake2b": digest.hexdigest(), "size": int(st.st_size)}
    return {
        "path": os.path.realpath(os.fspath(source)),
        "size": int(st.st_size),
        "mtime_ns": int(st.st_mtime_ns),
        "ctime_ns": int(st.st_ctime_ns),
        "device": int(st.st_dev),
        "inode": int(st.st_ino),
    }


def cache_key(identity: dict, params: dict) -> str:
    """SHA-256 hex digest of the clip identity, the parameters and the package version."""
    payload = {
        "format": CACHE_FORMAT,
        "sk_avsc": __version__,
        "clip": identity,
        "params": params,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(cache_dir: str | os.PathLike, modality: str, source, key: str,
               mode: str = "stat") -> Path:
    """``<cache_dir>/<modality>/<clip stem>-<key[:24]>.npz`` (the stem helps humans).

    With ``mode="content"`` a file's entry is ``content-<key[:24]>.npz``: the key
    names the bytes, whatever the file is called.
    """
    if isinstance(source, tuple):
        stem = "array"
    elif mode == "content":
        stem = "content"
    else:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(os.fspath(source)).stem)[:80]
    return Path(cache_dir) / modality / f"{stem}-{key[:24]}.npz"


def load_cached(path: Path, key: str, embedding_size: int) -> np.ndarray | None:
    """The cached embedding, or None when absent; a corrupt file warns and gives None.

    A file is corrupt when it cannot be read (the zip container's CRC catches
    flipped bits), holds another key, or its array is not a finite float32
    ``(n_windows, embedding_size)`` array.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            stored_key = str(data["key"])
            embedding = data["embedding"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return _corrupt(path, f"unreadable ({type(exc).__name__}: {exc})")
    if stored_key != key:
        return _corrupt(path, "it holds another clip's key")
    if (
        embedding.dtype != np.float32
        or embedding.ndim != 2
        or embedding.shape[0] < 1
        or embedding.shape[1] != embedding_size
    ):
        return _corrupt(
            path,
            f"array {embedding.dtype} {embedding.shape} is not float32 "
            f"(n_windows, {embedding_size})",
        )
    if not np.isfinite(embedding).all():
        return _corrupt(path, "non-finite values")
    return embedding


def _corrupt(path: Path, why: str) -> None:
    warnings.warn(
        f"embedding cache file {str(path)!r} is corrupt ({why}); recomputing it. Nothing to "
        f"do unless this repeats (then check the disk holding cache_dir).",
        SkAvscWarning,
        stacklevel=4,
    )
    return None


def save_cached(path: Path, key: str, embedding: np.ndarray, description: str = "") -> None:
    """Write one clip's embedding atomically (see :func:`sk_avsc._io.atomic_write`)."""
    with atomic_write(path) as fh:
        np.savez(
            fh,
            embedding=np.asarray(embedding, dtype=np.float32),
            key=np.asarray(key),
            clip=np.asarray(description),
        )
