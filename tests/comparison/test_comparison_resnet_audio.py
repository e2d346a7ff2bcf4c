"""ResNetAudioClassifier: learning, repeatability, recipe wiring, persistence, errors."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)
from sklearn.utils.validation import NotFittedError

from sk_avsc.comparison import ResNetAudioClassifier, warm_restart_lr
from sk_avsc.exceptions import ParameterError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = ("bus", "park", "tram")


def bands(rng, n=24, n_mels=8, n_frames=16):
    """Clips whose class is the mel band holding extra energy (one band per class)."""
    y = np.array(CLASSES * (n // 3))
    X = rng.normal(size=(n, 6, n_mels, n_frames)).astype(np.float32)
    for k, c in enumerate(CLASSES):
        X[y == c, :, 2 * k:2 * k + 2] += 2.0
    return X, y


def small(**kw):
    params = dict(width=4, n_stages=2, n_blocks=1, max_epochs=14, batch_size=8,
                  crop_length=12, random_state=0)
    params.update(kw)
    return ResNetAudioClassifier(**params)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, y = bands(rng)
    return small().fit(X, y), X, y, bands(rng)


def test_learns_a_tiny_synthetic_task(fitted):
    clf, _, _, (X_test, y_test) = fitted
    assert (clf.predict(X_test) == y_test).mean() >= 0.9
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert clf.n_iter_ == 14 and list(clf.classes_) == list(CLASSES)


def test_cpu_runs_repeat_exactly_and_leave_the_global_rng_alone(fitted):
    clf, X, y, (X_test, _) = fitted
    state = torch.get_rng_state()
    again = small().fit(X, y)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    other = small(random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X_test), clf.predict_proba(X_test))


def test_joblib_round_trip(fitted, tmp_path):
    clf, _, _, (X_test, _) = fitted
    joblib.dump(clf, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    assert loaded.net_.iterator_train__stream is None  # no training data pickled


def test_recipe_wiring(fitted):
    clf, X, _, _ = fitted
    opt = clf.net_.optimizer_
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] == 2e-3 for p in g["params"]}
    convs = [m.weight for m in clf.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert decayed == {id(w) for w in convs}  # L2 on conv weights only, none on BN
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    # the last batch of the last epoch got the per-batch cosine value
    steps = -(-len(X) // clf.batch_size)
    expected = warm_restart_lr(13, (steps - 1) / steps, max_lr=0.1, min_lr=1e-5,
                               first_cycle=2, cycle_mult=2)
    assert opt.param_groups[0]["lr"] == pytest.approx(expected)


def test_tau_classes_stay_in_alphabetical_order():
    rng = np.random.default_rng(1)
    labels = np.array(["tram", "metro_station", "metro", "airport"] * 2)
    X = rng.normal(size=(8, 6, 4, 6)).astype(np.float32)
    clf = small(max_epochs=1, crop_length=None, batch_size=4).fit(X, labels)
    assert list(clf.classes_) == ["airport", "metro", "metro_station", "tram"]


def test_validation_data_is_monitored_and_last_epoch_kept():
    rng = np.random.default_rng(2)
    X, y = bands(rng, n=12)
    clf = small(max_epochs=3).fit(X, y, validation_data=bands(rng, n=6))
    losses = clf.net_.history[:, "valid_loss"]
    assert len(losses) == 3 and np.isfinite(losses).all()


def test_without_mixup_and_swap_it_still_trains():
    rng = np.random.default_rng(3)
    X, y = bands(rng, n=12)
    clf = small(max_epochs=2, mixup_alpha=0, channel_swap=0, crop_length=None).fit(X, y)
    assert clf.predict(X).shape == (12,)


def test_bad_inputs_raise():
    rng = np.random.default_rng(4)
    X, y = bands(rng, n=6)
    with pytest.raises(ParameterError, match=r"\(n_clips, n_channels, n_mels, n_frames\)"):
        small().fit(X[:, 0], y)
    with pytest.raises(ParameterError, match="crop_length=40 exceeds"):
        small(crop_length=40).fit(X, y)
    with pytest.raises(ParameterError, match="channel_swap"):
        small().fit(X[:, :5], y)
    with pytest.raises(ParameterError, match="min_lr"):
        small(min_lr=1.0).fit(X, y)
    with pytest.raises(ParameterError, match="1 class"):
        small().fit(X, np.array(["bus"] * 6))
    with pytest.raises(NotFittedError):
        small().predict(X)
    clf = small(max_epochs=1).fit(X, y)
    with pytest.raises(ParameterError, match="fitted on 6"):
        clf.predict(X[:, :4])


def test_sklearn_conventions():
    est = ResNetAudioClassifier()
    assert est.max_epochs == 510 and est.mixup_alpha == 0.4 and est.crop_length == 400
    assert clone(small()).get_params() == small().get_params()
    check_no_attributes_set_in_init("ResNetAudioClassifier", est)
    check_parameters_default_constructible("ResNetAudioClassifier", est)


def test_validation_split_holds_out_clips_as_skorch_mlp_classifier_does():
    from sk_avsc import SkorchMLPClassifier
    from sk_avsc._net_training import split_train_valid

    rng = np.random.default_rng(0)
    y = np.array(["bus", "park"] * 6)
    X = rng.normal(size=(12, 2, 4, 8)).astype(np.float32)
    groups = np.repeat(np.arange(6), 2)
    clf = ResNetAudioClassifier(width=2, n_stages=1, n_blocks=1, max_epochs=1, batch_size=4,
                                crop_length=None, validation_split=0.34, random_state=0)
    clf.fit(X, y, groups=groups)
    assert np.isfinite(clf.net_.history[-1, "valid_loss"])  # monitored
    # the same clips as SkorchMLPClassifier's split of the same seed
    rs = np.random.RandomState(0)
    rs.randint(np.iinfo(np.int32).max)
    train, valid = split_train_valid(X, y, 0.34, groups, rs, owner="t")
    assert len(valid) and not set(groups[train]) & set(groups[valid])
    mlp = SkorchMLPClassifier(validation_split=0.34, random_state=0)
    rs2 = np.random.RandomState(0)
    rs2.randint(np.iinfo(np.int32).max)
    np.testing.assert_array_equal(mlp._split(X, y, 0.34, groups, rs2)[1], valid)
    with pytest.raises(ParameterError, match="validation_split must be"):
        ResNetAudioClassifier(validation_split=1.5).fit(X, y)
