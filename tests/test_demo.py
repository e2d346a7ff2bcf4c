"""sk-avsc demo / run_demo end to end in its tiny setting: results kept, no overwrite."""

import json
import re

import numpy as np
import pytest

from sk_avsc import demo
from sk_avsc.cli import main
from sk_avsc.exceptions import ParameterError
from sk_avsc.systems import PAPER_ACCURACY, SYSTEMS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def no_official_weights(monkeypatch):
    monkeypatch.setattr(demo, "official_weights_available", lambda: False)


def _rows(table):
    return {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in table.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip() in SYSTEMS}


@pytest.mark.slow
def test_demo_keeps_results_and_refuses_to_overwrite(no_official_weights, tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--size", "tiny", "--seeds", "2", "--random-state", "3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    # where the results go, first and last
    assert str(out) in lines[0] and str(out) in lines[-1]
    assert lines[1].startswith("OpenL3 weights: RANDOM")
    # honest columns: this run's (synthetic, random weights) apart from the paper's
    header = next(line for line in lines if line.startswith("| system |"))
    assert "this run (synthetic, random weights): accuracy (%)" in header
    assert "paper (real data, official weights): accuracy (%)" in header
    assert "log loss (micro)" in header and "- log loss (micro):" in printed
    rows = _rows(printed.split("Class-wise")[0])
    assert list(rows) == list(SYSTEMS)
    # the table is the mean over the seeds of what evaluate wrote for each seed
    for system, cells in rows.items():
        acc = [json.loads((out / "seeds" / str(seed) / "eval" / system / "scores.json")
                          .read_text())["accuracy"] for seed in (3, 4)]
        mean, sd = (float(v) for v in re.fullmatch(r"(\S+) ± (\S+)", cells[0]).groups())
        assert mean == pytest.approx(100 * np.mean(acc), abs=0.051)
        assert sd == pytest.approx(100 * np.std(acc, ddof=1), abs=0.051)
        assert float(cells[3]) == PAPER_ACCURACY[system]
        assert (out / "seeds" / "3" / "models" / f"{system}.joblib").is_file()
    # the results are kept: report, figure, data, features for sk-avsc train
    assert (out / "results.md").read_text() in printed
    assert (out / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "data" / "meta.csv").is_file()
    assert (out / "features" / "store.json").is_file()
    summary = json.loads((out / "results.json").read_text())
    assert summary["seeds"] == [3, 4] and summary["weights"] == "random"

    # a second run refuses to overwrite them, in one line that names --force
    before = (out / "results.md").read_text()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0] and str(out) in err[0]
    assert (out / "results.md").read_text() == before
    # --force replaces the demo's files, keeps other files, and repeats the run exactly
    (out / "notes.txt").write_text("mine")
    (out / "fig2.png").unlink()
    assert main([*argv, "--force"]) == 0
    assert _rows(capsys.readouterr().out.split("Class-wise")[0]) == rows
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "fig2.png").is_file()


def test_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(ParameterError, match="not empty.*force=True"):
        demo.run_demo(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]
    with pytest.raises(ParameterError, match="is a file"):
        demo.run_demo(tmp_path / "thesis.tex", force=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_seeds": 0}, "n_seeds"),
    ({"size": "huge"}, "size"),
    ({"random_state": -1}, "random_state"),
    ({"device": "tpu"}, "device"),
    ({"force": "yes"}, "force"),
])
def test_bad_parameters_write_nothing(tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        demo.run_demo(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_help_shows_defaults(capsys):
    assert main(["demo", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {demo.DEFAULT_OUT})" in text
    assert "--force" in text and "(default: 3)" in text and "(default: cpu)" in text
    assert "--size" not in text  # the test-only setting stays hidden


def test_demo_looks_for_weights_without_downloading(monkeypatch, tmp_path):
    from sk_avsc.openl3 import _download

    def no_download(*args, **kwargs):
        raise AssertionError("the demo must not download")

    monkeypatch.setattr(_download, "download_weights", no_download)
    monkeypatch.setattr(_download, "_openl3_package_dir", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SK_AVSC_WEIGHTS_DIR", str(tmp_path / "w"))
    assert demo.official_weights_available() is False
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "openl3_audio_mel256_env.h5").write_bytes(b"")
    assert demo.official_weights_available() is False  # the image network is missing
    (tmp_path / "w" / "openl3_image_mel256_env.h5").write_bytes(b"")
    assert demo.official_weights_available() is True
