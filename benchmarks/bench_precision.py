"""What bfloat16 costs: deviation from float32, and the downstream effect (issue 14, item 1).

Two parts, both printed as tables (``--json`` also writes every figure):

1. **Deviation on the shared fixtures** (``../shared/openl3-reference``; skipped with a
   message when absent): every audio and image case embedded by the fixture's weight files
   loaded with ``dtype=torch.bfloat16`` and with float32. Per case, the relative L2 error of
   bf16 against float32 and against the reference openl3 0.4.2 embeddings, over the whole
   embedding matrix and for the worst window (audio) or frame (image).
2. **Downstream**: the synthetic scenes of :func:`sk_avsc.datasets.make_av_scenes` (real
   WAV and MP4 files, the demo's ``size="full"`` setting unless ``--quick``) embedded once
   by float32 and once by bfloat16 OpenL3 networks with the same weights (random weights in
   the official layout, ``weights="random"``, as the demo without the official files; or
   ``--weights FOLDER`` holding the official files), each into its own feature store by
   :func:`sk_avsc.experiment.extract` with ``precision="float32"`` / ``"bfloat16"`` (what
   ``sk-avsc extract --precision`` does: the paper's front end, mel256 / env / 512-d,
   openl3 0.3.1's front-end). On each store the paper's five systems are trained and
   tested with :func:`sk_avsc.experiment.train` / :func:`~sk_avsc.experiment.evaluate` for every
   training seed, as ``sk-avsc demo`` does. Per system: clip accuracy and log loss, mean and
   sd over the seeds for float32 and bfloat16, the difference of the means, and whether it
   is inside the seed spread (``|difference| <= the larger of the two sds``).

Run from the repository root::

    nice -n 10 python benchmarks/bench_precision.py --seeds 3 --json precision.json

bf16 is fast only on CPUs with AVX512-BF16 or AMX (flags printed); elsewhere torch emulates
it, slowly but with the same rounding, so the deviations measured here hold.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from bench_openl3 import machine_info

REPO = Path(__file__).resolve().parents[1]

#: The synthetic task: the demo's "full" setting (10 classes, 180 clips of 1.5 s, 4 windows
#: each at hop 0.5) and a quick one for a smoke run (figures mean little).
SETTINGS = {
    "full": {"data": dict(n_classes=10, n_cities=2, n_locations=3, clips_per_location=3,
                          duration=1.5, fps=5),
             "hop_size": 0.5, "epochs": 40, "batch_size": 32},
    "quick": {"data": dict(n_classes=4, n_cities=1, n_locations=3, clips_per_location=2,
                           duration=1.0, fps=5),
              "hop_size": 0.5, "epochs": 5, "batch_size": 16},
}
PRECISIONS = ("float32", "bfloat16")


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 (default 3)")
    p.add_argument("--epochs", type=int, help="training epochs (default: 40, --quick 5)")
    p.add_argument("--quick", action="store_true",
                   help="a small dataset, few epochs and the fixtures' 512-d cases only")
    p.add_argument("--weights", default="random",
                   help="'random' (default) or a folder with the official mel256/env files")
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                   help="the shared folder (default ../shared)")
    p.add_argument("--threads", type=int, default=2, help="torch threads for embedding")
    p.add_argument("--skip-fixtures", action="store_true")
    p.add_argument("--skip-downstream", action="store_true")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _worst_row(a, b) -> float:
    """Largest relative L2 error of one window (row); rows whose reference is zero skipped."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(b, axis=1)
    ok = norms > 0
    return float(np.max(np.linalg.norm(a - b, axis=1)[ok] / norms[ok])) if ok.any() else 0.0


# --- 1. deviation on the shared fixtures -----------------------------------------------------

def _equivalence_helpers():
    """tests/openl3/test_equivalence.py, for its reading of a fixture folder's weight files."""
    path = REPO / "tests" / "openl3" / "test_equivalence.py"
    spec = importlib.util.spec_from_file_location("_sk_avsc_test_equivalence", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture_deviation(ref_dir: Path, *, sizes=None) -> list[dict]:
    """bf16 against float32 and against openl3 for every case of a fixture folder."""
    import torch

    from sk_avsc import openl3
    from sk_avsc.exceptions import SkAvscWarning

    manifest = json.loads((ref_dir / "manifest.json").read_text())
    inputs = np.load(ref_dir / "inputs.npz")
    expected = np.load(ref_dir / "expected.npz")
    files = _equivalence_helpers()._model_files(ref_dir, manifest)
    models, rows = {}, []

    def model(modality, input_repr, size, dtype):
        key = (modality, input_repr, size, dtype)
        if key not in models:
            path, repr_, content = files[("audio", input_repr) if modality == "audio"
                                         else ("image",)]
            load = openl3.load_audio_model if modality == "audio" else openl3.load_image_model
            models[key] = load(path, repr_, content, size, dtype=dtype)
        return models[key]

    for case in manifest["cases"]:
        parts = case.split("__")
        modality = parts[0]
        size = int(parts[2] if modality == "audio" else parts[1])
        if sizes is not None and size not in sizes:
            continue
        embs = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkAvscWarning)  # short/silent clips warn
            for dtype in (torch.float32, torch.bfloat16):
                if modality == "audio":
                    _, input_repr, _, name, hop, center = parts
                    emb, _ = openl3.get_audio_embedding(
                        inputs["audio__" + name], int(inputs["audio_sr__" + name]),
                        model=model("audio", input_repr, size, dtype),
                        hop_size=float(hop[3:]), center=center == "center1", verbose=False)
                else:
                    emb = openl3.get_image_embedding(
                        inputs["image__" + parts[2]], model=model("image", None, size, dtype),
                        verbose=False)
                embs[dtype] = emb
        f32, b16, ref = embs[torch.float32], embs[torch.bfloat16], expected[case]
        rows.append({
            "case": case, "shape": list(b16.shape),
            "bf16_vs_f32": _rel(b16, f32), "bf16_vs_f32_worst": _worst_row(b16, f32),
            "bf16_vs_ref": _rel(b16, ref), "bf16_vs_ref_worst": _worst_row(b16, ref),
            "f32_vs_ref": _rel(f32, ref), "identical": bool(np.array_equal(b16, f32)),
        })
    return rows


def print_fixture_table(rows: list[dict]) -> None:
    print("| case | shape | bf16 vs f32 | worst window | bf16 vs openl3 | worst window "
          "| f32 vs openl3 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {tuple(r['shape'])} | {r['bf16_vs_f32']:.2e} "
              f"| {r['bf16_vs_f32_worst']:.2e} | {r['bf16_vs_ref']:.2e} "
              f"| {r['bf16_vs_ref_worst']:.2e} | {r['f32_vs_ref']:.1e} |")
    for modality in ("audio", "image"):
        sub = [r for r in rows if r["case"].startswith(modality)]
        if sub:
            print(f"{modality}: bf16 vs f32 over {len(sub)} cases: median "
                  f"{np.median([r['bf16_vs_f32'] for r in sub]):.2e}, max "
                  f"{max(r['bf16_vs_f32'] for r in sub):.2e}, worst window "
                  f"{max(r['bf16_vs_f32_worst'] for r in sub):.2e}")


# --- 2. downstream ---------------------------------------------------------------------------

def _mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def downstream(work: Path, *, setting: dict, seeds, epochs, weights, threads) -> dict:
    import torch

    from sk_avsc import experiment as exp
    from sk_avsc.datasets import load_tau2021, make_av_scenes
    from sk_avsc.exceptions import RandomWeightsWarning
    from sk_avsc.store import FeatureStore
    from sk_avsc.systems import PAPER_FRONTEND, SYSTEMS

    hop, data = setting["hop_size"], setting["data"]
    root = make_av_scenes(work / "data", **data, random_state=0)
    subsets = {s: load_tau2021(root, subset=s) for s in ("fold1_train", "fold1_evaluate")}
    n_clips = {s: len(ds.frame) for s, ds in subsets.items()}
    print(f"synthetic task: {data['n_classes']} classes, {n_clips} clips of "
          f"{data['duration']} s, hop {hop} s, weights {weights}", flush=True)

    torch.set_num_threads(threads)
    features, seconds, stores = {}, {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)  # said in the report
        for precision in PRECISIONS:
            # sk-avsc extract's own front end and store, at this precision
            stores[precision] = work / f"features-{precision}"
            t0 = time.perf_counter()
            exp.extract(root, stores[precision], weights=weights, hop_size=hop,
                        duration=data["duration"], frontend=PAPER_FRONTEND,
                        batch_size=setting["batch_size"], precision=precision, verbose=0)
            seconds[precision] = time.perf_counter() - t0
            store = FeatureStore.open(stores[precision])
            features[precision] = {s: store.read_subset(s)[0] for s in subsets}
            print(f"extracted with {precision} in {seconds[precision]:.0f} s", flush=True)
    deviation = {}
    for s in subsets:
        a, b = features["float32"][s], features["bfloat16"][s]
        deviation[s] = {"audio": _rel(b[..., :512], a[..., :512]),
                        "video": _rel(b[..., 512:], a[..., 512:])}
    print(f"bf16 vs float32 features (rel L2): {deviation}")

    scores = {p: {s: {"accuracy": [], "log_loss": []} for s in SYSTEMS} for p in PRECISIONS}
    # small heads on small data: intra-op threads cost more than they give (as the demo)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    for seed in seeds:
        for precision in PRECISIONS:
            for system in SYSTEMS:
                model = work / "models" / precision / str(seed) / f"{system}.joblib"
                exp.train(stores[precision], system, model, epochs=epochs,
                          batch_size=setting["batch_size"], random_state=seed, verbose=0)
                result = exp.evaluate(model, stores[precision],
                                      work / "eval" / precision / str(seed) / system, verbose=0)
                for metric in ("accuracy", "log_loss"):
                    scores[precision][system][metric].append(float(result[metric]))
        print(f"seed {seed}: trained and tested 5 systems x 2 precisions "
              f"({time.perf_counter() - t0:.0f} s so far)", flush=True)
    torch.set_num_threads(threads)

    summary = {}
    for system in SYSTEMS:
        summary[system] = {}
        for metric in ("accuracy", "log_loss"):
            (m32, s32), (m16, s16) = (_mean_sd(scores[p][system][metric]) for p in PRECISIONS)
            paired = np.subtract(scores["bfloat16"][system][metric],
                                 scores["float32"][system][metric])
            summary[system][metric] = {
                # rounded: equal scores give +0.0, not -1e-17
                "float32": [m32, s32], "bfloat16": [m16, s16],
                "difference": round(m16 - m32, 12) + 0.0,
                "paired_max_abs": float(np.max(np.abs(paired))),
                "inside_seed_spread": bool(abs(m16 - m32) <= max(s32, s16)),
            }
    return {"setting": setting, "epochs": epochs, "seeds": list(seeds), "weights": weights,
            "clips": n_clips, "extract_seconds": seconds,
            "feature_deviation": deviation, "scores": scores, "summary": summary}


def print_downstream_table(result: dict) -> None:
    n = len(result["seeds"])
    print(f"\nclip accuracy (%) and log loss, mean ± sd over {n} training seeds "
          f"(test set: {result['clips']['fold1_evaluate']} clips)")
    print("| system | metric | float32 | bfloat16 | bf16 - f32 | max per-seed abs diff "
          "| inside seed spread |")
    print("|---|---|---:|---:|---:|---:|---|")
    for system, metrics in result["summary"].items():
        for metric, r in metrics.items():
            scale, digits = (100, 1) if metric == "accuracy" else (1, 3)
            (m32, s32), (m16, s16) = r["float32"], r["bfloat16"]
            print(f"| {system} | {metric} | {scale * m32:.{digits}f} ± {scale * s32:.{digits}f} "
                  f"| {scale * m16:.{digits}f} ± {scale * s16:.{digits}f} "
                  f"| {scale * r['difference']:+.{digits}f} "
                  f"| {scale * r['paired_max_abs']:.{digits}f} "
                  f"| {'yes' if r['inside_seed_spread'] else 'NO'} |")


def main(argv=None) -> int:
    args = _parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    info = machine_info()
    info.update(torch=torch.__version__, threads=args.threads)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {info}")
    print(f"before: {uptime}", flush=True)
    results = {"machine": info, "uptime_before": uptime}

    ref_dir = args.shared / "openl3-reference"
    if args.skip_fixtures:
        pass
    elif not (ref_dir / "manifest.json").is_file():
        print(f"fixtures: skipped ({ref_dir} not found; the shared folder is not here)")
    else:
        t0 = time.perf_counter()
        rows = fixture_deviation(ref_dir, sizes={512} if args.quick else None)
        print(f"\nbf16 vs float32 on {ref_dir} ({len(rows)} cases, "
              f"{time.perf_counter() - t0:.0f} s); relative L2, whole matrix and worst window")
        print_fixture_table(rows)
        results["fixtures"] = rows

    if not args.skip_downstream:
        setting = SETTINGS["quick" if args.quick else "full"]
        epochs = args.epochs or setting["epochs"]
        with tempfile.TemporaryDirectory(prefix="bench-precision-") as work:
            result = downstream(Path(work), setting=setting, seeds=range(args.seeds),
                                epochs=epochs, weights=args.weights, threads=args.threads)
        print_downstream_table(result)
        results["downstream"] = result

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nafter: {uptime}")
    results["uptime_after"] = uptime
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
