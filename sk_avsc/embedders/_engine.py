"""The machinery behind the embedders: clips, chunks, workers, cache, progress.

A transform call turns ``X`` into a list of :class:`Clip`; clips found in the
cache are read back, the others are cut into small chunks (a few clips whose
windows are embedded together in batches) and computed either in this process
(``decode_workers`` threads decoding the next chunks while the network runs on
the current one) or by joblib workers (loky processes, or a Dask cluster under
``joblib.parallel_backend("dask")``). A worker loads its network once per
process and writes each clip's cache file as soon as the clip is done, so an
interrupted run loses only the clips in flight.

Errors never cross a process boundary as exceptions: a worker returns a
:class:`Failure` (exception class, message naming the clip), which the parent
raises as that package exception (other exceptions become MediaError).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import remove_stale_temps
from ..exceptions import (
    AudioError,
    ImageError,
    MediaError,
    ParameterError,
    RandomWeightsWarning,
    SkAvscError,
)
from ..openl3.framing import SAMPLE_RATE, window_count
from . import _cache, _media

__all__ = ["Clip", "Job", "Failure", "PRECISIONS", "as_clips", "iter_embeddings",
           "load_network", "precision_context"]

#: Numeric precisions of the networks: float32 (exact), TF32 (CUDA only), bfloat16.
PRECISIONS = ("float32", "tf32", "bfloat16")


@dataclass
class Clip:
    """One item of ``X``: a file path or an in-memory ``(waveform, sr)`` pair."""

    index: int
    source: Any  # str path, or (ndarray, int)
    label: str  # how messages name the clip
    stat: os.stat_result | None = None
    key: str | None = None
    cache_path: Path | None = None


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the clips (small and picklable)."""

    modality: str  # "audio" or "video"
    weights: Any
    input_repr: str
    content_type: str
    embedding_size: int
    device: Any
    hop_size: float
    center: bool
    duration: float | None
    frame_policy: str
    batch_size: int
    frontend: str = "kapre"  # audio only
    precision: str = "float32"
    compile: bool = False
    decode_workers: int = 1
    n_threads: int | None = None
    parent_pid: int = field(default_factory=os.getpid)

    def model_key(self) -> tuple:
        weights = self.weights if self.weights in (None, "random") else os.fspath(self.weights)
        return (
            self.modality,
            weights,
            self.input_repr,
            self.content_type,
            self.embedding_size,
            str(self.device),
            self.frontend if self.modality == "audio" else None,
            self.precision,
            self.compile,
        )

    def result_params(self, weights_id: str) -> dict:
        """The parameters that change an embedding, for the cache key."""
        params = {
            "modality": self.modality,
            "weights_id": weights_id,
            "input_repr": self.input_repr,
            "content_type": self.content_type,
            "embedding_size": int(self.embedding_size),
            "hop_size": float(self.hop_size),
            "center": bool(self.center),
            "duration": None if self.duration is None else float(self.duration),
        }
        if self.modality == "video":
            params["frame_policy"] = self.frame_policy
        else:
            params["frontend"] = self.frontend
        if self.precision != "float32":  # absent for float32: older caches stay valid
            params["precision"] = self.precision
        return params


@dataclass
class Failure:
    """A clip that could not be embedded, as a worker reports it."""

    index: int
    label: str
    exc_type: type
    message: str
    exc: BaseException | None = None  # kept only in this process, for the traceback

    def __getstate__(self):
        state = dict(self.__dict__)
        state["exc"] = None  # foreign exceptions may not pickle
        return state

    def raise_(self) -> None:
        if isinstance(self.exc_type, type) and issubclass(self.exc_type, SkAvscError):
            err = self.exc_type(self.message)
        else:
            err = MediaError(self.message)
        if self.exc is not None:
            raise err from self.exc
        raise err from None


# ----------------------------------------------------------------------------- X


def as_clips(X, *, what: str, allow_arrays: bool, column: str | None = None) -> list[Clip]:
    """Turn ``X`` into clips, rejecting what cannot be a clip with a clear message."""
    if isinstance(X, (str, bytes, os.PathLike)):
        raise ParameterError(
            f"X must be a sequence of {what} files, got the single value {X!r}; wrap it in "
            f"a list: [{X!r}]."
        )
    if hasattr(X, "columns"):  # a DataFrame: take the named column, or its only one
        if column is not None and column in X.columns:
            X = X[column]
        elif X.shape[1] == 1:
            X = X.iloc[:, 0]
        else:
            raise ParameterError(
                f"X is a table with columns {list(X.columns)}; pass the column of {what} "
                f"files (e.g. X[{column!r}])."
            )
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ParameterError(
            f"X must be a 1-D sequence of {what} files, got an array of shape {X.shape}."
        )
    try:
        items = list(X)
    except TypeError:
        raise ParameterError(
            f"X must be a sequence of {what} files, got {type(X).__name__}."
        ) from None
    if not items:
        raise ParameterError("X contains no clips; pass at least one file.")
    return [_as_clip(i, item, what, allow_arrays) for i, item in enumerate(items)]


def _as_clip(index: int, item, what: str, allow_arrays: bool) -> Clip:
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        return Clip(index, path, f"clip {index} ({path!r})")
    if allow_arrays and isinstance(item, (tuple, list)) and len(item) == 2:
        waveform, sr = item
        if (isinstance(waveform, np.ndarray) and isinstance(sr, numbers.Real)
                and not isinstance(sr, bool)):
            sr = int(sr) if float(sr).is_integer() else float(sr)
            return Clip(index, (waveform, sr), f"clip {index} (waveform array)")
    hint = "a file path (str or os.PathLike)"
    if allow_arrays:
        hint += " or a (waveform ndarray, sample_rate) pair"
    raise ParameterError(
        f"clip {index} in X is of unsupported type {type(item).__name__} ({item!r:.80}); "
        f"each {what} clip must be {hint}."
    )


# ----------------------------------------------------------------------------- worker

_MODELS: dict[tuple, Any] = {}
_THREADS_SET = False


def get_model(job: Job):
    """The job's network, loaded once per process (each joblib worker keeps its own)."""
    global _THREADS_SET
    if not _THREADS_SET and job.n_threads and os.getpid() != job.parent_pid:
        # a worker process: n_workers * n_threads must not exceed the cores
        import torch

        torch.set_num_threads(job.n_threads)
        _THREADS_SET = True
    key = job.model_key()
    model = _MODELS.get(key)
    if model is None:
        with warnings.catch_warnings():
            # the parent's fit already warned about random weights
            warnings.simplefilter("ignore", RandomWeightsWarning)
            model = load_network(job)
        _MODELS[key] = model
    return model


def load_network(job: Job):
    """Load the job's OpenL3 network: the audio one, or the image one for video frames."""
    from .. import openl3

    import torch

    kwargs = dict(input_repr=job.input_repr, content_type=job.content_type,
                  embedding_size=job.embedding_size, device=job.device,
                  dtype=torch.bfloat16 if job.precision == "bfloat16" else None,
                  compile=job.compile)
    if job.modality == "audio":
        return openl3.load_audio_model(job.weights, frontend=job.frontend, **kwargs)
    return openl3.load_image_model(job.weights, **kwargs)


def precision_context(precision: str, device):
    """The block in which a network of ``precision`` on ``device`` runs.

    On CUDA it sets TF32 on (``"tf32"``) or off (otherwise: torch lets cuDNN use TF32 by
    default) for cuDNN convolutions and CUDA matmuls, restoring the settings after; on
    other devices it changes nothing (``"tf32"`` is refused there when the parameters are
    checked).
    """
    from ..openl3._loading import cuda_fp32_math

    import torch

    if torch.device(device).type != "cuda":
        return contextlib.nullcontext()
    return cuda_fp32_math(precision == "tf32")


@dataclass
class _Loaded:
    clip: Clip
    inputs: np.ndarray  # audio windows (n, 1, 48000) or preprocessed frames (u, 224, 224, 3)
    inverse: np.ndarray | None = None  # video: distinct frame for each window
    warnings: list = field(default_factory=list)  # (category, message), re-emitted by the parent


def _failure(clip: Clip, exc: BaseException) -> Failure:
    message = str(exc)
    name = clip.source if isinstance(clip.source, str) else None
    if not (name and name in message):
        message = f"{clip.label}: {message}"
    if not isinstance(exc, SkAvscError):
        message = f"{message} ({type(exc).__name__})"
    return Failure(clip.index, clip.label, type(exc), message, exc)


def load_inputs(job: Job, clips: Sequence[Clip]) -> list[_Loaded | Failure]:
    """Read/decode and preprocess clips; stops at the first clip that fails."""
    out: list[_Loaded | Failure] = []
    load = _load_audio if job.modality == "audio" else _load_video
    for clip in clips:
        try:
            # warnings (silent clip, short clip...) travel back to the parent, which
            # re-emits them naming the clip; a worker's stderr would hide them
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loaded = load(job, clip)
        except Exception as exc:  # reported per clip, raised by the parent
            out.append(_failure(clip, exc))
            break
        seen = set()
        for w in caught:
            item = (w.category, str(w.message))
            if item not in seen:
                seen.add(item)
                loaded.warnings.append(item)
        out.append(loaded)
    return out


def _load_audio(job: Job, clip: Clip) -> _Loaded:
    from .. import openl3

    if isinstance(clip.source, tuple):
        audio, sr = clip.source
    else:
        audio, sr = _media.read_audio(clip.source)
    # padding past one hop is damage or a wrong duration, not rounding: it warns
    audio = _media.fix_duration(audio, sr, job.duration, max_pad=job.hop_size)
    windows, _ = openl3.cut_audio_windows(audio, sr, hop_size=job.hop_size, center=job.center)
    return _Loaded(clip, windows)


def video_window_count(job: Job, meta: dict) -> int:
    """Windows for a video: from ``duration`` if set, else from the container's duration."""
    seconds = job.duration if job.duration is not None else meta.get("duration")
    if not seconds or not np.isfinite(seconds) or seconds <= 0:
        raise MediaError(
            f"the video's duration is unknown ({seconds!r}); pass duration= (seconds)."
        )
    return window_count(round(seconds * SAMPLE_RATE), job.hop_size, job.center)


def frame_selector(job: Job, source: str):
    """The ``select`` of :func:`~sk_avsc.embedders.read_video_frames` for the job's windows."""
    def select(meta):
        fps = meta.get("fps")
        if not fps or not np.isfinite(fps) or fps <= 0:
            raise MediaError(f"video file {source!r} reports no usable frame rate ({fps!r}).")
        n_windows = video_window_count(job, meta)
        return _media.frame_indices(
            n_windows,
            hop_size=job.hop_size,
            center=job.center,
            fps=float(fps),
            duration=float(meta.get("duration") or 0.0),
            policy=job.frame_policy,
        )

    return select


def _load_video(job: Job, clip: Clip) -> _Loaded:
    from .. import openl3

    # a video a hop shorter than its windows keeps its last frame silently; more warns
    frames, inverse, _ = _media.read_video_frames(clip.source, frame_selector(job, clip.source),
                                                  transform=_shrink, max_past_end=job.hop_size)
    if frames[0].dtype == np.uint8:  # kept whole: normalise them together, as openl3 does
        return _Loaded(clip, openl3.preprocess_image(np.stack(frames)), inverse)
    return _Loaded(clip, np.stack(frames), inverse)


def _shrink(frame: np.ndarray) -> np.ndarray:
    """Preprocess a frame at once when that equals preprocessing the clip's frames together.

    Frames with a short side over 256 px are rescaled into [0, 1] one by one, so
    memory holds 224x224 inputs, not full frames. Smaller frames are only cropped
    and openl3 then divides the whole batch by its peak value: those are kept as
    they are and preprocessed together.
    """
    from .. import openl3

    if min(frame.shape[:2]) > 256:
        return openl3.preprocess_image(frame[None])[0]
    return frame.copy()


def embed_loaded(job: Job, model, loaded: list[_Loaded | Failure]) -> list:
    """Embed the loaded clips' windows together in batches; cache each clip."""
    from .. import openl3

    ok = [item for item in loaded if isinstance(item, _Loaded)]
    failures = [item for item in loaded if isinstance(item, Failure)]
    results: list = []
    if ok:
        try:
            inputs = np.concatenate([item.inputs for item in ok])
            embed = openl3.embed_audio_windows if job.modality == "audio" else openl3.embed_images
            with precision_context(job.precision, model.device):
                embeddings = embed(inputs, model, batch_size=job.batch_size)
        except Exception as exc:
            return [_failure(ok[0].clip, exc)]
        bounds = np.cumsum([0] + [len(item.inputs) for item in ok])
        del inputs
        for item in ok:
            item.inputs = None  # free the windows/frames before the next chunk
        for item, start, stop in zip(ok, bounds[:-1], bounds[1:]):
            emb = np.asarray(embeddings[start:stop], dtype=np.float32)
            if item.inverse is not None:
                emb = emb[item.inverse]
            if not np.isfinite(emb).all():
                error = AudioError if job.modality == "audio" else ImageError
                results.append(
                    _failure(item.clip, error("the network gave non-finite embeddings"))
                )
                return results
            if item.clip.cache_path is not None:
                _cache.save_cached(
                    item.clip.cache_path,
                    item.clip.key,
                    emb,
                    item.clip.label,
                )
            results.append((item.clip.index, emb, item.warnings))
    return results + failures


def compute_chunk(job: Job, clips: Sequence[Clip]) -> list:
    """A joblib task: load, embed and cache a few clips; never raises for a bad clip."""
    try:
        model = get_model(job)
    except Exception as exc:
        return [_failure(clips[0], exc)]
    return embed_loaded(job, model, load_inputs(job, clips))


# ----------------------------------------------------------------------------- parent


def _in_process(n_jobs) -> tuple[bool, int]:
    import joblib
    from joblib.parallel import SequentialBackend, get_active_backend

    n_workers = joblib.effective_n_jobs(n_jobs)
    backend, context_n_jobs = get_active_backend()
    # a parallel_backend(...) context (e.g. Dask) is honoured even with one worker
    local = context_n_jobs is None or isinstance(backend, SequentialBackend)
    return n_workers == 1 and local, n_workers


def _chunks(clips: list[Clip], size: int) -> list[list[Clip]]:
    return [clips[i:i + size] for i in range(0, len(clips), size)]


def _local_stream(job: Job, model, chunks: list[list[Clip]]) -> Iterator[list]:
    """Embed chunk i while ``job.decode_workers`` threads decode the chunks after it.

    Results come in chunk order. After a chunk with a failing clip no further chunk is
    embedded (the clips before the failure are, and cached): the decodes already in flight
    are discarded, the ones not started cancelled. Threads suffice for the video side:
    ffmpeg is a subprocess and reading its pipe releases the GIL, as soundfile and most of
    numpy's work do (resampling, rare for 48 kHz TAU files, holds it).
    """
    if not chunks:
        return
    workers = max(1, int(job.decode_workers))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sk_avsc-decode")
    try:
        in_flight = deque(pool.submit(load_inputs, job, chunk) for chunk in chunks[:workers])
        submitted = len(in_flight)
        while in_flight:
            loaded = in_flight.popleft().result()
            failed = any(isinstance(x, Failure) for x in loaded)
            if failed:
                for future in in_flight:
                    future.cancel()
                in_flight.clear()
            elif submitted < len(chunks):
                in_flight.append(pool.submit(load_inputs, job, chunks[submitted]))
                submitted += 1
            yield embed_loaded(job, model, loaded)
            if failed:
                return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def iter_embeddings(
    clips: list[Clip],
    job: Job,
    *,
    model,
    weights_id: str,
    cache_dir,
    n_jobs,
    verbose,
    desc: str,
    cache_key: str = "stat",
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(clip index, embedding (n_windows, dim))`` in the order of ``clips``.

    Raises the package exception of the first clip that fails, after the
    clips before it have been cached.
    """
    from tqdm.auto import tqdm

    params = job.result_params(weights_id)
    if cache_dir is not None:
        # temporaries of a killed run (any process), left alone for an hour in case
        # their writer is still running
        remove_stale_temps(Path(cache_dir) / job.modality)
    for clip in clips:
        if isinstance(clip.source, str):
            clip.stat = _media.check_media_file(clip.source, job.modality)
        if cache_dir is not None:
            # cache_key (the mode) enters the key only through the identity's fields
            identity = _cache.source_identity(clip.source, clip.stat, cache_key)
            clip.key = _cache.cache_key(identity, params)
            clip.cache_path = _cache.cache_path(cache_dir, job.modality, clip.source, clip.key,
                                                cache_key)
    hits = {c.index for c in clips if c.cache_path is not None and c.cache_path.exists()}
    misses = [c for c in clips if c.index not in hits]

    in_process, n_workers = _in_process(n_jobs)
    # several clips per chunk so that short clips still fill a batch
    size = int(np.clip(np.ceil(job.batch_size / 16), 1, 8))
    if not in_process:
        size = max(1, min(size, int(np.ceil(len(misses) / (2 * n_workers)))))
    chunks = _chunks(misses, size)
    if not chunks:
        stream: Iterator[list] = iter(())
    elif in_process:
        stream = _local_stream(job, model, chunks)
    else:
        from joblib import Parallel, delayed

        job = Job(**{**job.__dict__, "n_threads": max(1, (os.cpu_count() or 1) // n_workers)})
        stream = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(compute_chunk)(job, chunk) for chunk in chunks
        )

    done: dict[int, np.ndarray] = {}
    bar = tqdm(total=len(clips), desc=desc, unit="clip", disable=not verbose, leave=True)
    try:
        for clip in clips:
            if clip.index in hits:
                emb = _cache.load_cached(clip.cache_path, clip.key, job.embedding_size)
                if emb is None:  # corrupt: recompute here, now
                    emb = _single(job, model, clip)
            else:
                while clip.index not in done:
                    for item in next(stream):
                        if isinstance(item, Failure):
                            item.raise_()
                        done[item[0]] = item[1:]
                emb, caught = done.pop(clip.index)
                for category, message in caught:
                    warnings.warn(f"{clip.label}: {message}", category, stacklevel=3)
            bar.update(1)
            yield clip.index, emb
    finally:
        bar.close()
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # aborts pending joblib tasks


def _single(job: Job, model, clip: Clip) -> np.ndarray:
    result = embed_loaded(job, model, load_inputs(job, [clip]))
    if isinstance(result[0], Failure):
        result[0].raise_()
    for category, message in result[0][2]:
        warnings.warn(f"{clip.label}: {message}", category, stacklevel=4)
    return result[0][1]
