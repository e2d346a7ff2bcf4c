"""Functional API of the OpenL3 port, mirroring ``openl3`` 0.4.2.

Users of openl3 switch by changing the import::

    from sk_avsc import openl3
    model = openl3.load_audio_model(input_repr="mel256", content_type="env",
                                    embedding_size=512)
    emb, ts = openl3.get_audio_embedding(audio, sr, model=model, hop_size=0.1)

Differences from openl3: errors are :class:`~sk_avsc.exceptions.SkAvscError` subclasses
(all ``ValueError``), warnings are :class:`~sk_avsc.exceptions.SkAvscWarning`, ``verbose``
defaults to False, non-finite audio/images are rejected, integer audio is scaled to
[-1, 1] (openl3 fed raw integers; the per-window dB normalisation makes the two agree up to
the 1e-10 floor), and the return types do not depend on the input beyond list vs. array.

Exactness and speed modes
-------------------------
* Default (float32, CPU): the front-end is TensorFlow's computation to float32 rounding
  (see :mod:`sk_avsc.openl3.frontend`), the convolutions run eagerly with batch
  normalisation folded into them, channels-last. Measured against openl3 0.4.2 on every
  reference case: relative L2 error <= 2e-6 (<= 3e-5 on all-zero audio), resampled audio
  included (resampy ``kaiser_best``, as openl3).
* ``dtype=torch.bfloat16``: convolutions in bfloat16 (front-end still float32); relative
  deviation from float32 ~5e-3. Fast on CPUs with AMX or AVX512-BF16, and on GPUs.
* ``compile=True``: ``torch.compile(freezing=True)`` of the convolutions; needs a C++
  compiler at run time and compiles on the first batch (tens of seconds).
* CUDA (``device="cuda"``): the front-end still runs on CPU by default (exact, ~350
  windows/s per core) and the spectrograms go to the GPU. Set
  ``model.frontend_device = None`` to run it on the GPU with ``torch.fft`` (faster; relative
  deviation from openl3 up to ~3e-4 on mel and ~5e-3 on linear spectrograms of tonal or
  resampled audio, measured on the reference fixtures with torch's CPU FFT).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..exceptions import (
    AudioError,
    ImageError,
    ParameterError,
    RandomWeightsWarning,
    SkAvscWarning,
    WeightsError,
)
from .framing import WINDOW_SAMPLES, hop_length, window_centres, window_count
from .frontend import INPUT_REPRS, TARGET_SR
from .models import (
    AUDIO_EMBEDDING_SIZES,
    CONTENT_TYPES,
    IMAGE_EMBEDDING_SIZES,
    IMAGE_SIZE,
    AudioEmbeddingNetwork,
    ImageEmbeddingNetwork,
    check_choice,
)
from .weights import load_keras_weights

__all__ = [
    "load_audio_model",
    "load_image_model",
    "get_audio_embedding",
    "get_image_embedding",
    "preprocess_audio",
    "preprocess_image",
    "embed_audio_windows",
    "embed_images",
]

_RESCALE_SHORT_SIDE = 256
_FILE_RE = re.compile(r"openl3_(audio|image)_(linear|mel128|mel256)_(music|env)")


# ---------------------------------------------------------------------------------------
# model loading
# ---------------------------------------------------------------------------------------

def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _resolve_device(device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"device {device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} but CUDA is not available; use device='cpu'.")
    return dev


def _check_file_name(path: Path, modality, input_repr, content_type):
    match = _FILE_RE.search(path.name)
    if not match:
        return
    f_modality, f_repr, f_content = match.groups()
    if f_modality != modality:
        raise WeightsError(
            f"weight file {str(path)!r} is for the {f_modality} network, but an {modality} "
            f"model was requested; pass an openl3_{modality}_... file.")
    if f_repr != input_repr and modality == "audio":
        raise WeightsError(
            f"weight file {str(path)!r} is for input_repr={f_repr!r}, but "
            f"input_repr={input_repr!r} was requested; pass input_repr={f_repr!r} or the "
            f"openl3_audio_{input_repr}_... file.")
    if (f_repr, f_content) != (input_repr, content_type):
        warnings.warn(
            f"weight file {path.name!r} says input_repr={f_repr!r}, content_type="
            f"{f_content!r}, but input_repr={input_repr!r}, content_type={content_type!r} "
            "were passed; the model's attributes keep the values passed.",
            SkAvscWarning, stacklevel=4)


def _random_init(body: torch.nn.Module, random_state) -> None:
    _check_int("random_state", random_state, minimum=0)
    gen = torch.Generator().manual_seed(int(random_state))
    with torch.no_grad():
        for module in body.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen)
                                    * (2.0 / fan_in) ** 0.5)  # He normal, as Keras
                module.bias.zero_()
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.reset_parameters()


def _compiler_available() -> bool:
    return any(shutil.which(cc) for cc in (os.environ.get("CXX", ""), "c++", "g++", "clang++")
               if cc)


def _prepare(model, weights, modality, device, dtype, compile, random_state):
    if dtype is None:
        dtype = torch.float32
    if dtype not in (torch.float32, torch.bfloat16):
        raise ParameterError(
            f"dtype must be None (float32), torch.float32 or torch.bfloat16, got {dtype!r}.")
    if compile not in (True, False):
        raise ParameterError(f"compile must be True or False, got {compile!r}.")
    dev = _resolve_device(device)
    what = f"{modality} network ({model.input_repr}, {model.embedding_size})"
    if isinstance(weights, str) and weights == "random":
        _random_init(model.body, random_state)
        model.weights_id = f"random-{int(random_state)}"
        warnings.warn(
            f"the OpenL3 {modality} model has random weights (random_state={random_state}): "
            "its embeddings are meaningless as features; load the official weights "
            "(weights=None) for real use.", RandomWeightsWarning, stacklevel=3)
    else:
        if weights is None:
            from ._download import resolve_weights

            path = Path(resolve_weights(modality, model.input_repr, model.content_type))
        elif isinstance(weights, (str, os.PathLike)):
            path = Path(weights)
            if not path.is_file():
                raise WeightsError(
                    f"weight file {str(path)!r} not found; pass the path of an "
                    f"openl3_{modality}_<input_repr>_<content_type>.h5 (or .h5.gz) file, "
                    "weights=None to find the official one, or weights='random'.")
            _check_file_name(path, modality, model.input_repr, model.content_type)
        else:
            raise ParameterError(
                f"weights must be None, a path to a .h5/.h5.gz file or 'random', got "
                f"{type(weights).__name__} {weights!r}.")
        model.weights_id = load_keras_weights(model.body, path, what=what)
    if compile and dev.type == "cpu" and not _compiler_available():
        raise ParameterError(
            "compile=True needs a C++ compiler at run time (c++/g++/clang++ on PATH, or "
            "$CXX) for torch.compile; install one (e.g. apt-get install g++) or use "
            "compile=False.")
    model.eval().requires_grad_(False)
    model.to(device=dev)
    model.set_inference_mode(dtype, compile)
    return model


def load_audio_model(
    weights: str | os.PathLike | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 6144,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    compile: bool = False,
    random_state: int = 0,
) -> AudioEmbeddingNetwork:
    """Load OpenL3's audio embedding network with its weights.

    Parameters
    ----------
    weights : str, path-like or None, default=None
        ``None`` finds the official file ``openl3_audio_<input_repr>_<content_type>.h5``
        (``$SK_AVSC_WEIGHTS_DIR``, the user cache, an installed ``openl3`` package, then
        a verified download); a path to a Keras ``.h5``/``.h5.gz`` weight file; or
        ``"random"`` for a deterministic random initialisation (warns
        :class:`~sk_avsc.exceptions.RandomWeightsWarning`; for tests and demos).
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Input representation.
    content_type : {"music", "env"}, default="music"
        Training content of the weights ("env" in the paper).
    embedding_size : {6144, 512}, default=6144
        Embedding dimension.
    device : str or torch.device, default="cpu"
        Where the network runs.
    dtype : {None, torch.float32, torch.bfloat16}, default=None
        Computation dtype of the convolutions (None: float32). bfloat16 is much faster on
        CPUs with bf16 support (AVX512-BF16/AMX) and deviates by ~5e-3 (relative L2);
        the front-end always runs in float32.
    compile : bool, default=False
        Compile the convolutions with ``torch.compile`` (constant folding/freezing): the
        fastest CPU mode, needs a C++ compiler at run time and compiles on the first
        batches (tens of seconds; the batch size is dynamic, so a shorter last batch costs
        at most one more compilation).
    random_state : int, default=0
        Seed of ``weights="random"``.

    Returns
    -------
    model : AudioEmbeddingNetwork
        In eval mode on ``device``, with attributes ``input_repr``, ``content_type``,
        ``embedding_size`` and ``weights_id`` (SHA-1 of the weight file's HDF5 bytes, or
        ``"random-<random_state>"``).

    Raises
    ------
    ParameterError
        For an invalid choice (the message lists the valid values).
    WeightsError
        When the weight file is missing, unreadable, or made for another architecture.

    See Also
    --------
    get_audio_embedding : Embed audio with the model.
    load_image_model : The image network.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_audio_model("random", "mel128", "env", 512)
    >>> model.weights_id, model.embedding_size
    ('random-0', 512)
    """
    model = AudioEmbeddingNetwork(input_repr, content_type, embedding_size)
    return _prepare(model, weights, "audio", device, dtype, compile, random_state)


def load_image_model(
    weights: str | os.PathLike | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 8192,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    compile: bool = False,
    random_state: int = 0,
) -> ImageEmbeddingNetwork:
    """Load OpenL3's image embedding network with its weights.

    Parameters
    ----------
    weights : str, path-like or None, default=None
        As in :func:`load_audio_model`, with ``openl3_image_<input_repr>_<content_type>.h5``.
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Audio representation of the audio-visual model the image weights were trained with.
    content_type : {"music", "env"}, default="music"
        Training content of the weights.
    embedding_size : {8192, 512}, default=8192
        Embedding dimension.
    device, dtype, compile, random_state
        As in :func:`load_audio_model`.

    Returns
    -------
    model : ImageEmbeddingNetwork
        In eval mode on ``device``; attributes as in :func:`load_audio_model`.

    See Also
    --------
    get_image_embedding : Embed frames with the model.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_image_model("random", embedding_size=512, random_state=3)
    >>> model.weights_id
    'random-3'
    """
    model = ImageEmbeddingNetwork(input_repr, content_type, embedding_size)
    return _prepare(model, weights, "image", device, dtype, compile, random_state)


@functools.lru_cache(maxsize=2)
def _cached_model(kind, input_repr, content_type, embedding_size):
    loader = load_audio_model if kind == "audio" else load_image_model
    return loader(None, input_repr, content_type, embedding_size)


# ---------------------------------------------------------------------------------------
# audio
# ---------------------------------------------------------------------------------------

def _as_float_audio(audio, name: str) -> np.ndarray:
    if not isinstance(audio, np.ndarray):
        raise AudioError(
            f"{name} must be a numpy array (or a list of arrays), got {type(audio).__name__}.")
    if audio.size == 0:
        raise AudioError(f"{name} is empty (shape {audio.shape}); it needs at least one sample.")
    if audio.ndim > 2:
        raise AudioError(
            f"{name} has {audio.ndim} dimensions (shape {audio.shape}); audio must be 1-D "
            "(samples,) or 2-D (samples, channels).")
    kind = audio.dtype.kind
    if kind in "iu":
        # integer PCM to [-1, 1], as soundfile reads it
        info = np.iinfo(audio.dtype)
        offset = 0.0 if kind == "i" else (info.max + 1) / 2.0
        audio = ((audio.astype(np.float64) - offset) / (info.max - offset + 1)).astype(np.float32)
    elif kind != "f":
        raise AudioError(f"{name} has dtype {audio.dtype}; pass float or integer samples.")
    if not np.all(np.isfinite(audio)):
        bad = np.argwhere(~np.isfinite(audio))[0].tolist()
        raise AudioError(
            f"{name} contains NaN or infinite samples (first at index {bad}); clean the "
            "signal (e.g. np.nan_to_num) before embedding it.")
    return audio


def _check_sr(sr, name="sr"):
    if isinstance(sr, bool) or not isinstance(sr, Real) or not np.isfinite(sr) or sr <= 0:
        raise ParameterError(f"{name} must be a positive sample rate in Hz, got {sr!r}.")


def _check_hop(hop_size):
    if (isinstance(hop_size, bool) or not isinstance(hop_size, Real)
            or not np.isfinite(hop_size) or hop_size <= 0):
        raise ParameterError(f"hop_size must be a positive number of seconds, got {hop_size!r}.")
    if int(hop_size * TARGET_SR) < 1:
        raise ParameterError(
            f"hop_size={hop_size!r} s is shorter than one sample at {TARGET_SR} Hz.")


def preprocess_audio(
    audio: np.ndarray,
    sr: Real,
    *,
    hop_size: float = 0.1,
    center: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut audio into OpenL3's 1-s windows at 48 kHz, as openl3 0.4.2 does.

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels)
        Float or integer samples (integers are scaled to [-1, 1]); several channels are
        averaged.
    sr : float
        Sample rate in Hz; other rates than 48 kHz are resampled with resampy
        ``kaiser_best``.
    hop_size : float, default=0.1
        Hop between windows in seconds (``int(hop_size * 48000)`` samples).
    center : bool, default=True
        Pad half a window (24,000 zeros) at the start, so that timestamp ``t`` is the
        centre of its window.

    Returns
    -------
    windows : ndarray of shape (n_windows, 1, 48000), float32
        A read-only strided view of the padded signal (copy it to write).
    timestamps : ndarray of shape (n_windows,), float64
        ``arange(n_windows) * hop_size`` in seconds.

    Warns
    -----
    SkAvscWarning
        If the audio is all zeros, or shorter than one window (it is zero-padded).

    Notes
    -----
    openl3's quirks, reproduced: the end is zero-padded so that every sample falls in a
    window, ``n_windows = 1 + ceil((len - 48000) / hop)`` (at least 1) on the centred
    signal; timestamps use ``hop_size`` itself, not the rounded hop in samples; a clip
    shorter than 1 s gives one window.

    Examples
    --------
    >>> windows, ts = preprocess_audio(np.ones(96000, dtype=np.float32), 48000)
    >>> windows.shape, ts[:3]
    ((16, 1, 48000), array([0. , 0.1, 0.2]))
    """
    _check_sr(sr)
    _check_hop(hop_size)
    if center not in (True, False):
        raise ParameterError(f"center must be True or False, got {center!r}.")
    audio = _as_float_audio(audio, "audio")
    if not np.any(audio):
        warnings.warn("audio is all zeros: its embeddings carry no information.",
                      SkAvscWarning, stacklevel=2)
    if audio.ndim == 2:
        if audio.shape[1] > audio.shape[0]:
            warnings.warn(
                f"audio has shape {audio.shape}: more channels than samples; audio must be "
                "(samples, channels), transpose it if it is (channels, samples).",
                SkAvscWarning, stacklevel=2)
        audio = np.mean(audio, axis=1)
    if sr != TARGET_SR:
        import resampy

        try:
            audio = resampy.resample(audio, sr_orig=sr, sr_new=TARGET_SR, filter="kaiser_best")
        except ValueError as exc:
            raise AudioError(f"cannot resample audio from {sr} Hz to {TARGET_SR} Hz: {exc}") \
                from exc
    hop_len = hop_length(hop_size)
    if audio.size < WINDOW_SAMPLES:
        warnings.warn(
            f"audio lasts {audio.size / TARGET_SR:.3f} s, shorter than one window (1 s): it "
            "is zero-padded to one window.", SkAvscWarning, stacklevel=2)
    front = WINDOW_SAMPLES // 2 if center else 0
    length = audio.size + front
    n_windows = window_count(audio.size, hop_size, center)
    total = (n_windows - 1) * hop_len + WINDOW_SAMPLES
    padded = np.zeros(max(total, length), dtype=np.float32)
    padded[front:front + audio.size] = audio
    view = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_SAMPLES)
    windows = view[::hop_len][:n_windows, np.newaxis, :]
    timestamps = window_centres(n_windows, hop_size)
    return windows, timestamps


def _batches(n, batch_size):
    for start in range(0, n, batch_size):
        yield start, min(start + batch_size, n)


def _run(model, batch: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(batch, dtype=np.float32)
    if not arr.flags.writeable:  # a read-only window view: torch wants writable memory
        arr = arr.copy()
    x = torch.from_numpy(arr)
    with torch.inference_mode():
        out = model(x)
    return out.cpu().numpy()


def _check_model(model, cls, what):
    if not isinstance(model, cls):
        raise ParameterError(
            f"model must be an {cls.__name__} (from load_{what}_model), got "
            f"{type(model).__name__}.")


def embed_audio_windows(windows: np.ndarray, model: AudioEmbeddingNetwork,
                        batch_size: int = 32, verbose: bool = False) -> np.ndarray:
    """Embed windows from :func:`preprocess_audio` (possibly of many clips) in batches.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, 1, 48000)
        48 kHz windows.
    model : AudioEmbeddingNetwork
        From :func:`load_audio_model`.
    batch_size : int, default=32
        Windows per forward pass.
    verbose : bool, default=False
        Show a progress bar on stderr.

    Returns
    -------
    embeddings : ndarray of shape (n_windows, model.embedding_size), float32

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_audio_model("random", "mel128", embedding_size=512)
    >>> windows, _ = preprocess_audio(np.ones(48000), 48000, center=False)
    >>> embed_audio_windows(windows, model).shape
    (1, 512)
    """
    _check_model(model, AudioEmbeddingNetwork, "audio")
    _check_int("batch_size", batch_size)
    if not isinstance(windows, _Concat):
        windows = np.asarray(windows)
    if windows.ndim != 3 or windows.shape[1:] != (1, WINDOW_SAMPLES):
        raise AudioError(
            f"windows must have shape (n_windows, 1, {WINDOW_SAMPLES}), got {windows.shape}; "
            "make them with preprocess_audio.")
    out = np.empty((windows.shape[0], model.embedding_size), dtype=np.float32)
    from tqdm.auto import tqdm

    for start, stop in tqdm(list(_batches(windows.shape[0], batch_size)), disable=not verbose,
                            desc="OpenL3 audio", unit="batch"):
        out[start:stop] = _run(model, windows[start:stop])
    return out


def get_audio_embedding(
    audio,
    sr,
    model: AudioEmbeddingNetwork | None = None,
    input_repr: str | None = None,
    content_type: str = "music",
    embedding_size: int = 6144,
    center: bool = True,
    hop_size: float = 0.1,
    batch_size: int = 32,
    verbose: bool = False,
):
    """Compute OpenL3 audio embeddings of 1-s windows, as ``openl3.get_audio_embedding``.

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels), or list of them
        Audio; float or integer samples; channels are averaged.
    sr : float or list of float
        Sample rate(s) in Hz (one per array, or one for all); resampled to 48 kHz.
    model : AudioEmbeddingNetwork, default=None
        A loaded model. If given, ``input_repr``, ``content_type`` and ``embedding_size``
        are ignored (as in openl3); if None, the official model is loaded (and cached).
    input_repr : {"linear", "mel128", "mel256"} or None, default=None
        Input representation when ``model`` is None (None means "mel256").
    content_type : {"music", "env"}, default="music"
        Training content when ``model`` is None.
    embedding_size : {6144, 512}, default=6144
        Embedding dimension when ``model`` is None.
    center : bool, default=True
        Timestamps at window centres (pads half a window at the start).
    hop_size : float, default=0.1
        Hop between windows in seconds.
    batch_size : int, default=32
        Windows per forward pass; results do not depend on it.
    verbose : bool, default=False
        Show a progress bar.

    Returns
    -------
    embeddings : ndarray of shape (n_windows, dim), float32, or list of them
    timestamps : ndarray of shape (n_windows,), float64, or list of them
        Start of each window in seconds, or its centre when ``center=True``.

    Raises
    ------
    AudioError
        Empty, non-finite or more than 2-D audio.
    ParameterError
        Invalid sample rate, hop, centre flag, batch size or model choice.

    See Also
    --------
    preprocess_audio, embed_audio_windows : The two steps, for batching across clips.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_audio_model("random", "mel128", embedding_size=512)
    >>> audio = np.random.default_rng(0).uniform(-1, 1, (72000, 2))  # 1.5 s stereo
    >>> emb, ts = get_audio_embedding(audio, 48000, model=model, hop_size=0.5)
    >>> emb.shape, ts
    ((3, 512), array([0. , 0.5, 1. ]))
    """
    if input_repr is None:
        input_repr = "mel256"
    check_choice("input_repr", input_repr, INPUT_REPRS)
    check_choice("content_type", content_type, CONTENT_TYPES)
    check_choice("embedding_size", embedding_size, AUDIO_EMBEDDING_SIZES)
    _check_int("batch_size", batch_size)
    if model is not None:
        _check_model(model, AudioEmbeddingNetwork, "audio")
    if isinstance(audio, np.ndarray):
        audio_list, list_input = [audio], False
    elif isinstance(audio, (list, tuple)):
        audio_list, list_input = list(audio), True
    else:
        raise AudioError(
            f"audio must be a numpy array or a list of arrays, got {type(audio).__name__}.")
    if isinstance(sr, (list, tuple)):
        sr_list = list(sr)
        if len(sr_list) != len(audio_list):
            raise ParameterError(
                f"got {len(audio_list)} audio arrays but {len(sr_list)} sample rates; pass one "
                "sample rate per array, or a single one for all.")
    else:
        sr_list = [sr] * len(audio_list)
    windows, timestamps, counts = [], [], []
    for i, (x, rate) in enumerate(zip(audio_list, sr_list)):
        try:
            w, ts = preprocess_audio(x, rate, hop_size=hop_size, center=center)
        except AudioError as exc:
            if list_input:
                raise AudioError(f"audio[{i}]: {exc}") from exc
            raise
        windows.append(w)
        timestamps.append(ts)
        counts.append(w.shape[0])
    if model is None:
        model = _cached_model("audio", input_repr, content_type, embedding_size)
    emb = embed_audio_windows(_Concat(windows), model, batch_size, verbose)
    embeddings = np.split(emb, np.cumsum(counts)[:-1])
    if not list_input:
        return embeddings[0], timestamps[0]
    return embeddings, timestamps


class _Concat:
    """Row-wise concatenation of window views without copying all of them at once."""

    def __init__(self, parts: Sequence[np.ndarray]):
        self.parts = parts
        self.offsets = np.cumsum([0] + [p.shape[0] for p in parts])
        self.shape = (int(self.offsets[-1]),) + tuple(parts[0].shape[1:])
        self.ndim = 3

    def __array__(self, dtype=None, copy=None):
        return np.concatenate(self.parts).astype(dtype or np.float32)

    def __getitem__(self, sl: slice) -> np.ndarray:
        start, stop = sl.start, sl.stop
        chunks = []
        for part, lo in zip(self.parts, self.offsets[:-1]):
            a, b = max(start - lo, 0), min(stop - lo, part.shape[0])
            if a < b:
                chunks.append(part[a:b])
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


# ---------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------

def _img_as_float(arr: np.ndarray, float32: bool) -> np.ndarray:
    # scikit-image's img_as_float / img_as_float32 conversions
    kind = arr.dtype.kind
    if kind == "f":
        if float32:
            return arr.astype(np.float32)
        return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    info = np.iinfo(arr.dtype)
    if float32:
        ctype = np.float32 if arr.dtype.itemsize <= 4 else np.float64
    else:
        ctype = np.float64
    out = np.multiply(arr, 1.0 / info.max, dtype=ctype)
    if kind == "i":
        np.maximum(out, -1.0, out=out)
    return out.astype(np.float32) if float32 else out


def _check_images(images, name="image") -> np.ndarray:
    if not isinstance(images, np.ndarray):
        raise ImageError(
            f"{name} must be a numpy array (H, W, 3) or (N, H, W, 3), or a list of them; got "
            f"{type(images).__name__}.")
    if images.size == 0:
        raise ImageError(f"{name} is empty (shape {images.shape}).")
    if images.ndim not in (3, 4):
        raise ImageError(
            f"{name} has {images.ndim} dimensions (shape {images.shape}); pass one image "
            "(H, W, 3) or a batch (N, H, W, 3).")
    if images.shape[-1] != 3:
        raise ImageError(
            f"{name} has {images.shape[-1]} channels (shape {images.shape}); OpenL3 needs RGB "
            "images with 3 channels last (drop alpha: image[..., :3]).")
    if images.dtype.kind not in "fiu":
        raise ImageError(f"{name} has dtype {images.dtype}; pass uint8, integer or float pixels.")
    if images.dtype.kind == "f" and not np.all(np.isfinite(images)):
        raise ImageError(f"{name} contains NaN or infinite pixels.")
    if images.ndim == 3:
        images = images[np.newaxis]
    height, width = images.shape[1:3]
    if min(height, width) < IMAGE_SIZE:
        raise ImageError(
            f"{name} is {height}x{width} px; OpenL3 needs images of at least "
            f"{IMAGE_SIZE}x{IMAGE_SIZE} px (upscale them first).")
    return images


def _rescale_crop(frames: np.ndarray) -> np.ndarray:
    """skimage ``rescale(frame, 256 / short_side, order=1, anti_aliasing=False)`` + crop."""
    n, height, width = frames.shape[:3]
    scale = _RESCALE_SHORT_SIDE / min(height, width)
    out_h, out_w = (int(max(np.round(scale * s), 1)) for s in (height, width))
    top, left = out_h // 2 - IMAGE_SIZE // 2, out_w // 2 - IMAGE_SIZE // 2
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float64)
    for start in range(0, n, 8):  # bound float64 memory for long 1080p batches
        chunk = _img_as_float(frames[start:start + 8], float32=False)
        t = torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float64)).permute(0, 3, 1, 2)
        resized = torch.nn.functional.interpolate(
            t, size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=False)
        crop = resized[:, :, top:top + IMAGE_SIZE, left:left + IMAGE_SIZE]
        # skimage clips to each frame's input range (clip=True)
        lo = t.amin(dim=(1, 2, 3), keepdim=True)
        hi = t.amax(dim=(1, 2, 3), keepdim=True)
        crop = torch.maximum(torch.minimum(crop, hi), lo)
        crop = crop.permute(0, 2, 3, 1).numpy()
        if chunk.dtype == np.float32:  # scipy.ndimage keeps float32 input in float32
            crop = crop.astype(np.float32)
        out[start:start + 8] = crop
    return out


def preprocess_image(images: np.ndarray) -> np.ndarray:
    """Resize, crop and scale frames for OpenL3's image network, as openl3 0.4.2 does.

    Parameters
    ----------
    images : ndarray of shape (H, W, 3) or (N, H, W, 3)
        RGB frames, at least 224 px on each side; uint8, other integers or floats.

    Returns
    -------
    batch : ndarray of shape (N, 224, 224, 3), float32
        Input of :class:`~sk_avsc.openl3.models.ImageEmbeddingNetwork`.

    Raises
    ------
    ImageError
        Not 3-D/4-D, not 3 channels, smaller than 224 px, empty, or non-finite.

    Warns
    -----
    SkAvscWarning
        If every pixel is zero.

    Notes
    -----
    openl3's quirks, reproduced:

    * Frames whose short side exceeds 256 px are rescaled so that it becomes 256 (bilinear,
      no anti-aliasing, output size rounded, scikit-image's pixel-centre convention), then
      the centre 224x224 is cropped; frames of 224-256 px are only cropped.
    * Value ranges depend on the path: an exactly 224x224 unsigned-integer image maps to
      [-1, 1] (``2 * x / max - 1``), signed integers to [-1, 1] and floats are kept; a
      rescaled unsigned-integer frame ends in [0, 1]; a cropped-only frame keeps its raw
      values. Finally, if the largest magnitude in the *whole array* exceeds 1, the whole
      array is divided by it (so one bright frame changes the scale of the others).

    Examples
    --------
    >>> frames = np.full((2, 720, 1280, 3), 255, dtype=np.uint8)
    >>> batch = preprocess_image(frames)
    >>> batch.shape, batch.dtype, float(batch.max())
    ((2, 224, 224, 3), dtype('float32'), 1.0)
    >>> float(preprocess_image(np.full((224, 224, 3), 255, dtype=np.uint8)).max())
    1.0
    """
    original = images
    images = _check_images(images)
    if not np.any(original):
        warnings.warn("image is all zeros: its embeddings carry no information.",
                      SkAvscWarning, stacklevel=2)
    height, width = images.shape[1:3]
    if (height, width) != (IMAGE_SIZE, IMAGE_SIZE):
        if min(height, width) > _RESCALE_SHORT_SIDE:
            batch = _rescale_crop(images)
        else:
            top, left = height // 2 - IMAGE_SIZE // 2, width // 2 - IMAGE_SIZE // 2
            batch = images[:, top:top + IMAGE_SIZE, left:left + IMAGE_SIZE].astype(np.float64)
        batch = batch.astype(np.float32)
    elif images.dtype.kind == "u":
        batch = 2 * _img_as_float(images, float32=True) - 1
    else:
        batch = _img_as_float(images, float32=True)
    peak = np.max(np.abs(batch))
    if peak > 1:
        batch = batch / peak
    return np.ascontiguousarray(batch, dtype=np.float32)


def embed_images(preprocessed: np.ndarray, model: ImageEmbeddingNetwork,
                 batch_size: int = 32, verbose: bool = False) -> np.ndarray:
    """Embed frames from :func:`preprocess_image` in batches.

    Parameters
    ----------
    preprocessed : ndarray of shape (N, 224, 224, 3), float32
        Output of :func:`preprocess_image`.
    model : ImageEmbeddingNetwork
        From :func:`load_image_model`.
    batch_size : int, default=32
        Frames per forward pass.
    verbose : bool, default=False
        Show a progress bar on stderr.

    Returns
    -------
    embeddings : ndarray of shape (N, model.embedding_size), float32
    """
    _check_model(model, ImageEmbeddingNetwork, "image")
    _check_int("batch_size", batch_size)
    preprocessed = np.asarray(preprocessed)
    if preprocessed.ndim != 4 or preprocessed.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ImageError(
            f"preprocessed frames must have shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
            f"{preprocessed.shape}; make them with preprocess_image.")
    out = np.empty((preprocessed.shape[0], model.embedding_size), dtype=np.float32)
    from tqdm.auto import tqdm

    for start, stop in tqdm(list(_batches(preprocessed.shape[0], batch_size)),
                            disable=not verbose, desc="OpenL3 image", unit="batch"):
        out[start:stop] = _run(model, preprocessed[start:stop])
    return out


def get_image_embedding(
    image,
    frame_rate=None,
    model: ImageEmbeddingNetwork | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 8192,
    batch_size: int = 32,
    verbose: bool = False,
):
    """Compute OpenL3 image embeddings of frames, as ``openl3.get_image_embedding``.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (N, H, W, 3), or list of them
        RGB frames of at least 224x224 px (see :func:`preprocess_image`).
    frame_rate : float or list of float, default=None
        Frame rate(s) in frames/s; when given, timestamps are returned too.
    model : ImageEmbeddingNetwork, default=None
        A loaded model; if None, the official one is loaded (and cached) from
        ``input_repr``, ``content_type`` and ``embedding_size``.
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
    content_type : {"music", "env"}, default="music"
    embedding_size : {8192, 512}, default=8192
    batch_size : int, default=32
        Frames per forward pass; results do not depend on it.
    verbose : bool, default=False
        Show a progress bar.

    Returns
    -------
    embeddings : ndarray of shape (N, dim), float32, or list of them
    timestamps : ndarray of shape (N,), float64, or list of them
        ``arange(N) / frame_rate``; only returned when ``frame_rate`` is given.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_image_model("random", embedding_size=512)
    >>> frames = np.random.default_rng(0).integers(0, 256, (2, 240, 320, 3), dtype=np.uint8)
    >>> emb, ts = get_image_embedding(frames, frame_rate=10, model=model)
    >>> emb.shape, ts
    ((2, 512), array([0. , 0.1]))
    """
    check_choice("input_repr", input_repr, INPUT_REPRS)
    check_choice("content_type", content_type, CONTENT_TYPES)
    check_choice("embedding_size", embedding_size, IMAGE_EMBEDDING_SIZES)
    _check_int("batch_size", batch_size)
    if model is not None:
        _check_model(model, ImageEmbeddingNetwork, "image")
    if isinstance(image, np.ndarray):
        image_list, list_input = [image], False
    elif isinstance(image, (list, tuple)):
        image_list, list_input = list(image), True
        if not image_list:
            raise ImageError("image is an empty list; pass at least one array of frames.")
    else:
        raise ImageError(
            f"image must be a numpy array or a list of arrays, got {type(image).__name__}.")
    if isinstance(frame_rate, (list, tuple)):
        rate_list = list(frame_rate)
        if len(rate_list) != len(image_list):
            raise ParameterError(
                f"got {len(image_list)} image arrays but {len(rate_list)} frame rates.")
    else:
        rate_list = [frame_rate] * len(image_list)
    for rate in rate_list:
        if rate is not None:
            _check_sr(rate, "frame_rate")
    batches = []
    for i, img in enumerate(image_list):
        try:
            batches.append(preprocess_image(img))
        except ImageError as exc:
            if list_input:
                raise ImageError(f"image[{i}]: {exc}") from exc
            raise
    if model is None:
        model = _cached_model("image", input_repr, content_type, embedding_size)
    counts = [b.shape[0] for b in batches]
    emb = embed_images(np.concatenate(batches), model, batch_size, verbose)
    embeddings = np.split(emb, np.cumsum(counts)[:-1])
    with_ts = any(rate is not None for rate in rate_list)
    timestamps = [np.arange(c) / float(rate) if rate is not None else None
                  for c, rate in zip(counts, rate_list)]
    if not list_input:
        return (embeddings[0], timestamps[0]) if with_ts else embeddings[0]
    return (embeddings, timestamps) if with_ts else embeddings
