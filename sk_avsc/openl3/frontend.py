"""The audio front-end of OpenL3: kapre 0.3.x's STFT, magnitude, mel filterbank and dB.

openl3 0.4.2 builds its audio networks with a kapre 0.3 front-end inside the Keras model,
then replaces kapre's decibel step by its own (the one of kapre 0.1.4). This module
reproduces that computation in float32, exactly enough that the embeddings match
TensorFlow to ~1e-6 (relative L2) on the reference fixtures.

Two implementations of the same computation are provided:

* :func:`spectrogram_numpy` (used on CPU): the periodic Hann window with TensorFlow's own
  float32 values (see :func:`hann_window`), ``scipy.fft.rfft`` in float32 (pocketfft, whose
  rounding matches TensorFlow's CPU FFT closely), float32 magnitude, mel projection and dB.
* :func:`spectrogram_torch` (used on other devices, e.g. CUDA): the same steps with
  ``torch.fft.rfft``. Its FFT rounds differently; because of the -80 dB floor (below) this
  moves the embeddings on tonal audio by up to ~3e-4 (mel) and ~5e-3 (linear, resampled
  audio), relative L2, measured on the reference fixtures: a documented deviation.

Notes
-----
Quirks reproduced from openl3 0.4.2 + kapre 0.3.x:

* The STFT has no centring. The mel representations use ``pad_end=True`` (the 1-s window is
  zero-padded at its end to 199 frames of 2,048 samples at hop 242); the linear one does
  not pad (197 frames of 512 samples).
* The window is ``tf.signal.hann_window(n_fft, periodic=True)``, computed in float32 as
  ``0.5 - 0.5 * cos(float32(2 pi) * n / n_fft)`` with Eigen's vectorised cosine; a few of
  its values differ from a correctly rounded cosine by some ulps, and those differences are
  visible in the output (see below), so the exact TensorFlow values are used.
* The mel filterbank is librosa's Slaney-style one (``htk=False, norm="slaney"``, 0 Hz to
  24 kHz), stored in float32 with the Slaney normalisation applied after the cast.
* The magnitude (not the power) goes through ``10 * log10(max(x, 1e-10))``; each window is
  then shifted so that its maximum is 0 dB and floored at -80 dB. The floor is a magnitude
  ratio of 1e-8, below float32 FFT round-off: on tonal audio about 10% of the bins sit in
  rounding noise, which is why the exact window values and FFT rounding matter.
* The output is laid out (frequency, time), as openl3 permutes kapre's (time, frequency).
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
import torch
from torch import nn

from ..exceptions import ParameterError
from .framing import SAMPLE_RATE, WINDOW_SAMPLES

__all__ = [
    "TARGET_SR",
    "WINDOW_SAMPLES",
    "HOP_LENGTH",
    "INPUT_REPRS",
    "spectrogram_shape",
    "hann_window",
    "mel_filterbank",
    "spectrogram_numpy",
    "spectrogram_torch",
    "AudioFrontend",
]

#: Sample rate of the audio networks' input (Hz).
TARGET_SR = SAMPLE_RATE
#: STFT hop in samples (kapre's ``hop_length``), for every input representation.
HOP_LENGTH = 242
_AMIN = 1e-10
_DYNAMIC_RANGE = 80.0

# input_repr -> (n_fft, n_mels or None for the linear spectrogram, pad_end)
_REPRS = {
    "linear": (512, None, False),
    "mel128": (2048, 128, True),
    "mel256": (2048, 256, True),
}
INPUT_REPRS = tuple(_REPRS)

# tf.signal.hann_window(n, periodic=True) in float32 (TensorFlow 2.21, CPU) differs from
# 0.5 - 0.5 * float32(cos_float64(arg)) at these indices by this many ulps (int32 bit
# difference), grouped as {n_fft: {ulps: indices}}. Measured by running TensorFlow.
_TF_HANN_ULPS = {
    512: {
        -1024: (3,),
        -32: (494,),
        -8: (35, 479,),
        -2: (448, 453,),
        -1: (96, 152, 156, 167, 192, 194, 196, 321, 322,),
        1: (
            86, 118, 178, 187, 308, 314, 317, 319, 320, 332, 339, 360, 415, 416, 418, 419, 420,
            425,
        ),
        2: (64, 71, 76, 79, 82, 85, 429, 443, 445, 447,),
        4: (47, 465, 470,),
        16: (486,),
    },
    2048: {
        -1024: (12,),
        -64: (1994,),
        -32: (1976,),
        -16: (113,),
        -8: (140, 141, 1901, 1911, 1916, 1922,),
        -4: (1830, 1834, 1857, 1865, 1867, 1874, 1879,),
        -2: (250, 1792, 1793, 1797, 1811, 1812,),
        -1: (
            350, 351, 354, 357, 365, 367, 369, 384, 394, 403, 413, 415, 421, 425, 426, 601, 607,
            608, 614, 615, 618, 622, 624, 627, 647, 650, 668, 669, 768, 776, 779, 784, 785, 803,
            815, 823, 825, 826, 841, 843, 850, 855, 913, 931, 1059, 1110, 1149, 1284, 1287,
            1288, 1479, 1487, 1510, 1563, 1582,
        ),
        1: (
            342, 343, 344, 345, 433, 472, 563, 677, 686, 689, 702, 712, 714, 725, 731, 739, 742,
            748, 775, 991, 997, 1163, 1193, 1205, 1207, 1210, 1213, 1229, 1232, 1233, 1234,
            1243, 1247, 1255, 1256, 1259, 1268, 1276, 1280, 1310, 1318, 1321, 1325, 1328, 1330,
            1356, 1359, 1385, 1399, 1407, 1413, 1417, 1429, 1431, 1434, 1437, 1440, 1445, 1639,
            1649, 1654, 1657, 1660, 1664, 1665, 1672, 1673, 1675, 1676, 1680, 1689, 1697, 1700,
        ),
        2: (
            242, 243, 256, 257, 258, 262, 275, 277, 278, 279, 284, 287, 289, 301, 304, 306, 316,
            319, 327, 328, 330, 333, 340, 1710, 1716, 1726, 1741, 1743, 1757, 1763, 1766, 1772,
            1775, 1780, 1782, 1785, 1787, 1788, 1789, 1790, 1791,
        ),
        4: (188, 195, 221, 229, 1827, 1842, 1845, 1846, 1853, 1860, 1880,),
        8: (134, 1910, 1913,),
        16: (93, 95, 1944,),
    },
}
# SHA-1 of the resulting float32 tables, checked by the test-suite.
_TF_HANN_SHA1 = {
    512: "6da7eb76306ce5ab22436493cf1449fb8d34e9e9",
    2048: "9f737eade3e5464b4e8d99681832fe139b249dd8",
}
_WINDOW_CACHE: dict[int, np.ndarray] = {}
_MEL_CACHE: dict[tuple[int, int, int], np.ndarray] = {}


def _check_repr(input_repr: str) -> tuple[int, int | None, bool]:
    try:
        return _REPRS[input_repr]
    except (KeyError, TypeError):
        raise ParameterError(
            f"input_repr must be one of {INPUT_REPRS}, got {input_repr!r}."
        ) from None


def spectrogram_shape(input_repr: str) -> tuple[int, int]:
    """Shape ``(n_bins, n_frames)`` of the spectrogram of one 1-s window.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
        Input representation of the audio network.

    Returns
    -------
    shape : tuple of int
        ``(257, 197)`` for linear, ``(128, 199)`` / ``(256, 199)`` for mel128 / mel256.

    Examples
    --------
    >>> spectrogram_shape("mel256")
    (256, 199)
    """
    n_fft, n_mels, pad_end = _check_repr(input_repr)
    if pad_end:
        n_frames = -(-WINDOW_SAMPLES // HOP_LENGTH)
    else:
        n_frames = 1 + (WINDOW_SAMPLES - n_fft) // HOP_LENGTH
    return (n_mels if n_mels else n_fft // 2 + 1), n_frames


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window with TensorFlow's float32 values.

    Parameters
    ----------
    n_fft : int
        Window length in samples.

    Returns
    -------
    window : ndarray of shape (n_fft,), float32
        For ``n_fft`` 512 and 2,048 (the sizes OpenL3 uses) the values are bit-identical to
        ``tf.signal.hann_window(n_fft)`` on CPU; for other sizes, the float32 formula with a
        correctly rounded cosine (within a few ulps of TensorFlow).

    Notes
    -----
    TensorFlow computes ``0.5 - 0.5 * cos(float32(2 pi) * n / n_fft)`` in float32 with
    Eigen's vectorised cosine, which is not correctly rounded. The values that differ from a
    correctly rounded cosine (47 of 512 and 209 of 2,048) are stored as ulp offsets.

    Examples
    --------
    >>> w = hann_window(2048)
    >>> w.dtype, w.shape, float(w[0]), float(w[1024])
    (dtype('float32'), (2048,), 0.0, 1.0)
    """
    if n_fft not in _WINDOW_CACHE:
        n = np.arange(n_fft, dtype=np.float32)
        arg = np.float32(2 * np.pi) * n / np.float32(n_fft)
        cos = np.cos(arg.astype(np.float64)).astype(np.float32)
        window = np.float32(0.5) - np.float32(0.5) * cos
        bits = window.view(np.int32)
        for ulps, indices in _TF_HANN_ULPS.get(n_fft, {}).items():
            bits[list(indices)] += ulps
        window.setflags(write=False)
        _WINDOW_CACHE[n_fft] = window
    return _WINDOW_CACHE[n_fft]


def _hz_to_mel(freq):
    # Slaney's auditory toolbox scale, as librosa's hz_to_mel(htk=False)
    freq = np.asarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = freq / f_sp
    log_t = freq >= min_log_hz
    mels = np.where(log_t, min_log_mel + np.log(np.maximum(freq, 1e-300) / min_log_hz) / logstep,
                    mels)
    return mels


def _mel_to_hz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_t = mels >= min_log_mel
    return np.where(log_t, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filterbank(n_fft: int = 2048, n_mels: int = 128, sr: int = TARGET_SR) -> np.ndarray:
    """Slaney mel filterbank as kapre 0.3 builds it (through librosa), in float32.

    Parameters
    ----------
    n_fft : int, default=2048
        FFT size; the filterbank has ``n_fft // 2 + 1`` rows.
    n_mels : int, default=128
        Number of mel bands.
    sr : int, default=48000
        Sample rate in Hz; the bands span 0 Hz to ``sr / 2``.

    Returns
    -------
    filterbank : ndarray of shape (n_fft // 2 + 1, n_mels), float32
        Triangular filters on the Slaney mel scale, each normalised by its bandwidth
        (``norm="slaney"``): multiply a magnitude spectrum by it to get mel bands.

    Notes
    -----
    As librosa does, the triangles are computed in float64, stored in float32, and then
    multiplied in place by the float64 normalisation (so rounded twice).

    Examples
    --------
    >>> fb = mel_filterbank(2048, 256)
    >>> fb.shape, fb.dtype
    ((1025, 256), dtype('float32'))
    """
    key = (n_fft, n_mels, sr)
    if key not in _MEL_CACHE:
        fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
        mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
        fdiff = np.diff(mel_f)
        ramps = np.subtract.outer(mel_f, fftfreqs)
        weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
        for i in range(n_mels):
            lower = -ramps[i] / fdiff[i]
            upper = ramps[i + 2] / fdiff[i + 1]
            weights[i] = np.maximum(0, np.minimum(lower, upper))
        enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
        weights *= enorm[:, np.newaxis]
        filterbank = np.ascontiguousarray(weights.T)
        filterbank.setflags(write=False)
        _MEL_CACHE[key] = filterbank
    return _MEL_CACHE[key]


def _frames_numpy(windows: np.ndarray, n_fft: int, pad_end: bool) -> np.ndarray:
    if pad_end:
        n_frames = -(-windows.shape[-1] // HOP_LENGTH)
    else:
        n_frames = 1 + (windows.shape[-1] - n_fft) // HOP_LENGTH
    needed = (n_frames - 1) * HOP_LENGTH + n_fft
    if needed > windows.shape[-1]:
        windows = np.pad(windows, ((0, 0), (0, needed - windows.shape[-1])))
    view = np.lib.stride_tricks.sliding_window_view(windows, n_fft, axis=-1)
    return view[:, ::HOP_LENGTH][:, :n_frames]


def _to_decibel_numpy(spec: np.ndarray) -> np.ndarray:
    # openl3's kapre_v0_1_4_magnitude_to_decibel, in float32: 10 * log10 of a magnitude,
    # relative to each window's maximum, floored at -80 dB.
    log_spec = np.float32(10.0) * (
        np.log(np.maximum(spec, np.float32(_AMIN))) / np.log(np.float32(10.0))
    )
    log_spec -= log_spec.max(axis=(1, 2), keepdims=True)
    return np.maximum(log_spec, np.float32(-_DYNAMIC_RANGE))


_BLAS_LOCK = threading.Lock()
_BLAS: list = []  # the BLAS libraries numpy uses, found once


def _matmul_one_blas_thread(a: np.ndarray, b: np.ndarray, workers: int) -> np.ndarray:
    """``a @ b``, one of them stacked ``(n, ., .)``: each window's product on one BLAS thread.

    A multi-threaded BLAS splits the sums by its thread count, which differs between this
    process and n_jobs/Dask workers (~5e-7 relative); one thread per product (windows in
    parallel on ``workers`` threads) gives the same result everywhere. The BLAS limit is
    process-wide, hence the lock.
    """
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    n = len(a) if a.ndim == 3 else len(b)
    rows = a.shape[-2]
    out = np.empty((n, rows, b.shape[-1]), dtype=np.result_type(a, b))

    def product(i):
        np.matmul(a[i] if a.ndim == 3 else a, b[i] if b.ndim == 3 else b, out=out[i])

    with _BLAS_LOCK:
        if not _BLAS:
            _BLAS.append(ThreadpoolController().select(user_api="blas"))
        with _BLAS[0].limit(limits=1):
            if workers > 1 and n > 1:
                with ThreadPoolExecutor(min(workers, n)) as pool:
                    list(pool.map(product, range(n)))
            else:
                for i in range(n):
                    product(i)
    return out


def spectrogram_numpy(windows: np.ndarray, input_repr: str, *, workers: int = 1) -> np.ndarray:
    """OpenL3's dB spectrogram of 1-s windows, computed on CPU with scipy's float32 FFT.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, 48000)
        Audio windows at 48 kHz; cast to float32.
    input_repr : {"linear", "mel128", "mel256"}
        Input representation.
    workers : int, default=1
        Threads used by ``scipy.fft``.

    Returns
    -------
    spec : ndarray of shape (n_windows, n_bins, n_frames), float32
        dB values in [-80, 0], each window's maximum at 0; see :func:`spectrogram_shape`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> spec = spectrogram_numpy(rng.standard_normal((2, 48000)), "mel128")
    >>> spec.shape, float(spec.max()), bool(spec.min() >= -80)
    ((2, 128, 199), 0.0, True)
    """
    n_fft, n_mels, pad_end = _check_repr(input_repr)
    windows = np.asarray(windows, dtype=np.float32).reshape(-1, windows.shape[-1])
    frames = _frames_numpy(windows, n_fft, pad_end) * hann_window(n_fft)
    stft = scipy.fft.rfft(frames, n=n_fft, axis=-1, workers=workers)
    mag = np.abs(stft)  # (n, frames, bins), float32
    if n_mels:
        mag = _matmul_one_blas_thread(mag, mel_filterbank(n_fft, n_mels), workers)
    spec = _to_decibel_numpy(mag)
    return np.ascontiguousarray(spec.transpose(0, 2, 1))


def spectrogram_torch(windows: torch.Tensor, input_repr: str) -> torch.Tensor:
    """OpenL3's dB spectrogram with torch operations (any device).

    The same computation as :func:`spectrogram_numpy` with ``torch.fft.rfft``, for
    accelerators. Its FFT rounds differently from TensorFlow's, so results deviate slightly
    (see the module notes).

    Parameters
    ----------
    windows : Tensor of shape (n_windows, 48000)
        Audio windows at 48 kHz, float32.
    input_repr : {"linear", "mel128", "mel256"}
        Input representation.

    Returns
    -------
    spec : Tensor of shape (n_windows, n_bins, n_frames), float32

    Examples
    --------
    >>> spec = spectrogram_torch(torch.randn(1, 48000), "linear")
    >>> tuple(spec.shape)
    (1, 257, 197)
    """
    n_fft, n_mels, pad_end = _check_repr(input_repr)
    windows = windows.to(torch.float32)
    n_frames = spectrogram_shape(input_repr)[1]
    needed = (n_frames - 1) * HOP_LENGTH + n_fft
    if needed > windows.shape[-1]:
        windows = nn.functional.pad(windows, (0, needed - windows.shape[-1]))
    frames = windows.unfold(-1, n_fft, HOP_LENGTH)[:, :n_frames]
    window = torch.from_numpy(hann_window(n_fft).copy()).to(windows.device)
    mag = torch.fft.rfft(frames * window, n=n_fft, dim=-1).abs()
    if n_mels:
        basis = torch.from_numpy(mel_filterbank(n_fft, n_mels).copy()).to(windows.device)
        mag = mag @ basis
    log_spec = 10.0 * (torch.log(torch.clamp(mag, min=_AMIN)) / np.log(np.float32(10.0)))
    log_spec = log_spec - log_spec.amax(dim=(1, 2), keepdim=True)
    return torch.clamp(log_spec, min=-_DYNAMIC_RANGE).transpose(1, 2).contiguous()


def _tf_hann_sha1(n_fft: int) -> str:
    return hashlib.sha1(hann_window(n_fft).tobytes()).hexdigest()


class AudioFrontend(nn.Module):
    """OpenL3's audio front-end as a module: raw 1-s windows to a dB spectrogram.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Input representation.

    Notes
    -----
    On CPU, float32 input goes through :func:`spectrogram_numpy` (exact, TensorFlow's
    rounding); on other devices through :func:`spectrogram_torch`. The module has no
    parameters: the window and filterbank are constants.

    Examples
    --------
    >>> frontend = AudioFrontend("mel128")
    >>> tuple(frontend(torch.zeros(3, 1, 48000)).shape)
    (3, 1, 128, 199)
    """

    def __init__(self, input_repr: str = "mel256") -> None:
        super().__init__()
        _check_repr(input_repr)
        self.input_repr = input_repr
        self.output_shape = spectrogram_shape(input_repr)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map windows ``(N, 1, 48000)`` to spectrograms ``(N, 1, n_bins, n_frames)``."""
        x = x.reshape(x.shape[0], x.shape[-1])
        if x.device.type == "cpu":
            spec = spectrogram_numpy(
                x.detach().to(torch.float32).numpy(), self.input_repr,
                workers=max(1, torch.get_num_threads()),
            )
            out = torch.from_numpy(spec)
        else:
            out = spectrogram_torch(x, self.input_repr)
        return out.unsqueeze(1)

    def extra_repr(self) -> str:
        return f"input_repr={self.input_repr!r}"
