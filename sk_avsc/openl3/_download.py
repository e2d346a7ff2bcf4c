"""Finding, downloading and verifying the official OpenL3 weight files.

The networks of :mod:`sk_avsc.openl3` read the Keras HDF5 weight files that
the openl3 project publishes (``openl3_<modality>_<input_repr>_<content_type>.h5``).
:func:`resolve_weights` finds one on disk or downloads it, in this order:

1. ``weights_dir`` when given;
2. ``$SK_AVSC_WEIGHTS_DIR`` when set;
3. the user cache: ``$XDG_CACHE_HOME/sk_avsc`` or ``~/.cache/sk_avsc`` on Linux,
   ``~/Library/Caches/sk_avsc`` on macOS, ``%LOCALAPPDATA%\\sk_avsc\\Cache`` on Windows;
4. the directory of an installed ``openl3`` package (found without importing
   it: importing openl3 imports TensorFlow), where ``pip install openl3`` puts
   the files;
5. a download of ``<base>/<name>-v0_4_0.h5.gz`` with
   ``<base> = https://github.com/marl/openl3/raw/models`` (``$SK_AVSC_WEIGHTS_URL``
   overrides it), checked against the git-blob SHA-1 of the official file in
   :data:`KNOWN_HASHES`, decompressed, and written atomically into the first of
   ``weights_dir``, ``$SK_AVSC_WEIGHTS_DIR`` and the user cache.

In a directory, each of ``<name>.h5``, ``<name>.h5.gz``, ``<name>-v0_4_0.h5``
and ``<name>-v0_4_0.h5.gz`` is accepted (in that order of preference).
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import http.client
import importlib.util
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from sk_avsc._validation import check_choice
from sk_avsc.exceptions import WeightsError

__all__ = [
    "KNOWN_HASHES",
    "DEFAULT_BASE_URL",
    "resolve_weights",
    "download_weights",
    "search_dirs",
    "user_cache_dir",
    "weights_filename",
    "parse_weights_filename",
    "git_blob_sha1",
]

logger = logging.getLogger(__name__)

#: Where the openl3 project publishes its weight files (its ``models`` branch).
DEFAULT_BASE_URL = "https://github.com/marl/openl3/raw/models"

#: Suffix of the published file names (openl3 0.4.x serves the v0.4.0 weights).
REMOTE_SUFFIX = "-v0_4_0.h5.gz"

MODALITIES = ("audio", "image")
INPUT_REPRS = ("linear", "mel128", "mel256")
CONTENT_TYPES = ("env", "music")

#: Git-blob SHA-1 (``sha1(b"blob <size>\\0" + bytes)``) of each published
#: compressed weight file, as the openl3 repository's ``models`` branch holds it.
#: A download whose hash differs is rejected. Tests may patch this dict.
KNOWN_HASHES: dict[str, str] = {
    "openl3_audio_linear_env-v0_4_0.h5.gz": "7837407f033f3564c7e8d53fc4a4241fe160478b",
    "openl3_audio_linear_music-v0_4_0.h5.gz": "4e2e61beb17865481c8b8791c72eac8307e2753a",
    "openl3_audio_mel128_env-v0_4_0.h5.gz": "8c3dfee140f7776373841e5938a3e76c54f28942",
    "openl3_audio_mel128_music-v0_4_0.h5.gz": "73ff29de441865318c4b3a3f98c40763c4773e7c",
    "openl3_audio_mel256_env-v0_4_0.h5.gz": "34dbd7a91cdd2de6a3d6d036ac0a24d27d78e3cc",
    "openl3_audio_mel256_music-v0_4_0.h5.gz": "15e483646fa3d4091a463f0affbb706e6bbbb098",
    "openl3_image_linear_env-v0_4_0.h5.gz": "a1e527ad5367efb19b18cd051523bf3fadd02feb",
    "openl3_image_linear_music-v0_4_0.h5.gz": "7ccfc16536bff5f46902df6d7f89075f1bfce8bb",
    "openl3_image_mel128_env-v0_4_0.h5.gz": "680c5d4adffc2b0d7b789913a2e9ebccd469be55",
    "openl3_image_mel128_music-v0_4_0.h5.gz": "c287c5f9bc949595ff4fda83177bcc98142601e9",
    "openl3_image_mel256_env-v0_4_0.h5.gz": "dbdf24a7e837267487adb3eed1586fcd2e37d775",
    "openl3_image_mel256_music-v0_4_0.h5.gz": "67bf0b891eb4fb797defafa5b3edc3c75f3cd6ee",
}

_CHUNK = 1 << 16
# Temporary files older than this are left-overs of killed downloads.
_STALE_PART_SECONDS = 24 * 3600


def weights_filename(modality: str, input_repr: str, content_type: str) -> str:
    """Name of the (decompressed) weight file of one network.

    Parameters
    ----------
    modality : {"audio", "image"}
        Which network.
    input_repr : {"linear", "mel128", "mel256"}
        Audio representation the network was trained with (image networks
        are named after the audio network they were trained with).
    content_type : {"env", "music"}
        Training content.

    Returns
    -------
    name : str
        ``openl3_<modality>_<input_repr>_<content_type>.h5``.

    Examples
    --------
    >>> weights_filename("audio", "mel256", "env")
    'openl3_audio_mel256_env.h5'
    """
    check_choice("modality", modality, MODALITIES)
    check_choice("input_repr", input_repr, INPUT_REPRS)
    check_choice("content_type", content_type, CONTENT_TYPES)
    return f"openl3_{modality}_{input_repr}_{content_type}.h5"


_NAME_RE = re.compile(
    f"openl3_({'|'.join(MODALITIES)})_({'|'.join(INPUT_REPRS)})_({'|'.join(CONTENT_TYPES)})")


def parse_weights_filename(name: str | os.PathLike) -> tuple[str, str, str] | None:
    """``(modality, input_repr, content_type)`` named in a weight file's name, or None.

    The inverse of :func:`weights_filename`; it finds the official pattern anywhere in
    the base name, so renamed copies (``my_openl3_audio_mel128_env.h5.gz``) count too.

    Examples
    --------
    >>> parse_weights_filename("/w/openl3_image_mel256_music-v0_4_0.h5.gz")
    ('image', 'mel256', 'music')
    >>> parse_weights_filename("weights.h5") is None
    True
    """
    match = _NAME_RE.search(os.path.basename(os.fspath(name)))
    return match.groups() if match else None


def _candidate_names(filename: str) -> list[str]:
    stem = filename[: -len(".h5")]
    remote = stem + REMOTE_SUFFIX
    return [filename, filename + ".gz", remote[: -len(".gz")], remote]


def find_in_folder(folder: str | os.PathLike, filename: str) -> Path | None:
    """The weight file ``filename`` in ``folder`` under any name it is published as, or None.

    ``name.h5``, ``name.h5.gz`` and the upstream ``-v0_4_0`` names are accepted, in that
    order; nothing outside ``folder`` is searched.
    """
    folder = Path(folder)
    for name in _candidate_names(filename):
        if (folder / name).is_file():
            return folder / name
    return None


def user_cache_dir() -> Path:
    """The per-user cache directory of sk_avsc (it may not exist yet).

    Returns
    -------
    path : pathlib.Path
        ``$XDG_CACHE_HOME/sk_avsc`` (default ``~/.cache/sk_avsc``) on Linux and
        other POSIX systems, ``~/Library/Caches/sk_avsc`` on macOS,
        ``%LOCALAPPDATA%\\sk_avsc\\Cache`` on Windows.

    Examples
    --------
    >>> user_cache_dir().name in {"sk_avsc", "Cache"}
    True
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "sk_avsc" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "sk_avsc"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sk_avsc"


def _openl3_package_dir() -> Path | None:
    # find_spec on a top-level name locates the package without running its
    # __init__ (which would import TensorFlow).
    try:
        spec = importlib.util.find_spec("openl3")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin:
        return Path(spec.origin).parent
    return None


def search_dirs(weights_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for weight files, in order.

    Parameters
    ----------
    weights_dir : str or path-like, default=None
        A directory searched first.

    Returns
    -------
    dirs : list of pathlib.Path
        ``weights_dir``, ``$SK_AVSC_WEIGHTS_DIR``, :func:`user_cache_dir` and an
        installed ``openl3`` package's directory, those that are set, without
        duplicates (they need not exist).

    Examples
    --------
    >>> search_dirs("my_weights")[0].name
    'my_weights'
    """
    dirs: list[Path] = []
    if weights_dir is not None:
        dirs.append(Path(weights_dir).expanduser())
    env = os.environ.get("SK_AVSC_WEIGHTS_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(user_cache_dir())
    package_dir = _openl3_package_dir()
    if package_dir is not None:
        dirs.append(package_dir)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _download_dir(weights_dir) -> Path:
    if weights_dir is not None:
        return Path(weights_dir).expanduser()
    env = os.environ.get("SK_AVSC_WEIGHTS_DIR")
    if env:
        return Path(env).expanduser()
    return user_cache_dir()


def _base_url() -> str:
    return (os.environ.get("SK_AVSC_WEIGHTS_URL") or DEFAULT_BASE_URL).rstrip("/")


def git_blob_sha1(path: str | os.PathLike) -> str:
    """Git-blob SHA-1 of a file: what ``git hash-object <file>`` prints.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    sha1 : str
        Hex digest of ``sha1(b"blob <size>\\0" + content)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "empty"
    ...     _ = p.write_bytes(b"")
    ...     git_blob_sha1(p)
    'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, dst, *, desc: str, progress: bool, timeout: float) -> int:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None and length.isdigit() else None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                  file=sys.stderr, disable=not progress, leave=False) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                dst.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns b"" instead of raising when the peer closes early.
    if total is not None and received != total:
        raise WeightsError(
            f"download of {url} was cut off after {received} of {total} bytes; try again."
        )
    return received


def _unlink_quietly(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _remove_stale_parts(dest: Path, prefix: str) -> None:
    # A killed process cannot clean up its temporary file; the next download
    # does, sparing recent ones that a concurrent download may still be writing.
    now = time.time()
    for path in dest.glob(f"{glob.escape(prefix)}*.part"):
        try:
            if now - path.stat().st_mtime > _STALE_PART_SECONDS:
                path.unlink()
        except OSError:
            pass


def download_weights(
    modality: str,
    input_repr: str,
    content_type: str,
    *,
    dest_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
    known_hashes: dict[str, str] | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and decompress one official weight file.

    The compressed file is streamed into a temporary file in ``dest_dir``,
    its git-blob SHA-1 is checked, and it is decompressed into another
    temporary file that is then renamed onto the final name: the final file
    appears complete or not at all (an interrupted download leaves nothing
    under that name), and two processes downloading at once both succeed.

    Parameters
    ----------
    modality : {"audio", "image"}
        Which network.
    input_repr : {"linear", "mel128", "mel256"}
        Audio representation of the network.
    content_type : {"env", "music"}
        Training content.
    dest_dir : str or path-like, default=None
        Where to write ``<name>.h5``; default: ``$SK_AVSC_WEIGHTS_DIR`` if set,
        else :func:`user_cache_dir`. Created if missing.
    base_url : str, default=None
        URL of the folder holding ``<name>-v0_4_0.h5.gz``; default:
        ``$SK_AVSC_WEIGHTS_URL`` if set, else :data:`DEFAULT_BASE_URL`.
    known_hashes : dict of str to str, default=None
        Expected git-blob SHA-1 per remote file name; default
        :data:`KNOWN_HASHES`. A file without an entry is refused.
    progress : bool, default=True
        Show a tqdm progress bar on stderr.
    timeout : float, default=60.0
        Socket timeout in seconds.

    Returns
    -------
    path : pathlib.Path
        The decompressed ``.h5`` file.

    Raises
    ------
    WeightsError
        When the download fails, is cut off, or its hash differs.

    See Also
    --------
    resolve_weights : Finds a file on disk before downloading.
    """
    filename = weights_filename(modality, input_repr, content_type)
    remote = filename[: -len(".h5")] + REMOTE_SUFFIX
    hashes = KNOWN_HASHES if known_hashes is None else known_hashes
    expected = hashes.get(remote)
    if expected is None:
        raise WeightsError(f"no known SHA-1 for {remote}; refusing to download it unverified.")
    url = f"{(base_url or _base_url()).rstrip('/')}/{remote}"
    dest = Path(dest_dir).expanduser() if dest_dir is not None else _download_dir(None)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(
            f"cannot create {dest} to store {filename}: {exc}; set SK_AVSC_WEIGHTS_DIR "
            "to a writable folder."
        ) from exc

    _remove_stale_parts(dest, f".{remote}.")
    _remove_stale_parts(dest, f".{filename}.")
    logger.info("downloading %s to %s", url, dest)
    gz_tmp = h5_tmp = None
    try:
        # Temporary names start with "." and end in ".part": never taken for weights.
        with tempfile.NamedTemporaryFile(dir=dest, prefix=f".{remote}.", suffix=".part",
                                         delete=False) as f:
            gz_tmp = Path(f.name)
            try:
                _fetch(url, f, desc=remote, progress=progress, timeout=timeout)
            except WeightsError:
                raise
            except urllib.error.HTTPError as exc:
                raise WeightsError(f"download of {url} failed: HTTP {exc.code} {exc.reason}.") \
                    from exc
            except (OSError, http.client.HTTPException, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise WeightsError(f"download of {url} failed: {reason}.") from exc
        found = git_blob_sha1(gz_tmp)
        if found != expected:
            raise WeightsError(
                f"downloaded {remote} from {url} is corrupt: git-blob SHA-1 {found}, expected "
                f"{expected}; it was discarded. Try again, or fetch the file by hand."
            )
        with tempfile.NamedTemporaryFile(dir=dest, prefix=f".{filename}.", suffix=".part",
                                         delete=False) as f:
            h5_tmp = Path(f.name)
            try:
                with gzip.open(gz_tmp, "rb") as src:
                    shutil.copyfileobj(src, f, _CHUNK)
            except (OSError, EOFError) as exc:
                raise WeightsError(f"cannot decompress {remote} from {url}: {exc}.") from exc
            f.flush()
            os.fsync(f.fileno())
        final = dest / filename
        os.replace(h5_tmp, final)
        h5_tmp = None
    finally:
        _unlink_quietly(gz_tmp)
        _unlink_quietly(h5_tmp)
    logger.info("stored %s", final)
    return final


def resolve_weights(
    modality: str,
    input_repr: str,
    content_type: str,
    *,
    weights_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Path of an official OpenL3 weight file, downloading it if needed.

    Parameters
    ----------
    modality : {"audio", "image"}
        Which network.
    input_repr : {"linear", "mel128", "mel256"}
        Audio representation of the network.
    content_type : {"env", "music"}
        Training content.
    weights_dir : str or path-like, default=None
        A directory searched first, and where a download goes.
    download : bool, default=True
        Download the file when no directory has it.
    progress : bool, default=True
        Show a progress bar while downloading.

    Returns
    -------
    path : pathlib.Path
        An existing ``.h5`` or ``.h5.gz`` file.

    Raises
    ------
    ParameterError
        For an unknown modality, input_repr or content_type.
    WeightsError
        When no directory has the file and it cannot be downloaded; the
        message names the file, the places searched and where to put it.

    See Also
    --------
    search_dirs : The directories searched, in order.
    download_weights : The download step alone.

    Notes
    -----
    See the module docstring for the search order. A file found on disk is
    not hashed here: its layout is checked when it is loaded.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / "openl3_audio_mel256_env.h5").write_bytes(b"")
    ...     resolve_weights("audio", "mel256", "env", weights_dir=d, download=False).name
    'openl3_audio_mel256_env.h5'
    """
    filename = weights_filename(modality, input_repr, content_type)
    dirs = search_dirs(weights_dir)
    for d in dirs:
        path = find_in_folder(d, filename)
        if path is not None:
            logger.debug("using weights %s", path)
            return path
    logger.debug("%s not found in %s", filename, [str(d) for d in dirs])

    dest = _download_dir(weights_dir)
    remote = filename[: -len(".h5")] + REMOTE_SUFFIX
    url = f"{_base_url()}/{remote}"
    where = (
        f"Download {url}, gunzip it to {filename} (or keep the .h5.gz) and put it in {dest}, "
        "or set SK_AVSC_WEIGHTS_DIR to the folder that holds it, or pass its path as weights=."
    )
    searched = ", ".join(str(d) for d in dirs)
    if not download:
        raise WeightsError(
            f"OpenL3 weight file {filename} not found (searched: {searched}) and download=False. "
            + where
        )
    try:
        return download_weights(modality, input_repr, content_type, dest_dir=dest,
                                progress=progress)
    except WeightsError as exc:
        raise WeightsError(
            f"OpenL3 weight file {filename} not found (searched: {searched}) and could not be "
            f"downloaded: {exc} " + where
        ) from exc
