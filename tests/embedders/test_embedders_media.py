"""Reading audio, streaming video frames, and aligning frames with windows (no network)."""

import os
import re
import warnings

import numpy as np
import pytest
import soundfile as sf

from sk_avsc.embedders import (
    fix_duration,
    frame_indices,
    read_audio,
    read_video_frames,
)
from sk_avsc.exceptions import AudioError, MediaError, MediaWarning, ParameterError
from sk_avsc.openl3.framing import window_centres, window_count


def _grey_index(frame, step=8):
    return int(round(float(np.mean(frame)) / step)) - 1


# ------------------------------------------------------------------ windows


@pytest.mark.parametrize(
    "seconds, hop, center, expected",
    [
        (3.0, 0.1, True, 26),  # counts openl3 0.4.2 returned (../shared/openl3-reference)
        (3.0, 0.5, False, 5),
        (2.0, 0.1, True, 16),
        (2.0, 0.5, False, 3),
        (0.4, 0.1, True, 1),
        (0.4, 0.5, False, 1),
        (10.0, 0.1, True, 96),  # a TAU clip: 1 + ceil((10.5 - 1) / 0.1)
        (10.0, 0.1, False, 91),
    ],
)
def test_window_count_matches_openl3(seconds, hop, center, expected):
    assert window_count(round(seconds * 48000), hop, center) == expected


def test_window_count_agrees_with_reference_timestamps(openl3_reference_dir):
    inputs = np.load(openl3_reference_dir / "inputs.npz")
    expected = np.load(openl3_reference_dir / "expected.npz")
    checked = 0
    for key in expected.files:
        if not key.endswith("__ts"):
            continue
        _, _, _, case, hop, center, _ = key.split("__")
        audio = inputs[f"audio__{case}"]
        sr = int(inputs[f"audio_sr__{case}"])
        n48 = int(audio.shape[0] * 48000 / sr)  # resampy's output length
        hop_size, centre = float(hop[3:]), center == "center1"
        assert window_count(n48, hop_size, centre) == expected[key].shape[0], key
        # openl3's timestamps are window starts; centres are 0.5 s later unless centred
        np.testing.assert_allclose(
            window_centres(expected[key].shape[0], hop_size, centre),
            expected[key] + (0.0 if centre else 0.5),
            atol=1e-9,
        )
        checked += 1
    assert checked >= 10


def test_frame_indices_center_policy():
    # window k is centred at k * 0.1 s; at 10 fps that is frame k
    assert frame_indices(5, hop_size=0.1, center=True, fps=10, duration=1.0).tolist() == [
        0, 1, 2, 3, 4]
    # without centring the centre is 0.5 s later: frame 5 + k
    assert frame_indices(3, hop_size=0.1, center=False, fps=10, duration=2.0).tolist() == [
        5, 6, 7]
    # 30 fps TAU clip: frame 3k, even where k * 0.1 * 30 rounds below an integer
    idx = frame_indices(96, hop_size=0.1, center=True, fps=30, duration=10.0)
    assert idx.tolist() == [3 * k for k in range(96)]


def test_frame_indices_authors_policy():
    # create_tr.py: np.linspace(0, len(images) - 1, len(ts)).astype(int), images from
    # moviepy's iter_frames over np.arange(0, duration, 1 / fps)
    idx = frame_indices(96, hop_size=0.1, center=True, fps=30, duration=10.0, policy="authors")
    assert idx[0] == 0 and idx[-1] == 299
    assert idx.tolist() == [int(k * 299 / 95) for k in range(96)]
    # the container duration may be a bit longer than the video: moviepy then counts more
    idx = frame_indices(96, hop_size=0.1, center=True, fps=30, duration=10.02, policy="authors")
    assert idx[-1] == 300
    assert frame_indices(1, hop_size=0.1, center=True, fps=30, duration=0.4,
                         policy="authors").tolist() == [0]


def test_frame_indices_rejects_unknown_policy():
    with pytest.raises(ParameterError, match="frame_policy.*'nearest'"):
        frame_indices(3, hop_size=0.1, center=True, fps=10, duration=1, policy="nearest")


def test_fix_duration_warns_when_padding_more_than_max_pad():
    with pytest.warns(MediaWarning, match=r"lasts 0\.000 s.*duration=2 s.*zero-padded by "
                                          r"2\.000 s"):
        padded = fix_duration(np.ones(10, np.float32), 48000, 2.0, max_pad=0.1)
    assert padded.shape == (96000,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fix_duration(np.ones(96000 - 4800, np.float32), 48000, 2.0, max_pad=0.1)  # one hop
        fix_duration(np.ones(10, np.float32), 48000, 2.0)  # max_pad=None: never warns


def test_fix_duration_crops_and_pads():
    audio = np.arange(1, 11, dtype=np.float32)
    assert fix_duration(audio, 10, None) is audio
    np.testing.assert_array_equal(fix_duration(audio, 10, 0.5), audio[:5])
    padded = fix_duration(audio[:, None].repeat(2, 1), 10, 1.5)
    assert padded.shape == (15, 2)
    np.testing.assert_array_equal(padded[10:], 0)
    np.testing.assert_array_equal(padded[:10, 1], audio)


# ------------------------------------------------------------------ audio files


def test_read_audio_any_rate_and_channels(media_dir):
    mono, sr = read_audio(media_dir / "chirp_44k.wav")
    assert sr == 44100 and mono.shape == (88200,) and mono.dtype == np.float32
    stereo, sr = read_audio(str(media_dir / "chirp_stereo.wav"))
    assert sr == 48000 and stereo.shape == (96000, 2)
    reference, _ = sf.read(media_dir / "chirp_stereo.wav")
    np.testing.assert_allclose(stereo, reference, rtol=0, atol=1e-7)


def test_read_audio_errors_name_the_file(media_dir, tmp_path):
    with pytest.raises(AudioError, match=r"empty\.wav.*0 samples"):
        read_audio(media_dir / "empty.wav")
    with pytest.raises(MediaError, match=r"missing\.wav.*does not exist"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(MediaError, match="is a directory"):
        read_audio(tmp_path)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + os.urandom(200))
    with pytest.raises(MediaError, match=r"corrupt\.wav.*cannot be read"):
        read_audio(corrupt)
    with pytest.raises(MediaError, match=r"bento\.mp4.*cannot be read"):
        read_audio(media_dir / "bento.mp4")


def test_read_audio_warns_on_a_truncated_wav(make_truncated_wav, make_wav):
    path = make_truncated_wav("cut.wav", 2.0, 1.0)
    with pytest.warns(MediaWarning, match=r"cut\.wav.*truncated.*declares 96000 samples "
                                          r"\(2\.000 s\).*48000 \(1\.000 s\)"):
        audio, sr = read_audio(path)
    assert audio.shape == (48000,) and sr == 48000
    with warnings.catch_warnings():  # an intact file: no warning
        warnings.simplefilter("error")
        read_audio(make_wav("whole.wav", 1.0))


def test_read_audio_short_file_is_fine(media_dir):
    audio, sr = read_audio(media_dir / "short.wav")
    assert audio.shape == (48,) and sr == 48000


# ------------------------------------------------------------------ video streaming


def test_read_video_frames_keeps_only_the_selected(make_video):
    path = make_video(n_frames=20, fps=10)
    seen_meta = {}

    def select(meta):
        seen_meta.update(meta)
        return np.array([7, 2, 2, 9])

    frames, inverse, meta = read_video_frames(path, select)
    assert seen_meta["fps"] == 10 and seen_meta["size"] == (64, 48)
    assert len(frames) == 3  # distinct frames only
    assert [_grey_index(frames[i]) for i in inverse] == [7, 2, 2, 9]
    # decoding stopped after the last needed frame: the stream was not read to the end
    assert meta["n_decoded"] == 10


def test_read_video_frames_past_the_end_uses_last_frame(make_video):
    path = make_video(n_frames=6, fps=10)
    frames, inverse, meta = read_video_frames(path, lambda meta: np.array([0, 5, 6, 40]))
    assert meta["n_decoded"] == 6
    assert [_grey_index(frames[i]) for i in inverse] == [0, 5, 5, 5]


def test_read_video_frames_warns_past_the_end_of_a_cut_video(make_cut_video, make_video):
    path = make_cut_video("cut.mp4", 20, size=(64, 48))  # about half of 20 frames left
    with pytest.warns(MediaWarning) as record:
        frames, inverse, meta = read_video_frames(path, lambda m: np.arange(20),
                                                  max_past_end=0.1)
    n = meta["n_decoded"]
    assert 0 < n < 18
    assert re.search(rf"cut\.mp4.*has {n} decodable frames \({n / 10:.2f} s at 10 fps; its "
                     rf"container says 2\.00 s\): {20 - n} of the 20 frames asked for lie up "
                     rf"to {(20 - n) / 10:.2f} s past its end",
                     " ".join(str(w.message) for w in record if w.category is MediaWarning))
    assert (inverse[n - 1:] == inverse[n - 1]).all()
    # a video a little shorter than asked for (within max_past_end) is silent
    path = make_video(n_frames=6, fps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_video_frames(path, lambda meta: np.arange(7), max_past_end=0.1)
        read_video_frames(path, lambda meta: np.arange(40))  # max_past_end=None


def test_read_video_frames_applies_transform(make_video):
    path = make_video(n_frames=4)
    frames, inverse, _ = read_video_frames(
        path, lambda meta: np.arange(4), transform=lambda f: f[:2, :3].astype(np.float32)
    )
    assert frames[0].shape == (2, 3, 3) and frames[0].dtype == np.float32


def test_read_video_frames_real_mp4(media_dir):
    frames, inverse, meta = read_video_frames(media_dir / "bento.mp4", lambda m: np.arange(11))
    assert meta["size"] == (320, 568) and meta["fps"] == 10
    assert len(frames) == 11 and frames[0].shape == (568, 320, 3)


def test_read_video_frames_errors_name_the_file(media_dir, tmp_path):
    select = lambda meta: np.arange(3)  # noqa: E731
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4000))
    with pytest.raises(MediaError, match=r"corrupt\.mp4.*corrupt or not a video"):
        read_video_frames(corrupt, select)
    with pytest.raises(MediaError, match=r"chirp_1s\.wav.*no video stream"):
        read_video_frames(media_dir / "chirp_1s.wav", select)
    with pytest.raises(MediaError, match=r"nothing\.mp4.*does not exist"):
        read_video_frames(tmp_path / "nothing.mp4", select)
    with pytest.raises(MediaError, match="is a directory"):
        read_video_frames(tmp_path, select)


def test_audio_only_mp4_has_no_video_stream(media_dir, tmp_path):
    import subprocess

    import imageio_ffmpeg

    path = tmp_path / "audio_only.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i",
         str(media_dir / "bento.mp4"), "-vn", "-c:a", "copy", str(path)],
        check=True,
    )
    with pytest.raises(MediaError, match=r"audio_only\.mp4.*no video stream"):
        read_video_frames(path, lambda meta: np.arange(3))
