"""Speed of sk_avsc.openl3 against openl3 0.4.2, in one process on one machine.

Settings (issue 3): one 10-s stereo 48 kHz clip at hop 0.1 through mel256/512 (96 windows),
and 96 frames of 1280x720 uint8 through the 512-d image network, preprocessing included
(resampling, framing, front-end; rescale and crop). Every figure is the best of
``--repeats`` timed runs after one untimed warm-up run (which also compiles, for the
compiled modes), timed in rounds over all implementations (so a change of machine
load hits them alike), with ``--threads`` intra-op threads for torch and TensorFlow.

Modes of sk_avsc: ``default`` (float32, eager), ``compile`` (float32, torch.compile with
freezing; needs a C++ compiler), ``bf16`` (bfloat16 eager), ``bf16+compile``. Deviation
columns: relative L2 error of each mode's embeddings against our float32 default, and of
our default against openl3.

Weights: the official files when ``resolve_weights(..., download=False)`` finds them (both
implementations then load the same file), else random weights in the official layout
(written by openl3's own model builders when openl3 is importable, else sk_avsc's
``weights="random"``). Speed does not depend on the weight values.

Run it beside openl3 (TensorFlow) for ratios, from the repository root::

    source /work/refenv/env.sh    # a venv with tensorflow-cpu, tf-keras, kapre 0.3, openl3 src
    python benchmarks/bench_openl3.py

Without openl3 it prints sk_avsc's figures only. ``--device cuda`` times our models on a
GPU (openl3 is then skipped).

``--isolate`` runs each implementation alone in its own process (the parent imports
neither TensorFlow nor torch): the comparison a user makes, since in one process the
two libraries' thread pools compete for the cores (a pool that has just finished still
spins for a while). The workers are warmed up one after the other, then timed in rounds;
while one runs, the others wait idle on a pipe.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per mode (default 3)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of both (default 32)")
    p.add_argument("--modes", default="default,compile,bf16,bf16+compile",
                   help="comma-separated sk_avsc modes to time")
    p.add_argument("--no-openl3", action="store_true", help="do not time openl3 even if present")
    p.add_argument("--skip-audio", action="store_true")
    p.add_argument("--skip-image", action="store_true")
    p.add_argument("--frames", type=int, default=96, help="number of 1280x720 frames")
    p.add_argument("--seconds", type=float, default=10.0, help="clip duration in seconds")
    p.add_argument("--device", default="cpu", help="torch device for sk_avsc (cpu, cuda)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    p.add_argument("--isolate", action="store_true",
                   help="each implementation alone in its own process (TensorFlow and "
                        "torch never share one), timed in rounds while the others wait")
    return p.parse_args(argv)


def _set_threads(n: int) -> None:
    # Before TensorFlow/torch start their pools.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # openl3 0.4.2 needs tf.keras 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_openl3(threads: int):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import openl3
            import openl3.models
            import tensorflow as tf
    except Exception as exc:  # ImportError, or a TF/Keras version clash
        return None, f"{type(exc).__name__}: {exc}"
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return openl3, tf.__version__


def machine_info() -> dict:
    info = {"python": platform.python_version(), "cpu": platform.processor() or "?"}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        flags = set()
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
        info["bf16_flags"] = sorted(flags & {"amx_bf16", "amx_tile", "avx512_bf16", "avx512f"})
    except OSError:
        info["bf16_flags"] = []
    info["cores"] = os.cpu_count()
    info["loadavg_start"] = os.getloadavg()
    try:
        from importlib.metadata import version

        info["torch"] = version("torch")
    except Exception:  # not installed as a distribution
        pass
    return info


def _rel(a, b) -> float:
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _openl3_weight_files(openl3, tmp: Path, content_type: str) -> dict:
    """Random-weight files in the official layout, written by openl3's own builders."""
    import numpy as np
    import openl3.models as om
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def randomised(model):
        # Non-trivial BN statistics and biases, so that the deviation columns mean something.
        for layer in model.layers:
            w = layer.get_weights()
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                n = w[0].shape
                layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                                   rng.normal(0, 0.1, n), rng.uniform(0.5, 2.0, n)])
            elif isinstance(layer, tf.keras.layers.Conv2D):
                layer.set_weights([w[0], rng.normal(0, 0.05, w[1].shape)])
        return model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf.keras.utils.set_random_seed(0)
        audio = tmp / f"openl3_audio_mel256_{content_type}.h5"
        randomised(om.AUDIO_MODELS["mel256"](include_frontend=True)).save_weights(str(audio))
        image = tmp / f"openl3_image_mel256_{content_type}.h5"
        randomised(om._construct_image_network()).save_weights(str(image))
    return {"audio": audio, "image": image}


def _ours_audio(ours, model, clip, batch_size):
    return ours.get_audio_embedding(clip, 48000, model=model, hop_size=0.1,
                                    batch_size=batch_size, verbose=False)[0]


def _ours_image(ours, model, frames, batch_size):
    return ours.get_image_embedding(frames, model=model, batch_size=batch_size,
                                    verbose=False)


def _openl3_runner(openl3, task, path, clip, frames, batch_size):
    import openl3.models as om

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "audio":
            model = om.load_audio_embedding_model_from_path(str(path), "mel256", 512)
        else:
            model = om.load_image_embedding_model_from_path(str(path), 512)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if task == "audio":
                return openl3.get_audio_embedding(clip, 48000, model=model, hop_size=0.1,
                                                  batch_size=batch_size, verbose=False)[0]
            return openl3.get_image_embedding(frames, model=model, batch_size=batch_size,
                                              verbose=False)
    return run


MODES = ("default", "compile", "bf16", "bf16+compile")


def _mode_kwargs(mode: str) -> dict:
    import torch

    return {"default": {}, "compile": {"compile": True}, "bf16": {"dtype": torch.bfloat16},
            "bf16+compile": {"dtype": torch.bfloat16, "compile": True}}[mode]


def _inputs(args):
    """The same clip and frames in every process (fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = int(round(args.seconds * 48000))
    t = np.arange(n) / 48000
    clip = (0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.1 * rng.standard_normal((n, 2)))
    frames = rng.integers(0, 256, (args.frames, 720, 1280, 3), dtype=np.uint8)
    return clip.astype(np.float32), frames


def _make_runner(name: str, task: str, files: dict, args, openl3=None):
    """A zero-argument callable returning the embeddings of ``task`` by implementation ``name``."""
    clip, frames = _inputs(args)
    if name == "openl3":
        return _openl3_runner(openl3, task, files[task], clip, frames, args.batch_size)
    from sk_avsc import openl3 as ours
    from sk_avsc.exceptions import RandomWeightsWarning

    kwargs = dict(_mode_kwargs(name), device=args.device)
    weights = str(files[task]) if task in files else "random"
    loader = ours.load_audio_model if task == "audio" else ours.load_image_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        model = loader(weights, input_repr="mel256", content_type="env", embedding_size=512,
                       **kwargs)
    if task == "audio":
        return functools.partial(_ours_audio, ours, model, clip, args.batch_size)
    return functools.partial(_ours_image, ours, model, frames, args.batch_size)


def _worker(conn, name, task, files, args, out):
    """One implementation alone in its own process (``--isolate``): TensorFlow and torch
    never share the process, so neither's thread pool competes with the other's."""
    _set_threads(args.threads)
    try:
        openl3 = None
        if name == "openl3":
            openl3, _ = _import_openl3(args.threads)
        else:
            import torch

            torch.set_num_threads(args.threads)
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        run = _make_runner(name, task, files, args, openl3)
        t0 = time.perf_counter()
        emb = run()
        warmup = time.perf_counter() - t0
        import numpy as np

        np.save(out, emb)
        conn.send(("ready", warmup))
        while conn.recv() == "run":
            t0 = time.perf_counter()
            run()
            conn.send(time.perf_counter() - t0)
    except Exception as exc:  # reported by the parent as this implementation's failure
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _time_isolated(names, task, files, args, tmp):
    """Warm up each implementation in its own process, then time them in rounds."""
    import multiprocessing as mp

    import numpy as np

    ctx = mp.get_context("spawn")
    workers, embeddings, times, errors = {}, {}, {}, {}
    for name in names:
        parent, child = ctx.Pipe()
        out = tmp / f"{task}_{name}.npy"
        proc = ctx.Process(target=_worker, args=(child, name, task, files, args, out))
        proc.start()
        status = parent.recv()  # warm-ups run one at a time: nothing else is busy
        if status[0] == "error":
            errors[name] = status[1]
            proc.join()
            continue
        print(f"{task:5s} {name:13s} warm-up {status[1]:.1f} s (own process)", flush=True)
        workers[name] = (proc, parent)
        embeddings[name] = np.load(out)
        times[name] = []
    try:
        for _ in range(args.repeats):
            for name, (_, conn) in workers.items():  # the others wait idle on their pipe
                conn.send("run")
                times[name].append(conn.recv())
    finally:
        for proc, conn in workers.values():
            conn.send("stop")
            proc.join()
    return embeddings, times, errors


def _time_together(runners, repeats, task):
    """Warm up, then time in rounds, all implementations in this process."""
    embeddings, errors = {}, {}
    for name, run in list(runners.items()):  # warm-up (and compilation), not timed
        t0 = time.perf_counter()
        try:
            embeddings[name] = run()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            del runners[name]
            continue
        print(f"{task:5s} {name:13s} warm-up {time.perf_counter() - t0:.1f} s", flush=True)
    times = {name: [] for name in runners}
    # rounds over all implementations, so that a change of machine load hits them alike
    for _ in range(repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return embeddings, times, errors


def _probe_openl3() -> str:
    """openl3's TensorFlow version, found in a child process (``--isolate``)."""
    code = ("import os, warnings; os.environ.setdefault('TF_USE_LEGACY_KERAS', '1');"
            "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; warnings.simplefilter('ignore');"
            "import openl3, openl3.models, tensorflow as tf; print(tf.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"not importable: {tail}"
    return proc.stdout.strip().splitlines()[-1]


def _openl3_files_in_child(threads, tmp):
    openl3, _ = _import_openl3(threads)
    return _openl3_weight_files(openl3, tmp, "env")


def main(argv=None) -> int:
    args = _parse_args(argv)
    _set_threads(args.threads)
    wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(wanted) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown --modes {sorted(unknown)}; valid: {list(MODES)}")
    if "default" not in wanted:
        wanted.insert(0, "default")  # the reference for the deviation columns
    use_openl3 = not args.no_openl3 and args.device == "cpu"
    openl3, tf_version = (None, "skipped (--no-openl3)")
    if use_openl3:
        if args.isolate:
            tf_version = _probe_openl3()
            openl3 = True if not tf_version.startswith("not") else None
        else:
            openl3, tf_version = _import_openl3(args.threads)
    if not args.isolate:
        import torch

        torch.set_num_threads(args.threads)

    # The checkout this script lives in, not whichever sk_avsc is installed.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sk_avsc.exceptions import WeightsError
    from sk_avsc.openl3._download import resolve_weights

    info = machine_info()
    info.update(threads=args.threads, batch_size=args.batch_size, device=args.device,
                processes="one per implementation (--isolate)" if args.isolate else "one",
                openl3=("0.4.2 on TensorFlow " + tf_version)
                if openl3 is not None else f"not available ({tf_version})")
    print("machine:", json.dumps(info), flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench_openl3_"))
    files = {}
    for modality in ("audio", "image"):
        try:
            files[modality] = resolve_weights(modality, "mel256", "env", download=False)
        except WeightsError:
            pass
    if len(files) < 2 and openl3 is not None:
        if args.isolate:  # TensorFlow stays out of this process
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(1) as pool:
                made = pool.apply(_openl3_files_in_child, (args.threads, tmp))
        else:
            made = _openl3_weight_files(openl3, tmp, "env")
        files = {**made, **files}
    weights_note = {m: str(files.get(m, "random (sk_avsc)")) for m in ("audio", "image")}
    print("weights:", json.dumps(weights_note), flush=True)

    results = {"machine": info, "weights": weights_note, "audio": {}, "image": {}}
    tasks = []
    if not args.skip_audio:
        tasks.append(("audio", "windows/s"))
    if not args.skip_image:
        tasks.append(("image", "frames/s"))
    names = (["openl3"] if openl3 is not None else []) + wanted
    for task, unit in tasks:
        rows = results[task]
        if args.isolate:
            embeddings, times, errors = _time_isolated(names, task, files, args, tmp)
        else:
            runners, errors = {}, {}
            for name in names:
                try:
                    runners[name] = _make_runner(name, task, files, args, openl3)
                except Exception as exc:  # e.g. no C++ compiler for compile=True
                    errors[name] = f"{type(exc).__name__}: {exc}"
            embeddings, times, more = _time_together(runners, args.repeats, task)
            errors.update(more)
        for name, error in errors.items():
            print(f"{task:5s} {name:13s} failed: {error}")
            rows[name] = dict(error=error)
        count = next(iter(embeddings.values())).shape[0] if embeddings else None
        rows["n"] = count
        for name in times:
            best, median = min(times[name]), sorted(times[name])[len(times[name]) // 2]
            row = dict(rate=count / best, median_rate=count / median)
            emb = embeddings[name]
            if name != "default" and "default" in embeddings:
                row["rel_l2_vs_default"] = _rel(emb, embeddings["default"])
            if name != "openl3" and "openl3" in rows:
                row["ratio_vs_openl3"] = row["rate"] / rows["openl3"]["rate"]
                row["median_ratio_vs_openl3"] = (row["median_rate"]
                                                 / rows["openl3"]["median_rate"])
                row["rel_l2_vs_openl3"] = _rel(emb, embeddings["openl3"])
            rows[name] = row
            extra = "".join(
                f", {k} {row[k]:.2{'f' if 'ratio' in k else 'e'}}"
                for k in ("ratio_vs_openl3", "median_ratio_vs_openl3", "rel_l2_vs_default",
                          "rel_l2_vs_openl3") if k in row)
            print(f"{task:5s} {name:13s} {row['rate']:8.2f} {unit} "
                  f"(median {row['median_rate']:.2f}){extra}", flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    print("load average at the end:", os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
