"""The audio front-end: window table, mel filterbank, spectrogram shapes and values."""

import hashlib

import numpy as np
import pytest
import torch

from sk_avsc.exceptions import ParameterError
from sk_avsc.openl3 import frontend


# SHA-1 of tf.signal.hann_window(n, periodic=True).numpy().tobytes() (TensorFlow 2.21, CPU)
TF_HANN_SHA1 = {
    512: "6da7eb76306ce5ab22436493cf1449fb8d34e9e9",
    2048: "9f737eade3e5464b4e8d99681832fe139b249dd8",
}


@pytest.mark.parametrize("n_fft", [512, 2048])
def test_hann_window_is_tensorflows(n_fft):
    window = frontend.hann_window(n_fft)
    assert window.dtype == np.float32 and window.shape == (n_fft,)
    assert hashlib.sha1(window.tobytes()).hexdigest() == TF_HANN_SHA1[n_fft]
    # and it is a periodic Hann window up to float32 rounding
    n = np.arange(n_fft)
    np.testing.assert_allclose(window, 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft), atol=1e-6)


def test_hann_window_other_sizes():
    window = frontend.hann_window(100)
    np.testing.assert_allclose(window, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(100) / 100),
                               atol=1e-6)


def _slaney_mel(f):
    f = np.asarray(f, dtype=float)
    log_part = 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4)
    return np.where(f < 1000, 3 * f / 200, log_part)


@pytest.mark.parametrize("n_mels", [128, 256])
def test_mel_filterbank_triangles(n_mels):
    fb = frontend.mel_filterbank(2048, n_mels)
    assert fb.shape == (1025, n_mels) and fb.dtype == np.float32
    assert np.all(fb >= 0)
    freqs = np.arange(1025) * 48000 / 2048
    peaks = freqs[np.argmax(fb, axis=0)]
    # band centres equally spaced on the Slaney mel scale between 0 Hz and 24 kHz
    centres = np.linspace(0, _slaney_mel(24000), n_mels + 2)[1:-1]
    assert np.all(np.diff(peaks) >= 0)
    step = _slaney_mel(24000) / (n_mels + 1)
    np.testing.assert_allclose(_slaney_mel(peaks), centres, atol=2 * step)
    # Slaney normalisation: each triangle's area (in Hz) is ~1 where bands span many bins
    np.testing.assert_allclose(fb.sum(axis=0)[n_mels // 2:] * 48000 / 2048, 1.0, rtol=0.05)


@pytest.mark.parametrize("input_repr, shape", [
    ("linear", (257, 197)), ("mel128", (128, 199)), ("mel256", (256, 199))])
def test_spectrogram_shapes(input_repr, shape, rng):
    assert frontend.spectrogram_shape(input_repr) == shape
    spec = frontend.spectrogram_numpy(rng.standard_normal((2, 48000)), input_repr)
    assert spec.shape == (2,) + shape and spec.dtype == np.float32
    np.testing.assert_array_equal(spec.max(axis=(1, 2)), 0.0)
    assert spec.min() >= -80.0


def _reference_db(window, input_repr):
    """Independent float64 version of kapre 0.3 + openl3's dB step (no TF rounding)."""
    n_fft, n_mels, pad_end = {"linear": (512, None, False), "mel128": (2048, 128, True),
                              "mel256": (2048, 256, True)}[input_repr]
    n_frames = -(-48000 // 242) if pad_end else 1 + (48000 - n_fft) // 242
    x = np.zeros(max((n_frames - 1) * 242 + n_fft, 48000))
    x[:48000] = window
    frames = np.stack([x[i * 242:i * 242 + n_fft] for i in range(n_frames)])
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    mag = np.abs(np.fft.rfft(frames * hann, axis=-1))
    if n_mels:
        mag = mag @ frontend.mel_filterbank(n_fft, n_mels).astype(np.float64)
    db = 10 * np.log10(np.maximum(mag, 1e-10))
    return np.maximum(db - db.max(), -80).T


@pytest.mark.parametrize("input_repr", ["linear", "mel128", "mel256"])
def test_spectrogram_matches_float64_reference(input_repr, rng):
    t = np.arange(48000) / 48000
    window = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(48000)
    ref = _reference_db(window, input_repr)
    spec = frontend.spectrogram_numpy(window[None], input_repr)[0]
    # well above the -80 dB floor (10 log10 of magnitudes: -30 dB is 1e-3 of the peak),
    # float32 FFT rounding moves values by far less than 2e-3 dB
    loud = ref > -30
    assert loud.mean() > 0.3
    np.testing.assert_allclose(spec[loud], ref[loud], atol=2e-3)


@pytest.mark.parametrize("input_repr", ["linear", "mel128", "mel256"])
def test_torch_spectrogram_close_to_numpy(input_repr, rng):
    windows = rng.standard_normal((2, 48000)).astype(np.float32)
    spec_np = frontend.spectrogram_numpy(windows, input_repr)
    spec_t = frontend.spectrogram_torch(torch.from_numpy(windows), input_repr).numpy()
    assert spec_t.shape == spec_np.shape
    loud = spec_np > -30
    np.testing.assert_allclose(spec_t[loud], spec_np[loud], atol=2e-3)


def test_frontend_module_and_bad_repr():
    module = frontend.AudioFrontend("linear")
    out = module(torch.ones(1, 1, 48000))
    assert tuple(out.shape) == (1, 1, 257, 197)
    with pytest.raises(ParameterError, match="linear.*mel128.*mel256"):
        frontend.AudioFrontend("mel64")


def test_decibel_floor_and_silence():
    spec = frontend.spectrogram_numpy(np.zeros((1, 48000)), "mel128")
    # silence: every bin at amin, so 0 dB everywhere after normalisation
    np.testing.assert_array_equal(spec, 0.0)
    impulse = np.zeros((1, 48000))
    impulse[0, 1000] = 1.0
    spec = frontend.spectrogram_numpy(impulse, "mel128")
    assert spec.min() == -80.0 and spec.max() == 0.0
