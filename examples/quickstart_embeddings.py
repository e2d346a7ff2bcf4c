"""
Quick start: OpenL3 embeddings of a clip and of video frames
============================================================

Embeds a synthetic 10-s stereo clip (1-s windows, the paper's mel256 / "env" / 512-d audio
model; hop 0.5 s here to finish in seconds, ``--hop 0.1`` for the paper's hop) and a few
1280x720 frames with the PyTorch port of OpenL3, through the functional API that mirrors the
``openl3`` package.

The official weights are used when they are already on this machine
(``$SK_AVSC_WEIGHTS_DIR``, the user cache or an installed ``openl3``); otherwise the
script runs offline with *random* weights and says so: the shapes and timestamps are
right, the values are meaningless. Pass ``--download`` to fetch the official weights.
"""

# %%
import argparse
import time
import warnings

import numpy as np

from sk_avsc import openl3
from sk_avsc.exceptions import RandomWeightsWarning, WeightsError


def load_models(download: bool):
    """The paper's models: official weights when available, else random ones."""
    try:
        if not download:
            from sk_avsc.openl3._download import resolve_weights

            for modality in ("audio", "image"):
                resolve_weights(modality, "mel256", "env", download=False)
        audio = openl3.load_audio_model(None, "mel256", "env", 512)
        image = openl3.load_image_model(None, "mel256", "env", 512)
        print("Using the official OpenL3 weights.")
    except WeightsError as exc:
        print(f"Official weights not found locally ({str(exc).splitlines()[0][:120]}...).")
        print("RANDOM WEIGHTS: the embeddings below are meaningless; only shapes and "
              "timestamps are real. Run with --download to fetch the official weights.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomWeightsWarning)
            audio = openl3.load_audio_model("random", "mel256", "env", 512)
            image = openl3.load_image_model("random", "mel256", "env", 512)
    return audio, image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--download", action="store_true",
                        help="download the official weights if they are missing")
    parser.add_argument("--hop", type=float, default=0.5,
                        help="hop between audio windows in seconds (paper: 0.1)")
    args = parser.parse_args(argv)
    audio_model, image_model = load_models(args.download)

    rng = np.random.default_rng(0)
    sr = 48000
    t = np.arange(10 * sr) / sr
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 660 * t) + 0.05 * rng.standard_normal(t.size)
    clip = np.stack([left, right], axis=1).astype(np.float32)  # (samples, channels)

    start = time.perf_counter()
    emb, ts = openl3.get_audio_embedding(clip, sr, model=audio_model, hop_size=args.hop)
    print(f"audio: clip {clip.shape} -> embeddings {emb.shape}, timestamps {ts[:3]}..."
          f"{ts[-1]:.1f} s ({time.perf_counter() - start:.1f} s)")

    frames = rng.integers(0, 256, (4, 720, 1280, 3), dtype=np.uint8)
    start = time.perf_counter()
    img_emb, img_ts = openl3.get_image_embedding(frames, frame_rate=1.0, model=image_model)
    print(f"image: frames {frames.shape} -> embeddings {img_emb.shape}, timestamps {img_ts}"
          f" ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
