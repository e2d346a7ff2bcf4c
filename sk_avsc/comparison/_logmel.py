"""McDonnell & Gao's log-mel front-end (DCASE 2019 Task 1A), without librosa at run time.

The authors (``McDonnell-Lab/DCASE2019-Task1``, ``DCASE_training.ipynb``, librosa 0.6.3)
compute, for each binaural channel of the first 10 s of a 48-kHz clip,
``librosa.feature.melspectrogram(n_fft=2048, hop_length=1024, n_mels=128, fmin=0,
fmax=sr/2, htk=True, norm=None)``: a centred STFT (reflect padding, periodic Hann
window), power 2, HTK-scale triangles without area normalisation; 469 frames for 10 s.
Then ``log(x + 1e-8)``, deltas ``(x[t+1] - x[t-1]) / 10 + (x[t+2] - x[t-2]) / 5`` on the
valid frames (twice, for the delta-deltas), the log-mels cut to ``[4:-4]`` and the
deltas to ``[2:-2]`` so that all three have 461 frames, and the six planes stacked as
``[LM_L, LM_R, D_L, D_R, DD_L, DD_R]``. This module computes the same with numpy/scipy
in float64 up to the mel bands, then in float32 as the authors' arrays are.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
import scipy.fft
import scipy.signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_int, check_real
from ..exceptions import AudioError, ParameterError
from ..openl3.frontend import mel_filterbank

__all__ = [
    "LogMelSpectrogram",
    "log_mel_deltas",
    "deltas",
    "N_CONTEXT_FRAMES",
]

#: Frames lost at each end to the delta-of-delta context (4 = 2 + 2).
N_CONTEXT_FRAMES = 4
_LOG_OFFSET = 1e-8


def _mel_power(y: np.ndarray, sr: float, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """Centred (reflect-padded) STFT power through the HTK filters: (n_mels, n_frames)."""
    pad = n_fft // 2
    if y.shape[0] <= pad:
        raise AudioError(
            f"{y.shape[0]} samples are too few for a centred STFT of {n_fft} points "
            f"(reflect padding needs more than {pad}); pass a longer clip or duration=."
        )
    padded = np.pad(y.astype(np.float64, copy=False), pad, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    spec = scipy.fft.rfft(frames * window, axis=-1)
    power = spec.real ** 2 + spec.imag ** 2
    # the HTK-scale triangles, unnormalised (librosa htk=True, norm=None), in float64
    filters = mel_filterbank(n_fft, n_mels, int(sr), htk=True, norm=None, dtype=np.float64)
    return filters.T @ power.T


def deltas(x: np.ndarray) -> np.ndarray:
    """The authors' delta along the last axis: ``(x[t+1]-x[t-1])/10 + (x[t+2]-x[t-2])/5``.

    Only frames with both neighbours on each side are kept, so the output has 4 frames
    fewer than ``x``; float32 in, float32 out.

    Examples
    --------
    >>> deltas(np.arange(6, dtype=np.float32))
    array([1., 1.], dtype=float32)
    """
    first = (x[..., 2:] - x[..., :-2]) / 10.0
    return first[..., 1:-1] + (x[..., 4:] - x[..., :-4]) / 5.0


def log_mel_deltas(
    audio: np.ndarray, sr: float, *, n_fft: int = 2048, hop_length: int = 1024,
    n_mels: int = 128,
) -> np.ndarray:
    """Log-mels, deltas and delta-deltas of a one- or two-channel signal.

    Parameters
    ----------
    audio : ndarray of shape (n_samples,) or (n_samples, n_channels)
        Samples first, as :func:`sk_avsc.embedders.read_audio` returns them.
    sr : float
        Sample rate in Hz (the bands span 0 Hz to ``sr / 2``).
    n_fft, hop_length, n_mels : int, default=2048, 1024, 128
        STFT size, hop in samples, number of mel bands.

    Returns
    -------
    features : ndarray of shape (3 * n_channels, n_mels, n_frames - 8), float32
        ``[LM_1, ..., LM_c, D_1, ..., D_c, DD_1, ..., DD_c]`` with
        ``n_frames = 1 + n_samples // hop_length``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> log_mel_deltas(rng.normal(size=(48000, 2)) * 0.1, 48000).shape
    (6, 128, 39)
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[:, None]
    mel = np.stack([_mel_power(audio[:, c], sr, n_fft, hop_length, n_mels)
                    for c in range(audio.shape[1])]).astype(np.float32)
    if mel.shape[-1] <= 2 * N_CONTEXT_FRAMES:
        raise AudioError(
            f"{audio.shape[0]} samples give {mel.shape[-1]} STFT frames; the deltas need more "
            f"than {2 * N_CONTEXT_FRAMES}; pass a longer clip or duration=."
        )
    log_mel = np.log(mel + np.float32(_LOG_OFFSET))
    delta = deltas(log_mel)
    delta2 = deltas(delta)
    k = N_CONTEXT_FRAMES
    return np.concatenate([log_mel[..., k:-k], delta[..., k // 2:-(k // 2)], delta2])


def _is_pair(item) -> bool:
    return (isinstance(item, tuple) and len(item) == 2
            and isinstance(item[1], numbers.Real) and not isinstance(item[1], bool))


class LogMelSpectrogram(TransformerMixin, BaseEstimator):
    """McDonnell & Gao's input: binaural log-mels with deltas, ``(n_clips, 6, 128, 461)``.

    The front-end of the "McDonnell USA" system (DCASE 2019 Task 1A), the paper's audio
    comparison system, feeding :class:`ResNetAudioClassifier`. For each clip: the first
    ``duration`` seconds; per channel a centred 2048-point STFT with hop 1024 (reflect
    padding, periodic Hann window), power, 128 HTK-scale mel bands from 0 Hz to
    ``sr / 2`` without area normalisation, ``log(x + 1e-8)``; deltas and delta-deltas
    ``(x[t+1]-x[t-1])/10 + (x[t+2]-x[t-2])/5`` on valid frames; log-mels cut by 4
    frames and deltas by 2 at each end. 10 s at 48 kHz give 469 STFT frames and 461
    output frames. Equal to the authors' librosa computation to float32 precision
    (tested against librosa), computed with numpy/scipy.

    Parameters
    ----------
    sr : int, default=48000
        Required sample rate (Hz) of every clip; clips at another rate raise
        :class:`~sk_avsc.exceptions.AudioError` (resample them first: the authors' mel
        bands are defined at the clip's own rate, and they used 48 kHz).
    duration : float or None, default=10.0
        Seconds kept from the start of each clip, as the authors' ``stop=10 * sr``.
        Shorter clips are zero-padded at the end to this length (the package's choice:
        the authors' code fails on them), so every clip gives the same number of
        frames. ``None`` keeps whole clips; then they must all have the same length.
    n_mels : int, default=128
        Number of mel bands.
    n_fft : int, default=2048
        STFT size in samples.
    hop_length : int, default=1024
        STFT hop in samples.

    Attributes
    ----------
    n_frames_ : int or None
        Output frames per clip for ``duration`` at ``sr`` (461 by default); None when
        ``duration`` is None.

    See Also
    --------
    ResNetAudioClassifier : the network these features feed.
    sk_avsc.embedders.read_audio : how files are read.

    Notes
    -----
    ``X`` is a sequence of clips, each an audio file path, a ``(waveform, sr)`` pair or
    a waveform array at ``sr`` (samples first: ``(n_samples,)`` or
    ``(n_samples, 2)``; a 2-D array ``X`` is read as mono clips, a 3-D one as
    ``(n_clips, n_samples, n_channels)``). Stereo (binaural) clips give the authors' six
    planes; a mono clip is duplicated into both channels (the package's choice) so the
    output always has 6 planes. The STFT and mel projection run in float64, the log
    and deltas in float32, as in the authors' float32 arrays. Their inference notebook
    omits the ``+ 1e-8`` of their training notebook; the training form is used for both.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.comparison import LogMelSpectrogram
    >>> rng = np.random.default_rng(0)
    >>> clips = [(0.1 * rng.normal(size=(96000, 2)), 48000) for _ in range(3)]
    >>> LogMelSpectrogram(duration=2.0).fit_transform(clips).shape
    (3, 6, 128, 86)
    >>> LogMelSpectrogram().fit().n_frames_
    461
    """

    def __init__(self, *, sr: int = 48000, duration: float | None = 10.0, n_mels: int = 128,
                 n_fft: int = 2048, hop_length: int = 1024):
        self.sr = sr
        self.duration = duration
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length

    def _check_params(self):
        owner = type(self).__name__
        check_int("sr", self.sr, owner=owner)
        check_real("duration", self.duration, low=0, low_open=True, allow_none=True,
                   owner=owner)
        check_int("n_mels", self.n_mels, owner=owner)
        check_int("n_fft", self.n_fft, low=2, owner=owner)
        check_int("hop_length", self.hop_length, owner=owner)

    def fit(self, X=None, y=None):
        """Check the parameters (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : LogMelSpectrogram
        """
        self._check_params()
        if self.duration is None:
            self.n_frames_ = None
        else:
            n = int(round(self.duration * self.sr))
            self.n_frames_ = 1 + n // self.hop_length - 2 * N_CONTEXT_FRAMES
        return self

    def _waveform(self, index: int, item) -> np.ndarray:
        from ..embedders import fix_duration, read_audio

        if isinstance(item, (str, os.PathLike)):
            audio, sr = read_audio(item)
            where = f"clip {index} ({os.fspath(item)!r})"
        elif _is_pair(item):
            audio, sr = np.asarray(item[0]), item[1]
            where = f"clip {index}"
        else:
            audio, sr = np.asarray(item), self.sr
            where = f"clip {index}"
        if audio.dtype.kind not in "fiu" or audio.ndim not in (1, 2) or audio.size == 0:
            raise AudioError(
                f"{where}: expected a non-empty waveform of shape (n_samples,) or "
                f"(n_samples, n_channels), got dtype {audio.dtype} and shape {audio.shape}."
            )
        if audio.ndim == 2 and audio.shape[1] > 2:
            hint = " (it looks channels-first: pass audio.T)" if audio.shape[0] <= 2 else ""
            raise AudioError(
                f"{where}: {audio.shape[1]} channels; the front-end takes mono or binaural "
                f"audio, samples first{hint}."
            )
        if not np.isfinite(audio).all():
            raise AudioError(f"{where}: the waveform contains NaN or infinite samples.")
        if sr != self.sr:
            raise AudioError(
                f"{where}: sample rate {sr} Hz, but LogMelSpectrogram(sr={self.sr}) needs "
                f"{self.sr} Hz; resample the audio or set sr=."
            )
        if audio.dtype.kind in "iu":
            audio = audio / float(np.iinfo(audio.dtype).max)
        if audio.ndim == 1:
            audio = audio[:, None]
        if audio.shape[1] == 1:
            audio = np.repeat(audio, 2, axis=1)
        return fix_duration(audio, self.sr, self.duration)

    def transform(self, X):
        """Features of each clip.

        Parameters
        ----------
        X : sequence of str, os.PathLike, (waveform, sr) pairs or waveforms
            The clips (see Notes).

        Returns
        -------
        features : ndarray of shape (n_clips, 6, n_mels, n_frames), float32
            ``[LM_L, LM_R, D_L, D_R, DD_L, DD_R]`` planes, (frequency, time) each.
        """
        check_is_fitted(self)
        self._check_params()
        if isinstance(X, (str, os.PathLike)) or _is_pair(X):
            raise ParameterError(
                f"{type(self).__name__}: X must be a sequence of clips; wrap a single clip "
                "in a list: [X]."
            )
        if isinstance(X, np.ndarray) and X.ndim in (2, 3):
            X = list(X)
        out = []
        for i, item in enumerate(X):
            audio = self._waveform(i, item)
            try:
                out.append(log_mel_deltas(audio, self.sr, n_fft=self.n_fft,
                                          hop_length=self.hop_length, n_mels=self.n_mels))
            except AudioError as exc:
                raise AudioError(f"clip {i}: {exc}") from None
        if not out:
            raise ParameterError(f"{type(self).__name__}: X holds no clips.")
        shapes = {o.shape for o in out}
        if len(shapes) > 1:
            raise AudioError(
                f"clips give different numbers of frames ({sorted(s[-1] for s in shapes)}); "
                "pass duration= so that all clips have the same length."
            )
        return np.stack(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
