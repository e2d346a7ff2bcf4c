"""Scene classification metrics: clip and 1-s segment accuracy, log loss.

The paper decides a clip by summing the class probabilities of its 1-s
windows and taking the argmax; DCASE 2021 Task 1B scores 1-s segments and
ranks systems by multi-class log loss. The functions here take window
probabilities of shape ``(n_clips, n_windows, n_classes)`` (as a window-level
classifier produces them) or clip probabilities ``(n_clips, n_classes)``, and
true labels per clip. Columns of the probabilities correspond to ``labels``
(a classifier's ``classes_``). Clips are decided by
:func:`sk_avsc.aggregation.aggregate_windows`, windows are placed in time by
:func:`sk_avsc.openl3.framing.window_centres`; tables and figures of these scores
are in :mod:`sk_avsc.report`.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as _skm

from ._validation import check_choice, check_hop_size, check_real
from .aggregation import aggregate_windows
from .aggregation import check_window_proba as _check_proba
from .aggregation import normalise_rows as _normalise
from .exceptions import ParameterError
from .openl3.framing import SAMPLE_RATE, WINDOW_SAMPLES, window_centres

__all__ = [
    "segment_proba",
    "clip_accuracy",
    "segment_accuracy",
    "multiclass_log_loss",
    "class_wise_log_loss",
    "class_wise_accuracy",
    "confusion_matrix",
    "scene_scores",
]


def _clip_proba(proba, name="proba") -> np.ndarray:
    p = _check_proba(proba, name, ndims=(2, 3))
    return aggregate_windows(p) if p.ndim == 3 else _normalise(p)


def segment_proba(
    window_proba,
    *,
    hop_size: float = 0.1,
    center: bool = True,
    segment_duration: float = 1.0,
    clip_duration: float | None = None,
) -> np.ndarray:
    """Probabilities of fixed-length segments from window probabilities.

    A segment's probabilities are the normalised sum of those of the windows
    whose centre lies in it, the paper's clip rule applied to each 1-s
    segment as DCASE 2021 Task 1B scores them.

    Parameters
    ----------
    window_proba : array-like of shape (n_clips, n_windows, n_classes)
        Window probabilities.
    hop_size : float, default=0.1
        Hop between windows in seconds.
    center : bool, default=True
        Whether the windows were centred (OpenL3's default): window ``k`` is
        centred at ``k * hop_size`` if True, else at ``k * hop_size + 0.5``
        (1-s windows).
    segment_duration : float, default=1.0
        Segment length in seconds.
    clip_duration : float, default=None
        Clip length in seconds; None infers it from the number of windows as
        OpenL3 makes them (it pads the end up to a whole hop, and with
        centring pads half a window at the start only):
        ``(n_windows - 1) * hop_size`` plus 0.5 s (centred) or 1 s (not).
        Pass it when clip lengths are not a multiple of ``hop_size``.

    Returns
    -------
    proba : ndarray of shape (n_clips, n_segments, n_classes)
        ``n_segments = floor(clip_duration / segment_duration)``; windows
        centred past the last full segment are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.metrics import segment_proba
    >>> w = np.tile([0.9, 0.1], (1, 16, 1))  # OpenL3 on a 2-s clip: hop 0.1, centred
    >>> segment_proba(w).shape
    (1, 2, 2)
    """
    p = _check_proba(window_proba, "window_proba", ndims=(3,))
    hop_size = check_hop_size(hop_size, owner="segment_proba")
    segment_duration = check_real("segment_duration", segment_duration, low=0, low_open=True,
                                  owner="segment_proba")
    centres = window_centres(p.shape[1], hop_size, center)
    if clip_duration is None:  # the last window ends half a window after its centre
        clip_duration = centres[-1] + WINDOW_SAMPLES / SAMPLE_RATE / 2
    n_segments = int(math.floor(clip_duration / segment_duration + 1e-6))
    if n_segments < 1:
        raise ParameterError(
            f"clips of {clip_duration:g} s hold no full segment of {segment_duration:g} s."
        )
    seg = np.floor(centres / segment_duration + 1e-6).astype(int)
    out = np.zeros((p.shape[0], n_segments, p.shape[2]))
    for s in range(n_segments):
        idx = seg == s
        if not idx.any():
            raise ParameterError(
                f"segment {s} ({s * segment_duration:g}-{(s + 1) * segment_duration:g} s) has no "
                f"window; hop_size={hop_size:g} s is too large for it."
            )
        out[:, s] = aggregate_windows(p[:, idx])
    return out


def _encode(y_true, labels, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ParameterError(f"y_true must be 1-D (one label per clip), got shape {y.shape}.")
    if labels is None:
        labels = np.unique(y)
        if labels.size != n_classes:
            raise ParameterError(
                f"y_true has {labels.size} distinct labels but the probabilities have "
                f"{n_classes} columns; pass labels= (the classifier's classes_)."
            )
    labels = np.asarray(labels)
    if labels.size != n_classes:
        raise ParameterError(
            f"labels has {labels.size} entries but the probabilities have {n_classes} columns."
        )
    index = {lab: i for i, lab in enumerate(labels.tolist())}
    try:
        codes = np.array([index[lab] for lab in y.tolist()], dtype=np.int64)
    except KeyError as exc:
        raise ParameterError(f"y_true holds label {exc.args[0]!r}, not one of {labels.tolist()}.")
    return codes, labels


def _check_length(codes, p):
    if codes.shape[0] != p.shape[0]:
        raise ParameterError(
            f"y_true has {codes.shape[0]} clips but the probabilities have {p.shape[0]}."
        )


def clip_accuracy(y_true, proba, *, labels=None) -> float:
    """Clip accuracy with the paper's decision rule.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        True label of every clip.
    proba : array-like of shape (n_clips, n_windows, n_classes) or (n_clips, n_classes)
        Window probabilities (summed per clip, then argmax) or clip probabilities.
    labels : array-like of shape (n_classes,), default=None
        Label of each column of ``proba``; None means ``np.unique(y_true)``.

    Returns
    -------
    accuracy : float
        Fraction of clips whose argmax is the true label.

    Examples
    --------
    >>> from sk_avsc.metrics import clip_accuracy
    >>> clip_accuracy(["bus", "park"], [[[0.9, 0.1], [0.4, 0.6]], [[0.8, 0.2], [0.7, 0.3]]])
    0.5
    """
    p = _clip_proba(proba)
    codes, _ = _encode(y_true, labels, p.shape[-1])
    _check_length(codes, p)
    return float(np.mean(p.argmax(axis=1) == codes))


def segment_accuracy(
    y_true,
    window_proba,
    *,
    labels=None,
    hop_size: float = 0.1,
    center: bool = True,
    segment_duration: float = 1.0,
    clip_duration: float | None = None,
) -> float:
    """Accuracy over 1-s segments (DCASE 2021 Task 1B), every segment weighted equally.

    Each segment is decided by the summed probabilities of its windows (see
    :func:`segment_proba`) and carries its clip's label.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        True label of every clip.
    window_proba : array-like of shape (n_clips, n_windows, n_classes)
        Window probabilities.
    labels : array-like of shape (n_classes,), default=None
        Label of each column; None means ``np.unique(y_true)``.
    hop_size, center, segment_duration, clip_duration
        As in :func:`segment_proba`.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.metrics import segment_accuracy
    >>> w = np.array([[[0.9, 0.1]] * 10 + [[0.2, 0.8]] * 6])  # 2 s: right, then wrong
    >>> segment_accuracy(["bus"], w, labels=["bus", "park"])
    0.5
    """
    seg = segment_proba(
        window_proba,
        hop_size=hop_size,
        center=center,
        segment_duration=segment_duration,
        clip_duration=clip_duration,
    )
    codes, _ = _encode(y_true, labels, seg.shape[-1])
    _check_length(codes, seg)
    return float(np.mean(seg.argmax(axis=2) == codes[:, None]))


def class_wise_log_loss(y_true, proba, *, labels=None) -> np.ndarray:
    """Log loss of each class: mean of ``-log p(true class)`` over its clips.

    Parameters
    ----------
    y_true : array-like of shape (n_items,)
        True labels.
    proba : array-like of shape (n_items, n_classes) or (n_items, n_windows, n_classes)
        Probabilities (rows are normalised; windows are summed per item).
    labels : array-like of shape (n_classes,), default=None
        Label of each column; None means ``np.unique(y_true)``.

    Returns
    -------
    loss : ndarray of shape (n_classes,)
        NaN for a class without items. Probabilities are clipped to
        ``[eps, 1]`` (float64 eps) as in :func:`sklearn.metrics.log_loss`.

    Examples
    --------
    >>> from sk_avsc.metrics import class_wise_log_loss
    >>> class_wise_log_loss(["a", "b", "b"], [[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    array([0.6931, 0.3466])
    """
    p = _clip_proba(proba)
    codes, _ = _encode(y_true, labels, p.shape[-1])
    _check_length(codes, p)
    eps = np.finfo(np.float64).eps
    nll = -np.log(np.clip(p[np.arange(codes.size), codes], eps, 1.0))
    out = np.full(p.shape[-1], np.nan)
    for c in range(p.shape[-1]):
        if (codes == c).any():
            out[c] = nll[codes == c].mean()
    return out


def multiclass_log_loss(y_true, proba, *, labels=None, average: str = "macro") -> float:
    """Multi-class log loss (cross-entropy), the DCASE 2021 Task 1B ranking metric.

    Parameters
    ----------
    y_true : array-like of shape (n_items,)
        True labels (of clips, or of segments).
    proba : array-like of shape (n_items, n_classes) or (n_items, n_windows, n_classes)
        Probabilities; windows are summed per item first.
    labels : array-like of shape (n_classes,), default=None
        Label of each column; None means ``np.unique(y_true)``.
    average : {"macro", "micro"}, default="macro"
        ``"macro"``: the mean of the class-wise log losses over the classes
        present, as DCASE 2021 Task 1 ranks systems (so every class counts
        equally); ``"micro"``: the mean over items, which is
        :func:`sklearn.metrics.log_loss`.

    Returns
    -------
    loss : float

    Examples
    --------
    >>> from sk_avsc.metrics import multiclass_log_loss
    >>> y, p = ["a", "b", "b"], [[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]]
    >>> multiclass_log_loss(y, p), multiclass_log_loss(y, p, average="micro")
    (0.5199, 0.4621)
    """
    check_choice("average", average, ("macro", "micro"), owner="multiclass_log_loss")
    p = _clip_proba(proba)
    if average == "micro":
        codes, _ = _encode(y_true, labels, p.shape[-1])
        _check_length(codes, p)
        return float(_skm.log_loss(codes, p, labels=np.arange(p.shape[-1])))
    return float(np.nanmean(class_wise_log_loss(y_true, p, labels=labels)))


def _predicted_codes(y_true, y_pred, labels):
    y_pred_arr = np.asarray(y_pred)
    if y_pred_arr.ndim in (2, 3) and np.issubdtype(y_pred_arr.dtype, np.number):
        p = _clip_proba(y_pred_arr, "y_pred")
        codes, labels = _encode(y_true, labels, p.shape[-1])
        _check_length(codes, p)
        return codes, p.argmax(axis=1), labels
    if labels is None:
        labels = np.unique(np.concatenate([np.asarray(y_true), y_pred_arr]))
    codes, labels = _encode(y_true, labels, len(labels))
    pred, _ = _encode(y_pred_arr, labels, len(labels))
    _check_length(codes, pred)
    return codes, pred, labels


def confusion_matrix(y_true, y_pred, *, labels=None, normalize: str | None = None) -> np.ndarray:
    """Confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        True labels.
    y_pred : array-like of shape (n_clips,), or probabilities
        Predicted labels, or probabilities of shape ``(n_clips, n_classes)``
        or ``(n_clips, n_windows, n_classes)`` decided by the sum rule.
    labels : array-like of shape (n_classes,), default=None
        Class order (and, with probabilities, the label of each column).
    normalize : {None, "true", "pred", "all"}, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.

    Returns
    -------
    cm : ndarray of shape (n_classes, n_classes)

    Examples
    --------
    >>> from sk_avsc.metrics import confusion_matrix
    >>> confusion_matrix(["bus", "bus", "park"], ["bus", "park", "park"])
    array([[1, 1],
           [0, 1]])
    """
    codes, pred, labels = _predicted_codes(y_true, y_pred, labels)
    return _skm.confusion_matrix(codes, pred, labels=np.arange(len(labels)), normalize=normalize)


def class_wise_accuracy(y_true, y_pred, *, labels=None) -> np.ndarray:
    """Accuracy within each class (its recall), as the paper's Fig. 2 shows it.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        True labels.
    y_pred : array-like of shape (n_clips,), or probabilities
        Predicted labels, or probabilities (clip or window level).
    labels : array-like of shape (n_classes,), default=None
        Class order (and the label of each probability column).

    Returns
    -------
    accuracy : ndarray of shape (n_classes,)
        NaN for a class without clips.

    Examples
    --------
    >>> from sk_avsc.metrics import class_wise_accuracy
    >>> class_wise_accuracy(["bus", "bus", "park"], ["bus", "park", "park"])
    array([0.5, 1. ])
    """
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def scene_scores(
    y_true,
    proba,
    *,
    labels=None,
    hop_size: float = 0.1,
    center: bool = True,
    clip_duration: float | None = None,
) -> dict:
    """All the scores of a system on a test set, as a JSON-serialisable dict.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        True label of every clip.
    proba : array-like of shape (n_clips, n_windows, n_classes) or (n_clips, n_classes)
        Window probabilities (enables the 1-s segment scores) or clip probabilities.
    labels : array-like of shape (n_classes,), default=None
        Label of each column; None means ``np.unique(y_true)``.
    hop_size, center, clip_duration
        How windows map to time, for the segment scores (see :func:`segment_proba`).

    Returns
    -------
    scores : dict
        ``labels``, ``n_clips``, ``accuracy`` (clip, sum rule),
        ``macro_accuracy`` (mean class-wise accuracy), ``log_loss`` (clip,
        macro), ``log_loss_micro``, ``segment_accuracy`` and
        ``segment_log_loss`` (None for clip probabilities),
        ``class_wise`` (per label: ``n_clips``, ``accuracy``, ``log_loss``)
        and ``confusion_matrix`` (list of rows).

    Examples
    --------
    >>> from sk_avsc.metrics import scene_scores
    >>> s = scene_scores(["bus", "park"], [[0.8, 0.2], [0.3, 0.7]])
    >>> s["accuracy"], s["class_wise"]["park"]["accuracy"]
    (1.0, 1.0)
    """
    p = _check_proba(proba, ndims=(2, 3))
    clip = _clip_proba(p)
    codes, labels = _encode(y_true, labels, p.shape[-1])
    _check_length(codes, p)
    cw_acc = class_wise_accuracy(codes, clip, labels=np.arange(len(labels)))
    cw_ll = class_wise_log_loss(codes, clip, labels=np.arange(len(labels)))
    seg_acc = seg_ll = None
    if p.ndim == 3:
        seg = segment_proba(p, hop_size=hop_size, center=center, clip_duration=clip_duration)
        seg_codes = np.repeat(codes, seg.shape[1])
        seg_flat = seg.reshape(-1, seg.shape[-1])
        seg_acc = float(np.mean(seg_flat.argmax(axis=1) == seg_codes))
        seg_ll = multiclass_log_loss(seg_codes, seg_flat, labels=np.arange(len(labels)))
    support = np.bincount(codes, minlength=len(labels))

    def _num(x):
        return None if x is None or not np.isfinite(x) else float(x)

    return {
        "labels": [lab.item() if hasattr(lab, "item") else lab for lab in labels],
        "n_clips": int(codes.size),
        "accuracy": float(np.mean(clip.argmax(axis=1) == codes)),
        "macro_accuracy": float(np.nanmean(cw_acc)),
        "log_loss": float(np.nanmean(cw_ll)),
        "log_loss_micro": multiclass_log_loss(
            codes, clip, labels=np.arange(len(labels)), average="micro"
        ),
        "segment_accuracy": seg_acc,
        "segment_log_loss": seg_ll,
        "class_wise": {
            str(lab): {
                "n_clips": int(support[i]),
                "accuracy": _num(cw_acc[i]),
                "log_loss": _num(cw_ll[i]),
            }
            for i, lab in enumerate(labels.tolist())
        },
        "confusion_matrix": confusion_matrix(
            codes, clip, labels=np.arange(len(labels))
        ).tolist(),
    }
