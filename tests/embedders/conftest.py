"""Media files made on the fly for the embedder tests: small WAVs and H.264 MP4s."""

import numpy as np
import pytest
import soundfile as sf


def write_video(path, n_frames, *, fps=10, size=(64, 48), step=8, audio=None):
    """An H.264 MP4 whose frame ``i`` is uniformly grey with value ``step * (i + 1)``.

    Uniform frames survive lossy coding to within a few grey levels, so a
    decoded frame tells its own index: ``round(frame.mean() / step) - 1``. No
    frame is black (a black frame makes the image network warn).
    """
    import imageio_ffmpeg

    width, height = size
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", macro_block_size=1,
        output_params=["-g", "5"], ffmpeg_log_level="error", audio_path=audio,
    )
    writer.send(None)
    for i in range(n_frames):
        writer.send(np.full((height, width, 3), step * (i + 1), dtype=np.uint8).tobytes())
    writer.close()
    return path


def write_wav(path, seconds, *, sr=48000, channels=1, seed=0):
    """White noise (amplitude 0.5), float32 samples written as 16-bit PCM."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    audio = rng.uniform(-0.5, 0.5, (n, channels) if channels > 1 else n).astype(np.float32)
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path


@pytest.fixture
def make_video(tmp_path):
    def make(name="clip.mp4", n_frames=10, **kwargs):
        return write_video(tmp_path / name, n_frames, **kwargs)

    return make


@pytest.fixture
def make_wav(tmp_path):
    def make(name="clip.wav", seconds=1.0, **kwargs):
        return write_wav(tmp_path / name, seconds, **kwargs)

    return make


def write_truncated_wav(path, declared_seconds, present_seconds, *, sr=48000, seed=0):
    """A 16-bit mono WAV whose header declares ``declared_seconds`` but whose data stops
    after ``present_seconds`` (a copy or download cut short)."""
    write_wav(path, declared_seconds, sr=sr, seed=seed)
    with open(path, "r+b") as fh:
        fh.truncate(44 + 2 * int(round(present_seconds * sr)))  # 44-byte header, 2 bytes/sample
    return path


def write_cut_video(path, n_frames, *, fps=10, size=(320, 240), keep=0.5):
    """An H.264 MP4 of noise frames, index first (``+faststart``), cut to ``keep`` of its
    bytes: ffmpeg still opens it and reports the full duration, but decodes only the
    frames before the cut."""
    import imageio_ffmpeg

    width, height = size
    rng = np.random.default_rng(0)
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", macro_block_size=1,
        output_params=["-g", "5", "-movflags", "+faststart"], ffmpeg_log_level="error",
    )
    writer.send(None)
    for _ in range(n_frames):
        writer.send(rng.integers(32, 224, (height, width, 3), dtype=np.uint8).tobytes())
    writer.close()
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


@pytest.fixture
def make_truncated_wav(tmp_path):
    def make(name="truncated.wav", declared_seconds=2.0, present_seconds=1.0, **kwargs):
        return write_truncated_wav(tmp_path / name, declared_seconds, present_seconds, **kwargs)

    return make


@pytest.fixture
def make_cut_video(tmp_path):
    def make(name="cut.mp4", n_frames=20, **kwargs):
        return write_cut_video(tmp_path / name, n_frames, **kwargs)

    return make
