"""openl3's file API: embed audio, image and video files into ``.npz`` files.

:func:`process_audio_file`, :func:`process_image_file` and :func:`process_video_file`
have openl3 0.4.2's signatures and write what it writes: one ``<name>[_<suffix>].npz`` per
audio or image file (keys ``embedding`` and, for audio, ``timestamps``), and
``<name>_audio[_<suffix>].npz`` plus ``<name>_image[_<suffix>].npz`` per video (both with
``embedding`` and ``timestamps``), next to the input or in ``output_dir``, named by
:func:`get_output_path`. Existing outputs are kept unless ``overwrite``; files are
embedded in batches of about ``batch_size`` windows (audio) or files (images).

Differences from openl3 (deliberate):

* Outputs are written atomically (a temporary file in the same folder, then renamed), so an
  interrupted run never leaves a truncated ``.npz``; a batch pending when the last input is
  skipped is still written (openl3 drops it).
* Audio files are read with :func:`sk_avsc.embedders.read_audio` (soundfile, float32);
  images with Pillow (scikit-image in openl3; without Pillow, ffmpeg), alpha dropped.
* Videos: frames are decoded by :func:`sk_avsc.embedders.read_video_frames` (ffmpeg) and
  resized to 256x256 px (openl3's moviepy ``target_resolution=(256, 256)``, aspect ratio not
  kept) by bicubic interpolation, which rounds differently from ffmpeg's scaler; the audio
  track is decoded by ffmpeg as stereo float32 at 48 kHz (moviepy's ``audio_fps=48000``).
  Image timestamps are ``arange(n_frames) / int(fps)``, as openl3's.
* Errors are :class:`~sk_avsc.openl3.openl3_exceptions.OpenL3Error` that are also the
  matching sk_avsc error (:class:`~sk_avsc.exceptions.MediaError` for a missing or
  unreadable file...).
"""

from __future__ import annotations

import math
import os

import numpy as np

from .._io import atomic_write
from .._validation import check_bool, check_hop_size
from ..exceptions import MediaError, ParameterError
from ._batching import requested_network
from .audio import get_audio_embedding
from .framing import SAMPLE_RATE, window_count
from .image import get_image_embedding
from .models import (
    AUDIO_EMBEDDING_SIZES,
    IMAGE_EMBEDDING_SIZES,
    AudioEmbeddingNetwork,
    ImageEmbeddingNetwork,
)
from .openl3_exceptions import raises_openl3_errors

__all__ = ["get_output_path", "process_audio_file", "process_image_file", "process_video_file"]

_VIDEO_SIZE = 256  # moviepy target_resolution in openl3


def get_output_path(filepath, suffix, output_dir=None):
    """Path of the output file of an input file, as ``openl3.get_output_path``.

    Parameters
    ----------
    filepath : str or path-like
        Input file.
    suffix : str
        Appended to the base name, with ``_`` in between unless it starts with ``.``
        (``"embedding.npz"`` gives ``<base>_embedding.npz``, ``".npz"`` gives
        ``<base>.npz``).
    output_dir : str, path-like or None, default=None
        Folder of the output; None means the input's folder.

    Returns
    -------
    output_path : str

    Examples
    --------
    >>> get_output_path("/data/audio.wav", "embedding.npz", "/out")
    '/out/audio_embedding.npz'
    >>> get_output_path("/data/audio.wav", ".npz")
    '/data/audio.npz'
    """
    filepath = os.fspath(filepath)
    base = os.path.splitext(os.path.basename(filepath))[0]
    if not output_dir:
        output_dir = os.path.dirname(filepath)
    name = base + suffix if not suffix or suffix[0] == "." else f"{base}_{suffix}"
    return os.path.join(os.fspath(output_dir), name)


def _file_list(filepath) -> list[str]:
    if isinstance(filepath, (str, os.PathLike)):
        return [os.fspath(filepath)]
    if isinstance(filepath, (list, tuple)) and all(
            isinstance(p, (str, os.PathLike)) for p in filepath):
        return [os.fspath(p) for p in filepath]
    raise ParameterError(
        f"filepath must be a path (str) or a list of paths, got {type(filepath).__name__} "
        f"{filepath!r}.")


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise MediaError(f"file {path!r} could not be found; check the path.")


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message)


def _save(path: str, verbose: bool, **arrays) -> None:
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)
    _say(verbose, f"openl3: Saved {path}")


def _read_image(path: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is optional
        from ..embedders import read_video_frames

        frames, _, _ = read_video_frames(path, lambda meta: np.zeros(1, dtype=np.int64))
        return frames[0]
    try:
        with Image.open(path) as img:
            image = np.asarray(img)
    except Exception as exc:  # PIL raises many types for non-images
        raise MediaError(
            f"image file {path!r} cannot be read ({type(exc).__name__}: {exc}); it is "
            "corrupt or not an image format Pillow reads (PNG, JPEG...).") from None
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]  # drop alpha, as openl3
    return image


def _read_video(path: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(audio at 48 kHz, frames resized to 256x256, int(fps)), as openl3's moviepy reading."""
    import torch

    from ..embedders import read_video_audio, read_video_frames
    from ..embedders._media import check_media_file

    check_media_file(path, "video")

    def select(meta):
        # every frame: indices past the last one collapse onto it
        n = math.ceil(float(meta.get("duration") or 0) * float(meta.get("fps") or 0)) + 16
        return np.arange(n)

    def resize(frame):
        t = torch.from_numpy(np.array(frame, dtype=np.float32)).permute(2, 0, 1)[None]
        out = torch.nn.functional.interpolate(t, size=(_VIDEO_SIZE, _VIDEO_SIZE),
                                              mode="bicubic", align_corners=False)
        return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()

    frames, _, meta = read_video_frames(path, select, transform=resize)
    fps = int(meta.get("fps") or 0)
    if fps <= 0:
        raise MediaError(f"video file {path!r} has no frame rate in its metadata.")
    return read_video_audio(path), np.stack(frames), fps


@raises_openl3_errors
def process_audio_file(filepath, output_dir=None, suffix=None, model=None,
                       input_repr=None, content_type="music",
                       embedding_size=6144, center=True, hop_size=0.1,
                       batch_size=32, overwrite=False, frontend="kapre", verbose=True):
    """Embed audio files and save ``<name>[_<suffix>].npz``, as ``openl3.process_audio_file``.

    Parameters
    ----------
    filepath : str or list of str
        Audio file(s) soundfile reads (WAV, FLAC...).
    output_dir : str or None, default=None
        Folder of the outputs; None means each input's folder.
    suffix : str or None, default=None
        Output name ``<base>_<suffix>.npz``; None gives ``<base>.npz``.
    model : AudioEmbeddingNetwork or None, default=None
        A loaded model; None loads the official one from ``input_repr``,
        ``content_type``, ``embedding_size`` and ``frontend``.
    input_repr, content_type, embedding_size, center, hop_size, batch_size, frontend
        As in :func:`~sk_avsc.openl3.get_audio_embedding`; ``batch_size`` also sets how
        many windows are gathered (across files) before the model runs.
    overwrite : bool, default=False
        Recompute outputs that exist (else they are skipped).
    verbose : bool, default=True
        Print progress to stdout (openl3's messages) and show progress bars.

    Returns
    -------
    None
        Each output holds ``embedding`` (n_windows, dim) float32 and ``timestamps``
        (n_windows,) float64.

    Raises
    ------
    OpenL3Error
        A missing or unreadable file (also a :class:`~sk_avsc.exceptions.MediaError`), bad
        audio or parameters.
    """
    from ..embedders import read_audio

    files = _file_list(filepath)
    suffix = suffix or ""
    if input_repr is None:
        input_repr = "mel256"
    network = requested_network(
        model, kind="audio", cls=AudioEmbeddingNetwork, sizes=AUDIO_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type, embedding_size=embedding_size,
        batch_size=batch_size, frontend=frontend)
    check_hop_size(hop_size)
    check_bool("center", center)
    pending, total = [], 0

    def flush():
        nonlocal pending, total
        if pending:
            embeddings, stamps = get_audio_embedding(
                [a for _, a, _ in pending], [sr for _, _, sr in pending], model=network(),
                center=center, hop_size=hop_size, batch_size=batch_size, frontend=frontend,
                verbose=verbose)
            for (out, _, _), emb, ts in zip(pending, embeddings, stamps):
                _save(out, verbose, embedding=emb, timestamps=ts)
        pending, total = [], 0

    for index, path in enumerate(files):
        _check_exists(path)
        _say(verbose, f"openl3: Processing {path} ({index + 1}/{len(files)})")
        out = get_output_path(path, suffix + ".npz", output_dir=output_dir)
        if os.path.exists(out) and not overwrite:
            print(f"openl3: {out} exists and overwriting not enabled, skipping.")
            continue
        audio, sr = read_audio(path)
        pending.append((out, audio, sr))
        total += window_count(math.ceil(audio.shape[0] * SAMPLE_RATE / sr), hop_size, center)
        if total >= batch_size:
            flush()
    flush()


@raises_openl3_errors
def process_image_file(filepath, output_dir=None, suffix=None, model=None,
                       input_repr="mel256", content_type="music",
                       embedding_size=8192, batch_size=32,
                       overwrite=False, verbose=True):
    """Embed image files and save ``<name>[_<suffix>].npz``, as ``openl3.process_image_file``.

    Parameters
    ----------
    filepath : str or list of str
        Image file(s) (PNG, JPEG...); an alpha channel is dropped.
    output_dir, suffix, overwrite, verbose
        As in :func:`process_audio_file`.
    model : ImageEmbeddingNetwork or None, default=None
        A loaded model; None loads the official one.
    input_repr, content_type, embedding_size
        As in :func:`~sk_avsc.openl3.get_image_embedding`.
    batch_size : int, default=32
        Files per batch (and frames per forward pass).

    Returns
    -------
    None
        Each output holds ``embedding`` (1, dim) float32.
    """
    files = _file_list(filepath)
    suffix = suffix or ""
    network = requested_network(
        model, kind="image", cls=ImageEmbeddingNetwork, sizes=IMAGE_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type, embedding_size=embedding_size,
        batch_size=batch_size)
    pending = []

    def flush():
        if pending:
            embeddings = get_image_embedding([img for _, img in pending], model=network(),
                                             batch_size=batch_size, verbose=verbose)
            for (out, _), emb in zip(pending, embeddings):
                _save(out, verbose, embedding=emb)
        pending.clear()

    for index, path in enumerate(files):
        _check_exists(path)
        _say(verbose, f"openl3: Processing {path} ({index + 1}/{len(files)})")
        out = get_output_path(path, suffix + ".npz", output_dir=output_dir)
        if os.path.exists(out) and not overwrite:
            print(f"openl3: {out} exists, skipping.")
            continue
        pending.append((out, _read_image(path)[np.newaxis]))
        if len(pending) >= batch_size:
            flush()
    flush()


@raises_openl3_errors
def process_video_file(filepath, output_dir=None, suffix=None,
                       audio_model=None, image_model=None,
                       input_repr=None, content_type="music",
                       audio_embedding_size=6144, audio_center=True,
                       audio_hop_size=0.1, image_embedding_size=8192,
                       audio_batch_size=32, image_batch_size=32,
                       audio_frontend="kapre",
                       overwrite=False, verbose=True):
    """Embed the audio and every frame of videos, as ``openl3.process_video_file``.

    Writes ``<name>_audio[_<suffix>].npz`` and ``<name>_image[_<suffix>].npz``, each with
    ``embedding`` and ``timestamps`` (the audio windows' and the frames'; they are not
    aligned). An output that exists is kept unless ``overwrite``; a video whose two
    outputs exist is not decoded.

    Parameters
    ----------
    filepath : str or list of str
        Video file(s) ffmpeg decodes, with an audio track.
    output_dir, suffix, overwrite, verbose
        As in :func:`process_audio_file`.
    audio_model : AudioEmbeddingNetwork or None, default=None
    image_model : ImageEmbeddingNetwork or None, default=None
        Loaded models; None loads the official ones.
    input_repr : {"linear", "mel128", "mel256"} or None, default=None
        None means "mel256".
    content_type : {"music", "env"}, default="music"
    audio_embedding_size : {6144, 512}, default=6144
    audio_center : bool, default=True
    audio_hop_size : float, default=0.1
    image_embedding_size : {8192, 512}, default=8192
    audio_batch_size : int, default=32
        Audio windows gathered before the audio model runs.
    image_batch_size : int, default=32
        Videos gathered before the image model runs (and frames per forward pass).
    audio_frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"

    Returns
    -------
    None
    """
    files = _file_list(filepath)
    if input_repr is None:
        input_repr = "mel256"
    audio_suffix, image_suffix = "audio", "image"
    if suffix:
        audio_suffix += "_" + suffix
        image_suffix += "_" + suffix
    audio_network = requested_network(
        audio_model, kind="audio", cls=AudioEmbeddingNetwork, sizes=AUDIO_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type,
        embedding_size=audio_embedding_size, batch_size=audio_batch_size,
        frontend=audio_frontend)
    check_hop_size(audio_hop_size, name="audio_hop_size")
    check_bool("audio_center", audio_center)
    image_network = requested_network(
        image_model, kind="image", cls=ImageEmbeddingNetwork, sizes=IMAGE_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type,
        embedding_size=image_embedding_size, batch_size=image_batch_size)
    audio_pending, image_pending, total = [], [], 0

    def flush_audio():
        nonlocal audio_pending, total
        if audio_pending:
            embeddings, stamps = get_audio_embedding(
                [a for _, a in audio_pending], SAMPLE_RATE, model=audio_network(),
                center=audio_center, hop_size=audio_hop_size, batch_size=audio_batch_size,
                frontend=audio_frontend, verbose=verbose)
            for (out, _), emb, ts in zip(audio_pending, embeddings, stamps):
                _save(out, verbose, embedding=emb, timestamps=ts)
        audio_pending, total = [], 0

    def flush_images():
        if image_pending:
            embeddings, stamps = get_image_embedding(
                [f for _, f, _ in image_pending], [r for _, _, r in image_pending],
                model=image_network(), batch_size=image_batch_size, verbose=verbose)
            for (out, _, _), emb, ts in zip(image_pending, embeddings, stamps):
                _save(out, verbose, embedding=emb, timestamps=ts)
        image_pending.clear()

    for index, path in enumerate(files):
        _check_exists(path)
        _say(verbose, f"openl3: Processing {path} ({index + 1}/{len(files)})")
        audio_out = get_output_path(path, audio_suffix + ".npz", output_dir=output_dir)
        image_out = get_output_path(path, image_suffix + ".npz", output_dir=output_dir)
        skip_audio = os.path.exists(audio_out) and not overwrite
        skip_image = os.path.exists(image_out) and not overwrite
        if skip_audio and skip_image:
            print(f"openl3: {audio_out} and {image_out} exist, skipping.")
            continue
        audio, frames, fps = _read_video(path)
        if skip_audio:
            print(f"openl3: {audio_out} exists, skipping audio embedding extraction.")
        else:
            audio_pending.append((audio_out, audio))
            total += window_count(audio.shape[0], audio_hop_size, audio_center)
        if skip_image:
            print(f"openl3: {image_out} exists, skipping image embedding extraction.")
        else:
            image_pending.append((image_out, frames, fps))
        if total >= audio_batch_size:
            flush_audio()
        if len(image_pending) >= image_batch_size:
            flush_images()
    flush_audio()
    flush_images()
