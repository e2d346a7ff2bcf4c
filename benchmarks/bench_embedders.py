"""Throughput and memory of the embedders on realistic TAU-like files.

Makes one clip like those of TAU Urban Audio-Visual Scenes 2021 (10 s, 1280x720,
30 fps H.264 MP4 and a 48 kHz stereo 16-bit WAV), links it under several names,
and reports for OpenL3AudioEmbedder, OpenL3FrameEmbedder and AudioVisualEmbedder
(paper setting: mel256, env, 512-d, hop 0.1 s, 96 windows per clip):

- clips/s from files (no cache),
- the time spent decoding and preprocessing one clip (soundfile + resampling/framing;
  ffmpeg decoding + frame resizing),
- the networks alone on those decoded inputs, and files/network: the network time over
  the time per clip from the files (1.0: decoding costs nothing),
- peak resident memory of the process and its ffmpeg children, per embedder.

The networks use random weights: speed and memory do not depend on the weight
values, only on the architecture, which is the same.

Usage::

    python benchmarks/bench_embedders.py [--clips 2] [--threads N] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def make_clip(folder: Path, seconds: float = 10.0) -> tuple[Path, Path]:
    """A 1280x720 30-fps H.264 MP4 with moving texture and a 48 kHz stereo WAV."""
    import imageio_ffmpeg
    import soundfile as sf

    rng = np.random.default_rng(0)
    wav = folder / "clip.wav"
    t = np.arange(int(seconds * 48000)) / 48000
    audio = 0.1 * rng.standard_normal((t.size, 2)) + 0.2 * np.sin(2 * np.pi * 440 * t)[:, None]
    sf.write(wav, audio.astype(np.float32), 48000, subtype="PCM_16")

    mp4 = folder / "clip.mp4"
    width, height, fps = 1280, 720, 30
    n_frames = int(seconds * fps)
    # a panning scene: smooth gradients plus 8x8-pixel blocks of texture
    pan = 4
    wide = width + pan * n_frames
    yy, xx = np.mgrid[0:height, 0:wide]
    canvas = np.stack([(xx // 3) % 256, (yy // 3 + xx // 7) % 256, (yy // 2) % 256], axis=-1)
    blocks = rng.integers(0, 40, (height // 8 + 1, wide // 8 + 1, 3))
    canvas = canvas + np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:height, :wide]
    canvas = np.clip(canvas, 0, 240).astype(np.uint8)
    writer = imageio_ffmpeg.write_frames(
        str(mp4), (width, height), fps=fps, codec="libx264", quality=7,
        output_params=["-preset", "veryfast"], ffmpeg_log_level="error",
    )
    writer.send(None)
    # sensor-like noise that changes every frame keeps the bitrate realistic
    noise = rng.integers(0, 12, (7, height, width, 3), dtype=np.uint8)
    for i in range(n_frames):
        frame = canvas[:, pan * i:pan * i + width] + noise[i % 7]
        writer.send(np.ascontiguousarray(frame).tobytes())
    writer.close()
    return wav, mp4


def make_clip_reported(folder: Path, seconds: float = 10.0) -> tuple[Path, Path]:
    """:func:`make_clip`, printing how long it took and the files' sizes."""
    t0 = time.perf_counter()
    wav, mp4 = make_clip(folder, seconds)
    print(f"made the clip in {time.perf_counter() - t0:.1f} s: {mp4.stat().st_size / 1e6:.1f} "
          f"MB MP4, {wav.stat().st_size / 1e6:.1f} MB WAV")
    return wav, mp4


class PeakRSS:
    """Peak RSS of this process plus its children (ffmpeg), sampled every 20 ms."""

    def __init__(self):
        self.peak = 0.0
        self._stop = None

    def __enter__(self):
        import threading

        try:
            import psutil
        except ImportError:  # fall back to getrusage for this process only
            return self
        me = psutil.Process()
        self._stop = threading.Event()

        def sample():
            while not self._stop.is_set():
                total = 0
                for proc in [me] + me.children(recursive=True):
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total / 2**20)
                self._stop.wait(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._stop is not None:
            self._stop.set()
            self._thread.join()


def peak_rss_mb() -> float:
    """Peak RSS (MiB) of this process since it started."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2, help="clips per measurement")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--n-jobs", type=int, default=None, help="joblib workers")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    import torch

    from sk_avsc.embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder
    from sk_avsc.embedders import _engine

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # random weights warn; that is the point here
    common = dict(weights="random", duration=args.seconds, batch_size=args.batch_size,
                  n_jobs=args.n_jobs)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wav, mp4 = make_clip_reported(folder, args.seconds)
        wavs, mp4s = [], []
        for i in range(args.clips):
            os.link(wav, folder / f"c{i}.wav")
            os.link(mp4, folder / f"c{i}.mp4")
            wavs.append(str(folder / f"c{i}.wav"))
            mp4s.append(str(folder / f"c{i}.mp4"))

        def make(name):
            if name == "audio":
                return OpenL3AudioEmbedder(**common).fit()
            if name == "video":
                return OpenL3FrameEmbedder(**common).fit()
            return AudioVisualEmbedder(OpenL3AudioEmbedder(**common),
                                       OpenL3FrameEmbedder(**common)).fit()

        # decoding + preprocessing alone, then the network alone on what they gave
        from sk_avsc import openl3

        decode, network = {}, {}
        for name, paths in (("audio", wavs), ("video", mp4s)):
            est = make(name)
            job = est._job()
            t0 = time.perf_counter()
            loaded = _engine.load_inputs(job, est._clips(paths[:1]))
            decode[name] = time.perf_counter() - t0
            assert not isinstance(loaded[0], _engine.Failure), loaded[0]
            model = _engine.get_model(job)
            embed = openl3.embed_audio_windows if name == "audio" else openl3.embed_images
            embed(loaded[0].inputs[:2], model, batch_size=args.batch_size)  # warm
            t0 = time.perf_counter()
            for _ in range(args.clips):
                embed(loaded[0].inputs, model, batch_size=args.batch_size)
            network[name] = (time.perf_counter() - t0) / args.clips
            del est, loaded, model
            _engine._MODELS.clear()
            gc.collect()
        decode["both"] = decode["audio"] + decode["video"]
        network["both"] = network["audio"] + network["video"]

        rows = []
        for name, X in (("audio", wavs), ("video", mp4s), ("both", list(zip(wavs, mp4s)))):
            est = make(name)  # one embedder alive at a time, as in a real run
            with PeakRSS() as tree:
                t0 = time.perf_counter()
                out = est.transform(X)
                elapsed = time.perf_counter() - t0
            per_clip = elapsed / args.clips
            rows.append(dict(name=name, shape=out.shape, rate=args.clips / elapsed,
                             per_clip=per_clip, decode=decode[name], network=network[name],
                             ratio=network[name] / per_clip, rss=tree.peak))
            del est, out
            _engine._MODELS.clear()
            gc.collect()
        own = peak_rss_mb()

    print(f"torch threads: {torch.get_num_threads()}, n_jobs: {args.n_jobs}, "
          f"batch_size: {args.batch_size}, cpus: {os.cpu_count()}, "
          f"load average: {os.getloadavg()}")
    print(f"{'embedder':<8} {'output':<16} {'clips/s':>8} {'s/clip':>8} {'decode s':>9} "
          f"{'network s':>10} {'files/network':>14} {'peak RSS MiB':>13}")
    for r in rows:
        print(f"{r['name']:<8} {str(r['shape']):<16} {r['rate']:8.3f} {r['per_clip']:8.2f} "
              f"{r['decode']:9.2f} {r['network']:10.2f} {r['ratio']:14.2f} {r['rss']:13.0f}")
    print("files/network: the networks' own time per clip (on the decoded, preprocessed "
          "inputs) over the time per clip from the files; 1.0 = decoding costs nothing.")
    print(f"peak RSS: {own:.0f} MiB (this process, whole run); the column: process + ffmpeg "
          f"children while that embedder ran, sampled every 20 ms (0 without psutil)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
