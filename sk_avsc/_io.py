"""Atomic file writes: the one implementation every cache, store and model file uses.

A write goes to a temporary file in the destination's folder (so that the final
``os.replace`` is a rename on one file system), is flushed to disk, given the
permissions a plain ``open`` would give under the current umask (``mkstemp``
would leave 0600), and only then replaces the destination. A reader therefore
sees the old file or the new one, never a torn one; a killed writer leaves at
most a hidden ``.<name>.*<suffix>`` temporary, which :func:`remove_stale_temps`
clears.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "write_text", "remove_stale_temps", "TEMP_SUFFIX"]

#: Suffix of the temporary files (hidden, so that globbing for results never sees them).
TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    # os.umask can only be read by setting it; done once per call, the window is tiny
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                 newline: str | None = None, suffix: str = TEMP_SUFFIX) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` when the block ends.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder is created if needed.
    mode : {"wb", "w"}, default="wb"
        Binary or text.
    encoding, newline : str, optional
        As for :func:`open` (text mode; ``encoding`` defaults to UTF-8).
    suffix : str, default=".tmp"
        Suffix of the temporary file.

    Yields
    ------
    file : file object
        Write the whole content to it. If the block raises, the temporary file is
        removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sk_avsc._io import atomic_write
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(path, "w") as f:
    ...     _ = f.write("done\\n")
    >>> path.read_text()
    'done\\n'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)


def remove_stale_temps(folder: str | os.PathLike, name: str = "", *,
                       suffix: str = TEMP_SUFFIX, older_than: float = 3600.0) -> int:
    """Remove temporaries that killed writers left in ``folder``; return how many.

    Only hidden files named like :func:`atomic_write`'s (``.<name>*<suffix>``) and last
    modified more than ``older_than`` seconds ago are removed, so a write in progress in
    another process is not disturbed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for p in folder.glob(f".{name}*{suffix}"):
        try:
            if now - p.stat().st_mtime > older_than:
                p.unlink()
                removed += 1
        except OSError:  # vanished or not ours: leave it
            continue
    return removed
