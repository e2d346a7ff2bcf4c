"""Reports of scene scores: Markdown tables, the confusion matrix as TSV, Fig. 2, report files."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from sk_avsc.exceptions import ParameterError
from sk_avsc.metrics import scene_scores
from sk_avsc.report import (
    confusion_matrix_to_tsv,
    plot_class_wise_accuracy,
    scores_to_markdown,
    write_comparison,
    write_evaluation,
)

LABELS = np.array(["bus", "park", "tram"])


@pytest.fixture
def window_proba(rng):
    return rng.dirichlet(np.ones(3), size=(8, 16))


def test_markdown_report_lists_systems_and_classes(window_proba):
    y = LABELS[np.arange(8) % 3]
    s = scene_scores(y, window_proba, labels=LABELS)
    md = scores_to_markdown({"audio": s, "proposed": s}, reference={"proposed": 84.8})
    assert f"| audio | {100 * s['accuracy']:.1f} |  |" in md
    assert f"| proposed | {100 * s['accuracy']:.1f} | 84.8 |" in md
    assert "| class | audio | proposed |" in md
    assert sum(line.startswith("| tram |") for line in md.splitlines()) == 1


def test_fig2_png_is_written(tmp_path):
    acc = {"audio": [0.7, 0.8, 0.6], "video": [0.5, 0.9, np.nan], "proposed": [0.9, 1.0, 0.8]}
    fig = plot_class_wise_accuracy(acc, LABELS, path=tmp_path / "fig2.png", title="Fig. 2")
    data = (tmp_path / "fig2.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 9
    assert heights[:3] == pytest.approx([70, 80, 60])  # first system, in %
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bus", "park", "tram"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(acc)


def test_confusion_matrix_tsv_reads_back(window_proba):
    y = LABELS[np.arange(8) % 3]
    s = scene_scores(y, window_proba, labels=LABELS)
    cm = pd.read_csv(io.StringIO(confusion_matrix_to_tsv(s)), sep="\t", index_col=0)
    decided = LABELS[window_proba.sum(axis=1).argmax(axis=1)]
    assert list(cm.index) == list(LABELS) and list(cm.columns) == list(LABELS)
    assert np.array_equal(cm.to_numpy(), sk_confusion_matrix(y, decided, labels=LABELS))


def test_write_evaluation_and_comparison(window_proba, tmp_path):
    y = LABELS[np.arange(8) % 3]
    s = scene_scores(y, window_proba, labels=LABELS)
    write_evaluation(tmp_path / "eval", s, name="audio", reference={"audio": 75.8})
    assert json.loads((tmp_path / "eval" / "scores.json").read_text()) == s
    assert "| audio |" in (tmp_path / "eval" / "scores.md").read_text()
    assert (tmp_path / "eval" / "confusion_matrix.tsv").read_text() == confusion_matrix_to_tsv(s)
    assert (tmp_path / "eval" / "class_wise_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    results = {"audio": s, "video": s, "proposed": s}
    md = write_comparison(tmp_path / "cmp", results, reference={"proposed": 84.8},
                          figure_systems=("audio", "proposed"))
    assert (tmp_path / "cmp" / "results.md").read_text() == md
    assert list(json.loads((tmp_path / "cmp" / "results.json").read_text())) == list(results)
    assert (tmp_path / "cmp" / "fig2.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: plot_class_wise_accuracy({"a": [50, 60]}, ["x", "y"]), r"fractions in \[0, 1\]"),
        (lambda: plot_class_wise_accuracy({"a": [0.5]}, ["x", "y"]), "one value per class"),
        (lambda: scores_to_markdown({}), "empty"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
