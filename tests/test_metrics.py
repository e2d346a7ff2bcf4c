"""Scene metrics against hand-computed values and scikit-learn."""

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import log_loss as sk_log_loss

from sk_avsc.aggregation import aggregate_windows
from sk_avsc.exceptions import ParameterError
from sk_avsc.metrics import (
    class_wise_accuracy,
    class_wise_log_loss,
    clip_accuracy,
    confusion_matrix,
    multiclass_log_loss,
    scene_scores,
    segment_accuracy,
    segment_proba,
)

LABELS = np.array(["bus", "park", "tram"])


@pytest.fixture
def window_proba(rng):
    p = rng.dirichlet(np.ones(3), size=(8, 16))
    return p


def test_sum_rule_can_disagree_with_majority_vote():
    # two windows weakly for "bus", one strongly for "park": the sum picks park
    w = np.array([[[0.55, 0.45, 0.0], [0.55, 0.45, 0.0], [0.0, 1.0, 0.0]]])
    assert np.allclose(aggregate_windows(w), [[1.1 / 3, 1.9 / 3, 0.0]])
    assert clip_accuracy(["park"], w, labels=LABELS) == 1.0
    assert clip_accuracy(["bus"], w, labels=LABELS) == 0.0


def test_log_rule_is_the_normalised_product():
    w = np.array([[[0.5, 0.5], [0.9, 0.1]]])
    g = np.array([0.45, 0.05])
    assert np.allclose(aggregate_windows(w, method="log"), [g / g.sum()])


def test_metrics_and_clip_aggregator_share_one_rule(rng):
    # the clip rule exists once: ClipAggregator's probabilities are aggregate_windows' own
    from sklearn.linear_model import LogisticRegression

    from sk_avsc import ClipAggregator

    y = np.array(["bus", "park", "tram"] * 4)
    X = rng.normal(size=(12, 5, 3)) + (y == "park")[:, None, None]
    for method in ("sum", "log", "vote"):
        clf = ClipAggregator(LogisticRegression(), method=method).fit(X, y)
        assert np.allclose(clf.predict_proba(X),
                           aggregate_windows(clf.predict_window_proba(X), method=method))


def test_clip_accuracy_by_hand(window_proba):
    y = LABELS[np.arange(8) % 3]
    expected = np.mean(LABELS[window_proba.sum(axis=1).argmax(axis=1)] == y)
    assert clip_accuracy(y, window_proba, labels=LABELS) == pytest.approx(expected)
    # 2-D input is taken as clip probabilities
    assert clip_accuracy(y, window_proba.mean(axis=1), labels=LABELS) == pytest.approx(expected)


def test_segments_of_a_centred_2s_clip():
    # OpenL3, hop 0.1, centred: 16 windows centred at 0.0 .. 1.5 s (openl3 pads half a window
    # at the start only); windows 0-9 fall in [0, 1), 10-15 in [1, 2)
    w = np.zeros((1, 16, 2))
    w[0, :10, 0] = 1
    w[0, 10:, 1] = 1
    assert np.allclose(segment_proba(w), [[[1, 0], [0, 1]]])
    assert segment_accuracy(["a"], w, labels=["a", "b"]) == 0.5
    # the sum rule inside a segment: 6 weak votes for "a" lose to 4 strong ones for "b"
    w[0, :6, :] = [0.6, 0.4]
    w[0, 6:10, :] = [0.0, 1.0]
    assert segment_accuracy(["b"], w, labels=["a", "b"]) == 1.0
    # without centring, window k is centred at k * hop + 0.5 s: a 2-s clip has 11 windows
    w2 = np.zeros((1, 11, 2))
    w2[0, :5, 0] = 1  # centres 0.5 .. 0.9
    w2[0, 5:, 1] = 1  # centres 1.0 .. 1.5
    assert np.allclose(segment_proba(w2, center=False), [[[1, 0], [0, 1]]])
    # a clip length given explicitly overrides the inference
    assert segment_proba(w, clip_duration=1.2).shape == (1, 1, 2)


def test_ten_second_clips_give_ten_segments(rng):
    w = rng.dirichlet(np.ones(3), size=(2, 96))  # OpenL3 windows of a 10-s clip
    seg = segment_proba(w)
    assert seg.shape == (2, 10, 3)
    assert np.allclose(seg[:, 3], w[:, 30:40].sum(1) / w[:, 30:40].sum((1, 2))[:, None])
    assert np.allclose(seg[:, 9], w[:, 90:96].sum(1) / w[:, 90:96].sum((1, 2))[:, None])
    assert np.allclose(seg.sum(-1), 1)


def test_log_loss_micro_matches_scikit_learn(window_proba):
    y = LABELS[np.arange(8) % 3]
    clip = window_proba.sum(1) / window_proba.sum((1, 2))[:, None]
    expected = sk_log_loss(y, clip, labels=LABELS)
    assert multiclass_log_loss(y, window_proba, labels=LABELS, average="micro") == pytest.approx(
        expected
    )


def test_macro_log_loss_is_the_mean_of_class_wise():
    y = ["bus", "bus", "bus", "park"]
    p = [[0.5, 0.5, 0], [1, 0, 0], [1, 0, 0], [0.2, 0.8, 0]]
    cw = class_wise_log_loss(y, p, labels=LABELS)
    assert cw[0] == pytest.approx(np.log(2) / 3)
    assert cw[1] == pytest.approx(-np.log(0.8))
    assert np.isnan(cw[2])  # no tram clip
    macro = (np.log(2) / 3 - np.log(0.8)) / 2
    assert multiclass_log_loss(y, p, labels=LABELS) == pytest.approx(macro)
    micro = (np.log(2) - np.log(0.8)) / 4
    assert multiclass_log_loss(y, p, labels=LABELS, average="micro") == pytest.approx(micro)


def test_zero_probability_is_clipped_not_infinite():
    loss = multiclass_log_loss(["bus"], [[0.0, 1.0]], labels=["bus", "park"])
    assert np.isfinite(loss) and loss > 30


def test_confusion_and_class_wise_accuracy(rng):
    y = rng.choice(LABELS, 50)
    pred = rng.choice(LABELS, 50)
    cm = confusion_matrix(y, pred, labels=LABELS)
    assert np.array_equal(cm, sk_confusion_matrix(y, pred, labels=LABELS))
    acc = class_wise_accuracy(y, pred, labels=LABELS)
    for i, c in enumerate(LABELS):
        assert acc[i] == pytest.approx(np.mean(pred[y == c] == c))
    # probabilities are decided by argmax (window level: sum rule)
    p = rng.dirichlet(np.ones(3), size=(50, 4))
    decided = LABELS[p.sum(1).argmax(1)]
    assert np.array_equal(confusion_matrix(y, p, labels=LABELS),
                          sk_confusion_matrix(y, decided, labels=LABELS))


def test_scene_scores_is_consistent_and_json_serialisable(window_proba):
    y = LABELS[np.arange(8) % 3]
    s = scene_scores(y, window_proba, labels=LABELS)
    json.dumps(s)
    assert s["labels"] == list(LABELS)
    assert s["n_clips"] == 8
    assert s["accuracy"] == pytest.approx(clip_accuracy(y, window_proba, labels=LABELS))
    assert s["segment_accuracy"] == pytest.approx(segment_accuracy(y, window_proba, labels=LABELS))
    assert s["log_loss"] == pytest.approx(multiclass_log_loss(y, window_proba, labels=LABELS))
    cm = np.array(s["confusion_matrix"])
    assert cm.sum() == 8 and cm.shape == (3, 3)
    assert [s["class_wise"][c]["n_clips"] for c in LABELS] == [3, 3, 2]
    decided = LABELS[window_proba.sum(axis=1).argmax(axis=1)]
    assert s["macro_accuracy"] == pytest.approx(balanced_accuracy_score(y, decided))
    clip_only = scene_scores(y, window_proba.mean(1), labels=LABELS)
    assert clip_only["segment_accuracy"] is None
    assert clip_only["accuracy"] == s["accuracy"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: clip_accuracy(["a"], [[[0.5, 0.5]]], labels=["a", "b", "c"]), "3 entries"),
        (lambda: clip_accuracy(["a", "b", "c"], [[0.5, 0.5]] * 3), "pass labels"),
        (lambda: clip_accuracy(["z"], [[0.5, 0.5]], labels=["a", "b"]), "'z'"),
        (lambda: clip_accuracy(["a", "b"], [[0.5, 0.5]], labels=["a", "b"]), "2 clips"),
        (lambda: clip_accuracy(["a"], [[-0.5, 1.5]], labels=["a", "b"]), "non-negative"),
        (lambda: clip_accuracy(["a"], [[np.nan, 1]], labels=["a", "b"]), "finite"),
        (lambda: clip_accuracy(["a"], [0.5, 0.5], labels=["a", "b"]), "shape"),
        (lambda: aggregate_windows([[[0.5, 0.5]]], method="max"), "method"),
        (lambda: segment_proba(np.ones((1, 5, 2))), "no full segment"),
        (lambda: segment_proba(np.ones((1, 21, 2)), hop_size=0), "hop_size"),
        (lambda: multiclass_log_loss(["a"], [[1, 0]], labels=["a", "b"], average="x"), "average"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
