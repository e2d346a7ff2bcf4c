"""OpenL3's audio front-ends: raw 1-s windows to the dB spectrograms its networks read.

Three front-ends (``FRONTENDS``) feed the same convolutional networks and weights:

* ``"kapre"`` (default): openl3 0.4.2's, built on kapre 0.3 inside the Keras model, with
  openl3's own decibel step (the one of kapre 0.1.4). Reproduced in float32 exactly enough
  that the embeddings match TensorFlow to ~1e-6 (relative L2) on the reference fixtures.
* ``"kapre-0.1.4"``: openl3 0.3.1's, the kapre 0.1.4 ``Spectrogram``/``Melspectrogram``
  layers, with which the paper's audio features (Wang et al., ICASSP 2021) were computed.
  Its mel spectrogram differs from 0.4.2's (framing, mel scale, power before the mel
  matrix): the embeddings of the same clip differ by relative L2 0.05-0.11 on the
  random-weight reference network, 0.23-0.24 with the official mel256 weights.
* ``"librosa"``: openl3 0.4.2's ``frontend="librosa"``, the spectrogram computed by librosa
  0.11 outside the network. Reproduced with numpy (bit-identical to librosa 0.11 with the
  same numpy); librosa itself is not needed.

Each front-end has two implementations: :func:`spectrogram_numpy` (CPU, the exact one) and
:func:`spectrogram_torch` (any device, ``torch.fft`` in float32, a documented deviation).

Notes
-----
``"kapre"`` (openl3 0.4.2 + kapre 0.3.x):

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
* :func:`spectrogram_torch` (``torch.fft``) rounds differently; because of the -80 dB floor
  this moves the embeddings on tonal audio by up to ~3e-4 (mel) and ~5e-3 (linear,
  resampled audio), relative L2, measured on the reference fixtures.

``"kapre-0.1.4"`` (openl3 0.3.1, ``Melspectrogram(n_dft=2048, n_hop=242, sr=48000,
power_melgram=1.0, htk=True, return_decibel_melgram=True, padding='same')`` and
``Spectrogram(n_dft=512, n_hop=242, power_spectrogram=1.0, return_decibel_spectrogram=True,
padding='valid')``):

* The STFT is a convolution of the window with periodic-Hann-windowed cos/sin kernels
  (``scipy.signal.get_window("hann", n, fftbins=True)``), stride 242. Mel: TensorFlow
  ``'same'`` padding, 982 zeros before and 982 after the window (199 frames); linear:
  ``'valid'`` (197 frames).
* Mel: the **power** spectrum goes through an HTK-scale mel matrix with Slaney area
  normalisation (librosa <= 0.7 ``filters.mel(htk=True, norm=1)``, computed in float64 and
  cast to float32 once), then a square root. Linear: the magnitude.
* ``10 * log10(max(x, 1e-10))``, minus the window's maximum, floored at -80 (kapre's
  ``amplitude_to_decibel``). The -80 floor is 160 dB below the maximum in power, far
  beyond float32: the quiet bins carry whatever rounding computed them.
* Here the DFT is computed in float64 (``scipy.fft``), not as TensorFlow's float32
  convolution, whose rounding cannot be reproduced: the stored kapre output of the fixture is
  matched to 6e-5 dB in bins within 20 dB of the maximum, up to ~0.3 dB in the quietest;
  embeddings to ~1e-4 relative L2 on chirps, ~1e-6 on broadband audio. The linear
  spectrogram is 0.4.2's computation up to that DFT rounding.
* :func:`spectrogram_torch` uses a float32 ``torch.fft`` (see :class:`AudioFrontend`).

``"librosa"`` (openl3 0.4.2 ``_librosa_mel_frontend`` / ``_librosa_linear_frontend`` on
librosa 0.11):

* Mel: ``librosa.feature.melspectrogram(n_fft=2048, hop_length=242, center=True,
  power=1.0)``: 1,024 zeros before and after the window (librosa 0.10+ pads with zeros), 199
  frames, magnitude, the same float32 Slaney mel matrix as ``"kapre"``. Linear:
  ``abs(librosa.stft(n_fft=512, hop_length=242, center=False))``, 197 frames.
* The window is scipy's float64 periodic Hann; the FFT runs in float64 and is stored as
  complex64 (librosa's ``stft`` of float32 audio), the magnitude and mel projection in
  float32.
* ``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80)`` (so 10 log10 of a magnitude,
  floored at the maximum - 80), then the maximum is subtracted.

Over 600 lines on purpose: the three front-ends share the framing, the window tables,
the mel filterbanks and the dB step, and each is proven against its own openl3 fixtures;
splitting them would scatter one computation over modules that import each other.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
import scipy.signal.windows
import torch
from torch import nn

from .._validation import check_choice
from ..exceptions import ParameterError
from .framing import SAMPLE_RATE, WINDOW_SAMPLES

__all__ = [
    "TARGET_SR",
    "WINDOW_SAMPLES",
    "HOP_LENGTH",
    "INPUT_REPRS",
    "FRONTENDS",
    "spectrogram_shape",
    "frame_padding",
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

# input_repr -> (n_fft, n_mels or None for the linear spectrogram)
_REPRS = {
    "linear": (512, None),
    "mel128": (2048, 128),
    "mel256": (2048, 256),
}
INPUT_REPRS = tuple(_REPRS)

#: Audio front-ends: openl3 0.4.2's kapre one (default), openl3 0.3.1's kapre 0.1.4 one,
#: and openl3 0.4.2's librosa one.
FRONTENDS = ("kapre", "kapre-0.1.4", "librosa")

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
_SCIPY_WINDOW_CACHE: dict[int, np.ndarray] = {}
_MEL_CACHE: dict[tuple, np.ndarray] = {}
# windows per block in the float64 front-ends (~10 MB each), bounding their memory
_BLOCK = 8


def _check_repr(input_repr: str) -> tuple[int, int | None]:
    try:
        return _REPRS[input_repr]
    except (KeyError, TypeError):
        raise ParameterError(
            f"input_repr must be one of {INPUT_REPRS}, got {input_repr!r}."
        ) from None


def _check_frontend(frontend: str) -> str:
    return check_choice("frontend", frontend, FRONTENDS,
                        hint="'kapre' is openl3 0.4.2's, 'kapre-0.1.4' openl3 0.3.1's")


def _tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    # TensorFlow's "same": output ceil(size / stride); the odd zero, if any, goes after.
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def frame_padding(input_repr: str, frontend: str = "kapre") -> tuple[int, int]:
    """Zeros padded before and after a 1-s window before it is cut into STFT frames.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
        Input representation.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Front-end (see the module notes).

    Returns
    -------
    before, after : int
        Frame ``t`` is ``padded[242 * t : 242 * t + n_fft]`` of the padded window.

    Examples
    --------
    >>> frame_padding("mel128"), frame_padding("mel128", "kapre-0.1.4")
    ((0, 1964), (982, 982))
    >>> frame_padding("mel256", "librosa"), frame_padding("linear", "librosa")
    ((1024, 1024), (0, 0))
    """
    n_fft, n_mels = _check_repr(input_repr)
    _check_frontend(frontend)
    if not n_mels:
        return 0, 0  # every linear front-end uses unpadded ("valid") frames
    if frontend == "kapre":  # tf.signal.stft(pad_end=True)
        n_frames = -(-WINDOW_SAMPLES // HOP_LENGTH)
        return 0, (n_frames - 1) * HOP_LENGTH + n_fft - WINDOW_SAMPLES
    if frontend == "kapre-0.1.4":  # a strided convolution with padding="same"
        return _tf_same_padding(WINDOW_SAMPLES, n_fft, HOP_LENGTH)
    return n_fft // 2, n_fft // 2  # librosa.stft(center=True)


def spectrogram_shape(input_repr: str) -> tuple[int, int]:
    """Shape ``(n_bins, n_frames)`` of the spectrogram of one 1-s window.

    The same for every front-end.

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
    n_fft, n_mels = _check_repr(input_repr)
    before, after = frame_padding(input_repr)
    n_frames = 1 + (WINDOW_SAMPLES + before + after - n_fft) // HOP_LENGTH
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


def _scipy_hann(n_fft: int) -> np.ndarray:
    # librosa.filters.get_window("hann", n_fft, fftbins=True): scipy's periodic Hann, float64
    if n_fft not in _SCIPY_WINDOW_CACHE:
        window = scipy.signal.windows.get_window("hann", n_fft, fftbins=True)
        window.setflags(write=False)
        _SCIPY_WINDOW_CACHE[n_fft] = window
    return _SCIPY_WINDOW_CACHE[n_fft]


def _hz_to_mel(freq, htk=False):
    # librosa's hz_to_mel: HTK's 2595 log10(1 + f / 700), or Slaney's auditory toolbox scale
    freq = np.asarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = freq / f_sp
    log_t = freq >= min_log_hz
    mels = np.where(log_t, min_log_mel + np.log(np.maximum(freq, 1e-300) / min_log_hz) / logstep,
                    mels)
    return mels


def _mel_to_hz(mels, htk=False):
    mels = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_t = mels >= min_log_mel
    return np.where(log_t, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filterbank(n_fft: int = 2048, n_mels: int = 128, sr: int = TARGET_SR, *,
                   htk: bool = False, norm: str | None = "slaney",
                   dtype=np.float32) -> np.ndarray:
    """Mel filterbank, as librosa's ``filters.mel`` builds it (Slaney area normalisation).

    Parameters
    ----------
    n_fft : int, default=2048
        FFT size; the filterbank has ``n_fft // 2 + 1`` rows.
    n_mels : int, default=128
        Number of mel bands.
    sr : int, default=48000
        Sample rate in Hz; the bands span 0 Hz to ``sr / 2``.
    htk : bool, default=False
        Mel scale: Slaney's (False; kapre 0.3 and librosa's default, used by openl3 0.4.2)
        or HTK's ``2595 log10(1 + f / 700)`` (True; kapre 0.1.4 in openl3 0.3.1).
    norm : {"slaney", None}, default="slaney"
        ``"slaney"``: each triangle scaled to unit area in Hz (every OpenL3 front-end);
        None: triangles peaking at 1, unnormalised (librosa's ``norm=None``, as in
        McDonnell & Gao's front-end, :class:`sk_avsc.comparison.LogMelSpectrogram`).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Storage type while the matrix is built, as librosa's ``dtype``.

    Returns
    -------
    filterbank : ndarray of shape (n_fft // 2 + 1, n_mels), of ``dtype``
        Triangular filters, ``n_mels + 2`` edges equally spaced on the mel scale, each
        normalised to unit area in Hz with ``norm="slaney"`` (``2 / (f[i + 2] - f[i])``,
        ``norm=1`` before librosa 0.8): multiply a spectrum by it to get mel bands.
        Read-only.

    Notes
    -----
    As librosa does, the triangles are computed in float64, stored in ``dtype``, and then
    multiplied in place by the float64 normalisation: in float32 they are rounded twice
    (kapre 0.3, openl3 0.4.2). kapre 0.1.4 (librosa <= 0.7, float64 matrix) cast once:
    ``mel_filterbank(..., htk=True, dtype=np.float64).astype(np.float32)``.

    Examples
    --------
    >>> fb = mel_filterbank(2048, 256)
    >>> fb.shape, fb.dtype
    ((1025, 256), dtype('float32'))
    >>> mel_filterbank(2048, 128, htk=True, dtype=np.float64).dtype
    dtype('float64')
    >>> float(mel_filterbank(2048, 128, htk=True, norm=None).max())
    1.0
    """
    dtype = np.dtype(dtype)
    check_choice("norm", norm, ("slaney", None), owner="mel_filterbank")
    key = (n_fft, n_mels, sr, bool(htk), norm, dtype.str)
    if key not in _MEL_CACHE:
        fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
        mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0, htk), _hz_to_mel(sr / 2.0, htk),
                                       n_mels + 2), htk)
        fdiff = np.diff(mel_f)
        ramps = np.subtract.outer(mel_f, fftfreqs)
        weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=dtype)
        for i in range(n_mels):
            lower = -ramps[i] / fdiff[i]
            upper = ramps[i + 2] / fdiff[i + 1]
            weights[i] = np.maximum(0, np.minimum(lower, upper))
        if norm == "slaney":
            enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
            weights *= enorm[:, np.newaxis]
        filterbank = np.ascontiguousarray(weights.T)
        filterbank.setflags(write=False)
        _MEL_CACHE[key] = filterbank
    return _MEL_CACHE[key]


def _kapre014_mel_matrix(n_fft: int, n_mels: int) -> np.ndarray:
    # kapre 0.1.4: librosa.filters.mel(htk=True, norm=1) (float64) .astype(float32)
    key = ("kapre-0.1.4", n_fft, n_mels)
    if key not in _MEL_CACHE:
        basis = mel_filterbank(n_fft, n_mels, htk=True, dtype=np.float64).astype(np.float32)
        basis.setflags(write=False)
        _MEL_CACHE[key] = basis
    return _MEL_CACHE[key]


def _frames_numpy(windows: np.ndarray, n_fft: int, padding: tuple[int, int]) -> np.ndarray:
    if any(padding):
        windows = np.pad(windows, ((0, 0), padding))
    n_frames = 1 + (windows.shape[-1] - n_fft) // HOP_LENGTH
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


def _kapre_numpy(windows, n_fft, n_mels, padding, workers):
    frames = _frames_numpy(windows, n_fft, padding) * hann_window(n_fft)
    stft = scipy.fft.rfft(frames, n=n_fft, axis=-1, workers=workers)
    mag = np.abs(stft)  # (n, frames, bins), float32
    if n_mels:
        mag = _matmul_one_blas_thread(mag, mel_filterbank(n_fft, n_mels), workers)
    return _to_decibel_numpy(mag).transpose(0, 2, 1)


def _kapre014_numpy(windows, n_fft, n_mels, padding, workers):
    # the float32 convolution DFT, computed exactly (float64 FFT): see the module notes
    frames = _frames_numpy(windows, n_fft, padding).astype(np.float64)
    window = _scipy_hann(n_fft).astype(np.float32)  # kapre casts the window to floatx
    stft = scipy.fft.rfft(frames * window, n=n_fft, axis=-1, workers=workers)
    power = stft.real ** 2 + stft.imag ** 2
    if n_mels:
        power = _matmul_one_blas_thread(
            power, _kapre014_mel_matrix(n_fft, n_mels).astype(np.float64), workers)
    amplitude = np.sqrt(power).astype(np.float32)
    # kapre 0.1.4 amplitude_to_decibel: 10 * log(max(x, amin)) / log(10), float32
    log_spec = np.float32(10.0) * np.log(np.maximum(amplitude, np.float32(_AMIN)))
    log_spec /= np.float32(np.log(10.0))
    log_spec -= log_spec.max(axis=(1, 2), keepdims=True)
    return np.maximum(log_spec, np.float32(-_DYNAMIC_RANGE)).transpose(0, 2, 1)


def _librosa_mel_matrix(n_fft: int, n_mels: int) -> np.ndarray:
    # librosa's (n_mels, n_bins) layout: the same BLAS call as its einsum, bit-identical
    key = ("librosa", n_fft, n_mels)
    if key not in _MEL_CACHE:
        basis = np.ascontiguousarray(mel_filterbank(n_fft, n_mels).T)
        basis.setflags(write=False)
        _MEL_CACHE[key] = basis
    return _MEL_CACHE[key]


def _librosa_numpy(windows, n_fft, n_mels, padding):
    # librosa.stft of float32 audio: float64 window and FFT (numpy.fft), complex64 result
    frames = _frames_numpy(windows, n_fft, padding)
    stft = np.fft.rfft(_scipy_hann(n_fft) * frames, axis=-1).astype(np.complex64)
    mag = np.abs(stft).transpose(0, 2, 1)  # (n, bins, frames)
    if n_mels:
        mag = _matmul_one_blas_thread(_librosa_mel_matrix(n_fft, n_mels), mag, 1)
    # librosa.power_to_db(ref=1.0, amin=1e-10, top_db=80), then openl3's S -= S.max()
    log_spec = np.float32(10.0) * np.log10(np.maximum(np.float32(_AMIN), mag))
    log_spec = np.maximum(log_spec, log_spec.max(axis=(1, 2), keepdims=True)
                          - np.float32(_DYNAMIC_RANGE))
    log_spec -= log_spec.max(axis=(1, 2), keepdims=True)
    return log_spec


def spectrogram_numpy(windows: np.ndarray, input_repr: str, frontend: str = "kapre", *,
                      workers: int = 1) -> np.ndarray:
    """OpenL3's dB spectrogram of 1-s windows, computed on CPU with numpy/scipy.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, 48000)
        Audio windows at 48 kHz; cast to float32.
    input_repr : {"linear", "mel128", "mel256"}
        Input representation.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Front-end: openl3 0.4.2's (kapre 0.3), openl3 0.3.1's (kapre 0.1.4), or openl3
        0.4.2's librosa one (see the module notes).
    workers : int, default=1
        Threads used by ``scipy.fft`` (not by the librosa front-end, which uses
        ``numpy.fft`` as librosa does).

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
    >>> spectrogram_numpy(rng.standard_normal((1, 48000)), "mel256", "kapre-0.1.4").shape
    (1, 256, 199)
    """
    n_fft, n_mels = _check_repr(input_repr)
    padding = frame_padding(input_repr, frontend)
    windows = np.asarray(windows, dtype=np.float32).reshape(-1, windows.shape[-1])
    if frontend == "kapre":
        return np.ascontiguousarray(_kapre_numpy(windows, n_fft, n_mels, padding, workers))
    out = np.empty((windows.shape[0],) + spectrogram_shape(input_repr), dtype=np.float32)
    for start in range(0, windows.shape[0], _BLOCK):
        block = windows[start:start + _BLOCK]
        if frontend == "kapre-0.1.4":
            out[start:start + _BLOCK] = _kapre014_numpy(block, n_fft, n_mels, padding, workers)
        else:
            out[start:start + _BLOCK] = _librosa_numpy(block, n_fft, n_mels, padding)
    return out


def spectrogram_torch(windows: torch.Tensor, input_repr: str,
                      frontend: str = "kapre") -> torch.Tensor:
    """OpenL3's dB spectrogram with torch operations (any device).

    The same computation as :func:`spectrogram_numpy` with a float32 ``torch.fft.rfft``,
    for accelerators. Its FFT rounds differently, so results deviate slightly (see the
    module notes and :class:`AudioFrontend`).

    Parameters
    ----------
    windows : Tensor of shape (n_windows, 48000)
        Audio windows at 48 kHz, float32.
    input_repr : {"linear", "mel128", "mel256"}
        Input representation.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Front-end.

    Returns
    -------
    spec : Tensor of shape (n_windows, n_bins, n_frames), float32

    Examples
    --------
    >>> spec = spectrogram_torch(torch.randn(1, 48000), "linear")
    >>> tuple(spec.shape)
    (1, 257, 197)
    """
    n_fft, n_mels = _check_repr(input_repr)
    padding = frame_padding(input_repr, frontend)
    device = windows.device
    windows = windows.to(torch.float32)
    if any(padding):
        windows = nn.functional.pad(windows, padding)
    frames = windows.unfold(-1, n_fft, HOP_LENGTH)
    if frontend == "kapre":
        window = hann_window(n_fft)
    else:
        window = _scipy_hann(n_fft).astype(np.float32)
    stft = torch.fft.rfft(frames * torch.tensor(window, device=device), n=n_fft, dim=-1)
    if frontend == "kapre-0.1.4":
        spec = stft.real ** 2 + stft.imag ** 2
        basis = _kapre014_mel_matrix(n_fft, n_mels) if n_mels else None
    else:
        spec = stft.abs()
        basis = mel_filterbank(n_fft, n_mels) if n_mels else None
    if basis is not None:
        spec = spec @ torch.tensor(basis, device=device)
    spec = torch.clamp(torch.sqrt(spec) if frontend == "kapre-0.1.4" else spec, min=_AMIN)
    # each front-end's own float32 expression of 10 log10(x)
    if frontend == "kapre":
        log_spec = 10.0 * (torch.log(spec) / np.log(np.float32(10.0)))
    elif frontend == "kapre-0.1.4":
        log_spec = 10.0 * torch.log(spec) / float(np.float32(np.log(10.0)))
    else:
        log_spec = 10.0 * torch.log10(spec)
    if frontend == "librosa":
        top = log_spec.amax(dim=(1, 2), keepdim=True)
        log_spec = torch.maximum(log_spec, top - _DYNAMIC_RANGE)
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
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Which openl3 front-end to reproduce: ``"kapre"`` openl3 0.4.2's (kapre 0.3),
        ``"kapre-0.1.4"`` openl3 0.3.1's (the paper's features), ``"librosa"`` openl3
        0.4.2's ``frontend="librosa"``.

    Attributes
    ----------
    input_repr : str
        As given.
    frontend : str
        As given.
    output_shape : tuple of int
        ``(n_bins, n_frames)``, see :func:`spectrogram_shape`.

    Notes
    -----
    On CPU, input goes through :func:`spectrogram_numpy` (the exact path); on other
    devices through :func:`spectrogram_torch` (float32 ``torch.fft``). Measured with
    torch's CPU FFT on the reference fixtures (mel128, a random-weight network), the torch
    path moves the embeddings by relative L2 up to ~2e-4 on 48 kHz audio for every
    front-end, and on resampled (44.1 kHz) chirps up to ~4e-4 (``"kapre"``,
    ``"librosa"``) and ~2e-3 (``"kapre-0.1.4"``: float32 round-off in the quiet bins of its
    160-dB power range), against ~1e-6 (``"kapre"``, ``"librosa"``) and ~1e-4
    (``"kapre-0.1.4"``) for the numpy path. The module has no parameters: windows and
    filterbanks are constants.

    Examples
    --------
    >>> frontend = AudioFrontend("mel128")
    >>> tuple(frontend(torch.zeros(3, 1, 48000)).shape)
    (3, 1, 128, 199)
    >>> AudioFrontend("mel256", frontend="kapre-0.1.4").frontend
    'kapre-0.1.4'
    """

    def __init__(self, input_repr: str = "mel256", frontend: str = "kapre") -> None:
        super().__init__()
        _check_repr(input_repr)
        _check_frontend(frontend)
        self.input_repr = input_repr
        self.frontend = frontend
        self.output_shape = spectrogram_shape(input_repr)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map windows ``(N, 1, 48000)`` to spectrograms ``(N, 1, n_bins, n_frames)``."""
        x = x.reshape(x.shape[0], x.shape[-1])
        if x.device.type == "cpu":
            spec = spectrogram_numpy(
                x.detach().to(torch.float32).numpy(), self.input_repr, self.frontend,
                workers=max(1, torch.get_num_threads()),
            )
            out = torch.from_numpy(spec)
        else:
            out = spectrogram_torch(x, self.input_repr, self.frontend)
        return out.unsqueeze(1)

    def extra_repr(self) -> str:
        return f"input_repr={self.input_repr!r}, frontend={self.frontend!r}"
