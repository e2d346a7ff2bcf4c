"""Reports of scene scores: Markdown tables, the confusion matrix as TSV, Fig. 2.

Reporting is kept apart from the metric functions of :mod:`sk_avsc.metrics`, as
scikit-learn keeps its plotting apart from ``sklearn.metrics``: the functions here
take the dicts :func:`~sk_avsc.metrics.scene_scores` returns. :func:`write_evaluation`
and :func:`write_comparison` write the files of ``sk-avsc evaluate`` and
``sk-avsc reproduce``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._io import write_text
from .exceptions import ParameterError

__all__ = [
    "scores_to_markdown",
    "confusion_matrix_to_tsv",
    "plot_class_wise_accuracy",
    "write_evaluation",
    "write_comparison",
    "parameters_to_markdown",
]


def _class_wise_accuracy(scores: dict, labels) -> np.ndarray:
    """A system's class-wise accuracy in the order of ``labels`` (NaN where missing)."""
    return np.array([scores["class_wise"][c]["accuracy"] for c in labels], dtype=float)


def scores_to_markdown(scores: Mapping[str, dict], *, reference: Mapping[str, float] | None = None):
    """A Markdown report of several systems' :func:`~sk_avsc.metrics.scene_scores`.

    Parameters
    ----------
    scores : mapping of str to dict
        System name to its :func:`~sk_avsc.metrics.scene_scores` result, in display
        order.
    reference : mapping of str to float, default=None
        Accuracy in percent to show beside each system (for example the
        paper's Table 2); systems not in it get an empty cell.

    Returns
    -------
    markdown : str
        An overall table (clip accuracy, log loss, segment scores) and a
        class-wise accuracy table.

    Examples
    --------
    >>> from sk_avsc.metrics import scene_scores
    >>> from sk_avsc.report import scores_to_markdown
    >>> s = scene_scores(["bus", "park"], [[0.8, 0.2], [0.3, 0.7]])
    >>> print(scores_to_markdown({"audio": s}, reference={"audio": 75.8}).splitlines()[2])
    | audio | 100.0 | 75.8 | 0.290 | 0.290 | - | - |
    """
    if not scores:
        raise ParameterError("scores is empty: pass {system name: scene_scores(...)}.")

    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}"

    def num(x):
        return "-" if x is None else f"{x:.3f}"

    lines = [
        "| system | accuracy (%) | paper: TAU 2021, official weights (%) | log loss "
        "| log loss (micro) | 1-s accuracy (%) | 1-s log loss |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in scores.items():
        ref = (reference or {}).get(name)
        lines.append(
            f"| {name} | {pct(s['accuracy'])} | {'' if ref is None else f'{ref:.1f}'} "
            f"| {num(s['log_loss'])} | {num(s['log_loss_micro'])} "
            f"| {pct(s['segment_accuracy'])} | {num(s['segment_log_loss'])} |"
        )
    classes = list(next(iter(scores.values()))["class_wise"])
    lines += ["", "| class | " + " | ".join(scores) + " |", "|---|" + "---:|" * len(scores)]
    for c in classes:
        cells = [pct(s["class_wise"].get(c, {}).get("accuracy")) for s in scores.values()]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_class_wise_accuracy(
    accuracies: Mapping[str, Sequence[float]],
    labels: Sequence[str],
    *,
    path: str | os.PathLike | None = None,
    title: str | None = "Class-wise accuracy",
    dpi: int = 150,
):
    """Grouped bar chart of class-wise accuracy per system, like the paper's Fig. 2.

    Uses matplotlib's Agg canvas directly, so it works headless and leaves
    the pyplot state and backend alone.

    Parameters
    ----------
    accuracies : mapping of str to array-like of shape (n_classes,)
        System name (for example ``"audio"``, ``"video"``, ``"proposed"``) to
        its class-wise accuracy in [0, 1] (:func:`~sk_avsc.metrics.class_wise_accuracy`), in
        the order of ``labels``; NaN draws no bar.
    labels : sequence of str
        Class names, one group of bars each.
    path : str or path-like, default=None
        Where to save the figure as PNG; None only returns it.
    title : str or None, default="Class-wise accuracy"
        Figure title.
    dpi : int, default=150
        Resolution of the saved PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> from sk_avsc.report import plot_class_wise_accuracy
    >>> fig = plot_class_wise_accuracy(
    ...     {"audio": [0.7, 0.9], "video": [0.8, 0.5], "proposed": [0.9, 0.95]}, ["bus", "park"])
    >>> len(fig.axes[0].patches)
    6
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [str(c) for c in labels]
    if not accuracies:
        raise ParameterError("accuracies is empty: pass {system name: class-wise accuracy}.")
    values = {}
    for name, acc in accuracies.items():
        acc = np.asarray(acc, dtype=float)
        if acc.shape != (len(labels),):
            raise ParameterError(
                f"accuracies[{name!r}] has shape {acc.shape}; expected ({len(labels)},), one "
                "value per class in labels."
            )
        if np.nanmax(np.abs(acc), initial=0) > 1.0 + 1e-9:
            raise ParameterError(
                f"accuracies[{name!r}] must be fractions in [0, 1], got a value of "
                f"{np.nanmax(acc):g}."
            )
        values[name] = acc
    n_sys = len(values)
    width = 0.8 / n_sys
    x = np.arange(len(labels))
    fig = Figure(figsize=(max(6.0, 0.9 * len(labels) + 2), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (name, acc) in enumerate(values.items()):
        ax.bar(x + (i - (n_sys - 1) / 2) * width, 100 * acc, width, label=name)
    ax.set_xticks(x, [c.replace("_", " ") for c in labels], rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    # legend above the axes: bars reach 100 % and a legend inside would hide them
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=n_sys, frameon=False)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi, format="png")
    return fig


def confusion_matrix_to_tsv(scores: dict) -> str:
    """The confusion matrix of a :func:`~sk_avsc.metrics.scene_scores` result as TSV.

    Parameters
    ----------
    scores : dict
        A :func:`~sk_avsc.metrics.scene_scores` result.

    Returns
    -------
    tsv : str
        A header ``true\\predicted`` then the labels, and one row per true label.

    Examples
    --------
    >>> from sk_avsc.metrics import scene_scores
    >>> from sk_avsc.report import confusion_matrix_to_tsv
    >>> s = scene_scores(["bus", "park"], [[0.8, 0.2], [0.6, 0.4]])
    >>> print(confusion_matrix_to_tsv(s).replace("\\t", " "), end="")
    true\\predicted bus park
    bus 1 0
    park 1 0
    """
    labels = [str(lab) for lab in scores["labels"]]
    lines = ["true\\predicted\t" + "\t".join(labels)]
    lines += [f"{lab}\t" + "\t".join(map(str, row))
              for lab, row in zip(labels, scores["confusion_matrix"])]
    return "\n".join(lines) + "\n"


def _warnings_markdown(all_scores) -> str:
    """The ``warnings`` of scores (a train/test overlap, say) as Markdown, each once."""
    said = []
    for scores in all_scores:
        said += [w for w in scores.get("warnings", ()) if w not in said]
    return "".join(f"\n**Warning:** {w}\n" for w in said)


def write_evaluation(folder: str | os.PathLike, scores: dict, *, name: str,
                     reference: Mapping[str, float] | None = None) -> None:
    """Write one system's report into ``folder`` (created if needed), atomically.

    Files: ``scores.json`` (``scores``), ``scores.md`` (:func:`scores_to_markdown`, then
    each of ``scores["warnings"]``, if any),
    ``confusion_matrix.tsv`` (:func:`confusion_matrix_to_tsv`) and
    ``class_wise_accuracy.png`` (:func:`plot_class_wise_accuracy`).

    Parameters
    ----------
    folder : str or path-like
        Output folder.
    scores : dict
        The system's :func:`~sk_avsc.metrics.scene_scores` result.
    name : str
        The system's name, for the tables and the figure's title.
    reference : mapping of str to float, default=None
        Accuracies (%) to show beside it, as in :func:`scores_to_markdown`.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_avsc.metrics import scene_scores
    >>> from sk_avsc.report import write_evaluation
    >>> scores = scene_scores(["bus", "park"], [[0.8, 0.2], [0.3, 0.7]])
    >>> tmp = tempfile.TemporaryDirectory()
    >>> write_evaluation(tmp.name, scores, name="audio", reference={"audio": 75.8})
    >>> sorted(os.listdir(tmp.name))
    ['class_wise_accuracy.png', 'confusion_matrix.tsv', 'scores.json', 'scores.md']
    >>> tmp.cleanup()
    """
    folder = Path(folder)
    write_text(folder / "scores.json", json.dumps(scores, indent=2))
    write_text(folder / "scores.md", scores_to_markdown({name: scores}, reference=reference)
               + _warnings_markdown([scores]))
    write_text(folder / "confusion_matrix.tsv", confusion_matrix_to_tsv(scores))
    labels = scores["labels"]
    plot_class_wise_accuracy({name: _class_wise_accuracy(scores, labels)}, labels,
                             path=folder / "class_wise_accuracy.png",
                             title=f"Class-wise accuracy: {name}")


def parameters_to_markdown(counts: Mapping[str, int], *,
                           reference: Mapping[str, float] | None = None) -> str:
    """A Markdown table of systems' parameter counts, in millions, beside the paper's.

    Parameters
    ----------
    counts : mapping of str to int
        System name to its trainable parameters
        (:func:`sk_avsc.systems.count_system_parameters`), in display order.
    reference : mapping of str to float, default=None
        The paper's counts (:data:`sk_avsc.systems.PAPER_PARAMETERS`); systems not in
        it get an empty cell.

    Returns
    -------
    markdown : str

    Examples
    --------
    >>> from sk_avsc.report import parameters_to_markdown
    >>> print(parameters_to_markdown({"mcdonnell": 3247416}, reference={"mcdonnell": 3e6}))
    | system | parameters (M) | paper (M) |
    |---|---:|---:|
    | mcdonnell | 3.25 | 3.0 |
    <BLANKLINE>
    """
    lines = ["| system | parameters (M) | paper (M) |", "|---|---:|---:|"]
    for name, n in counts.items():
        ref = (reference or {}).get(name)
        lines.append(f"| {name} | {n / 1e6:.2f} | {'' if ref is None else f'{ref / 1e6:.1f}'} |")
    return "\n".join(lines) + "\n"


def write_comparison(folder: str | os.PathLike, results: Mapping[str, dict], *,
                     reference: Mapping[str, float] | None = None,
                     figure_systems: Sequence[str] | None = None,
                     parameters: Mapping[str, int] | None = None,
                     parameters_reference: Mapping[str, float] | None = None) -> str:
    """Write several systems' report into ``folder`` (created if needed), atomically.

    Files: ``results.md`` (:func:`scores_to_markdown`, then the systems' ``warnings``),
    ``results.json`` (``results``)
    and ``fig2.png`` (:func:`plot_class_wise_accuracy` of ``figure_systems``, like the
    paper's Fig. 2).

    Parameters
    ----------
    folder : str or path-like
        Output folder.
    results : mapping of str to dict
        System name to its :func:`~sk_avsc.metrics.scene_scores` result, in display order.
    reference : mapping of str to float, default=None
        Accuracies (%) to show beside each system (the paper's Table 2).
    figure_systems : sequence of str, default=None
        Systems drawn in ``fig2.png``; None draws all of ``results``.
    parameters : mapping of str to int, default=None
        Parameter counts to add as a table (:func:`parameters_to_markdown`), with
        ``parameters_reference`` (the paper's) beside them.
    parameters_reference : mapping of str to float, default=None
        The paper's parameter counts.

    Returns
    -------
    markdown : str
        The content of ``results.md``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_avsc.metrics import scene_scores
    >>> from sk_avsc.report import write_comparison
    >>> results = {"audio": scene_scores(["bus", "park"], [[0.8, 0.2], [0.6, 0.4]]),
    ...            "proposed": scene_scores(["bus", "park"], [[0.8, 0.2], [0.3, 0.7]])}
    >>> tmp = tempfile.TemporaryDirectory()
    >>> md = write_comparison(tmp.name, results, reference={"audio": 75.8, "proposed": 84.8})
    >>> sorted(os.listdir(tmp.name))
    ['fig2.png', 'results.json', 'results.md']
    >>> print(md.splitlines()[3])
    | proposed | 100.0 | 84.8 | 0.290 | 0.290 | - | - |
    >>> tmp.cleanup()
    """
    folder = Path(folder)
    md = scores_to_markdown(results, reference=reference)
    if parameters:
        md += "\n" + parameters_to_markdown(parameters, reference=parameters_reference)
    md += _warnings_markdown(results.values())
    write_text(folder / "results.md", md)
    write_text(folder / "results.json", json.dumps(results, indent=2))
    systems = list(results) if figure_systems is None else list(figure_systems)
    labels = next(iter(results.values()))["labels"]
    plot_class_wise_accuracy({s: _class_wise_accuracy(results[s], labels) for s in systems},
                             labels, path=folder / "fig2.png",
                             title="Class-wise accuracy (cf. the paper's Fig. 2)")
    return md
