"""make_av_scenes: real media in the TAU layout, class structure, determinism."""

import re
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_avsc.datasets import TAU_CLASSES, load_tau2021, make_av_scenes
from sk_avsc.exceptions import ParameterError

TINY = dict(n_classes=2, n_cities=1, n_locations=2, clips_per_location=1, duration=1.0, fps=5)


def _read_video(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])
    return meta, frames


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_av_scenes(tmp_path_factory.mktemp("tiny"), random_state=0, **TINY)


def test_layout_and_headers(tiny):
    root = Path(tiny)
    meta = (root / "meta.csv").read_text().splitlines()
    assert meta[0] == "filename_audio\tfilename_video\tscene_label\tidentifier"
    assert len(meta) == 1 + 4
    setup = root / "evaluation_setup"
    header = "filename_audio\tfilename_video\tscene_label"
    assert (setup / "fold1_train.csv").read_text().splitlines()[0] == header
    assert (setup / "fold1_evaluate.csv").read_text().splitlines()[0] == header
    test_header = (setup / "fold1_test.csv").read_text().splitlines()[0]
    assert test_header == "filename_audio\tfilename_video"
    for line in meta[1:]:
        audio, video, label, ident = line.split("\t")
        m = re.fullmatch(r"audio/([a-z_]+)-([a-z]+)-(\d+)-(\d+)\.wav", audio)
        assert m, audio
        assert video == f"video/{audio[6:-4]}.mp4"
        assert m.group(1) == label and ident == f"{m.group(2)}-{m.group(3)}"


def test_media_files_are_real(tiny):
    ds = load_tau2021(tiny, subset="all", on_missing="raise")
    assert ds.target_names == list(TAU_CLASSES[:2])
    for _, row in ds.frame.iterrows():
        info = sf.info(row["filename_audio"])
        assert (info.samplerate, info.channels, info.frames) == (48000, 2, 48000)
        meta, frames = _read_video(row["filename_video"])
        assert meta["codec"] == "h264"
        assert tuple(meta["size"]) == (320, 240) and meta["fps"] == 5
        assert frames.shape == (5, 240, 320, 3)
        audio, _ = sf.read(row["filename_audio"])
        assert np.isfinite(audio).all() and 0.01 < np.abs(audio).max() < 1.0
        assert frames.std() > 10  # a picture, not a blank frame


def test_evaluate_locations_are_disjoint_from_training(tmp_path):
    root = make_av_scenes(tmp_path, n_classes=3, n_cities=2, n_locations=2, clips_per_location=1,
                          duration=1.0, fps=2, random_state=1)
    train = load_tau2021(root, subset="fold1_train")
    ev = load_tau2021(root, subset="fold1_evaluate")
    assert set(train.groups).isdisjoint(ev.groups)
    assert len(train.frame) + len(ev.frame) == 3 * 2 * 2
    assert set(ev.frame["scene_label"]) == set(train.frame["scene_label"]) == set(TAU_CLASSES[:3])
    # every location holds one class and one city
    every = load_tau2021(root, subset="all").frame
    assert (every.groupby("location")["scene_label"].nunique() == 1).all()
    assert (every.groupby("location")["city"].nunique() == 1).all()


def test_random_state_repeats_and_varies(tmp_path, tiny):
    again = make_av_scenes(tmp_path / "again", random_state=0, **TINY)
    other = make_av_scenes(tmp_path / "other", random_state=1, **TINY)
    a = load_tau2021(tiny, subset="all").frame
    b = load_tau2021(again, subset="all").frame
    c = load_tau2021(other, subset="all").frame
    assert list(a["filename"]) == list(b["filename"])
    wav_a, wav_b, wav_c = (sf.read(f["filename_audio"].iloc[0])[0] for f in (a, b, c))
    assert np.array_equal(wav_a, wav_b)
    assert not np.allclose(wav_a, wav_c)
    vid_a, vid_b = (_read_video(f["filename_video"].iloc[0])[1] for f in (a, b))
    assert np.array_equal(vid_a, vid_b)


def _audio_features(path):
    x, sr = sf.read(path)
    spec = np.abs(np.fft.rfft(x[:, 0])) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    edges = np.geomspace(100, 12000, 25)
    return np.log([spec[(freqs >= lo) & (freqs < hi)].sum() + 1e-9
                   for lo, hi in zip(edges[:-1], edges[1:])])


def _video_features(path):
    frames = _read_video(path)[1].astype(float) / 255
    img = frames.mean(axis=0)
    gray = img.mean(axis=2)
    rows, cols = np.abs(np.fft.rfft(gray.mean(1))), np.abs(np.fft.rfft(gray.mean(0)))
    # mean colour and the strongest vertical and horizontal spatial periods
    return np.concatenate([img.mean(axis=(0, 1)), [rows[1:].max(), cols[1:].max()],
                           [rows[1:].argmax(), cols[1:].argmax()]])


@pytest.mark.slow
def test_classes_differ_in_sound_or_picture_and_locations_leak(tmp_path):
    root = make_av_scenes(tmp_path, n_classes=4, n_cities=2, n_locations=3, clips_per_location=2,
                          duration=1.0, fps=2, random_state=0)
    ds = load_tau2021(root, subset="all")
    fa = np.array([_audio_features(p) for p in ds.frame["filename_audio"]])
    fv = np.array([_video_features(p) for p in ds.frame["filename_video"]])
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = GroupKFold(n_splits=4)

    def score(features, classes):
        keep = np.isin(ds.target, classes)
        return cross_val_score(clf, features[keep], ds.target[keep], groups=ds.groups[keep],
                               cv=cv).mean()

    # documented design, first block of three: classes 0 and 1 share a sound, 1 and 2 a
    # look; class 3 (a block of its own) differs from them in both. On unseen locations:
    assert score(fv, [0, 1]) > 0.85 and score(fa, [0, 1]) < 0.7  # only the picture
    assert score(fa, [1, 2]) > 0.85 and score(fv, [1, 2]) < 0.7  # only the sound
    assert score(fa, [0, 2]) > 0.85 and score(fv, [0, 2]) > 0.85  # both
    assert score(fa, [0, 3]) > 0.85 and score(fv, [0, 3]) > 0.85
    both, all_classes = np.hstack([fa, fv]), [0, 1, 2, 3]
    assert score(both, all_classes) > max(score(fa, all_classes), score(fv, all_classes)) + 0.1
    # locations have their own signature: a split that leaks them lets audio "tell apart"
    # the classes that share a sound
    keep = np.isin(ds.target, [0, 1])
    leaky = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    leaky_score = cross_val_score(clf, fa[keep], ds.target[keep], cv=leaky).mean()
    assert leaky_score > score(fa, [0, 1]) + 0.25


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_classes": 1}, "n_classes"),
        ({"n_classes": 11}, "n_classes"),
        ({"n_cities": 0}, "n_cities"),
        ({"n_cities": 1, "n_locations": 1}, "at least 2 locations"),
        ({"duration": 0.5}, "duration"),
        ({"duration": float("nan")}, "duration"),
        ({"frame_size": (320, 180)}, "frame_size"),
        ({"frame_size": (321, 240)}, "frame_size"),
        ({"test_size": 1.0}, "test_size"),
        ({"clips_per_location": 1.5}, "clips_per_location"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_av_scenes(tmp_path, **kwargs)
    assert not (tmp_path / "meta.csv").exists()


def test_refuses_to_overwrite_a_dataset(tiny):
    with pytest.raises(ParameterError, match="overwrite=True"):
        make_av_scenes(tiny, **TINY)
    make_av_scenes(tiny, overwrite=True, random_state=0, **TINY)
