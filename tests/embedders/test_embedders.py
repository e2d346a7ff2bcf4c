"""The three embedding transformers on real and generated files (random-weight networks).

The networks are slow on 2 shared cores (~0.3 s per audio window, ~0.5 s per frame), so
every test embeds a handful of windows: 1-2 s clips, hop 0.5 s.
"""

import copy
import pickle
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_avsc import openl3
from sk_avsc.embedders import (
    AudioVisualEmbedder,
    OpenL3AudioEmbedder,
    OpenL3FrameEmbedder,
    read_video_frames,
)
from sk_avsc.exceptions import (
    AudioError,
    MediaError,
    MediaWarning,
    ParameterError,
    SkAvscWarning,
    WeightsError,
)

FAST = dict(weights="random", input_repr="mel128", hop_size=0.5)


def audio_embedder(**kwargs):
    return OpenL3AudioEmbedder(**{**FAST, **kwargs})


def frame_embedder(**kwargs):
    return OpenL3FrameEmbedder(**{**FAST, "input_repr": "mel256", **kwargs})


@pytest.fixture(scope="module")
def fitted_audio():
    return audio_embedder(center=False).fit()


@pytest.fixture(scope="module")
def fitted_video():
    return frame_embedder().fit()


def _frames(path, indices):
    frames, inverse, _ = read_video_frames(path, lambda meta: np.asarray(indices))
    return np.stack([frames[i] for i in inverse])


# ------------------------------------------------------------------ audio


@pytest.mark.slow
def test_audio_equals_functional_api_on_real_files(media_dir, fitted_audio):
    paths = [media_dir / "chirp_mono.wav", str(media_dir / "chirp_stereo.wav"),
             media_dir / "chirp_44k.wav"]  # 2 s each: mono, stereo, 44.1 kHz
    out = fitted_audio.transform(paths)
    assert out.shape == (3, 3, 512) and out.dtype == np.float32
    for i, path in enumerate(paths):
        audio, sr = sf.read(path, dtype="float32")
        expected, _ = openl3.get_audio_embedding(
            audio, sr, model=fitted_audio.model_, hop_size=0.5, center=False)
        np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out).all()


def test_audio_accepts_waveform_pairs_series_and_arrays(media_dir, fitted_audio, rng):
    wave = rng.uniform(-0.5, 0.5, (48000, 2)).astype(np.float32)
    path = str(media_dir / "chirp_1s.wav")
    out = fitted_audio.transform([(wave, 48000.0), path])
    expected, _ = openl3.get_audio_embedding(wave, 48000, model=fitted_audio.model_,
                                             hop_size=0.5, center=False)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fitted_audio.transform(pd.Series([path])), out[1:])
    np.testing.assert_array_equal(fitted_audio.transform(np.array([path])), out[1:])
    table = pd.DataFrame({"filename_audio": [path], "scene_label": ["park"]})
    np.testing.assert_array_equal(fitted_audio.transform(table), out[1:])


def test_window_count_mismatch_names_two_clips_and_duration_fixes_it(media_dir):
    emb = audio_embedder(center=False).fit()
    one, two = media_dir / "chirp_1s.wav", media_dir / "chirp_mono.wav"
    with pytest.raises(MediaError, match=r"chirp_1s\.wav.*gives 1.*chirp_mono\.wav.*gives 3"
                                         r".*duration="):
        emb.transform([one, two])
    emb.set_params(duration=1.5).fit()
    out = emb.transform([one, two])
    assert out.shape == (2, 2, 512)
    # duration crops the long clip and zero-pads the short one, at the file's rate
    audio, sr = sf.read(one, dtype="float32")
    padded = np.concatenate([audio, np.zeros(24000, np.float32)])
    expected, _ = openl3.get_audio_embedding(padded, sr, model=emb.model_, hop_size=0.5,
                                             center=False)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    audio, sr = sf.read(two, dtype="float32")
    expected, _ = openl3.get_audio_embedding(audio[:72000], sr, model=emb.model_,
                                             hop_size=0.5, center=False)
    np.testing.assert_allclose(out[1], expected, rtol=1e-5, atol=1e-6)


def test_preprocessing_warnings_name_the_clip(media_dir, fitted_audio):
    with pytest.warns(SkAvscWarning, match=r"short\.wav.*shorter than one window"):
        out = fitted_audio.transform([media_dir / "short.wav"])
    assert out.shape == (1, 1, 512) and np.isfinite(out).all()
    with pytest.warns(SkAvscWarning, match=r"silence\.wav.*all zeros"):
        # a shallow copy: the module-scoped fixture itself is never changed
        copy.copy(fitted_audio).set_params(duration=1.0).transform([media_dir / "silence.wav"])


@pytest.mark.parametrize("n_jobs", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_damaged_or_short_audio_warns_naming_the_clip_and_the_padding(
    make_truncated_wav, tmp_path, fitted_audio, n_jobs
):
    emb = clone(fitted_audio).set_params(duration=2.0, n_jobs=n_jobs).fit()
    truncated = make_truncated_wav("truncated.wav", 2.0, 1.0)  # header: 2 s; data: 1 s
    with pytest.warns(MediaWarning) as record:
        out = emb.transform([truncated])
    messages = [str(w.message) for w in record if issubclass(w.category, MediaWarning)]
    assert any(re.search(r"truncated\.wav.*truncated.*2\.000 s.*1\.000 s", m) for m in messages)
    assert any(re.search(r"truncated\.wav.*zero-padded by 1\.000 s", m) for m in messages)
    assert out.shape == (1, 3, 512)
    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, np.full(10, 0.5, np.float32), 48000)  # 10 samples
    with pytest.warns(MediaWarning, match=r"tiny\.wav.*lasts 0\.000 s.*duration=2 s.*"
                                          r"zero-padded by 2\.000 s"):
        emb.transform([tiny])
    wave = np.full(48000, 0.5, np.float32)  # an array pair too
    with pytest.warns(MediaWarning, match=r"clip 0 \(waveform array\).*padded by 1\.000 s"):
        emb.transform([(wave, 48000)])


# ------------------------------------------------------------------ video


@pytest.mark.parametrize("size", [(320, 240), (384, 288)])  # crop-only / rescaled paths
def test_frames_equal_functional_api_at_window_centres(make_video, fitted_video, size):
    path = make_video(n_frames=10, fps=5, size=size)  # 2 s
    out = fitted_video.transform([path])
    # centred windows, hop 0.5 s: centres 0, 0.5, 1.0, 1.5 s -> frames 0, 2, 5, 7 at 5 fps
    assert out.shape == (1, 4, 512)
    expected = openl3.get_image_embedding(_frames(path, [0, 2, 5, 7]),
                                          model=fitted_video.model_)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_frames_authors_policy_and_centre_past_the_end(make_video, fitted_video):
    path = make_video(n_frames=7, fps=5, size=(320, 240))  # 1.4 s
    # 1.4 s -> 1 + ceil((1.4 + 0.5 - 1) / 0.5) = 3 windows centred at 0, 0.5, 1.0 s
    authors = clone(fitted_video).set_params(frame_policy="authors").fit()
    out = authors.transform([path])
    # moviepy sees 7 frames: np.linspace(0, 6, 3).astype(int) = 0, 3, 6
    expected = openl3.get_image_embedding(_frames(path, [0, 3, 6]), model=authors.model_)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    # with duration=3 s the centres run to 2.5 s, past the last frame (1.2 s): last frame
    late = clone(fitted_video).set_params(duration=3.0).fit()
    with pytest.warns(MediaWarning, match=r"7 decodable frames.*3 of the 6 frames.*1\.20 s"):
        out = late.transform([path])
    assert out.shape == (1, 6, 512)
    for k in range(3, 6):
        np.testing.assert_array_equal(out[0, k], out[0, 3])
    expected = openl3.get_image_embedding(_frames(path, [0, 2, 5, 6]), model=late.model_)
    np.testing.assert_allclose(out[0, :4], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_jobs", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_cut_video_warns_naming_the_clip_and_the_repeated_frames(
    make_cut_video, make_video, fitted_video, n_jobs
):
    video = clone(fitted_video).set_params(n_jobs=n_jobs).fit()
    cut = make_cut_video("cut.mp4", 20, keep=0.4)  # 2 s at 10 fps, ~0.8 s decodable
    # the container says 2 s: 4 windows centred at 0, 0.5, 1.0, 1.5 s (frames 0, 5, 10,
    # 15); the last two, more than one hop past the last frame, repeat it
    with pytest.warns(MediaWarning, match=r"cut\.mp4.*decodable frames.*container says "
                                          r"2\.00 s.*2 of the 4 frames asked for"):
        out = video.transform([cut])
    np.testing.assert_array_equal(out[0, 3], out[0, 2])
    # a video shorter than the audio by less than a hop keeps the last frame silently
    short = make_video("short.mp4", n_frames=13, fps=10, size=(320, 240))  # 1.3 s
    out = video.set_params(duration=2.0).transform([short])  # frame 15 -> 12, 0.3 s past
    assert out.shape == (1, 4, 512)


def test_real_mp4(media_dir, fitted_video):
    out = fitted_video.transform([media_dir / "bento.mp4"])
    # 1.1 s: 1 + ceil((1.1 + 0.5 - 1) / 0.5) = 3 windows -> frames 0, 5, 10 at 10 fps
    expected = openl3.get_image_embedding(_frames(media_dir / "bento.mp4", [0, 5, 10]),
                                          model=fitted_video.model_)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ audio-visual


def test_audio_visual_concatenates_aligned_windows(make_video, make_wav):
    wav = make_wav("a.wav", seconds=1.0, sr=44100, channels=2)
    mp4 = make_video("a.mp4", n_frames=5, fps=5, size=(320, 240))
    av = AudioVisualEmbedder(audio_embedder(), frame_embedder(), n_jobs=1)
    table = pd.DataFrame({"filename_audio": [str(wav)], "filename_video": [str(mp4)]})
    out = av.fit_transform(table)
    assert out.shape == (1, 2, 1024)  # 1 s, centred, hop 0.5 s: 2 windows
    assert av.audio_.n_jobs == 1 and av.video_.n_jobs == 1
    np.testing.assert_array_equal(out[..., :512], av.audio_.transform([wav]))
    np.testing.assert_array_equal(out[..., 512:], av.video_.transform([mp4]))
    names = av.get_feature_names_out()
    assert names[0] == "openl3_audio_0" and names[512] == "openl3_video_0" and len(names) == 1024


def test_audio_visual_checks_alignment(make_video, make_wav, tmp_path):
    wav = make_wav("long.wav", seconds=2.0)
    mp4 = make_video("short.mp4", n_frames=5, fps=5, size=(320, 240))
    av = AudioVisualEmbedder(audio_embedder(), frame_embedder(), cache_dir=tmp_path / "c")
    av.fit()
    assert str(av.audio_.cache_dir) == str(av.video_.cache_dir) == str(tmp_path / "c")
    with pytest.raises(MediaError, match=r"short\.mp4.*long\.wav.*video gives 2 windows but "
                                         r"the audio 4.*duration="):
        av.transform([(wav, mp4)])
    with pytest.raises(ParameterError, match=r"audio\.hop_size=0\.5 but video\.hop_size=0\.1"):
        AudioVisualEmbedder(audio_embedder(), frame_embedder(hop_size=0.1)).fit()
    with pytest.raises(ParameterError, match="must be an OpenL3FrameEmbedder"):
        AudioVisualEmbedder(audio_embedder(), audio_embedder()).fit()
    with pytest.raises(ParameterError, match="columns.*filename_video"):
        av.transform(pd.DataFrame({"filename_audio": [str(wav)]}))


# ------------------------------------------------------------------ cache


def _count_embeds(monkeypatch, name="embed_audio_windows", fail_on=None):
    calls = []
    real = getattr(openl3, name)

    def spy(windows, model, batch_size=32, verbose=False):
        calls.append(len(windows))
        if fail_on is not None and len(calls) == fail_on:
            raise KeyboardInterrupt  # a run killed half-way
        return real(windows, model, batch_size, verbose)

    monkeypatch.setattr(openl3, name, spy)
    return calls


def _wavs(make_wav, n):
    return [str(make_wav(f"c{i}.wav", seconds=1.0, seed=i)) for i in range(n)]


def test_cache_resumes_after_a_crash(make_wav, tmp_path, monkeypatch):
    paths = _wavs(make_wav, 4)
    reference = audio_embedder(center=False).fit().transform(paths)
    cache = tmp_path / "cache"
    # batch_size=16: one clip per chunk, so the crash comes after the first clip
    emb = audio_embedder(center=False, batch_size=16, cache_dir=cache).fit()
    _count_embeds(monkeypatch, fail_on=2)
    with pytest.raises(KeyboardInterrupt):
        emb.transform(paths)
    files = sorted((cache / "audio").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("c0-")
    assert not list((cache / "audio").glob("*.tmp"))  # nothing half-written
    calls = _count_embeds(monkeypatch)
    out = emb.transform(paths)
    assert len(calls) == 3  # only the missing clips
    np.testing.assert_array_equal(out, reference)
    calls.clear()
    np.testing.assert_array_equal(emb.transform(paths), reference)
    assert calls == []  # all from the cache


def test_cache_key_follows_file_and_parameters(make_wav, tmp_path, monkeypatch):
    import os

    path = _wavs(make_wav, 1)
    cache = tmp_path / "cache"
    emb = audio_embedder(center=False, cache_dir=cache).fit()
    first = emb.transform(path)
    calls = _count_embeds(monkeypatch)
    emb.transform(path)
    assert calls == []
    os.utime(path[0], ns=(1, 1))  # a modified file is recomputed
    emb.transform(path)
    assert len(calls) == 1
    emb.set_params(center=True).transform(path)  # so is another parameter
    assert len(calls) == 2
    assert len(list((cache / "audio").glob("*.npz"))) == 3
    np.testing.assert_array_equal(emb.set_params(center=False).transform(path), first)
    assert len(calls) == 2


@pytest.mark.parametrize("frontend", ["kapre-0.1.4", "librosa"])
def test_frontend_reaches_the_network_and_the_cache_key(make_wav, tmp_path, monkeypatch,
                                                        frontend):
    # the paper's features are openl3 0.3.1's: the embedder must compute them, and a cache
    # of 0.4.2 features must never answer for them
    path = _wavs(make_wav, 1)
    cache = tmp_path / "cache"
    kapre = audio_embedder(center=False, cache_dir=cache).fit()
    other = audio_embedder(center=False, cache_dir=cache, frontend=frontend).fit()
    assert other.model_.frontend == frontend
    first = kapre.transform(path)
    calls = _count_embeds(monkeypatch)
    out = other.transform(path)
    assert len(calls) == 1  # not taken from the kapre entry
    audio, sr = sf.read(path[0], dtype="float32")
    expected, _ = openl3.get_audio_embedding(audio, sr, model=other.model_, hop_size=0.5,
                                             center=False, frontend=frontend, verbose=False)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(out - first) > 1e-3 * np.linalg.norm(first)
    assert len(list((cache / "audio").glob("*.npz"))) == 2


def test_audio_visual_frontend_sets_the_audio_side(make_video, make_wav):
    av = AudioVisualEmbedder(audio_embedder(), frame_embedder(), frontend="kapre-0.1.4")
    av.fit()
    assert av.audio_.frontend == "kapre-0.1.4" and av.audio_.model_.frontend == "kapre-0.1.4"
    assert AudioVisualEmbedder(audio_embedder(frontend="librosa"),
                               frame_embedder()).fit().audio_.frontend == "librosa"


def _replace_keeping_size_and_mtime(path, seed):
    """New samples in the same file, its size and mtime restored (as cp -p, rsync -t)."""
    import os

    before = os.stat(path)
    samples = np.random.default_rng(seed).uniform(-0.5, 0.5, 48000).astype(np.float32)
    sf.write(path, samples, 48000, subtype="PCM_16")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_cache_sees_content_replaced_with_same_size_and_mtime(make_wav, tmp_path, monkeypatch):
    path = _wavs(make_wav, 1)
    emb = audio_embedder(center=False, cache_dir=tmp_path / "cache").fit()
    first = emb.transform(path)
    _replace_keeping_size_and_mtime(path[0], seed=1)
    calls = _count_embeds(monkeypatch)
    second = emb.transform(path)  # the file's ctime changed: recomputed
    assert len(calls) == 1
    assert not np.array_equal(second, first)
    np.testing.assert_array_equal(second, audio_embedder(center=False).fit().transform(path))


def test_content_cache_key(make_wav, tmp_path, monkeypatch, rng):
    import shutil

    path = _wavs(make_wav, 1)
    cache = tmp_path / "cache"
    emb = audio_embedder(center=False, cache_dir=cache, cache_key="content").fit()
    first = emb.transform(path)
    _replace_keeping_size_and_mtime(path[0], seed=1)
    calls = _count_embeds(monkeypatch)
    second = emb.transform(path)  # other bytes: recomputed
    assert len(calls) == 1 and not np.array_equal(second, first)
    # the same bytes elsewhere, under another name, reuse the entry
    (tmp_path / "moved").mkdir()
    copy = shutil.copy(path[0], tmp_path / "moved" / "renamed.wav")
    np.testing.assert_array_equal(emb.transform([copy]), second)
    assert len(calls) == 1
    # the default mode keys the copy by its path: computed
    stat_emb = clone(emb).set_params(cache_key="stat").fit()
    np.testing.assert_array_equal(stat_emb.transform([copy]), second)
    assert len(calls) == 2
    # an array is keyed by its samples in both modes: one entry
    wave = [(rng.uniform(-0.5, 0.5, 48000).astype(np.float32), 48000)]
    np.testing.assert_array_equal(emb.transform(wave), stat_emb.transform(wave))
    assert len(calls) == 3
    with pytest.raises(ParameterError, match="cache_key.*'mtime'"):
        clone(emb).set_params(cache_key="mtime").fit()


def test_stale_cache_temporaries_are_removed(make_wav, tmp_path):
    import os
    import time

    path = _wavs(make_wav, 1)
    folder = tmp_path / "cache" / "audio"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".c0-0123.npz.ab12.tmp", folder / ".c1-4567.npz.cd34.tmp"
    for temp in (stale, fresh):
        temp.write_bytes(b"half-written by a killed run")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    audio_embedder(center=False, cache_dir=tmp_path / "cache").fit().transform(path)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a run in progress in another process
    assert len(list(folder.glob("*.npz"))) == 1


def test_corrupt_cache_file_is_recomputed_with_a_warning(make_wav, tmp_path):
    path = _wavs(make_wav, 1)
    cache = tmp_path / "cache"
    emb = audio_embedder(center=False, cache_dir=cache).fit()
    first = emb.transform(path)
    (file,) = (cache / "audio").glob("*.npz")
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the array
    file.write_bytes(bytes(data))
    with pytest.warns(SkAvscWarning, match="cache file.*corrupt.*recomputing"):
        second = emb.transform(path)
    np.testing.assert_array_equal(second, first)
    file.write_bytes(b"garbage")
    with pytest.warns(SkAvscWarning, match="corrupt"):
        np.testing.assert_array_equal(emb.transform(path), first)
    emb.transform(path)  # repaired: no warning (warnings are errors here)


def test_bad_clip_keeps_the_clips_before_it_in_the_cache(media_dir, make_wav, tmp_path):
    good = _wavs(make_wav, 2)
    cache = tmp_path / "cache"
    emb = audio_embedder(center=False, batch_size=16, cache_dir=cache).fit()
    with pytest.raises(AudioError, match=r"empty\.wav.*0 samples"):
        emb.transform(good + [str(media_dir / "empty.wav"), good[0]])
    assert len(list((cache / "audio").glob("*.npz"))) == 2


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("n_jobs", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_bad_files_raise_errors_naming_the_clip(media_dir, tmp_path, fitted_audio,
                                                fitted_video, n_jobs):
    corrupt_wav = tmp_path / "corrupt.wav"
    corrupt_wav.write_bytes(b"RIFF" + bytes(range(200)))
    corrupt_mp4 = tmp_path / "corrupt.mp4"
    corrupt_mp4.write_bytes(bytes(range(256)) * 20)
    audio = clone(fitted_audio).set_params(n_jobs=n_jobs).fit()
    video = clone(fitted_video).set_params(n_jobs=n_jobs).fit()
    good = str(media_dir / "chirp_1s.wav")
    cases = [
        (audio, tmp_path / "missing.wav", MediaError, r"missing\.wav.*does not exist"),
        (audio, tmp_path, MediaError, "is a directory"),
        (audio, media_dir / "empty.wav", AudioError, r"empty\.wav.*0 samples"),
        (audio, corrupt_wav, MediaError, r"corrupt\.wav.*cannot be read"),
        (video, corrupt_mp4, MediaError, r"corrupt\.mp4.*corrupt or not a video"),
        (video, media_dir / "chirp_1s.wav", MediaError, r"chirp_1s\.wav.*no video stream"),
    ]
    for embedder, bad, error, match in cases:
        # the bad clip comes after good ones, so workers are running when it fails
        clips = [good, good, bad] if embedder is audio else [media_dir / "bento.mp4", bad]
        with pytest.raises(error, match=match) as info:
            embedder.transform(clips)
        assert "Traceback" not in str(info.value)
        if n_jobs:
            assert info.value.__cause__ is None  # no worker traceback chained


def test_unsupported_x_raises(fitted_audio):
    with pytest.raises(ParameterError, match=r"clip 1 in X is of unsupported type int"):
        fitted_audio.transform(["a.wav", 3])
    with pytest.raises(ParameterError, match=r"single value 'a\.wav'.*\['a\.wav'\]"):
        fitted_audio.transform("a.wav")
    with pytest.raises(ParameterError, match="no clips"):
        fitted_audio.transform([])
    with pytest.raises(ParameterError, match="1-D"):
        fitted_audio.transform(np.array([["a.wav", "b.wav"]]))
    with pytest.raises(ParameterError, match="unsupported type NoneType"):
        fitted_audio.transform([None])


# ------------------------------------------------------------------ estimator contract


@pytest.mark.parametrize("cls", [OpenL3AudioEmbedder, OpenL3FrameEmbedder, AudioVisualEmbedder])
def test_estimator_contract(cls):
    est = cls()
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.transform(["x"])
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("cls", [OpenL3AudioEmbedder, OpenL3FrameEmbedder, AudioVisualEmbedder])
def test_set_output_is_not_offered(cls):
    # the output is (clips, windows, dim): no DataFrame holds it, so none of the three
    # offers set_output, and a Pipeline asking for pandas output says so at once
    est = cls()
    assert not hasattr(est, "set_output")
    with pytest.raises(ValueError, match=f"{cls.__name__}.*set_output"):
        make_pipeline(est).set_output(transform="pandas")


def test_global_pandas_output_keeps_the_3d_array(fitted_audio, rng):
    import sklearn

    clips = [(rng.uniform(-0.5, 0.5, 48000).astype(np.float32), 48000)]
    with sklearn.config_context(transform_output="pandas"):
        out = fitted_audio.transform(clips)
    assert isinstance(out, np.ndarray) and out.shape == (1, 1, 512)  # 1 s, not centred


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hop_size": 0}, "hop_size"),
        ({"hop_size": 1e-6}, "hop_size"),
        ({"center": "yes"}, "center"),
        ({"duration": -1.0}, "duration"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"duration": float("nan")}, "duration"),
        ({"cache_dir": 3}, "cache_dir"),
        ({"input_repr": "mel64"}, "input_repr"),
        ({"embedding_size": 100}, "embedding_size"),
        ({"frontend": "kapre-0.3"}, "frontend.*kapre-0.1.4"),
    ],
)
def test_invalid_parameters_fail_in_fit(params, match):
    est = audio_embedder(**params)  # __init__ stores, fit validates
    with pytest.raises(ParameterError, match=match):
        est.fit()


def test_cache_dir_must_be_a_folder(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("x")
    with pytest.raises(ParameterError, match=r"OpenL3AudioEmbedder: cache_dir .*a_file.*not a "
                                             r"folder"):
        audio_embedder(cache_dir=path).fit()


def test_frame_policy_and_weights_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="frame_policy.*'middle'"):
        frame_embedder(frame_policy="middle").fit()
    with pytest.raises(WeightsError, match="nope.h5"):
        audio_embedder(weights=tmp_path / "nope.h5").fit()


def test_fitted_embedder_pickles_and_reference_weights(openl3_reference_dir, media_dir):
    weights = openl3_reference_dir / "openl3_audio_mel128_env.h5"
    emb = OpenL3AudioEmbedder(weights, "mel128", hop_size=0.5, center=False).fit()
    assert len(emb.weights_id_) == 40  # SHA-1 of the file
    out = emb.transform([media_dir / "chirp_1s.wav"])
    again = pickle.loads(pickle.dumps(emb)).transform([media_dir / "chirp_1s.wav"])
    np.testing.assert_array_equal(out, again)
    names = emb.get_feature_names_out()
    assert names.shape == (512,) and names[-1] == "openl3_audio_511"


def test_pipeline_on_files(make_wav, tmp_path):
    paths = _wavs(make_wav, 4)
    pipe = make_pipeline(
        audio_embedder(center=False, cache_dir=tmp_path / "cache"),
        FunctionTransformer(lambda X: X.mean(axis=1)),
        LogisticRegression(),
    )
    pipe.fit(paths, [0, 1, 0, 1])
    assert pipe.predict(paths).shape == (4,)
    assert len(list((tmp_path / "cache" / "audio").glob("*.npz"))) == 4


def test_grid_search_embeds_each_clip_once(make_wav, tmp_path, monkeypatch):
    from sklearn.model_selection import GridSearchCV

    paths = _wavs(make_wav, 4)
    pipe = make_pipeline(
        audio_embedder(center=False, batch_size=16, cache_dir=tmp_path / "cache"),
        FunctionTransformer(lambda X: X.mean(axis=1)),
        LogisticRegression(),
    )
    calls = _count_embeds(monkeypatch)
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=2)
    search.fit(paths, [0, 1, 0, 1])
    # 2 candidates x 2 folds + refit read 4 clips 13 times: computed once each
    assert len(calls) == 4


# ------------------------------------------------------------------ progress, parallel


def test_progress_bar_only_when_verbose(media_dir, fitted_audio, capsys):
    path = [media_dir / "chirp_1s.wav"]
    fitted_audio.transform(path)
    assert capsys.readouterr().err == ""
    copy.copy(fitted_audio).set_params(verbose=1).transform(path)
    err = capsys.readouterr().err
    assert "OpenL3AudioEmbedder" in err and "1/1" in err and "clip/s" in err


@pytest.mark.slow
def test_n_jobs_processes_equal_sequential_bit_for_bit(make_wav, tmp_path):
    from threadpoolctl import threadpool_limits

    paths = [str(make_wav(f"c{i}.wav", seconds=2.0, seed=i)) for i in range(2)]
    # here 2 BLAS threads, in a worker 1: the mel projection must not depend on that
    with threadpool_limits(2, user_api="blas"):
        sequential = audio_embedder(center=False).fit().transform(paths)
    parallel = audio_embedder(center=False, n_jobs=2, cache_dir=tmp_path / "c").fit()
    np.testing.assert_array_equal(parallel.transform(paths), sequential)
    assert len(list((tmp_path / "c" / "audio").glob("*.npz"))) == 2  # workers wrote them


def test_worker_loads_model_once_and_limits_torch_threads(monkeypatch):
    import torch

    from sk_avsc.embedders import _engine

    monkeypatch.setattr(_engine, "_MODELS", {})
    monkeypatch.setattr(_engine, "_THREADS_SET", False)
    threads = torch.get_num_threads()
    job = audio_embedder()._job()
    # as seen from a worker process: another pid than the parent's, 1 thread per worker
    job = _engine.Job(**{**job.__dict__, "n_threads": 1, "parent_pid": -1})
    try:
        first = _engine.get_model(job)
        assert torch.get_num_threads() == 1
        assert _engine.get_model(job) is first  # loaded once per process
    finally:
        torch.set_num_threads(threads)
    job = _engine.Job(**{**job.__dict__, "parent_pid": __import__("os").getpid()})
    monkeypatch.setattr(_engine, "_THREADS_SET", False)
    _engine.get_model(job)
    assert torch.get_num_threads() == threads  # the parent process keeps its setting


def test_dask_backend_equals_sequential(make_wav):
    distributed = pytest.importorskip("dask.distributed", reason="needs the [dask] extra")
    from joblib import parallel_backend

    paths = _wavs(make_wav, 2)
    emb = audio_embedder(center=False).fit()
    sequential = emb.transform(paths)
    # two worker threads: with one, joblib runs the tasks itself, sequentially
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client, parallel_backend("dask"):
            with distributed.get_task_stream(client) as tasks:
                out = emb.transform(paths)
    assert len(tasks.data) >= 1  # the chunks ran as Dask tasks
    np.testing.assert_array_equal(out, sequential)
