"""LogMelSpectrogram against librosa run as McDonnell & Gao's notebook runs it."""

import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from sk_avsc.comparison import LogMelSpectrogram
from sk_avsc.openl3.frontend import mel_filterbank
from sk_avsc.exceptions import AudioError, MediaError, ParameterError


def _librosa():
    return pytest.importorskip(
        "librosa", reason="librosa (the [test] extra) is the reference of the front-end test"
    )


def _authors_features(stereo: np.ndarray, sr: int) -> np.ndarray:
    """DCASE_training.ipynb's computation with librosa, as (6, 128, n_frames - 8).

    librosa 0.6.3 (the authors') padded the centred STFT by reflection; librosa >= 0.10
    pads with zeros unless told, hence pad_mode="reflect".
    """
    librosa = _librosa()
    n_frames = 1 + stereo.shape[0] // 1024
    lm = np.zeros((1, 128, n_frames, 2), np.float32)  # their (clip, freq, time, channel)
    for c in range(2):
        lm[0, :, :, c] = librosa.feature.melspectrogram(
            y=stereo[:, c], sr=sr, n_fft=2048, hop_length=1024, n_mels=128, fmin=0.0,
            fmax=sr / 2, htk=True, norm=None, pad_mode="reflect",
        )
    lm = np.log(lm + 1e-8)

    def delta(x):  # their deltas(), on the time axis 2
        out = (x[:, :, 2:, :] - x[:, :, :-2, :]) / 10.0
        return out[:, :, 1:-1, :] + (x[:, :, 4:, :] - x[:, :, :-4, :]) / 5.0

    d = delta(lm)
    dd = delta(d)
    out = np.concatenate((lm[:, :, 4:-4, :], d[:, :, 2:-2, :], dd), axis=-1)
    return np.transpose(out[0], (2, 0, 1))  # -> (channel, freq, time)


def _assert_float32_close(ours, ref):
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    # float32 precision of each plane: a few ulps of its largest magnitude
    scale = np.abs(ref).max(axis=(1, 2), keepdims=True)
    err = np.abs(ours.astype(np.float64) - ref) / scale
    assert err.max() < 8 * np.finfo(np.float32).eps, err.max()


def test_matches_librosa_on_a_real_binaural_clip(media_dir):
    path = media_dir / "chirp_stereo.wav"
    stereo, sr = sf.read(path)  # float64, as the authors read it
    assert stereo.shape[1] == 2 and sr == 48000
    ours = LogMelSpectrogram(duration=None).fit_transform([path])
    ref = _authors_features(stereo, sr)
    assert ours.shape == (1, 6, 128, 1 + len(stereo) // 1024 - 8)
    _assert_float32_close(ours[0], ref)


def test_matches_librosa_on_a_generated_2s_signal():
    rng = np.random.default_rng(0)
    t = np.arange(96000) / 48000
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.normal(size=t.size),
                       0.3 * np.sin(2 * np.pi * 3000 * t * t)], axis=1)
    ours = LogMelSpectrogram(duration=2.0).fit_transform([(stereo, 48000)])
    _assert_float32_close(ours[0], _authors_features(stereo, 48000))


def test_filterbank_is_librosas_htk_without_norm():
    librosa = _librosa()
    ref = librosa.filters.mel(sr=48000, n_fft=2048, n_mels=128, fmin=0, fmax=24000, htk=True,
                              norm=None)
    ours = mel_filterbank(2048, 128, 48000, htk=True, norm=None, dtype=np.float64)
    np.testing.assert_allclose(ours.T, ref, rtol=1e-6, atol=1e-7)


def test_ten_seconds_give_461_frames_and_short_clips_are_padded():
    rng = np.random.default_rng(1)
    clip = 0.1 * rng.normal(size=(2 * 48000, 2))
    lm = LogMelSpectrogram()
    assert lm.fit().n_frames_ == 461
    out = lm.transform([(clip, 48000), (np.pad(clip, ((0, 9 * 48000), (0, 0))), 48000)])
    assert out.shape == (2, 6, 128, 461) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], out[1])  # zero-padded to 10 s == cut to 10 s


def test_input_forms_agree(tmp_path):
    rng = np.random.default_rng(2)
    stereo = (0.1 * rng.normal(size=(48000, 2))).astype(np.float32)
    path = tmp_path / "clip.wav"
    sf.write(path, stereo, 48000, subtype="FLOAT")
    lm = LogMelSpectrogram(duration=1.0).fit()
    from_file = lm.transform([path])
    np.testing.assert_array_equal(from_file, lm.transform([(stereo, 48000)]))
    np.testing.assert_array_equal(from_file, lm.transform(stereo[None]))  # 3-D array X
    mono = lm.transform([stereo[:, 0]])
    np.testing.assert_array_equal(mono[0, 0], mono[0, 1])  # mono duplicated
    np.testing.assert_array_equal(mono[0, 0], from_file[0, 0])


def test_channel_order_is_lm_l_lm_r_d_l_d_r_dd_l_dd_r():
    rng = np.random.default_rng(3)
    left = 0.1 * rng.normal(size=48000)
    out = LogMelSpectrogram(duration=1.0).fit_transform([(np.stack([left, 0 * left], 1),
                                                          48000)])[0]
    silent = np.log(np.float32(1e-8))
    assert (out[1] == silent).all() and (out[3] == 0).all() and (out[5] == 0).all()
    assert not (out[0] == silent).any() and np.abs(out[2]).max() > 0


def test_bad_inputs_raise_with_remedies(media_dir):
    lm = LogMelSpectrogram(duration=1.0).fit()
    with pytest.raises(AudioError, match="44100 Hz.*resample"):
        lm.transform([media_dir / "chirp_44k.wav"])
    with pytest.raises(AudioError, match="channels-first: pass audio.T"):
        lm.transform([(np.zeros((2, 48000)), 48000)])
    with pytest.raises(ParameterError, match=r"wrap a single clip in a list"):
        lm.transform(str(media_dir / "chirp_stereo.wav"))
    with pytest.raises(MediaError, match="does not exist"):
        lm.transform(["missing.wav"])
    with pytest.raises(AudioError, match="different numbers of frames"):
        LogMelSpectrogram(duration=None).fit_transform([np.zeros(48000), np.zeros(96000)])
    with pytest.raises(ParameterError, match="duration must be"):
        LogMelSpectrogram(duration=0).fit()


def test_sklearn_conventions():
    lm = LogMelSpectrogram(duration=3.0)
    assert clone(lm).get_params() == lm.get_params()
    check_no_attributes_set_in_init("LogMelSpectrogram", LogMelSpectrogram())
    check_parameters_default_constructible("LogMelSpectrogram", LogMelSpectrogram())
