"""The sk-avsc command line, end to end on a tiny generated dataset (random OpenL3 weights)."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sk_avsc.cli import main
from sk_avsc.datasets import TAU_CLASSES, make_av_scenes
from sk_avsc.systems import SYSTEMS

SUBMISSION_HEADER = ["filename", "scene_label", *TAU_CLASSES]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # 2 classes x 3 locations x 1 clip of 1 s: 2 train + 1 evaluate location per class
    return make_av_scenes(tmp_path_factory.mktemp("data"), n_classes=2, n_cities=1,
                          n_locations=3, clips_per_location=1, duration=1.0, fps=4,
                          random_state=0)


@pytest.fixture(scope="module")
def features(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("features")
    rc = main(["-q", "extract", data, "--out", str(out), "--weights", "random",
               "--hop-size", "0.5"])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def models(features, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    paths = {}
    for system in SYSTEMS:
        paths[system] = out / f"{system}.joblib"
        rc = main(["-q", "train", str(features), "--system", system, "--out",
                   str(paths[system]), "--epochs", "2", "--split", "none"])
        assert rc == 0, system
    return paths


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for needle in needles:
        assert needle in err[0], err[0]


@pytest.mark.slow
def test_extract_writes_a_store(features, data):
    store = json.loads((features / "store.json").read_text())
    assert {k: store["subsets"]["fold1_train"][k] for k in ("n_clips", "n_windows")} == {
        "n_clips": 4, "n_windows": 2}
    assert store["target_names"] == list(TAU_CLASSES[:2])
    with np.load(features / "fold1_evaluate.npz") as f:
        X = f["X"]
    assert X.shape == (2, 2, 1024) and X.dtype == np.float32 and np.isfinite(X).all()
    index = pd.read_csv(features / "fold1_evaluate.tsv", sep="\t")
    assert list(index["scene_label"]) == sorted(index["scene_label"])
    assert len(index) == 2


@pytest.mark.slow
def test_extract_resumes_from_the_cache(features, data, capsys):
    before = (features / "fold1_train.npz").read_bytes()
    assert main(["-q", "extract", data, "--out", str(features), "--weights", "random",
                 "--hop-size", "0.5", "--subset", "fold1_train"]) == 0
    with np.load(features / "fold1_train.npz") as f, np.load(io.BytesIO(before)) as g:
        assert np.array_equal(f["X"], g["X"])
    # other settings into the same store are refused
    assert main(["-q", "extract", data, "--out", str(features), "--weights", "random",
                 "--hop-size", "0.25"]) == 1
    _one_error_line(capsys, str(features), "other settings")


@pytest.mark.slow
def test_train_evaluate_every_system(models, features, tmp_path):
    for system, path in models.items():
        out = tmp_path / system
        assert main(["-q", "evaluate", str(path), str(features), "--out", str(out)]) == 0
        scores = json.loads((out / "scores.json").read_text())
        assert scores["system"] == system and scores["n_clips"] == 2
        assert 0 <= scores["accuracy"] <= 1 and scores["log_loss"] > 0
        assert (out / "class_wise_accuracy.png").read_bytes()[:4] == b"\x89PNG"
        assert "| class |" in (out / "scores.md").read_text()
        cm = pd.read_csv(out / "confusion_matrix.tsv", sep="\t", index_col=0)
        assert cm.to_numpy().sum() == 2


@pytest.mark.slow
@pytest.mark.parametrize("per, rows", [("clip", 2), ("segment", 2)])
def test_predict_writes_a_dcase_submission(models, data, tmp_path, per, rows):
    out = tmp_path / "output.csv"
    assert main(["-q", "predict", str(models["proposed"]), data, "--per", per,
                 "--out", str(out)]) == 0
    sub = pd.read_csv(out, sep="\t")
    assert list(sub.columns) == SUBMISSION_HEADER
    assert len(sub) == rows
    probs = sub[list(TAU_CLASSES)].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (sub["scene_label"] == np.asarray(TAU_CLASSES)[probs.argmax(axis=1)]).all()
    clips = pd.read_csv(Path(data) / "evaluation_setup" / "fold1_test.csv", sep="\t")
    clip_names = clips.iloc[:, 0].tolist()
    if per == "clip":
        assert sub["filename"].tolist() == clip_names
    else:  # 1-s clips: one segment each, named <clip>-0.wav in the clip's folder
        assert sub["filename"].tolist() == [n[:-len(".wav")] + "-0.wav" for n in clip_names]


@pytest.mark.slow
def test_predict_decides_clips_with_the_pipelines_own_rule(models, features, data, tmp_path):
    # a model whose ClipAggregator votes: predict must write the vote, not a sum of windows
    import joblib

    model = joblib.load(models["proposed"])
    model["pipeline"][-1].set_params(method="vote")
    path = tmp_path / "vote.joblib"
    joblib.dump(model, path)
    out = tmp_path / "vote.csv"
    assert main(["-q", "predict", str(path), data, "--out", str(out)]) == 0
    written = pd.read_csv(out, sep="\t")[list(model["classes"])].to_numpy()
    # fold1_test lists the clips of fold1_evaluate, whose features the store holds
    with np.load(features / "fold1_evaluate.npz") as f:
        expected = model["pipeline"].predict_proba(f["X"])
    assert np.allclose(written, expected, atol=1e-6)
    assert set(np.unique(written)) <= {0.0, 0.5, 1.0}  # two windows per clip: votes


@pytest.mark.slow
def test_predict_on_files(models, data, tmp_path, capsys):
    wav = sorted((Path(data) / "audio").glob("*.wav"))[0]
    out = tmp_path / "o.csv"
    assert main(["-q", "predict", str(models["audio"]), str(wav), "--out", str(out)]) == 0
    assert pd.read_csv(out, sep="\t")["filename"].tolist() == [wav.name]
    missing = wav.with_name("nope.wav")
    assert main(["-q", "predict", str(models["audio"]), str(missing), "--out", str(out)]) == 1
    _one_error_line(capsys, "nope.wav")


def test_help_of_every_subcommand(capsys):
    for cmd in ("extract", "train", "evaluate", "predict", "reproduce", "demo", "openl3"):
        assert main([cmd, "--help"]) == 0
        assert "usage: sk-avsc " + cmd in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    # the recipes' defaults (200 epochs, batch 64 for the paper's systems) are named in words
    assert "(default: auto)" in text and "(default: 0)" in text
    assert "recipe (200;" in text and "recipe (64;" in text
    assert main(["extract", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: kapre-0.1.4)" in text and "(default: 0.1)" in text


def test_every_argument_has_help():
    import argparse

    from sk_avsc.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for cmd, parser in sub.choices.items():
        for action in parser._actions:
            if action.dest in ("help", "size"):  # argparse's own; demo's hidden test setting
                continue
            assert action.help, f"sk-avsc {cmd}: {action.dest} has no help text"


@pytest.mark.parametrize(
    "argv",
    [[], ["train", "f", "--system", "nope", "--out", "m"], ["extract", "r"],
     ["train", "f", "--system", "audio", "--out", "m", "--epochs", "0"]],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_missing_root(tmp_path, capsys):
    assert main(["-q", "extract", str(tmp_path / "nope"), "--out", str(tmp_path / "f")]) == 1
    _one_error_line(capsys, "nope", "does not exist")


def test_no_meta_csv(tmp_path, capsys):
    assert main(["-q", "extract", str(tmp_path), "--out", str(tmp_path / "f")]) == 1
    _one_error_line(capsys, "meta.csv")


@pytest.fixture
def small(tmp_path):
    return make_av_scenes(tmp_path / "d", n_classes=2, n_cities=1, n_locations=2,
                          clips_per_location=1, duration=1.0, fps=2, random_state=0)


def test_malformed_row(small, tmp_path, capsys):
    path = tmp_path / "d" / "evaluation_setup" / "fold1_train.csv"
    path.write_text(path.read_text() + "audio/x.wav\n")
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f")]) == 1
    _one_error_line(capsys, "fold1_train.csv", "malformed row")


def test_unknown_label(small, tmp_path, capsys):
    path = tmp_path / "d" / "evaluation_setup" / "fold1_train.csv"
    path.write_text(path.read_text().replace("\tairport\n", "\tairprot\n"))
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f")]) == 1
    _one_error_line(capsys, "fold1_train.csv", "airprot")


def test_missing_media_file(small, tmp_path, capsys):
    mp4 = sorted((tmp_path / "d" / "video").glob("*.mp4"))[0]
    mp4.unlink()
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f"),
                 "--on-missing", "raise"]) == 1
    _one_error_line(capsys, mp4.stem)


def test_unreadable_model_file(tmp_path, capsys):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"not a model")
    (tmp_path / "f").mkdir()
    assert main(["-q", "evaluate", str(bad), str(tmp_path / "f"), "--out",
                 str(tmp_path / "o")]) == 1
    _one_error_line(capsys, str(bad), "cannot be read")


def test_not_a_feature_store(tmp_path, capsys):
    assert main(["-q", "train", str(tmp_path), "--system", "audio", "--out",
                 str(tmp_path / "m")]) == 1
    _one_error_line(capsys, "not a feature store")


@pytest.mark.slow
def test_reproduce_writes_table_and_fig2_and_resumes(data, tmp_path, capsys):
    argv = ["-q", "reproduce", data, "--out", str(tmp_path), "--quick", "--weights", "random",
            "--epochs", "2", "--batch-size", "8"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    for system, paper in [("audio", "75.8"), ("video", "68.4"), ("early", "82.2"),
                          ("late", "80.8"), ("proposed", "84.8")]:
        assert sum(line.startswith(f"| {system} |") and f"| {paper} |" in line
                   for line in table.splitlines()) == 1
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results) == list(SYSTEMS)
    assert (tmp_path / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results.md").read_text() in table
    # a rerun finds every clip in the embedding cache and gives the same features
    with np.load(tmp_path / "features" / "fold1_train.npz") as f:
        before = f["X"].copy()
    assert main(argv) == 0
    with np.load(tmp_path / "features" / "fold1_train.npz") as f:
        assert np.array_equal(f["X"], before)


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parent.parent)
    env = {**__import__("os").environ, "PYTHONPATH": root}
    run = subprocess.run([sys.executable, "-m", "sk_avsc", "predict", "--help"], cwd=tmp_path,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "usage: sk-avsc predict" in run.stdout
    run = subprocess.run([sys.executable, "-m", "sk_avsc", "extract", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "f")], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert len(run.stderr.strip().splitlines()) == 1 and "nope" in run.stderr


@pytest.mark.slow
def test_training_repeats_exactly(models, features, tmp_path):
    # every head, the proposed system's fusion head included, takes --random-state
    import joblib

    path = tmp_path / "again.joblib"
    assert main(["-q", "train", str(features), "--system", "proposed", "--out", str(path),
                 "--epochs", "2", "--split", "none"]) == 0
    with np.load(features / "fold1_evaluate.npz") as f:
        X = f["X"]
    first, again = (joblib.load(p)["pipeline"] for p in (models["proposed"], path))
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))
    fusion = again[-1].estimator_.fusion_
    assert fusion.max_epochs == 2 and fusion.random_state == 0


# --- issue 10: reliability ------------------------------------------------------------------

WEIGHT_NAMES = ("openl3_audio_mel256_env.h5", "openl3_image_mel256_env.h5")


@pytest.fixture
def leaky(tmp_path):
    """A tiny root whose fold1_evaluate also lists a fold1_train clip (and so its location)."""
    root = make_av_scenes(tmp_path / "leaky", n_classes=2, n_cities=1, n_locations=2,
                          clips_per_location=1, duration=1.0, fps=2, random_state=0)
    setup = Path(root) / "evaluation_setup"
    train_rows = (setup / "fold1_train.csv").read_text().splitlines()
    with open(setup / "fold1_evaluate.csv", "a") as f:
        f.write(train_rows[1] + "\n")
    return root, train_rows[1].split("\t")[0]


def test_train_evaluate_overlap_is_reported(leaky, tmp_path, capsys):
    # item 5: a clip (and its location) in both lists is named by extract and evaluate
    root, clip = leaky
    feats, model, out = tmp_path / "f", tmp_path / "m.joblib", tmp_path / "e"
    assert main(["-q", "extract", root, "--out", str(feats), "--weights", "random",
                 "--hop-size", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "fold1_train and fold1_evaluate share 1 clip(s)" in err
    assert clip in err and "location" in err
    assert main(["-q", "train", str(feats), "--system", "audio", "--out", str(model),
                 "--epochs", "1", "--split", "none"]) == 0
    assert main(["-q", "evaluate", str(model), str(feats), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and clip in err
    scores = json.loads((out / "scores.json").read_text())
    assert scores["shared_with_training"]["clips"] == [clip]
    assert len(scores["shared_with_training"]["locations"]) == 1
    assert "**Warning:**" in (out / "scores.md").read_text()


def test_clean_lists_give_no_overlap_warning(models, features, tmp_path, capsys):
    assert main(["-q", "evaluate", str(models["audio"]), str(features), "--out",
                 str(tmp_path / "e")]) == 0
    assert "share" not in capsys.readouterr().err
    assert json.loads((tmp_path / "e" / "scores.json").read_text())["warnings"] == []


@pytest.mark.slow
def test_evaluate_refuses_features_of_other_settings(models, data, tmp_path, capsys):
    # item 6: a model trained on hop-0.5 features, scored on hop-0.25 ones
    other = tmp_path / "f025"
    assert main(["-q", "extract", data, "--out", str(other), "--weights", "random",
                 "--hop-size", "0.25", "--subset", "fold1_evaluate"]) == 0
    capsys.readouterr()
    assert main(["-q", "evaluate", str(models["audio"]), str(other), "--out",
                 str(tmp_path / "e")]) == 1
    _one_error_line(capsys, str(models["audio"]), "hop_size 0.5", "hop_size 0.25")
    assert not (tmp_path / "e").exists()


def test_model_of_another_version_warns(models, features, tmp_path, capsys):
    import joblib

    model = joblib.load(models["audio"])
    model["sk_avsc_version"] = "0.0.1"
    path = tmp_path / "old.joblib"
    joblib.dump(model, path)
    assert main(["-q", "evaluate", str(path), str(features), "--out", str(tmp_path / "e")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "0.0.1" in err and str(path) in err


@pytest.mark.parametrize("device", ["foo", "cuda"])
def test_train_on_an_unusable_device(features, tmp_path, capsys, device):
    # item 9: one line and exit status 1, as extract and predict do
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["-q", "train", str(features), "--system", "audio", "--out",
                 str(tmp_path / "m.joblib"), "--epochs", "1", "--device", device]) == 1
    _one_error_line(capsys, "device", repr(device))


def test_malformed_model_dict(features, tmp_path, capsys):
    import joblib

    path = tmp_path / "bad.joblib"
    joblib.dump({"format": 1, "system": "audio"}, path)
    assert main(["-q", "evaluate", str(path), str(features), "--out", str(tmp_path / "o")]) == 1
    _one_error_line(capsys, str(path), "pipeline", "sk-avsc train")


def test_help_says_model_files_run_code(capsys):
    for cmd in ("evaluate", "predict"):
        assert main([cmd, "--help"]) == 0
        assert "only load model files you trust" in " ".join(capsys.readouterr().out.split())


def test_weights_file_is_refused_with_both_names(tmp_path, capsys, small):
    # item 4: one .h5 cannot serve the audio and the image network
    h5 = tmp_path / "openl3_audio_mel256_env.h5"
    h5.write_bytes(b"")
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f"), "--weights",
                 str(h5)]) == 1
    _one_error_line(capsys, str(h5), *WEIGHT_NAMES, "--weights")
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / WEIGHT_NAMES[0]).write_bytes(b"")
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f"), "--weights",
                 str(folder)]) == 1
    _one_error_line(capsys, str(folder), "lacks openl3_image_mel256_env.h5", "--weights")
    assert not (tmp_path / "f").exists()  # refused before the store is made


def test_weights_folder_gives_each_network_its_file(tmp_path):
    from sk_avsc.systems import make_embedder

    (tmp_path / WEIGHT_NAMES[0]).write_bytes(b"")
    (tmp_path / (WEIGHT_NAMES[1] + ".gz")).write_bytes(b"")
    emb = make_embedder(weights=tmp_path)
    assert Path(emb.audio.weights) == tmp_path / WEIGHT_NAMES[0]
    assert Path(emb.video.weights) == tmp_path / (WEIGHT_NAMES[1] + ".gz")


def test_offline_weights_error_names_both_files(monkeypatch, tmp_path, capsys, small):
    from sk_avsc.exceptions import WeightsError
    from sk_avsc.openl3 import _download

    def offline(*args, **kwargs):
        raise WeightsError("download failed: no network.")

    monkeypatch.setattr(_download, "download_weights", offline)
    monkeypatch.setattr(_download, "_openl3_package_dir", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SK_AVSC_WEIGHTS_DIR", raising=False)
    assert main(["-q", "extract", small, "--out", str(tmp_path / "f")]) == 1
    _one_error_line(capsys, *WEIGHT_NAMES, "--weights FOLDER", "SK_AVSC_WEIGHTS_DIR")
    assert "weights=" not in capsys.readouterr().err


def test_reproduce_takes_split(monkeypatch, tmp_path, capsys):
    # item 10: the hint "pass --split none" holds for reproduce too
    from sk_avsc import cli, experiment

    seen = []
    monkeypatch.setattr(experiment, "extract", lambda *a, **k: None)
    monkeypatch.setattr(experiment, "train", lambda *a, **k: seen.append(k["split"]))
    monkeypatch.setattr(experiment, "evaluate", lambda *a, **k: {})
    import sk_avsc.report

    monkeypatch.setattr(sk_avsc.report, "write_comparison", lambda *a, **k: "")
    assert main(["-q", "reproduce", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--split", "none"]) == 0
    assert seen == ["none"] * len(SYSTEMS)
    assert "--split" in cli._parser()._subparsers._group_actions[0].choices[
        "reproduce"].format_help()


def _modes(folder):
    return {p.relative_to(folder).as_posix(): p.stat().st_mode & 0o777
            for p in Path(folder).rglob("*") if p.is_file()}


@pytest.mark.slow
def test_written_files_honour_the_umask(data, tmp_path):
    # item 10: every file a command writes is 0o666 & ~umask (here 0o640), as open() gives
    import os

    from sk_avsc.metrics import scene_scores
    from sk_avsc.report import write_comparison

    old = os.umask(0o027)
    try:
        feats, model = tmp_path / "f", tmp_path / "m" / "audio.joblib"
        assert main(["-q", "extract", data, "--out", str(feats), "--weights", "random",
                     "--hop-size", "0.5"]) == 0
        assert main(["-q", "train", str(feats), "--system", "audio", "--out", str(model),
                     "--epochs", "1", "--split", "none"]) == 0
        assert main(["-q", "evaluate", str(model), str(feats), "--out",
                     str(tmp_path / "e")]) == 0
        assert main(["-q", "predict", str(model), data, "--out",
                     str(tmp_path / "p" / "output.csv")]) == 0
        s = scene_scores(["bus", "park"], [[0.8, 0.2], [0.3, 0.7]])
        write_comparison(tmp_path / "r", {"audio": s, "video": s})  # what reproduce adds
    finally:
        os.umask(old)
    modes = _modes(tmp_path)
    for name in ("f/store.json", "f/fold1_train.npz", "f/fold1_train.tsv", "m/audio.joblib",
                 "e/scores.json", "e/scores.md", "e/class_wise_accuracy.png",
                 "p/output.csv", "r/results.md", "r/results.json", "r/fig2.png"):
        assert modes.pop(name) == 0o640, name
    assert set(modes.values()) <= {0o640}, modes  # the cache files and the lock too


def test_stale_temporaries_of_outputs_are_removed(models, features, tmp_path):
    import os
    import time

    out = tmp_path / "e"
    out.mkdir()
    stale, other = out / ".scores.json.abc.tmp", tmp_path / ".notes.txt.abc.tmp"
    for p in (stale, other, tmp_path / ".m.joblib.abc.tmp"):
        p.write_bytes(b"half")
        os.utime(p, (time.time() - 7200,) * 2)
    assert main(["-q", "evaluate", str(models["audio"]), str(features), "--out", str(out)]) == 0
    assert main(["-q", "train", str(features), "--system", "audio", "--out",
                 str(tmp_path / "m.joblib"), "--epochs", "1", "--split", "none"]) == 0
    assert not stale.exists() and not (tmp_path / ".m.joblib.abc.tmp").exists()
    assert other.exists()  # not a temporary of a file this command writes


# --- the comparison systems (issue 12) --------------------------------------------------------

@pytest.fixture(scope="module")
def reproduced(data, tmp_path_factory):
    """reproduce --all on the tiny dataset: 1-s clips, one epoch, 30-frame log-mel crops."""
    out = tmp_path_factory.mktemp("all")
    rc = main(["-q", "reproduce", data, "--out", str(out), "--all", "--quick", "--weights",
               "random", "--epochs", "1", "--duration", "1", "--crop-length", "30",
               "--split", "none"])
    assert rc == 0
    return out


def _markdown_rows(text):
    return {cells[0]: cells[1:] for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| system"))}


@pytest.mark.slow
def test_reproduce_all_prints_eight_systems_beside_the_paper(reproduced):
    from sk_avsc.systems import COMPARISON_SYSTEMS

    md = (reproduced / "results.md").read_text()
    overall, _, rest = md.partition("\n\n")
    rows = _markdown_rows(overall)
    assert list(rows) == list(SYSTEMS + COMPARISON_SYSTEMS)
    paper = {"mcdonnell": "82.8", "resnet50": "77.9", "ensemble": "85.8", "proposed": "84.8"}
    for system, figure in paper.items():
        assert rows[system][1] == figure, rows[system]
    params = _markdown_rows(rest.partition("| system | parameters (M)")[2])
    assert params["proposed"][1] == "13.4" and params["mcdonnell"][1] == "3.0"
    assert params["resnet50"][1] == "23.0" and params["ensemble"][1] == ""
    # counted from the modules (2 classes here): McDonnell's code has 3.25 M, ResNet50 23.5 M
    assert abs(float(params["mcdonnell"][0]) / 3.25 - 1) < 0.03
    assert abs(float(params["resnet50"][0]) / 23.0 - 1) < 0.03
    assert float(params["ensemble"][0]) == pytest.approx(
        float(params["mcdonnell"][0]) + float(params["resnet50"][0]), abs=0.011)


@pytest.mark.slow
@pytest.mark.parametrize("system", ["mcdonnell", "resnet50", "ensemble"])
def test_comparison_systems_train_and_evaluate(reproduced, system):
    import joblib

    model = joblib.load(reproduced / "models" / f"{system}.joblib")
    assert model["system"] == system and model["classes"] == list(TAU_CLASSES[:2])
    kinds = {"mcdonnell": ["logmel"], "resnet50": ["frames"],
             "ensemble": ["logmel", "frames"]}[system]
    assert sorted(model["features"]) == sorted(kinds)
    scores = json.loads((reproduced / "eval" / system / "scores.json").read_text())
    assert scores["n_clips"] == 2 and 0 <= scores["accuracy"] <= 1
    assert scores["segment_accuracy"] is None  # clip probabilities


@pytest.mark.slow
def test_comparison_features_are_stored_per_kind_and_resume(reproduced, data):
    from sk_avsc.store import FeatureStore

    features = reproduced / "features"
    logmel, index = FeatureStore.open(features / "logmel").read_subset("fold1_train")
    frames, index2 = FeatureStore.open(features / "frames").read_subset("fold1_train")
    assert logmel.shape == (4, 6, 128, 39) and logmel.dtype == np.float32
    assert frames.shape == (4, 1, 4, 224, 224, 3) and frames.dtype == np.uint8
    assert index["filename"].tolist() == index2["filename"].tolist()
    cache = sorted((features / "logmel" / "cache").rglob("*.npz"))
    assert len(cache) == 6  # one per clip of both subsets
    stamps = [p.stat().st_mtime_ns for p in cache]
    assert main(["-q", "extract", data, "--out", str(features), "--kind", "logmel",
                 "--duration", "1"]) == 0
    assert [p.stat().st_mtime_ns for p in cache] == stamps  # read back, not recomputed
    again, _ = FeatureStore.open(features / "logmel").read_subset("fold1_train")
    np.testing.assert_array_equal(again, logmel)


def test_comparison_system_needs_its_features(features, tmp_path, capsys):
    assert main(["-q", "train", str(features), "--system", "mcdonnell", "--out",
                 str(tmp_path / "m.joblib")]) == 1
    _one_error_line(capsys, "logmel", "extract", "--kind logmel")


@pytest.mark.slow
def test_predict_refuses_a_comparison_model(reproduced, data, tmp_path, capsys):
    assert main(["-q", "predict", str(reproduced / "models" / "mcdonnell.joblib"), data,
                 "--out", str(tmp_path / "o.csv")]) == 1
    _one_error_line(capsys, "mcdonnell", "evaluate")


def test_extract_records_the_papers_frontend_and_evaluate_refuses_another(models, data, features,
                                                                          tmp_path, capsys):
    # the default features are openl3 0.3.1's (the paper's); 0.4.2's differ and must not
    # be scored by a model trained on the paper's
    import json

    assert json.loads((features / "store.json").read_text())["frontend"] == "kapre-0.1.4"
    other = tmp_path / "kapre"
    assert main(["-q", "extract", data, "--out", str(other), "--weights", "random",
                 "--hop-size", "0.5", "--frontend", "kapre", "--subset", "fold1_evaluate"]) == 0
    capsys.readouterr()
    assert main(["-q", "evaluate", str(models["audio"]), str(other), "--out",
                 str(tmp_path / "e")]) == 1
    _one_error_line(capsys, "frontend", "kapre-0.1.4", "'kapre'")


def test_extract_and_reproduce_pass_the_speed_options(monkeypatch, tmp_path):
    from sk_avsc import cli, experiment

    seen = []
    monkeypatch.setattr(experiment, "extract", lambda *a, **k: seen.append(k))
    monkeypatch.setattr(cli, "extract", experiment.extract)
    monkeypatch.setattr(experiment, "train", lambda *a, **k: None)
    monkeypatch.setattr(experiment, "evaluate", lambda *a, **k: {})
    import sk_avsc.report

    monkeypatch.setattr(sk_avsc.report, "write_comparison", lambda *a, **k: "")
    options = ["--precision", "bfloat16", "--compile", "--decode-workers", "3",
               "--embed-batch-size", "256"]
    assert main(["-q", "extract", str(tmp_path), "--out", str(tmp_path / "f"), *options]) == 0
    assert main(["-q", "reproduce", str(tmp_path), "--out", str(tmp_path / "o"), *options,
                 "--batch-size", "16"]) == 0
    keys = ("precision", "compile", "decode_workers", "batch_size")
    speed = [{k: s[k] for k in keys} for s in seen]
    # reproduce's --batch-size is the heads'; the embedders get --embed-batch-size
    assert speed == [{"precision": "bfloat16", "compile": True, "decode_workers": 3,
                      "batch_size": 256}] * 2
    assert main(["-q", "extract", str(tmp_path), "--out", str(tmp_path / "f")]) == 0
    assert {k: seen[-1][k] for k in keys} == {
        "precision": "float32", "compile": False, "decode_workers": 1, "batch_size": 32}


def test_extract_refuses_tf32_on_cpu_and_another_precision_in_a_store(data, tmp_path, capsys):
    from sk_avsc.store import FeatureStore

    out = tmp_path / "f"
    args = ["-q", "extract", data, "--out", str(out), "--weights", "random", "--hop-size", "0.5"]
    assert main([*args, "--precision", "tf32"]) == 1
    _one_error_line(capsys, "precision='tf32'", "CUDA", "device='cpu'")
    assert not (out / "store.json").exists()  # refused before the store is written
    # a store written before precision was a setting holds float32 features
    FeatureStore.create(out, {"weights": "random", "hop_size": 0.5, "duration": None,
                              "frontend": "kapre-0.1.4"})
    assert main([*args, "--precision", "bfloat16"]) == 1
    _one_error_line(capsys, str(out), "precision 'float32' there, 'bfloat16' here")


def test_extract_device_precision_and_compile_reach_both_networks(small, tmp_path, monkeypatch):
    import torch

    from sk_avsc import openl3

    seen = []

    def spy(real):
        def load(*args, **kwargs):
            seen.append((real.__name__, str(kwargs["device"]), kwargs["dtype"], kwargs["compile"]))
            return real(*args, **{**kwargs, "compile": False})  # no C++ compilation here
        return load

    for name in ("load_audio_model", "load_image_model"):
        monkeypatch.setattr(openl3, name, spy(getattr(openl3, name)))
    out = tmp_path / "f"
    assert main(["-q", "extract", small, "--out", str(out), "--weights", "random",
                 "--hop-size", "0.5", "--subset", "fold1_evaluate", "--device", "cpu:0",
                 "--precision", "bfloat16", "--compile", "--decode-workers", "2"]) == 0
    assert sorted(set(seen)) == [("load_audio_model", "cpu:0", torch.bfloat16, True),
                                 ("load_image_model", "cpu:0", torch.bfloat16, True)]
    assert json.loads((out / "store.json").read_text())["precision"] == "bfloat16"
