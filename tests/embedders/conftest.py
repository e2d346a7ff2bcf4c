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
