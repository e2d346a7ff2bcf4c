"""The demo: the paper's five systems on generated synthetic scenes, results kept.

:func:`run_demo` is what ``sk-avsc demo`` runs. It writes a synthetic dataset in the TAU
2021 layout (:func:`~sk_avsc.datasets.make_av_scenes`: ten classes, of which audio alone
tells some apart and video alone others), embeds it with OpenL3 (the official weights
when they are already on this machine, random ones otherwise; it never downloads), trains
the paper's five systems with several seeds with the commands of :mod:`sk_avsc.cli`
(``extract``, ``train``, ``evaluate``), and writes a summary: the mean and spread over the
seeds beside the paper's Table 2, and the class-wise accuracies of Fig. 2.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._io import write_text
from ._validation import check_bool, check_choice, check_device, check_int, check_path
from .exceptions import ParameterError, RandomWeightsWarning, WeightsError
from .systems import PAPER_ACCURACY, SYSTEMS, front_end_weights

__all__ = ["run_demo", "official_weights_available", "DEFAULT_OUT"]

#: Where ``sk-avsc demo`` keeps its results unless told otherwise.
DEFAULT_OUT = "sk-avsc-demo"

#: Dataset, front end and training of each size. "full" is the demo (about 4 minutes on
#: two CPU cores): 10 classes x 6 locations (4 for training, 2 for testing) x 3 clips of
#: 1.5 s, 3 windows each; "tiny" runs the same steps in seconds, for tests (its figures
#: mean nothing).
_SIZES = {
    "full": {
        "data": dict(n_classes=10, n_cities=2, n_locations=3, clips_per_location=3,
                     duration=1.5, fps=5),
        "hop_size": 0.5,
        "train": dict(epochs=40, batch_size=32),
    },
    "tiny": {
        "data": dict(n_classes=3, n_cities=1, n_locations=3, clips_per_location=1,
                     duration=1.0, fps=2),
        "hop_size": 0.5,
        "train": dict(epochs=2, batch_size=8),
    },
}
#: What run_demo writes into its folder; ``force=True`` replaces these and nothing else.
_OUTPUTS = ("data", "features", "seeds", "results.md", "results.json", "fig2.png")
#: Systems drawn in fig2.png, as in the paper's Fig. 2.
_FIGURE_SYSTEMS = ("audio", "video", "proposed")


def official_weights_available() -> bool:
    """Whether both official OpenL3 weight files of the front end are on this machine.

    Looks where :func:`sk_avsc.systems.front_end_weights` does and never downloads.

    Returns
    -------
    available : bool

    Examples
    --------
    >>> from sk_avsc.demo import official_weights_available
    >>> isinstance(official_weights_available(), bool)
    True
    """
    try:
        front_end_weights(None, download=False)
    except WeightsError:
        return False
    return True


def _prepare(out: Path, force: bool) -> None:
    """Refuse a non-empty ``out`` unless ``force``; with it, remove the demo's old outputs."""
    if out.exists() and not out.is_dir():
        raise ParameterError(f"run_demo: out must be a folder, got {str(out)!r}, which is a "
                             "file; choose another folder.")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ParameterError(
                f"run_demo: the output folder {str(out)!r} is not empty (an earlier demo's "
                "results?); pass force=True (sk-avsc demo --force) to replace the demo's "
                "files there, or choose another folder (sk-avsc demo --out DIR).")
        for name in _OUTPUTS:
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def _summarise(per_seed: list[dict]) -> dict:
    """Per system: each score over the seeds, and the mean class-wise accuracy."""
    summary = {}
    for system in per_seed[0]:
        runs = [seed[system] for seed in per_seed]
        labels = runs[0]["labels"]
        summary[system] = {
            "accuracy": [r["accuracy"] for r in runs],
            "log_loss": [r["log_loss"] for r in runs],
            "log_loss_micro": [r["log_loss_micro"] for r in runs],
            "class_wise_accuracy": {
                c: float(np.mean([r["class_wise"][c]["accuracy"] for r in runs]))
                for c in labels},
        }
    return summary


def _confusions(n_classes: int) -> tuple[list, list]:
    """The class pairs that audio alone and video alone cannot tell apart, by design."""
    from .datasets import TAU_CLASSES
    from .datasets._synthetic import _class_factors

    sound, look, _, _ = _class_factors(n_classes)

    def pairs(group):
        return [[TAU_CLASSES[i] for i in np.flatnonzero(group == g)]
                for g in np.unique(group) if np.sum(group == g) > 1]

    return pairs(sound), pairs(look)


def _markdown(summary: dict, *, n_seeds: int, weights: str, test: dict) -> str:
    """The demo's report: the systems' scores beside the paper's, then class-wise accuracy."""
    def cell(values, scale, digits):
        mean, sd = _mean_sd(np.asarray(values) * scale)
        return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if n_seeds > 1 else "")

    this_run = f"this run (synthetic, {weights} weights)"
    spread = f"mean ± sd over {n_seeds} training seeds" if n_seeds > 1 else "one training seed"
    lines = [
        f"Test set: {test['clips']} clips ({test['windows']} 1-s windows) of "
        f"{test['classes']} classes from {test['locations']} locations not seen in training; "
        f"{spread}.",
        "",
        f"| system | {this_run}: accuracy (%) | log loss | log loss (micro) "
        "| paper (real data, official weights): accuracy (%) |",
        "|---|---:|---:|---:|---:|",
    ]
    for system, s in summary.items():
        ref = PAPER_ACCURACY.get(system)
        lines.append(f"| {system} | {cell(s['accuracy'], 100, 1)} | {cell(s['log_loss'], 1, 3)} "
                     f"| {cell(s['log_loss_micro'], 1, 3)} | "
                     f"{'' if ref is None else f'{ref:.1f}'} |")
    n = test["classes"]
    lines += [
        "",
        "- accuracy: the share of test clips whose class is the argmax of the summed window "
        f"probabilities (the paper's clip decision); chance is {100 / n:.0f} %.",
        "- log loss: DCASE 2021 Task 1B's multi-class log loss, the mean over classes of each "
        "class's mean -ln p(true class) over its clips (lower is better); guessing uniformly "
        f"gives ln {n} = {np.log(n):.3f}.",
        "- log loss (micro): the mean of -ln p(true class) over all clips at once "
        "(scikit-learn's log_loss); it equals the log loss when every class has as many "
        "test clips.",
        f"- The paper's column is Table 2 (TAU 2021, official OpenL3 weights); {this_run} "
        "shows that the procedure runs and what fusion adds on scenes built for it, not "
        "the paper's figures.",
        "",
        f"Class-wise accuracy (%), mean over the seeds (fig2.png draws "
        f"{', '.join(_FIGURE_SYSTEMS)}):",
        "",
        "| class | " + " | ".join(summary) + " |",
        "|---|" + "---:|" * len(summary),
    ]
    labels = list(next(iter(summary.values()))["class_wise_accuracy"])
    for c in labels:
        cells = [f"{100 * s['class_wise_accuracy'][c]:.0f}" for s in summary.values()]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    audio_pairs, video_pairs = _confusions(n)
    lines += [
        "",
        "By design, audio alone cannot tell " + _join(audio_pairs) + " apart, and video "
        "alone cannot tell " + _join(video_pairs) + " apart; each class has its own pair of "
        "sound and look, so only a system that uses both can tell every class apart.",
    ]
    return "\n".join(lines) + "\n"


def _join(pairs) -> str:
    return "; ".join(" / ".join(p) for p in pairs) if pairs else "any classes"


def run_demo(out=DEFAULT_OUT, *, force: bool = False, n_seeds: int = 3, random_state: int = 0,
             device: str = "cpu", size: str = "full", verbose: int = 1) -> dict:
    """Train and test the paper's five systems on generated synthetic scenes.

    Writes a synthetic dataset (:func:`~sk_avsc.datasets.make_av_scenes`), embeds it
    with OpenL3 (the official weights if both files are already on this machine, random
    weights otherwise: it never downloads), trains the five systems of
    :data:`~sk_avsc.systems.SYSTEMS` with ``n_seeds`` seeds (``sk-avsc train``) and tests
    them on locations unseen in training (``sk-avsc evaluate``). Prints where the
    results go, then the summary table, then where they are.

    Parameters
    ----------
    out : str or path-like, default="sk-avsc-demo"
        Folder for the results, created if needed. It must be empty or absent unless
        ``force``. It receives ``data/`` (the dataset), ``features/`` (the feature
        store, for ``sk-avsc train``), ``seeds/<seed>/models/<system>.joblib`` and
        ``seeds/<seed>/eval/<system>/`` (each system's report), ``results.md`` (the
        summary), ``results.json`` (every score of every seed) and ``fig2.png``
        (class-wise accuracy of audio, video and proposed, mean over the seeds).
    force : bool, default=False
        Replace the demo's files (the names above, nothing else) in a non-empty ``out``.
    n_seeds : int, default=3
        Training seeds (``random_state``, ``random_state + 1``, ...): the table shows the
        mean and standard deviation over them.
    random_state : int, default=0
        Seeds the dataset and the first training run; the same value repeats the run
        exactly on CPU.
    device : str, default="cpu"
        Torch device of the embedding networks and the classifiers.
    size : {"full", "tiny"}, default="full"
        ``"full"``: the demo, 10 classes and 180 clips (about 4 minutes on two CPU
        cores); ``"tiny"``: 3 classes and 9 clips, seconds, for tests.
    verbose : int, default=1
        Progress on stderr when > 0.

    Returns
    -------
    results : dict
        ``out`` (the folder), ``weights`` (``"official"`` or ``"random"``),
        ``seeds``, ``test`` (clips, windows, classes, locations of the test set),
        ``systems`` (per system: ``accuracy``, ``log_loss`` and ``log_loss_micro``, one
        value per seed, and ``class_wise_accuracy``, the mean per class), ``markdown``
        (the summary) and ``seconds`` (wall-clock time).

    Raises
    ------
    ParameterError
        For a bad parameter, or when ``out`` is not empty and ``force`` is False.

    See Also
    --------
    sk_avsc.datasets.make_av_scenes : The synthetic scenes and their design.
    sk_avsc.systems.make_system : The five systems.

    Examples
    --------
    A run takes minutes (``size="tiny"``: seconds, but meaningless figures), so here only
    the refusal to overwrite:

    >>> import tempfile, pathlib
    >>> from sk_avsc.demo import run_demo
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> run_demo(folder)
    Traceback (most recent call last):
    ...
    sk_avsc.exceptions.ParameterError: run_demo: the output folder ... is not empty ...
    """
    from . import experiment as exp
    from .datasets import load_tau2021, make_av_scenes
    from .store import FeatureStore

    owner = "run_demo"
    out = Path(check_path("out", out, owner=owner)).expanduser().absolute()
    force = check_bool("force", force, owner=owner)
    n_seeds = check_int("n_seeds", n_seeds, low=1, owner=owner)
    random_state = check_int("random_state", random_state, low=0, owner=owner)
    check_device(device, owner=owner)
    setting = _SIZES[check_choice("size", size, tuple(_SIZES), owner=owner)]
    verbose = check_int("verbose", verbose, low=0, owner=owner)
    _prepare(out, force)

    t0 = time.perf_counter()
    print(f"sk-avsc demo: results go to {out}")
    weights = "official" if official_weights_available() else "random"
    if weights == "official":
        print("OpenL3 weights: official (found on this machine)")
    else:
        print("OpenL3 weights: RANDOM (the official files are not on this machine): the "
              "embeddings are random features, so the figures show that the procedure runs "
              "and what fusion adds on synthetic scenes, not OpenL3's quality")

    def progress(message):
        if verbose:
            print(message, file=sys.stderr, flush=True)

    data = setting["data"]
    progress(f"writing the synthetic dataset ({data['n_classes']} classes) ...")
    root = make_av_scenes(out / "data", **data, random_state=random_state)
    features = out / "features"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)  # said above, once
        exp.extract(root, features, weights=None if weights == "official" else "random",
                    hop_size=setting["hop_size"], duration=data["duration"], device=device,
                    verbose=verbose)
    test_frame = load_tau2021(root, subset="fold1_evaluate").frame
    X_test, _ = FeatureStore.open(features).read_subset("fold1_evaluate")
    test = {"clips": len(test_frame), "windows": int(X_test.shape[0] * X_test.shape[1]),
            "classes": int(test_frame["scene_label"].nunique()),
            "locations": int(test_frame["location"].nunique())}

    import torch

    threads = torch.get_num_threads()
    seeds = [random_state + i for i in range(n_seeds)]
    per_seed = []
    try:
        if torch.device(device).type == "cpu":
            # small heads on small data: intra-op threads cost more than they give
            torch.set_num_threads(1)
        for seed in seeds:
            t = time.perf_counter()
            folder = out / "seeds" / str(seed)
            scores = {}
            for system in SYSTEMS:
                model = folder / "models" / f"{system}.joblib"
                exp.train(features, system, model, device=device, random_state=seed,
                          verbose=0, **setting["train"])
                scores[system] = exp.evaluate(model, features, folder / "eval" / system,
                                              verbose=0)
            per_seed.append(scores)
            progress(f"seed {seed}: trained and tested {', '.join(SYSTEMS)} in "
                     f"{time.perf_counter() - t:.0f} s")
    finally:
        torch.set_num_threads(threads)

    summary = _summarise(per_seed)
    md = _markdown(summary, n_seeds=n_seeds, weights=weights, test=test)
    _write_report(out, md, summary, per_seed, seeds=seeds, weights=weights, test=test)
    seconds = time.perf_counter() - t0
    print()
    print(md)
    print(f"sk-avsc demo: done in {seconds:.0f} s; results in {out}: results.md, fig2.png, "
          f"results.json; models in {out / 'seeds'}/<seed>/models; features for "
          f"'sk-avsc train' in {features}")
    return {"out": str(out), "weights": weights, "seeds": seeds, "test": test,
            "systems": summary, "markdown": md, "seconds": seconds}


def _write_report(out, md, summary, per_seed, *, seeds, weights, test) -> None:
    from .report import plot_class_wise_accuracy

    write_text(out / "results.md", md)
    write_text(out / "results.json", json.dumps(
        {"weights": weights, "seeds": seeds, "test": test, "summary": summary,
         "per_seed": dict(zip(map(str, seeds), per_seed))}, indent=2))
    labels = list(next(iter(summary.values()))["class_wise_accuracy"])
    plot_class_wise_accuracy(
        {s: [summary[s]["class_wise_accuracy"][c] for c in labels] for s in _FIGURE_SYSTEMS},
        labels, path=out / "fig2.png",
        title=f"Class-wise accuracy, synthetic scenes, {weights} OpenL3 weights "
              f"(mean of {len(seeds)} seeds)")
