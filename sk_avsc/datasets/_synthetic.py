"""Synthetic audio-visual scenes: media files in the TAU 2021 layout, or embedding arrays.

:func:`make_av_scenes` writes real WAV and MP4 files for everything downstream of the
files (loader, embedders, CLI); :func:`make_av_embeddings` draws the
``(n_clips, n_windows, n_features)`` arrays an embedder would output, for the classifiers
alone (tests, benchmarks). In both, audio tells some classes apart and video others, and
only the two together tell every class apart.
"""

from __future__ import annotations

import colorsys
import csv
import math
import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from .._io import atomic_write
from .._validation import check_int, check_real
from ..exceptions import MediaError, ParameterError
from ._splits import location_split
from ._tau import TAU_CITIES, TAU_CLASSES

__all__ = ["make_av_scenes", "make_av_embeddings"]

_CITIES = TAU_CITIES + ("amsterdam", "madrid")


def _rgb(hue: float, sat: float, val: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, sat, val), dtype=np.float32)


def _class_factors(n_classes: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Sound group and look group of each class, in blocks of three classes.

    In block ``b`` (classes ``3b``, ``3b + 1``, ``3b + 2``) the first two share a sound
    and the last two share a look, so audio alone confuses ``3b`` with ``3b + 1``, video
    alone ``3b + 1`` with ``3b + 2``, and the pair (sound, look) is unique to each class.
    """
    k = np.arange(n_classes)
    block, r = k // 3, k % 3
    sound = 2 * block + (r == 2)
    look = 2 * block + (r > 0)
    # group ids without gaps (a last block of one or two classes uses fewer)
    sound, look = np.unique(sound, return_inverse=True)[1], np.unique(look, return_inverse=True)[1]
    return sound, look, int(sound.max()) + 1, int(look.max()) + 1


def _location_params(rng: np.random.Generator, frame_size: tuple[int, int]) -> dict:
    width, height = frame_size
    lw, lh = int(rng.uniform(0.1, 0.2) * width), int(rng.uniform(0.1, 0.2) * height)
    return {
        "detune": rng.uniform(-0.5, 0.5),  # semitones, shifts the class tones
        "gain": 10 ** (rng.uniform(-3, 3) / 20),
        "hum_freq": math.exp(rng.uniform(math.log(80.0), math.log(8000.0))),
        "noise_tilt": rng.uniform(-1.0, 1.0),  # spectral slope of the background noise
        "tint": rng.uniform(0.0, 1.0, 3).astype(np.float32),
        "tint_alpha": rng.uniform(0.1, 0.25),
        "landmark": (
            int(rng.integers(0, width - lw)),
            int(rng.integers(0, height - lh)),
            lw,
            lh,
            rng.uniform(0.0, 1.0, 3).astype(np.float32),
        ),
        "drift": rng.uniform(-1.0, 1.0, 2),
        "phase": rng.uniform(0.0, 1.0),
    }


def _audio(rng, sound, n_sound, loc, duration, sample_rate):
    n = int(round(duration * sample_rate))
    t = np.arange(n) / sample_rate
    # class cue: a harmonic tone (partials 1-4) on a fundamental log-spaced from 100 to
    # 600 Hz over the groups, with a group-specific tremolo rate; the location detunes it.
    # Groups differ in the spacing of their partials, not only in pitch: OpenL3's global
    # max pooling barely sees a pure shift along the (log-spaced) mel axis.
    base = 100.0 * (600.0 / 100.0) ** (sound / max(n_sound - 1, 1))
    base *= 2 ** ((loc["detune"] + rng.uniform(-0.2, 0.2)) / 12)
    tremolo = 0.6 + 0.4 * np.sin(2 * np.pi * (3.0 + 4.0 * sound) * t + rng.uniform(0, 2 * np.pi))
    cue = sum(
        np.sin(2 * np.pi * base * (i + 1) * t + rng.uniform(0, 2 * np.pi)) / (i + 1)
        for i in range(4)
    )
    cue *= tremolo * 0.25
    # location cue: a steady hum and background noise of a location-specific colour
    hum = 0.03 * np.sin(2 * np.pi * loc["hum_freq"] * t + rng.uniform(0, 2 * np.pi))
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spec *= (np.maximum(freqs, 20.0) / 1000.0) ** (loc["noise_tilt"] / 2)
    colour = np.fft.irfft(spec, n)
    colour *= 0.02 / (colour.std() + 1e-12)
    mono = loc["gain"] * (cue + hum + colour)
    # binaural-ish: a small interaural delay and independent sensor noise per channel
    delay = int(rng.integers(0, 24))
    left = mono + 0.01 * rng.standard_normal(n)
    right = np.roll(mono, delay) + 0.01 * rng.standard_normal(n)
    audio = np.stack([left, right], axis=1)
    peak = np.abs(audio).max()
    if peak > 0.99:
        audio *= 0.99 / peak
    return audio.astype(np.float32)


def _pattern(look: int, xx: np.ndarray, yy: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Texture in [0, 1] of a look group: stripe orientation and period depend on it."""
    period = 12.0 + 10.0 * (look % 4)
    x, y = xx + shift[0], yy + shift[1]
    kind = look % 4
    if kind == 0:
        arg = y
    elif kind == 1:
        arg = x
    elif kind == 2:
        arg = (x + y) / math.sqrt(2)
    else:
        return 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period))
    return 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * arg / period))


def _frames(rng, look, n_look, loc, duration, fps, frame_size):
    width, height = frame_size
    n_frames = max(1, int(round(duration * fps)))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    hue = look / n_look + rng.uniform(-0.03, 0.03)
    fg = _rgb(hue, 0.9, 0.95)
    bg = _rgb(hue + 0.5, 0.6, 0.25)
    speed = rng.uniform(5.0, 15.0)  # pixels per second
    brightness = rng.uniform(0.9, 1.1)
    lx, ly, lw, lh, lcolour = loc["landmark"]
    for i in range(n_frames):
        shift = loc["drift"] * speed * i / fps + loc["phase"] * 40.0
        tex = _pattern(look, xx, yy, shift)[..., None]
        img = tex * fg + (1.0 - tex) * bg
        img = (1 - loc["tint_alpha"]) * img + loc["tint_alpha"] * loc["tint"]
        img[ly : ly + lh, lx : lx + lw] = lcolour
        img = img * brightness + 0.03 * rng.standard_normal(img.shape, dtype=np.float32)
        yield (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)


def _write_video(path: Path, frames, fps: int, frame_size: tuple[int, int]) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        frame_size,
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-preset", "veryfast"],
    )
    try:
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame).tobytes())
    except (OSError, RuntimeError) as exc:
        raise MediaError(f"cannot write {path} with ffmpeg: {exc}") from exc
    finally:
        writer.close()


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with atomic_write(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_av_scenes(
    root: str | os.PathLike,
    *,
    n_classes: int = 4,
    n_cities: int = 2,
    n_locations: int = 3,
    clips_per_location: int = 2,
    duration: float = 2.0,
    sample_rate: int = 48000,
    fps: int = 10,
    frame_size: tuple[int, int] = (320, 240),
    test_size: float = 0.3,
    random_state=None,
    overwrite: bool = False,
) -> str:
    """Write a small synthetic audio-visual scene dataset in the TAU 2021 layout.

    Real files, so that everything downstream (loader, embedders, CLI) runs on
    it unchanged: ``audio/<scene>-<city>-<location>-<segment>.wav`` (48 kHz
    stereo, 16-bit), ``video/<same>.mp4`` (H.264), ``meta.csv`` and
    ``evaluation_setup/fold1_{train,evaluate,test}.csv``, tab-separated with
    the official headers. ``fold1_evaluate`` holds whole locations, disjoint
    from ``fold1_train``.

    Parameters
    ----------
    root : str or path-like
        Folder to write into; created if needed.
    n_classes : int, default=4
        Number of scene classes, 2 to 10; they take the first TAU class names.
    n_cities : int, default=2
        Number of cities, 1 to 12.
    n_locations : int, default=3
        Locations per city and class (each location holds one class, as in TAU).
    clips_per_location : int, default=2
        Clips recorded at each location.
    duration : float, default=2.0
        Clip length in seconds (TAU clips are 10 s); at least 1 s, OpenL3's
        window length.
    sample_rate : int, default=48000
        Audio sample rate in Hz.
    fps : int, default=10
        Video frame rate.
    frame_size : tuple of int, default=(320, 240)
        Video ``(width, height)`` in pixels; both at least 224, OpenL3's
        image size, so frames are centre-cropped without rescaling.
    test_size : float, default=0.3
        Fraction of each class's locations (by clips) put in ``fold1_evaluate``
        (TAU's is about 0.3).
    random_state : int, RandomState instance or None, default=None
        Makes the dataset repeatable: the same value writes the same samples
        and pixels (the MP4 bytes depend on the ffmpeg build).
    overwrite : bool, default=False
        Allow writing into a folder that already holds a ``meta.csv``.

    Returns
    -------
    root : str
        The dataset root, for :func:`load_tau2021`.

    Raises
    ------
    ParameterError
        For an out-of-range parameter, or when ``root`` already holds a
        dataset and ``overwrite`` is False.
    MediaError
        If ffmpeg cannot write a video.

    See Also
    --------
    load_tau2021 : Reads the dataset written here.

    Notes
    -----
    Generative model. Every class has a *sound group* and a *look group*,
    assigned in blocks of three classes: in block ``b`` (classes ``3b``,
    ``3b + 1``, ``3b + 2``) the first two share a sound and the last two share
    a look. So audio alone cannot tell ``3b`` from ``3b + 1`` and video alone
    cannot tell ``3b + 1`` from ``3b + 2``, while each modality gets the other
    classes of the block right, and the pair (sound, look) is unique to every
    class: fusing both modalities can tell all classes apart. With 10 classes
    (7 sound and 7 look groups) each modality alone tops out near 70 %
    accuracy on unseen locations and fusion near 100 %; with 2 classes the
    sound does not differ at all.

    - **Sound** of sound group ``g``: a harmonic tone (partials 1 to 4) on
      a fundamental log-spaced from 100 to 600 Hz over the groups, with a
      tremolo of ``3 + 4 g`` Hz. The groups differ in the spacing of the
      partials, not only in pitch: OpenL3 ends in a global max pooling, which
      barely sees a mere shift along the log-spaced upper mel axis.
    - **Picture** of look group ``h``: a texture of hue ``h / n_look`` on the
      complementary dark colour; its kind (horizontal, vertical or diagonal
      stripes, checkerboard) and period (12 to 42 px) depend on ``h``. The
      texture drifts slowly, so frames differ.
    - **Location offset**: every location draws its own detuning of the chord
      (up to one semitone), level (+-3 dB), a steady hum at a random
      frequency (80 Hz to 8 kHz), background noise of a random spectral
      slope, a colour tint over the whole picture, a "landmark" rectangle of
      random colour and place, and the texture's drift and phase. These are
      as easy to learn as the class cues, so a split that leaks locations
      between training and test inflates scores visibly.
    - **Clip variation**: random phases, small detuning, texture speed,
      brightness, pixel noise and sensor noise, and a small interaural delay
      between the two channels.

    The cues are coarse (distinct frequency bands, colours and textures), so
    they survive OpenL3 embeddings even with random weights. Files are
    named ``<scene>-<city>-<location id>-<segment id>`` with location ids
    unique across cities, as in TAU.

    Examples
    --------
    >>> import tempfile
    >>> from sk_avsc.datasets import make_av_scenes
    >>> root = make_av_scenes(tempfile.mkdtemp(), n_classes=2, n_cities=1, n_locations=2,
    ...                       clips_per_location=1, duration=1.0, random_state=0)
    >>> sorted(p.name for p in Path(root).iterdir())
    ['audio', 'evaluation_setup', 'meta.csv', 'video']
    """
    owner = "make_av_scenes"
    n_classes = check_int("n_classes", n_classes, low=2, high=len(TAU_CLASSES), owner=owner)
    n_cities = check_int("n_cities", n_cities, high=len(_CITIES), owner=owner)
    n_locations = check_int("n_locations", n_locations, owner=owner)
    clips_per_location = check_int("clips_per_location", clips_per_location, owner=owner)
    sample_rate = check_int("sample_rate", sample_rate, low=8000, owner=owner)
    fps = check_int("fps", fps, high=120, owner=owner)
    duration = check_real("duration", duration, low=1.0, owner=owner)
    test_size = check_real("test_size", test_size, low=0.0, high=1.0, low_open=True,
                           high_open=True, owner=owner)
    if (
        not isinstance(frame_size, (tuple, list))
        or len(frame_size) != 2
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in frame_size)
        or min(frame_size) < 224
        or any(s % 2 for s in frame_size)
    ):
        raise ParameterError(
            "make_av_scenes: frame_size must be (width, height), even ints >= 224 (OpenL3 "
            f"embeds 224x224 crops; H.264 wants even sizes), got {frame_size!r}."
        )
    frame_size = (int(frame_size[0]), int(frame_size[1]))
    if n_cities * n_locations < 2:
        raise ParameterError(
            "make_av_scenes: each class needs at least 2 locations (n_cities * n_locations >= 2) "
            f"so that fold1_train and fold1_evaluate both hold it; got n_cities={n_cities}, "
            f"n_locations={n_locations}."
        )
    root = Path(root).expanduser()
    if (root / "meta.csv").exists() and not overwrite:
        raise ParameterError(
            f"make_av_scenes: {root} already holds a dataset (meta.csv); pass overwrite=True or "
            "choose another folder."
        )
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "video").mkdir(exist_ok=True)
    (root / "evaluation_setup").mkdir(exist_ok=True)

    import soundfile as sf

    seed = check_random_state(random_state).randint(0, 2**31 - 1)
    master = np.random.default_rng(seed)
    sound_of, look_of, n_sound, n_look = _class_factors(n_classes)
    cities = _CITIES[:n_cities]

    rows, labels, groups = [], [], []
    location_id, segment_id = 1000, 0
    for k in range(n_classes):
        scene = TAU_CLASSES[k]
        for city in cities:
            for _ in range(n_locations):
                location_id += 1
                loc = _location_params(master, frame_size)
                for _ in range(clips_per_location):
                    segment_id += 1
                    clip_rng = np.random.default_rng([seed, location_id, segment_id])
                    stem = f"{scene}-{city}-{location_id}-{segment_id}"
                    audio = _audio(clip_rng, sound_of[k], n_sound, loc, duration, sample_rate)
                    sf.write(root / "audio" / f"{stem}.wav", audio, sample_rate, subtype="PCM_16")
                    frames = _frames(clip_rng, look_of[k], n_look, loc, duration, fps, frame_size)
                    _write_video(root / "video" / f"{stem}.mp4", frames, fps, frame_size)
                    rows.append([f"audio/{stem}.wav", f"video/{stem}.mp4", scene])
                    labels.append(scene)
                    groups.append(f"{city}-{location_id}")

    train, test = location_split(groups, labels, test_size=test_size, random_state=seed)
    _write_tsv(
        root / "meta.csv",
        ["filename_audio", "filename_video", "scene_label", "identifier"],
        [r + [g] for r, g in zip(rows, groups)],
    )
    setup = root / "evaluation_setup"
    header = ["filename_audio", "filename_video", "scene_label"]
    _write_tsv(setup / "fold1_train.csv", header, [rows[i] for i in train])
    _write_tsv(setup / "fold1_evaluate.csv", header, [rows[i] for i in test])
    _write_tsv(setup / "fold1_test.csv", header[:2], [rows[i][:2] for i in test])
    return str(root)


def make_av_embeddings(
    *,
    n_classes: int = 6,
    n_locations: int = 12,
    clips_per_class: int = 3,
    n_windows: int = 5,
    n_features: int = 16,
    location_scale: float = 0.7,
    clip_scale: float = 0.5,
    window_scale: float = 0.7,
    random_state=None,
):
    """Window embeddings of a synthetic audio-visual task that neither modality solves alone.

    Audio separates the class pairs {0, 1}, {2, 3}, {4, 5}, ... but not the two
    classes of a pair; video separates the pairs {1, 2}, {3, 4}, ..., {n-1, 0}.
    Together they identify every class. Every location adds its own offset to all
    its clips (recording conditions), so a model must generalise to unseen
    locations (cross-validate with ``GroupKFold`` on ``location``).

    Parameters
    ----------
    n_classes : int, default=6
        Number of classes, even and at least 2.
    n_locations : int, default=12
        Number of locations; each records ``clips_per_class`` clips of every class.
    clips_per_class : int, default=3
        Clips of each class per location.
    n_windows : int, default=5
        Windows per clip.
    n_features : int, default=16
        Features per modality: ``X`` has ``2 * n_features`` columns, audio first.
    location_scale, clip_scale, window_scale : float, default=0.7, 0.5, 0.7
        Standard deviations of the location offsets, of the clip noise and of the
        window noise (class prototypes have unit variance).
    random_state : int, RandomState instance or None, default=None
        Makes the arrays repeatable; the same int gives the same arrays.

    Returns
    -------
    X : ndarray of shape (n_clips, n_windows, 2 * n_features), float32
        ``n_clips = n_locations * n_classes * clips_per_class``; columns
        ``[:n_features]`` are audio, the rest video.
    y : ndarray of shape (n_clips,)
        Class of each clip, ints ``0 .. n_classes - 1``.
    location : ndarray of shape (n_clips,)
        Location of each clip, ints ``0 .. n_locations - 1``.

    See Also
    --------
    make_av_scenes : Writes a synthetic dataset of media files instead.

    Examples
    --------
    >>> from sk_avsc.datasets import make_av_embeddings
    >>> X, y, location = make_av_embeddings(n_classes=4, n_locations=3, random_state=0)
    >>> X.shape, y[:6].tolist(), sorted(set(location.tolist()))
    ((36, 5, 32), [0, 0, 0, 1, 1, 1], [0, 1, 2])
    """
    owner = "make_av_embeddings"
    n_classes = check_int("n_classes", n_classes, low=2, owner=owner)
    if n_classes % 2:
        raise ParameterError(f"{owner}: n_classes must be even (classes come in audio pairs), "
                             f"got {n_classes}.")
    n_locations = check_int("n_locations", n_locations, owner=owner)
    clips_per_class = check_int("clips_per_class", clips_per_class, owner=owner)
    n_windows = check_int("n_windows", n_windows, owner=owner)
    n_features = check_int("n_features", n_features, owner=owner)
    location_scale = check_real("location_scale", location_scale, low=0, owner=owner)
    clip_scale = check_real("clip_scale", clip_scale, low=0, owner=owner)
    window_scale = check_real("window_scale", window_scale, low=0, owner=owner)
    # an int seeds numpy's Generator directly, so the arrays of a seed never change
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        seed = check_random_state(random_state).randint(0, 2**31 - 1)
    rng = np.random.default_rng(seed)
    classes = np.arange(n_classes)
    audio_group = classes // 2
    video_group = ((classes + 1) % n_classes) // 2
    proto_a = rng.normal(size=(n_classes // 2, n_features))
    proto_v = rng.normal(size=(n_classes // 2, n_features))
    off_a = rng.normal(scale=location_scale, size=(n_locations, n_features))
    off_v = rng.normal(scale=location_scale, size=(n_locations, n_features))
    y = np.tile(np.repeat(classes, clips_per_class), n_locations)
    location = np.repeat(np.arange(n_locations), n_classes * clips_per_class)
    n = len(y)

    def modality(proto, group, off):
        clip = proto[group[y]] + off[location] + rng.normal(scale=clip_scale,
                                                            size=(n, n_features))
        return clip[:, None, :] + rng.normal(scale=window_scale,
                                             size=(n, n_windows, n_features))

    X = np.concatenate([modality(proto_a, audio_group, off_a),
                        modality(proto_v, video_group, off_v)], axis=2)
    return X.astype(np.float32), y, location
