"""OpenL3 audio: cutting audio into 1-s windows at 48 kHz and embedding them.

:func:`cut_audio_windows` reproduces openl3 0.4.2's input path (integer scaling, channel
downmix, resampy ``kaiser_best`` resampling, centring, end padding) with the window
count of :mod:`~sk_avsc.openl3.framing`; :func:`embed_audio_windows` runs the audio
network; :func:`get_audio_embedding` is openl3's one-call API over both, and
:func:`preprocess_audio` openl3's preprocessing function (windows, or librosa
spectrograms), with openl3's signatures.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np

from .._validation import check_bool, check_choice, check_hop_size, check_sample_rate
from ..exceptions import AudioError, ParameterError
from ._batching import Concat, check_model, embed_each, embed_in_batches, requested_network
from ._loading import load_audio_model  # noqa: F401  (doctests)
from .framing import SAMPLE_RATE, WINDOW_SAMPLES, hop_length, window_centres, window_count
from .frontend import INPUT_REPRS, spectrogram_numpy
from .models import AUDIO_EMBEDDING_SIZES, AudioEmbeddingNetwork
from .openl3_exceptions import raises_openl3_errors
from .openl3_warnings import OpenL3Warning

__all__ = ["cut_audio_windows", "preprocess_audio", "embed_audio_windows",
           "get_audio_embedding"]


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


def cut_audio_windows(
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
    OpenL3Warning
        If the audio is all zeros, or shorter than one window (it is zero-padded); a
        :class:`~sk_avsc.exceptions.SkAvscWarning`.

    Notes
    -----
    openl3's quirks, reproduced: the end is zero-padded so that every sample falls in a
    window, ``n_windows = 1 + ceil((len - 48000) / hop)`` (at least 1) on the centred
    signal; timestamps use ``hop_size`` itself, not the rounded hop in samples; a clip
    shorter than 1 s gives one window.

    Examples
    --------
    >>> windows, ts = cut_audio_windows(np.ones(96000, dtype=np.float32), 48000)
    >>> windows.shape, ts[:3]
    ((16, 1, 48000), array([0. , 0.1, 0.2]))
    """
    check_sample_rate(sr)
    check_hop_size(hop_size)
    check_bool("center", center)
    audio = _as_float_audio(audio, "audio")
    if not np.any(audio):
        warnings.warn("audio is all zeros: its embeddings carry no information.",
                      OpenL3Warning, stacklevel=2)
    if audio.ndim == 2:
        if audio.shape[1] > audio.shape[0]:
            warnings.warn(
                f"audio has shape {audio.shape}: more channels than samples; audio must be "
                "(samples, channels), transpose it if it is (channels, samples).",
                OpenL3Warning, stacklevel=2)
        audio = np.mean(audio, axis=1)
    if sr != SAMPLE_RATE:
        import resampy

        try:
            audio = resampy.resample(audio, sr_orig=sr, sr_new=SAMPLE_RATE, filter="kaiser_best")
        except ValueError as exc:
            raise AudioError(f"cannot resample audio from {sr} Hz to {SAMPLE_RATE} Hz: {exc}") \
                from exc
    hop_len = hop_length(hop_size)
    if audio.size < WINDOW_SAMPLES:
        warnings.warn(
            f"audio lasts {audio.size / SAMPLE_RATE:.3f} s, shorter than one window (1 s): it "
            "is zero-padded to one window.", OpenL3Warning, stacklevel=2)
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


def embed_audio_windows(windows: np.ndarray, model: AudioEmbeddingNetwork,
                        batch_size: int = 32, verbose: bool = False) -> np.ndarray:
    """Embed windows from :func:`cut_audio_windows` (possibly of many clips) in batches.

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
    >>> windows, _ = cut_audio_windows(np.ones(48000), 48000, center=False)
    >>> embed_audio_windows(windows, model).shape
    (1, 512)
    """
    check_model(model, AudioEmbeddingNetwork, "audio")
    if not isinstance(windows, Concat):
        windows = np.asarray(windows)
    if windows.ndim != 3 or windows.shape[1:] != (1, WINDOW_SAMPLES):
        raise AudioError(
            f"windows must have shape (n_windows, 1, {WINDOW_SAMPLES}), got {windows.shape}; "
            "make them with cut_audio_windows.")
    return embed_in_batches(windows, model, batch_size, verbose, "OpenL3 audio")


# librosa front-end parameters openl3's preprocess_audio(**kw) forwards, at their values
_LIBROSA_KW = {"n_fft": None, "hop_length": 242, "db_amin": 1e-10, "db_ref": 1.0,
               "dynamic_range": 80.0}


@raises_openl3_errors
def preprocess_audio(audio, sr, hop_size=0.1, input_repr=None, center=True, **kw):
    """Preprocess audio for the model, as ``openl3.preprocess_audio`` (openl3 0.4.2).

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels)
        Float or integer samples (integers are scaled to [-1, 1]); channels are averaged.
    sr : float
        Sample rate in Hz; resampled to 48 kHz.
    hop_size : float, default=0.1
        Hop between windows in seconds.
    input_repr : {"linear", "mel128", "mel256"} or None, default=None
        None returns the 1-s windows (the input of a model with its front-end inside, the
        ``"kapre"`` one); a representation returns openl3's librosa spectrograms of the
        windows (its ``frontend="librosa"`` input).
    center : bool, default=True
        Pad half a window at the start, so that timestamps are window centres.
    **kw
        openl3's librosa front-end parameters (``n_fft``, ``hop_length``, ``db_amin``,
        ``db_ref``, ``dynamic_range``): accepted at openl3's values only, since the
        front-end here reproduces that computation.

    Returns
    -------
    input_data : ndarray, float32
        ``(n_windows, 1, 48000)`` windows (a read-only view) when ``input_repr`` is None,
        else ``(n_windows, n_bins, n_frames, 1)`` dB spectrograms: (257, 197) for
        "linear", (128, 199) for "mel128", (256, 199) for "mel256".

    Raises
    ------
    OpenL3Error
        Bad audio (also an :class:`~sk_avsc.exceptions.AudioError`) or parameters (also a
        :class:`~sk_avsc.exceptions.ParameterError`).

    See Also
    --------
    cut_audio_windows : The windows together with their timestamps.

    Examples
    --------
    >>> audio = np.random.default_rng(0).uniform(-1, 1, 48000)
    >>> preprocess_audio(audio, 48000).shape
    (6, 1, 48000)
    >>> preprocess_audio(audio, 48000, input_repr="mel128").shape
    (6, 128, 199, 1)
    """
    if not isinstance(audio, np.ndarray):
        raise AudioError(f"audio must be a numpy array, got {type(audio).__name__}.")
    if input_repr is not None:
        check_choice("input_repr", input_repr, INPUT_REPRS)
    unknown = sorted(set(kw) - set(_LIBROSA_KW))
    if unknown:
        raise ParameterError(
            f"preprocess_audio got unexpected keyword arguments {unknown}; openl3's "
            f"librosa front-end takes {sorted(_LIBROSA_KW)}.")
    n_fft = 512 if input_repr == "linear" else 2048
    for name, value in kw.items():
        default = n_fft if name == "n_fft" else _LIBROSA_KW[name]
        if value != default:
            raise ParameterError(
                f"{name} must be {default!r} (openl3's value, which the librosa front-end "
                f"here reproduces), got {value!r}.")
    windows, _ = cut_audio_windows(audio, sr, hop_size=hop_size, center=center)
    if input_repr is None:
        return windows
    return spectrogram_numpy(np.ascontiguousarray(windows[:, 0]), input_repr,
                             "librosa")[..., np.newaxis]


@raises_openl3_errors
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
    frontend: str = "kapre",
    verbose: bool = True,
):
    """Compute OpenL3 audio embeddings of 1-s windows, as ``openl3.get_audio_embedding``.

    openl3 0.4.2's signature and defaults.

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels), or list of them
        Audio; float or integer samples; channels are averaged.
    sr : float or list of float
        Sample rate(s) in Hz (one per array, or one for all); resampled to 48 kHz.
    model : AudioEmbeddingNetwork, default=None
        A loaded model. If given, ``input_repr``, ``content_type`` and ``embedding_size``
        are ignored (as in openl3); if None, the official model is loaded (and cached)
        with ``frontend``.
    input_repr : {"linear", "mel128", "mel256"} or None, default=None
        Input representation when ``model`` is None (None means "mel256", also for the
        librosa front-end, where openl3 raises).
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
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Audio front-end (see :mod:`~sk_avsc.openl3.frontend`): ``"kapre"`` openl3 0.4.2's,
        ``"kapre-0.1.4"`` openl3 0.3.1's (the paper's), ``"librosa"`` openl3 0.4.2's
        ``frontend="librosa"``. A given ``model`` must have this front-end
        (``model.frontend``), as in openl3.
    verbose : bool, default=True
        Show a progress bar (stderr).

    Returns
    -------
    embeddings : ndarray of shape (n_windows, dim), float32, or list of them
    timestamps : ndarray of shape (n_windows,), float64, or list of them
        Start of each window in seconds, or its centre when ``center=True``.

    Raises
    ------
    OpenL3Error
        Empty, non-finite or more than 2-D audio (also an
        :class:`~sk_avsc.exceptions.AudioError`); an invalid sample rate, hop, centre
        flag, batch size, model choice or front-end (also a
        :class:`~sk_avsc.exceptions.ParameterError`).

    See Also
    --------
    cut_audio_windows, embed_audio_windows : The two steps, for batching across clips.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_audio_model("random", "mel128", embedding_size=512)
    >>> audio = np.random.default_rng(0).uniform(-1, 1, (72000, 2))  # 1.5 s stereo
    >>> emb, ts = get_audio_embedding(audio, 48000, model=model, hop_size=0.5, verbose=False)
    >>> emb.shape, ts
    ((3, 512), array([0. , 0.5, 1. ]))
    """
    if input_repr is None:
        input_repr = "mel256"
    verbose = bool(check_choice("verbose", verbose, (False, True)))
    network = requested_network(
        model, kind="audio", cls=AudioEmbeddingNetwork, sizes=AUDIO_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type, embedding_size=embedding_size,
        batch_size=batch_size, frontend=frontend)

    def embed(windows):
        return embed_audio_windows(Concat(windows), network(), batch_size, verbose)

    embeddings, timestamps, list_input = embed_each(
        audio, sr, name="audio", rate_name="sample rate", error=AudioError, embed=embed,
        preprocess=lambda x, rate: cut_audio_windows(x, rate, hop_size=hop_size,
                                                     center=center))
    if not list_input:
        return embeddings[0], timestamps[0]
    return embeddings, timestamps
