"""Per-stage throughput of embedding TAU-like clips from files: where the time goes.

Makes one clip like those of TAU Urban Audio-Visual Scenes 2021 (``make_clip`` of
``bench_embedders.py``: 10 s, 1280x720, 30 fps H.264 MP4 and a 48 kHz stereo WAV),
links it under ``--clips`` names and times, per clip (paper setting: mel256, env,
512-d, hop 0.1 s, 96 windows per clip and modality):

- decode audio: soundfile read, resampling check and cutting into 96 windows;
- decode video: ffmpeg decoding up to the last needed frame (about 290 of the 300
  frames of a 10-s clip are decoded, those at the 96 window centres kept), raw frames;
- preprocess audio: the audio front-end (spectrograms), on CPU or, with
  ``--frontend-on-device``, on the network's device;
- preprocess video: openl3's frame rescale and centre crop to 224x224, frame by frame
  as the embedder's decode workers do it;
- network audio / network image: the convolutions at ``--device``, ``--precision``,
  ``--compile`` (``torch.cuda.synchronize`` around every timed region on CUDA), the
  host-to-device copy included;
- write: the embedding cache's two files per clip;
- end to end: ``AudioVisualEmbedder.transform`` with ``--decode-workers`` threads and
  a cache, i.e. what ``sk-avsc extract`` does per clip.

It prints clips/s and ms/clip per stage, a pipeline model (decoding runs in the decode
workers, the front-end and the networks in the main thread, audio then video), the
stage that bounds end to end, and the projected time for the TAU development set
(12,292 clips). The networks use random weights: the speed does not depend on the
values.

Usage::

    python benchmarks/bench_pipeline.py [--clips 4] [--device cuda] [--precision bfloat16]
        [--compile] [--decode-workers 8] [--batch-size 256] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_embedders import make_clip_reported  # noqa: E402  (the one TAU-like clip maker)

TAU_DEV_CLIPS = 12_292
TARGET_SECONDS = 600.0


def conv_gflops(body, input_shape) -> float:
    """GFLOP (multiply-adds counted as 2) of a ConvBody's convolutions for one input."""
    import torch

    flops = []

    def hook(module, inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        flops.append(2 * output.numel() * module.in_channels * k)

    handles = [m.register_forward_hook(hook) for m in body.modules()
               if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            body(torch.zeros((1,) + tuple(input_shape)))
    finally:
        for h in handles:
            h.remove()
    return sum(flops) / 1e9


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeat: int):
    """Best of ``repeat`` wall times of ``fn()`` (CUDA work finished inside each)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best, out


def _body_in_batches(model, specs, batch_size: int):
    """The audio network's convolutions on host spectrograms, copied in as embed does."""
    import torch

    outs = []
    with torch.inference_mode():
        for start in range(0, specs.shape[0], batch_size):
            x = specs[start:start + batch_size]
            if model.device.type == "cuda":
                x = x.pin_memory().to(model.device, non_blocking=True)
            outs.append(model._run_body(x))
        return torch.cat(outs).cpu()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4, help="clips end to end (>= 1)")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1)")
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "tf32", "bfloat16"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the networks")
    parser.add_argument("--decode-workers", type=int, default=1,
                        help="decode threads end to end (stages are timed in one thread)")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--frontend-on-device", action="store_true",
                        help="audio front-end on the network's device (frontend_device=None)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per stage (best kept)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    import torch

    from sk_avsc import openl3
    from sk_avsc.embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder
    from sk_avsc.embedders import _cache, _engine, _media
    from sk_avsc.openl3.frontend import spectrogram_shape
    from sk_avsc.openl3.models import AudioEmbeddingNetwork, ImageEmbeddingNetwork

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # random weights warn; that is the point here
    device = torch.device(args.device)
    common = dict(weights="random", duration=args.seconds, batch_size=args.batch_size,
                  device=args.device, precision=args.precision, compile=args.compile,
                  decode_workers=args.decode_workers)
    audio_est = OpenL3AudioEmbedder(**common, frontend="kapre-0.1.4").fit()
    video_est = OpenL3FrameEmbedder(**common).fit()
    if args.frontend_on_device:
        audio_est.model_.frontend_device = None
    audio_net, image_net = audio_est.model_, video_est.model_
    gflop_audio = conv_gflops(AudioEmbeddingNetwork("mel256", "env", 512).body,
                              (1,) + spectrogram_shape("mel256"))
    gflop_image = conv_gflops(ImageEmbeddingNetwork("mel256", "env", 512).body, (3, 224, 224))

    stages = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wav, mp4 = make_clip_reported(folder, args.seconds)
        a_job, v_job = audio_est._job(), video_est._job()
        a_clip = audio_est._clips([str(wav)])[0]
        cpu = torch.device("cpu")

        def decode_audio():
            audio, sr = _media.read_audio(a_clip.source)
            audio = _media.fix_duration(audio, sr, a_job.duration, max_pad=a_job.hop_size)
            return openl3.cut_audio_windows(audio, sr, hop_size=a_job.hop_size,
                                            center=a_job.center)[0]

        def decode_video():
            frames, inverse, _ = _media.read_video_frames(
                str(mp4), _engine.frame_selector(v_job, str(mp4)), transform=np.copy,
                max_past_end=v_job.hop_size)
            return np.stack(frames), inverse

        stages["decode audio"], windows = _timed(decode_audio, cpu, args.repeat)
        stages["decode video"], (frames, inverse) = _timed(decode_video, cpu, args.repeat)
        n_windows, n_frames = len(windows), len(frames)
        front_device = audio_net.device if args.frontend_on_device else cpu

        def frontend():
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(windows))
                if front_device.type == "cuda":
                    x = x.pin_memory().to(front_device, non_blocking=True)
                return audio_net.spectrogram(x)

        stages["preprocess audio"], specs = _timed(frontend, front_device, args.repeat)
        specs = specs.cpu()
        # frame by frame, as the decode workers do (a clip's 720p frames in float64 at once
        # would take 2 GB)
        stages["preprocess video"], pre = _timed(
            lambda: np.stack([_engine._shrink(f) for f in frames]), cpu, args.repeat)
        # warm-ups (cuDNN autotuning, compilation, lazy CUDA initialisation) where they
        # matter: an eager CPU network has none, and is slow enough without
        warm = device.type != "cpu" or args.compile
        with _engine.precision_context(args.precision, device):
            if warm:
                _body_in_batches(audio_net, specs, args.batch_size)
                openl3.embed_images(pre[inverse], image_net, batch_size=args.batch_size)
            stages["network audio"], _ = _timed(
                lambda: _body_in_batches(audio_net, specs, args.batch_size), device, args.repeat)
            stages["network image"], emb = _timed(
                lambda: openl3.embed_images(pre[inverse], image_net, batch_size=args.batch_size),
                device, args.repeat)
        emb = np.asarray(emb, dtype=np.float32)

        def write():
            for modality in ("audio", "video"):
                path = folder / "cache" / modality / f"w-{time.perf_counter_ns()}.npz"
                _cache.save_cached(path, "key", emb, "bench clip")

        stages["write"], _ = _timed(write, cpu, args.repeat)

        paths = []
        for i in range(args.clips + 1):
            for ext, src in (("wav", wav), ("mp4", mp4)):
                os.link(src, folder / f"c{i}.{ext}")
            paths.append((str(folder / f"c{i}.wav"), str(folder / f"c{i}.mp4")))
        av = AudioVisualEmbedder(OpenL3AudioEmbedder(**common, frontend="kapre-0.1.4"),
                                 OpenL3FrameEmbedder(**common),
                                 cache_dir=str(folder / "e2e-cache")).fit()
        if args.frontend_on_device:
            av.audio_.model_.frontend_device = None
        if warm:
            av.transform(paths[:1])
        _sync(device)
        t0 = time.perf_counter()
        av.transform(paths[1:])
        _sync(device)
        e2e = (time.perf_counter() - t0) / args.clips

    workers = max(1, args.decode_workers)
    cores = os.cpu_count() or 1
    scale = min(workers, cores)
    # decode workers run the decoding (and video frame rescale); the main thread runs the
    # front-end and both networks; AudioVisualEmbedder embeds all audio, then all video
    audio_pass = {"decode audio (workers)": stages["decode audio"] / scale,
                  "front-end + audio network": stages["preprocess audio"]
                  + stages["network audio"]}
    video_pass = {"decode + rescale video (workers)": (stages["decode video"]
                                                       + stages["preprocess video"]) / scale,
                  "image network": stages["network image"]}
    model = max(audio_pass.values()) + max(video_pass.values()) + stages["write"]
    bound = max(audio_pass, key=audio_pass.get), max(video_pass, key=video_pass.get)

    cpu_name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu_name = next(line.split(":", 1)[1].strip() for line in f
                            if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    print(f"cpu: {cpu_name}, {cores} cores, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}; gpu: {gpu}; torch {torch.__version__}")
    print(f"device {args.device}, precision {args.precision}, compile {args.compile}, "
          f"batch_size {args.batch_size}, decode_workers {args.decode_workers}, front-end on "
          f"{'device' if args.frontend_on_device else 'cpu'}; {n_windows} windows, "
          f"{n_frames} distinct frames per clip")
    print(f"{'stage':<18} {'ms/clip':>9} {'clips/s':>9}  note")
    notes = {
        "network audio": f"{gflop_audio:.2f} GFLOP/window: "
                         f"{gflop_audio * n_windows / stages['network audio'] / 1e3:.2f} TFLOP/s",
        "network image": f"{gflop_image:.2f} GFLOP/frame: "
                         f"{gflop_image * n_windows / stages['network image'] / 1e3:.2f} TFLOP/s",
    }
    for name, seconds in stages.items():
        print(f"{name:<18} {1e3 * seconds:9.1f} {1 / seconds:9.2f}  {notes.get(name, '')}")
    print(f"{'end to end':<18} {1e3 * e2e:9.1f} {1 / e2e:9.2f}  {args.clips} clips, "
          f"AudioVisualEmbedder with cache, decode_workers {args.decode_workers}")
    print(f"pipeline model ({scale} decode threads at the one-thread rates): "
          f"{1e3 * model:.1f} ms/clip ({1 / model:.2f} clips/s); bounded by {bound[0]} "
          f"(audio pass) and {bound[1]} (video pass)")
    projected = TAU_DEV_CLIPS * e2e
    print(f"TAU development set ({TAU_DEV_CLIPS} clips): {projected / 60:.1f} min end to end "
          f"at this rate (target < {TARGET_SECONDS / 60:.0f} min, i.e. >= "
          f"{TAU_DEV_CLIPS / TARGET_SECONDS:.1f} clips/s)")
    results = {
        "cpu": cpu_name, "cores": cores, "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0], "gpu": gpu, "torch": torch.__version__,
        "args": vars(args), "windows_per_clip": n_windows, "frames_per_clip": n_frames,
        "gflop_audio_window": gflop_audio, "gflop_image_frame": gflop_image,
        "stages_ms_per_clip": {k: 1e3 * v for k, v in stages.items()},
        "end_to_end_ms_per_clip": 1e3 * e2e, "end_to_end_clips_per_s": 1 / e2e,
        "model_ms_per_clip": 1e3 * model, "bound": list(bound),
        "tau_dev_minutes": projected / 60,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
