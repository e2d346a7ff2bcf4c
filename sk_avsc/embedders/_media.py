"""Reading audio files, streaming video frames and aligning windows with frames.

Nothing here touches the networks: these helpers turn files into the arrays
that :mod:`sk_avsc.openl3` embeds, and decide which video frame goes with
which audio window.
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_choice
from ..exceptions import AudioError, MediaError, MediaWarning
from ..openl3.framing import window_centres

__all__ = [
    "check_media_file",
    "read_audio",
    "fix_duration",
    "frame_indices",
    "read_video_audio",
    "read_video_frames",
]

FRAME_POLICIES = ("center", "authors")


def check_media_file(path: str | os.PathLike, what: str) -> os.stat_result:
    """Return ``os.stat(path)`` or raise MediaError saying why the file is unusable.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        ``"audio"`` or ``"video"``, for the message.

    Returns
    -------
    os.stat_result
        Its size and modification time key the embedding cache.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MediaError(
            f"{what} file {os.fspath(path)!r} does not exist; check the path (relative paths "
            f"are resolved from the working directory {os.getcwd()!r})."
        ) from None
    except OSError as exc:
        raise MediaError(f"{what} file {os.fspath(path)!r} cannot be accessed: {exc}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(
            f"{what} file {os.fspath(path)!r} is a directory, not a file; pass the paths of "
            f"the files inside it."
        )
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(f"{what} file {os.fspath(path)!r} is not a regular file.")
    return st


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file with soundfile as float32.

    Parameters
    ----------
    path : str or os.PathLike
        A file that libsndfile reads (WAV, FLAC, OGG, ...), any sample rate
        and channel count.

    Returns
    -------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels), float32
        Samples in [-1, 1] as soundfile returns them; several channels are
        downmixed later by :func:`sk_avsc.openl3.cut_audio_windows`.
    sr : int
        Sample rate in Hz.

    Raises
    ------
    MediaError
        The file is missing, a directory, or not readable as audio.
    AudioError
        The file holds no samples or non-finite samples.

    Warns
    -----
    MediaWarning
        The file holds fewer samples than its header declares (a copy or
        download cut short): the samples present are returned.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import soundfile as sf
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "clip.wav")
    >>> sf.write(path, np.zeros((4800, 2)), 48000, subtype="PCM_16")  # 0.1 s of stereo
    >>> audio, sr = read_audio(path)
    >>> audio.shape, audio.dtype, sr
    ((4800, 2), dtype('float32'), 48000)
    >>> tmp.cleanup()
    """
    import soundfile as sf

    check_media_file(path, "audio")
    name = os.fspath(path)
    try:
        with sf.SoundFile(name) as fh:
            sr, declared = fh.samplerate, fh.frames
            audio = fh.read(dtype="float32", always_2d=False)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:
        # soundfile.LibsndfileError is a RuntimeError
        raise MediaError(
            f"audio file {name!r} cannot be read by soundfile ({exc}); it is corrupt or not "
            f"an audio format libsndfile reads (WAV, FLAC, OGG); convert it to WAV."
        ) from None
    if audio.shape[0] == 0:
        raise AudioError(
            f"audio file {name!r} contains 0 samples; remove it from X or re-export it."
        )
    if not np.isfinite(audio).all():
        raise AudioError(f"audio file {name!r} contains NaN or infinite samples.")
    # libsndfile shortens a WAV's data chunk to the bytes present; its header still says
    declared = max(declared, _wav_declared_frames(name) or 0)
    if audio.shape[0] < declared:
        n = audio.shape[0]
        warnings.warn(
            f"audio file {name!r} is truncated: its header declares {declared} samples "
            f"({declared / sr:.3f} s) but it holds {n} ({n / sr:.3f} s); "
            f"{(declared - n) / sr:.3f} s are missing. Re-export or re-download it.",
            MediaWarning, stacklevel=2,
        )
    return audio, int(sr)


def _wav_declared_frames(name: str) -> int | None:
    """Frames a RIFF/RIFX WAV's ``data`` chunk header declares; None if not a WAV or unknown."""
    with open(name, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        block_align = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            size = struct.unpack(endian + "I", chunk[4:])[0]
            if chunk[:4] == b"fmt " and size >= 14:
                block_align = struct.unpack(endian + "H", fh.read(14)[12:])[0]
                fh.seek(size - 14 + size % 2, os.SEEK_CUR)
            elif chunk[:4] == b"data":
                # 0 and 0xFFFFFFFF: a streamed file whose writer never knew the length
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                fh.seek(size + size % 2, os.SEEK_CUR)


def fix_duration(audio: np.ndarray, sr: int, duration: float | None, *,
                 max_pad: float | None = None) -> np.ndarray:
    """Crop or zero-pad ``audio`` (samples first) to ``round(duration * sr)`` samples.

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels)
        The samples.
    sr : int
        Their sample rate in Hz.
    duration : float or None
        Target length in seconds; None returns ``audio`` unchanged.
    max_pad : float or None, default=None
        Zero-padding by more than this many seconds warns
        :class:`~sk_avsc.exceptions.MediaWarning` (the embedders pass one
        hop); None never warns.

    Returns
    -------
    ndarray
        ``audio`` cropped or zero-padded at its end.

    Examples
    --------
    >>> import numpy as np
    >>> fix_duration(np.ones(5, dtype=np.float32), 2, 1.5)
    array([1., 1., 1.], dtype=float32)
    >>> fix_duration(np.ones((1, 2), dtype=np.float32), 2, 1.0).tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    if duration is None:
        return audio
    n = int(round(duration * sr))
    if audio.shape[0] >= n:
        return audio[:n]
    missing = (n - audio.shape[0]) / sr
    if max_pad is not None and missing > max_pad:
        warnings.warn(
            f"the audio lasts {audio.shape[0] / sr:.3f} s, less than duration={duration:g} s: "
            f"zero-padded by {missing:.3f} s (more than {max_pad:g} s); check the file, or "
            f"set duration to the clips' real length.",
            MediaWarning, stacklevel=2,
        )
    pad = [(0, n - audio.shape[0])] + [(0, 0)] * (audio.ndim - 1)
    return np.pad(audio, pad)


def frame_indices(
    n_windows: int,
    *,
    hop_size: float,
    center: bool,
    fps: float,
    duration: float,
    policy: str = "center",
) -> np.ndarray:
    """Index of the video frame that goes with each audio window.

    Parameters
    ----------
    n_windows : int
        Number of audio windows.
    hop_size : float
        Window hop in seconds.
    center : bool
        Whether windows are centred (window k centred at ``k * hop_size`` s)
        or not (centred at ``k * hop_size + 0.5`` s).
    fps : float
        Frame rate of the video.
    duration : float
        Duration of the video in seconds, as its container reports it.
    policy : {"center", "authors"}, default="center"
        ``"center"``: the frame shown at the window's centre time ``t``,
        ``floor(t * fps)``. ``"authors"``: the paper authors' choice,
        ``n_windows`` indices spread evenly over all frames,
        ``np.linspace(0, n_frames - 1, n_windows).astype(int)`` with
        ``n_frames = len(np.arange(0, duration, 1 / fps))`` as moviepy 1.0.3
        iterates them; it ignores the window times.

    Returns
    -------
    ndarray of int64, shape (n_windows,)
        Frame indices; they may point past the last decodable frame, which
        :func:`read_video_frames` replaces with the last frame (warning when
        more than ``max_past_end`` seconds past it).

    Examples
    --------
    >>> frame_indices(4, hop_size=0.1, center=True, fps=10.0, duration=1.1).tolist()
    [0, 1, 2, 3]
    >>> frame_indices(4, hop_size=0.1, center=True, fps=10.0, duration=1.1,
    ...               policy="authors").tolist()
    [0, 3, 6, 10]
    """
    check_choice("frame_policy", policy, FRAME_POLICIES)
    if policy == "center":
        times = window_centres(n_windows, hop_size, center)
        # the epsilon keeps 0.3 s * 10 fps at frame 3 despite 2.9999999999999996
        return np.floor(times * fps + 1e-6).astype(np.int64)
    n_frames = len(np.arange(0, duration, 1.0 / fps))  # "authors"
    return np.linspace(0, max(n_frames, 1) - 1, n_windows).astype(np.int64)


def _ffmpeg_reason(exc: BaseException) -> str:
    """Why ffmpeg could not open a file, from the stderr imageio-ffmpeg attaches."""
    text = str(exc)
    start = text.find("Input #0")
    if start >= 0:
        header = text[start:]
        end = header.find("Output #0")
        header = header if end < 0 else header[:end]
        if "Video:" not in header:
            return "it has no video stream"
    if "Invalid data found" in text or "moov atom not found" in text:
        return "it is corrupt or not a video file"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"ffmpeg failed ({lines[-1] if lines else type(exc).__name__})"


def read_video_audio(path: str | os.PathLike, *, sr: int = 48000,
                     channels: int = 2) -> np.ndarray:
    """The audio track of a video file, decoded by ffmpeg, as float32 ``(n_samples, channels)``.

    Parameters
    ----------
    path : str or path-like
        A video file with an audio stream (e.g. an MP4 with AAC audio).
    sr : int, default=48000
        Sample rate to decode to (ffmpeg resamples).
    channels : int, default=2
        Channels to decode to (ffmpeg up- or down-mixes).

    Returns
    -------
    audio : ndarray of shape (n_samples, channels), float32

    Raises
    ------
    MediaError
        If ffmpeg cannot decode the file's audio (its reason quoted).
    AudioError
        If the file has an audio stream without samples.
    """
    import subprocess

    import imageio_ffmpeg

    path = os.fspath(path)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", path, "-vn",
           "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(int(channels)), "-ar",
           str(int(sr)), "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf8", "replace").strip().splitlines()
        raise MediaError(
            f"video file {path!r}: ffmpeg cannot decode its audio "
            f"({lines[-1] if lines else 'exit status %d' % proc.returncode}).")
    audio = np.frombuffer(proc.stdout, dtype=np.float32).reshape(-1, int(channels))
    if audio.shape[0] == 0:
        raise AudioError(f"video file {path!r} has no audio samples; OpenL3 needs its audio.")
    return audio


def read_video_frames(
    path: str | os.PathLike,
    select: Callable[[dict[str, Any]], np.ndarray],
    *,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    max_past_end: float | None = None,
) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any]]:
    """Stream a video with imageio-ffmpeg, keeping only the frames ``select`` asks for.

    Frames are decoded in order and dropped unless needed; decoding stops after
    the last needed frame, so memory holds only the kept frames (after
    ``transform``), never the whole video.

    Parameters
    ----------
    path : str or os.PathLike
        A video file ffmpeg decodes (MP4/H.264, ...).
    select : callable
        ``select(meta) -> ndarray of int``: the frame index wanted for each
        output, computed from imageio-ffmpeg's metadata (``fps``,
        ``duration``, ``size``). Indices past the last decodable frame get the
        last frame (see ``max_past_end``).
    transform : callable, optional
        Applied to each kept frame (an ``(H, W, 3)`` uint8 RGB array), e.g. to
        shrink it at once.
    max_past_end : float or None, default=None
        Indices more than this many seconds past the last decodable frame warn
        :class:`~sk_avsc.exceptions.MediaWarning` (a cut or short video; the
        embedders pass one hop); None never warns.

    Returns
    -------
    frames : list of ndarray
        The distinct kept frames (after ``transform``), in frame order.
    inverse : ndarray of int, shape (n_outputs,)
        ``frames[inverse[k]]`` goes with output ``k``.
    meta : dict
        imageio-ffmpeg's metadata plus ``n_decoded``, the number of frames
        decoded (up to the last one needed).

    Raises
    ------
    MediaError
        Missing file, no video stream, corrupt file, no decodable frame.

    Examples
    --------
    A 1-s video of 8 frames at 8 fps, each frame a different grey level; keep frames 2
    and 5, and frame 5 again:

    >>> import os, tempfile
    >>> import imageio_ffmpeg
    >>> import numpy as np
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "clip.mp4")
    >>> writer = imageio_ffmpeg.write_frames(path, (64, 48), fps=8, macro_block_size=16)
    >>> writer.send(None)
    >>> for k in range(8):
    ...     writer.send(np.full((48, 64, 3), 30 * k, dtype=np.uint8))
    >>> writer.close()
    >>> frames, inverse, meta = read_video_frames(path, lambda meta: np.array([2, 5, 5]))
    >>> len(frames), inverse.tolist(), frames[0].shape, meta["n_decoded"]
    (2, [0, 1, 1], (48, 64, 3), 6)
    >>> tmp.cleanup()
    """
    import imageio_ffmpeg

    check_media_file(path, "video")
    name = os.fspath(path)
    gen = imageio_ffmpeg.read_frames(name, pix_fmt="rgb24")
    try:
        try:
            meta = next(gen)
        except (OSError, RuntimeError, StopIteration) as exc:
            raise MediaError(
                f"video file {name!r} cannot be decoded: {_ffmpeg_reason(exc)}."
            ) from None
        width, height = meta["size"]
        wanted = np.asarray(select(meta), dtype=np.int64)
        unique, inverse = np.unique(wanted, return_inverse=True)
        kept: dict[int, np.ndarray] = {}
        last_raw = None
        n_decoded = 0
        stop = int(unique[-1]) if unique.size else -1
        todo = set(unique.tolist())
        try:
            for raw in gen:
                index = n_decoded
                n_decoded += 1
                last_raw = raw
                if index in todo:
                    kept[index] = _frame(raw, height, width, transform)
                if index >= stop:
                    break
        except (OSError, RuntimeError) as exc:
            # a stream broken half-way still gave usable frames before the break
            if n_decoded == 0:
                raise MediaError(
                    f"video file {name!r} cannot be decoded: {_ffmpeg_reason(exc)}."
                ) from None
    finally:
        gen.close()  # stops ffmpeg when we leave early
    if n_decoded == 0:
        raise MediaError(f"video file {name!r} has no decodable video frame.")
    last = n_decoded - 1
    _check_past_end(name, wanted, last, meta, max_past_end)
    if unique.size and int(unique[-1]) > last:
        # centres past the end take the last decodable frame
        kept[last] = kept[last] if last in kept else _frame(last_raw, height, width, transform)
        unique = np.minimum(unique, last)
        unique, remap = np.unique(unique, return_inverse=True)
        inverse = remap[inverse]
    meta = dict(meta, n_decoded=n_decoded)
    return [kept[int(i)] for i in unique], inverse.reshape(-1), meta


def _check_past_end(name, wanted, last, meta, max_past_end) -> None:
    fps = meta.get("fps")
    if max_past_end is None or not wanted.size or not fps or not np.isfinite(fps) or fps <= 0:
        return
    past = (int(wanted.max()) - last) / fps
    if past <= max_past_end + 1e-9:
        return  # a video a little shorter than asked for: its last frame stands in
    duration = meta.get("duration")
    said = f"; its container says {duration:.2f} s" if duration else ""
    warnings.warn(
        f"video file {name!r} has {last + 1} decodable frames ({(last + 1) / fps:.2f} s at "
        f"{fps:g} fps{said}): {int(np.count_nonzero(wanted > last))} of the {wanted.size} "
        f"frames asked for lie up to {past:.2f} s past its end (more than {max_past_end:g} "
        f"s) and repeat its last frame. The file may be cut short (re-encode or re-download "
        f"it), or shorter than the duration asked for.",
        MediaWarning, stacklevel=3,
    )


def _frame(raw: bytes, height: int, width: int, transform) -> np.ndarray:
    frame = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    return frame.copy() if transform is None else transform(frame)
