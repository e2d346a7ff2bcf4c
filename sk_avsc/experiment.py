"""The paper's experiment as functions: extract, train, evaluate, predict, reproduce.

What each ``sk-avsc`` command does (:mod:`sk_avsc.cli` only parses the arguments and
calls these), strung together from the library: the systems (:mod:`sk_avsc.systems`),
the feature store that :func:`extract` writes (:mod:`sk_avsc.store`), the scores
(:mod:`sk_avsc.metrics`) and their reports (:mod:`sk_avsc.report`). Every function
raises :class:`~sk_avsc.exceptions.SkAvscError` subclasses for expected failures (a
missing file, a damaged model, features of other settings), with the file and the
remedy in the message.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._io import atomic_write, remove_stale_temps, write_text
from ._validation import check_choice, check_device
from ._version import __version__
from .exceptions import (
    RandomWeightsWarning,
    SkAvscError,
    SkAvscWarning,
)
from .store import (
    KINDS,
    SETTING_DEFAULTS,
    FeatureStore,
    cached_clip_features,
    read_features,
    store_path,
)
from .systems import (
    COMPARISON_SYSTEMS,
    FRONTEND_COLUMNS,
    PAPER_ACCURACY,
    PAPER_FRONTEND,
    SYSTEM_FEATURES,
    SYSTEMS,
    available_systems,
    front_end_weights,
    make_embedder,
    make_frontend,
    make_system,
    system_input,
    validation_splitter,
)

__all__ = ["extract", "train", "evaluate", "predict", "reproduce"]

_MODEL_FORMAT = 1
#: Keys every model file holds (a dict written by train).
_MODEL_KEYS = ("system", "pipeline", "classes", "features")
#: How the CLI passes a weights folder, for the messages of systems.front_end_weights.
_WEIGHTS_OPTION = "--weights FOLDER"
#: What evaluate and predict say about model files (and README.md, docs/cli.rst).
_MODEL_SAFETY = ("A model file is a joblib pickle: loading it runs code, so only load model "
                 "files you trust (your own, or from a source you trust).")

log = logging.getLogger(__name__)


class _Fail(SkAvscError):
    """An expected failure of a command (a file, a value): one line, exit status 1."""


# --- helpers ---------------------------------------------------------------------------------

def _weights_arg(value):
    return None if value in (None, "auto") else value


def _output(path) -> Path:
    """``path``, once temporaries that killed writers of it left are removed."""
    path = Path(path)
    remove_stale_temps(path.parent, path.name)
    return path


# --- extract ---------------------------------------------------------------------------------

def _embedder(settings: dict, *, cache_dir, n_jobs, device, verbose, compile=False,
              decode_workers=1):
    """The front end that makes (or made) features of these store settings.

    ``compile`` and ``decode_workers`` change the speed, not the features: they are not
    store settings.
    """
    check_device(device)
    # both weight files found (or downloaded) now, or one error naming both
    front_end_weights(settings["weights"], option=_WEIGHTS_OPTION)
    return make_embedder(weights=settings["weights"], hop_size=settings["hop_size"],
                         duration=settings["duration"], batch_size=settings["batch_size"],
                         frontend=settings.get("frontend", "kapre"),
                         precision=settings.get("precision", SETTING_DEFAULTS["precision"]),
                         compile=compile, decode_workers=decode_workers,
                         cache_dir=cache_dir, n_jobs=n_jobs, device=device, verbose=verbose)


def extract(root, out, *, subsets=("fold1_train", "fold1_evaluate"), kinds=("openl3",),
            weights=None, hop_size=0.1, duration=None, frontend=PAPER_FRONTEND, batch_size=32,
            device="cpu", precision="float32", compile=False, decode_workers=1, n_jobs=None,
            on_missing="drop", verbose=1) -> dict:
    """Extract the features of ``kinds`` of every clip of ``subsets`` into ``out``.

    ``"openl3"`` features go to the store ``out``, ``"logmel"`` and ``"frames"`` ones to
    ``out/<kind>`` (their ``duration`` defaults to the recipes' 10 s). ``precision``,
    ``compile`` and ``decode_workers`` are the embedders' (see
    :class:`~sk_avsc.OpenL3AudioEmbedder`); ``precision`` is a store setting, so float32
    and bfloat16 features never share a store. Returns the settings of the last kind's
    store.
    """
    from .datasets import load_tau2021

    for kind in kinds:
        check_choice("kind", kind, KINDS, owner="extract")
    # every check that can fail fast (lists, media files, device, weights) before the store
    datasets = {subset: load_tau2021(root, subset=subset, on_missing=on_missing)
                for subset in subsets}
    settings = None
    for kind in kinds:
        if kind == "openl3":
            settings = _extract_openl3(root, out, datasets, weights=weights, hop_size=hop_size,
                                       duration=duration, frontend=frontend,
                                       batch_size=batch_size, precision=precision,
                                       compile=compile, decode_workers=decode_workers,
                                       device=device, n_jobs=n_jobs, verbose=verbose)
        else:
            settings = _extract_arrays(root, out, datasets, kind,
                                       duration=10.0 if duration is None else duration,
                                       verbose=verbose)
    return settings


_TABLE_COLUMNS = ["filename", "filename_audio", "filename_video", "scene_label", "location",
                  "target"]


def _extract_openl3(root, out, datasets, *, weights, hop_size, duration, frontend, batch_size,
                    precision, compile, decode_workers, device, n_jobs, verbose):
    settings = {
        "root": str(Path(root).resolve()),
        # a weights folder is kept absolute: predict builds the front end from it later
        "weights": weights if weights in (None, "random") else str(
            Path(weights).expanduser().resolve()),
        "hop_size": hop_size,
        "duration": duration,
        "frontend": frontend,
        "precision": precision,
        "batch_size": batch_size,
        "audio_dim": 512,
        "center": True,
    }
    embedder = _embedder(settings, cache_dir=str(FeatureStore(out).cache_dir), n_jobs=n_jobs,
                         device=device, verbose=verbose, compile=compile,
                         decode_workers=decode_workers)
    with warnings.catch_warnings():
        if weights == "random":  # said once below, not once per network
            warnings.simplefilter("ignore", RandomWeightsWarning)
        # the embedders' checks (precision, device...) fail before the store is written
        embedder.fit()
    store = FeatureStore.create(out, settings)
    if weights == "random" and verbose:
        print("note: OpenL3 runs with RANDOM weights; the embeddings are random features.",
              file=sys.stderr)
    for subset, ds in datasets.items():
        if verbose:
            print(f"extracting {len(ds.frame)} clips of {subset} ...", file=sys.stderr)
        X = embedder.transform(ds.data)
        store.write_subset(subset, X, ds.frame[_TABLE_COLUMNS], target_names=ds.target_names)
    _check_store_leaks(store)
    return store.settings


def _extract_arrays(root, out, datasets, kind, *, duration, verbose):
    """Log-mels or frames of every clip, cached per clip, into the store ``out/<kind>``."""
    extractor = make_frontend(kind, duration=duration)
    settings = {"root": str(Path(root).resolve()), "kind": kind, "duration": duration,
                "extractor": extractor.get_params()}
    store = FeatureStore.create(store_path(out, kind), settings)
    for subset, ds in datasets.items():
        if verbose:
            print(f"extracting {kind} of {len(ds.frame)} clips of {subset} ...",
                  file=sys.stderr)
        files = ds.frame[FRONTEND_COLUMNS[kind]].tolist()
        clips = cached_clip_features(extractor, files, cache_dir=store.cache_dir,
                                     modality=kind)
        store.write_subset(subset, clips, ds.frame[_TABLE_COLUMNS],
                           target_names=ds.target_names)
    _check_store_leaks(store)
    return store.settings


def _check_store_leaks(store):
    """Warn about clips and locations that a stored training subset shares with its test
    subsets (``<fold>_train`` against ``<fold>_evaluate`` and ``<fold>_test``)."""
    from .datasets import check_disjoint

    for name in sorted(store.subsets):
        if not name.endswith("_train"):
            continue
        fold = name[: -len("_train")]
        for other in (f"{fold}_evaluate", f"{fold}_test"):
            if other in store.subsets:
                check_disjoint(store.read_table(name), store.read_table(other),
                               names=(name, other))


# --- train -----------------------------------------------------------------------------------

#: What a model file records of its features' settings (per kind for comparison systems).
_OPENL3_MODEL_SETTINGS = ("weights", "hop_size", "duration", "frontend", "precision",
                          "batch_size", "audio_dim", "center")
_ARRAY_MODEL_SETTINGS = ("kind", "duration", "extractor")


def train(features, system, out, *, subset="fold1_train", split="auto", epochs=None,
          batch_size=None, device="cpu", random_state=0, hidden=None, resnet50_weights=None,
          crop_length=400, verbose=1) -> dict:
    """Train one of the paper's systems on stored features; write a joblib model file."""
    import joblib

    check_device(device)
    check_choice("system", system, available_systems(), owner="train")
    kinds = SYSTEM_FEATURES[system]
    settings, arrays, index = read_features(features, subset, kinds)
    X = system_input(system, arrays)
    y = index["scene_label"].to_numpy(dtype=object).astype(str)
    groups = index["location"].to_numpy(dtype=str)
    splitter, how = validation_splitter(split, groups, y, random_state=random_state)
    if system == "mcdonnell" and split == "auto":
        splitter, how = None, "none"  # the authors train on all clips, keep the last epoch
    audio_dim = settings["openl3"]["audio_dim"] if "openl3" in settings else 512
    pipe = make_system(system, audio_features=audio_dim, max_epochs=epochs,
                       batch_size=batch_size, device=device, random_state=random_state,
                       hidden_sizes=hidden, validation_split=splitter,
                       resnet50_weights=resnet50_weights, crop_length=crop_length)
    t0 = time.perf_counter()
    pipe.fit(X, y, clf__groups=groups)
    seconds = time.perf_counter() - t0
    if kinds == ("openl3",):
        recorded = {k: settings["openl3"].get(k) for k in _OPENL3_MODEL_SETTINGS}
    else:
        recorded = {kind: {k: settings[kind].get(k) for k in _ARRAY_MODEL_SETTINGS}
                    for kind in kinds}
    model = {
        "format": _MODEL_FORMAT,
        "sk_avsc_version": __version__,
        "system": system,
        "pipeline": pipe,
        "classes": list(pipe[-1].classes_),
        "features": recorded,
        "split": how,
        "fit_seconds": seconds,
        # what evaluate checks a test subset against (DCASE: locations kept apart)
        "trained_on": {"subset": subset, "clips": index["filename"].astype(str).tolist(),
                       "locations": sorted(set(index["location"].astype(str)))},
    }
    with atomic_write(_output(out)) as f:
        joblib.dump(model, f)
    if verbose:
        print(f"trained {system} on {subset} ({how} validation split) in {seconds:.1f} s "
              f"-> {out}", file=sys.stderr)
    return model


def _load_model(path):
    import joblib

    path = Path(path)
    if not path.is_file():
        raise _Fail(f"model file {path} not found.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # joblib/pickle raise many types for a bad file
        raise _Fail(f"model file {path} cannot be read ({type(exc).__name__}: {exc}); "
                    "train it again with 'sk-avsc train'.") from exc
    if not isinstance(model, dict) or model.get("format") != _MODEL_FORMAT:
        raise _Fail(f"{path} is not an sk-avsc model file; train one with 'sk-avsc train'.")
    lacking = [k for k in _MODEL_KEYS if k not in model]
    if lacking:
        raise _Fail(f"model file {path} is damaged: it lacks {', '.join(lacking)}; train it "
                    "again with 'sk-avsc train'.")
    version = model.get("sk_avsc_version")
    if version != __version__:
        warnings.warn(f"model file {path} was written by sk_avsc {version}, this is "
                      f"{__version__}; train it again if its results look wrong.",
                      SkAvscWarning, stacklevel=2)
    return model


# --- evaluate --------------------------------------------------------------------------------

def evaluate(model_path, features, out, *, subset="fold1_evaluate", verbose=1) -> dict:
    """Score a model on stored features; write JSON, Markdown, confusion matrix and Fig. 2."""
    from .metrics import scene_scores
    from .report import write_evaluation

    from .datasets import check_disjoint

    model = _load_model(model_path)
    kinds = SYSTEM_FEATURES.get(model["system"], ("openl3",))
    settings, arrays, index = read_features(features, subset, kinds)
    what = f"model file {model_path}"
    if kinds == ("openl3",):
        FeatureStore.open(features).check_settings_of(model["features"], what=what)
        # window probabilities: the 1-s segment scores too
        proba = _window_proba(model["pipeline"], arrays["openl3"])
        hop_size = settings["openl3"]["hop_size"]
    else:
        for kind in kinds:
            FeatureStore.open(store_path(features, kind)).check_settings_of(
                model["features"][kind], what=what)
        proba = model["pipeline"].predict_proba(system_input(model["system"], arrays))
        hop_size = 1.0  # clip probabilities: no segment scores
    scores = scene_scores(index["scene_label"].astype(str).to_numpy(), proba,
                          labels=np.asarray(model["classes"]), hop_size=hop_size)
    scores["system"] = name = model["system"]
    scores["warnings"] = []
    trained_on = model.get("trained_on")
    if trained_on is not None:
        shared = check_disjoint(
            {"filename": np.asarray(trained_on["clips"]),
             "location": np.asarray(trained_on["locations"])},
            index, names=(f"the model's training data ({trained_on['subset']})", subset))
        if shared["message"]:
            scores["warnings"].append(shared["message"])
            scores["shared_with_training"] = {"clips": shared["clips"],
                                              "locations": shared["locations"]}
    remove_stale_temps(out)
    write_evaluation(out, scores, name=name, reference=PAPER_ACCURACY)
    if verbose:
        print(f"{name}: accuracy {100 * scores['accuracy']:.1f} %, "
              f"log loss {scores['log_loss']:.3f}", file=sys.stderr)
    return scores


def _window_proba(pipe, X):
    """Window probabilities of a fitted system: its transforms, then ClipAggregator's."""
    return pipe[-1].predict_window_proba(pipe[:-1].transform(X))


# --- predict ---------------------------------------------------------------------------------

def predict(model_path, inputs, out, *, subset="fold1_test", per="clip", device="cpu",
            n_jobs=None, verbose=1):
    """Write a DCASE 2021 Task 1B submission file for a dataset root or audio files.

    Tab-separated, header ``filename scene_label airport ... tram`` (the ten TAU
    classes; classes the model does not know get probability 0). One row per clip
    (``filename`` as in the dataset's lists, e.g. ``audio/<clip>.wav``, or the file's
    name), or with ``per="segment"`` one row per 1-s segment named
    ``audio/<clip>-<k>.wav`` (k from 0).
    """
    import pandas as pd

    from .datasets import TAU_CLASSES, load_tau2021
    from .metrics import segment_proba

    check_choice("per", per, ("clip", "segment"), owner="predict")
    check_device(device)
    model = _load_model(model_path)
    if SYSTEM_FEATURES.get(model["system"], ("openl3",)) != ("openl3",):
        raise _Fail(f"model file {model_path} is a {model['system']} model; predict writes "
                    f"submissions of the OpenL3 systems ({', '.join(SYSTEMS)}); score "
                    "comparison systems with 'sk-avsc evaluate'.")
    inputs = [Path(p) for p in inputs]
    if len(inputs) == 1 and inputs[0].is_dir():
        ds = load_tau2021(inputs[0], subset=subset)
        names, table = ds.frame["filename"].tolist(), ds.data
    else:
        audio, video, names = [], [], []
        for p in inputs:
            if not p.is_file():
                raise _Fail(f"{p} not found (pass a dataset root or existing audio files).")
            v = p.parent.parent / "video" / f"{p.stem}.mp4"
            if not v.is_file():
                raise _Fail(f"no video for {p}: expected {v} (the dataset layout "
                            "audio/<clip>.wav + video/<clip>.mp4).")
            audio.append(str(p)), video.append(str(v)), names.append(p.name)
        table = pd.DataFrame({"filename_audio": audio, "filename_video": video})
    feats = model["features"]
    embedder = _embedder(feats, cache_dir=None, n_jobs=n_jobs, device=device, verbose=verbose)
    X = embedder.fit_transform(table)
    pipe, classes = model["pipeline"], list(model["classes"])
    columns = list(TAU_CLASSES) if set(classes) <= set(TAU_CLASSES) else classes
    order = [classes.index(c) if c in classes else None for c in columns]
    if per == "segment":
        S = segment_proba(_window_proba(pipe, X), hop_size=feats["hop_size"],
                          center=feats["center"])
        # keep the clip's folder ("audio/"), as the per-clip rows do
        rows = [(Path(n).with_name(f"{Path(n).stem}-{k}{Path(n).suffix}").as_posix(), S[i, k])
                for i, n in enumerate(names) for k in range(S.shape[1])]
    else:
        rows = list(zip(names, pipe.predict_proba(X)))
    lines = ["\t".join(["filename", "scene_label", *columns])]
    for name, p in rows:
        probs = [0.0 if j is None else float(p[j]) for j in order]
        lines.append("\t".join([name, classes[int(np.argmax(p))]] + [f"{v:.6f}" for v in probs]))
    write_text(_output(out), "\n".join(lines) + "\n")
    if verbose:
        print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)
    return len(rows)


# --- reproduce -----------------------------------------------------------------------------------

def reproduce(root, out, *, quick=False, weights=None, device="cpu", n_jobs=None,
              epochs=None, batch_size=None, hop_size=None, duration=None, split="auto",
              random_state=0, all_systems=False, resnet50_weights=None, crop_length=400,
              frontend=PAPER_FRONTEND, precision="float32", compile=False, decode_workers=1,
              embed_batch_size=32, verbose=1) -> dict:
    """Table 2: the five systems (with ``all_systems``, the three comparison systems too)
    trained on fold1_train, tested on fold1_evaluate, beside the paper's figures.

    ``precision``, ``compile``, ``decode_workers`` and ``embed_batch_size`` (the
    embedders' ``batch_size``) go to :func:`extract`; ``batch_size`` is the heads'."""
    from .report import write_comparison
    from .systems import PAPER_PARAMETERS, count_system_parameters

    out = Path(out)
    if hop_size is None:
        hop_size = 0.5 if quick else 0.1
    if epochs is None and quick:
        epochs = 30
    systems = SYSTEMS + (COMPARISON_SYSTEMS if all_systems else ())
    kinds = tuple(dict.fromkeys(k for s in systems for k in SYSTEM_FEATURES[s]))
    features = out / "features"
    if verbose and "openl3" in kinds:
        paper = " (openl3 0.3.1's, as the paper)" if frontend == PAPER_FRONTEND else ""
        print(f"OpenL3 audio front-end: {frontend}{paper}", file=sys.stderr)
    extract(root, features, kinds=kinds, weights=weights, hop_size=hop_size,
            duration=duration, frontend=frontend, device=device, precision=precision,
            compile=compile, decode_workers=decode_workers, batch_size=embed_batch_size,
            n_jobs=n_jobs, verbose=verbose)
    results = {}
    import torch

    threads = torch.get_num_threads()
    if quick and device == "cpu":
        # small heads on small data: intra-op threads cost more than they give
        torch.set_num_threads(1)
    try:
        for system in systems:
            model_path = out / "models" / f"{system}.joblib"
            train(features, system, model_path, split=split, epochs=epochs,
                  batch_size=batch_size, device=device, random_state=random_state,
                  resnet50_weights=resnet50_weights, crop_length=crop_length,
                  verbose=verbose)
            results[system] = evaluate(model_path, features, out / "eval" / system, verbose=0)
    finally:
        torch.set_num_threads(threads)
    remove_stale_temps(out)
    counts = None
    if all_systems:  # counted from the modules, for the classes trained on
        n_classes = len(next(iter(results.values()))["labels"])
        counts = {s: count_system_parameters(s, n_classes=n_classes) for s in systems}
    md = write_comparison(out, results, reference=PAPER_ACCURACY,
                          figure_systems=("audio", "video", "proposed"),
                          parameters=counts, parameters_reference=PAPER_PARAMETERS)
    print(md)
    return results


# --- argument parsing ------------------------------------------------------------------------
