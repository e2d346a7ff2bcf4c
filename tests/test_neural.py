import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline
from skorch.exceptions import DeviceWarning

from sk_avsc import (
    ParameterError,
    SkAvscWarning,
    SkorchMLPClassifier,
    TrainingError,
    ZScore,
    neural,
)
from sk_avsc.datasets import AuthorsSplit, LocationShuffleSplit


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(**kwargs):
    params = dict(hidden_sizes=(16, 8), lr=1e-2, max_epochs=5, random_state=0)
    params.update(kwargs)
    return SkorchMLPClassifier(**params)


def blobs(rng, n=240, d=6, n_classes=3):
    y = np.arange(n) % n_classes
    X = rng.normal(size=(n, d)) + 2.0 * np.eye(n_classes, d)[y]
    return X.astype(np.float32), y


@pytest.fixture
def recorded(monkeypatch):
    """The (train, valid) tensors SkorchMLPClassifier.fit builds, in creation order."""
    made = []

    class Recording(neural._BatchData):
        def __init__(self, X, y=None):
            super().__init__(X, y)
            made.append((X.numpy().copy(), None if y is None else y.numpy().copy()))

    monkeypatch.setattr(neural, "_BatchData", Recording)
    return made


def test_predict_proba_is_softmax_of_logits(rng):
    X, y = blobs(rng)
    clf = small().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    model = clf.module_.model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(X)).numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(expected), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(1)])
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())


def test_string_labels(rng):
    X, y = blobs(rng)
    names = np.array(["street_traffic", "airport", "park"])[y]
    clf = small(max_epochs=10).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["airport", "park", "street_traffic"])
    pred = clf.predict(X)
    assert set(pred) <= set(names)
    assert (pred == names).mean() > 0.8


def test_random_state_repeats_exactly_and_leaves_global_rng(rng):
    X, y = blobs(rng)
    state = torch.random.get_rng_state()
    a = small().fit(X, y)
    b = small().fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    for (k, v), w in zip(a.module_.state_dict().items(), b.module_.state_dict().values()):
        assert torch.equal(v, w), k
    c = small(random_state=1).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_best_validation_weights_are_restored(rng):
    # random labels: the network overfits, so validation loss rises after a few epochs
    X = rng.normal(size=(300, 10)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    X_val = rng.normal(size=(100, 10)).astype(np.float32)
    y_val = rng.integers(0, 3, 100)
    clf = small(hidden_sizes=(64, 32), dropout=0.0, lr=1e-2, max_epochs=15)
    clf.fit(X, y, validation_data=(X_val, y_val))
    losses = np.array(clf.net_.history[:, "valid_loss"])
    assert clf.n_iter_ == 15
    assert clf.best_epoch_ == losses.argmin() + 1
    assert clf.best_epoch_ < 15, "test needs a run whose last epoch is not the best"
    p = clf.predict_proba(X_val).astype(np.float64)
    loss_now = -np.log(p[np.arange(100), y_val]).mean()
    assert loss_now == pytest.approx(losses.min(), rel=1e-4)
    assert loss_now < losses[-1]


def test_patience_stops_early(rng):
    X = rng.normal(size=(300, 10)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    clf = small(hidden_sizes=(64, 32), dropout=0.0, max_epochs=50, patience=3).fit(X, y)
    assert clf.n_iter_ < 50
    assert clf.n_iter_ == clf.best_epoch_ + 3


def test_validation_split_by_groups(rng, recorded):
    X, y = blobs(rng, n=400)
    groups = np.repeat(np.arange(20), 20)
    X[:, 0] = groups  # mark each sample's group in a column we can read back
    small(max_epochs=1, validation_split=0.2).fit(X, y, groups=groups)
    (X_tr, _), (X_va, _) = recorded
    train_groups, valid_groups = set(X_tr[:, 0]), set(X_va[:, 0])
    assert not train_groups & valid_groups
    assert train_groups | valid_groups == set(groups.astype(np.float32))
    assert len(valid_groups) == 4


def test_validation_split_stratified_without_groups(rng, recorded):
    X, y = blobs(rng, n=300)
    small(max_epochs=1, validation_split=0.1).fit(X, y)
    (_, y_tr), (_, y_va) = recorded
    assert len(y_va) == 30
    np.testing.assert_array_equal(np.bincount(y_va), [10, 10, 10])


def test_validation_split_takes_a_splitter(rng, recorded):
    X, y = blobs(rng, n=300)
    groups = np.repeat(np.arange(30), 10)
    X[:, 0] = np.arange(300)  # sample id
    splitter = LocationShuffleSplit(test_size=0.2, random_state=3)
    small(max_epochs=1, validation_split=splitter).fit(X, y, groups=groups)
    (X_tr, _), (X_va, _) = recorded
    train, valid = next(splitter.split(X, y, groups))  # its first split, and nothing else
    np.testing.assert_array_equal(X_va[:, 0], valid)
    np.testing.assert_array_equal(X_tr[:, 0], train)
    assert set(groups[train]).isdisjoint(groups[valid])


def test_validation_split_authors_split(rng, recorded):
    X, y = blobs(rng, n=60)
    locations = np.array(["lyon-1095", "lyon-1", "paris-99", "paris-2", "vienna-7", "milan-3"])
    groups = locations[np.arange(60) % 6]
    X[:, 0] = np.arange(60)
    small(max_epochs=1, validation_split=AuthorsSplit()).fit(X, y, groups=groups)
    (_, _), (X_va, _) = recorded
    assert set(groups[X_va[:, 0].astype(int)]) == {"lyon-1095", "paris-99"}


def test_impossible_stratified_split_warns(rng, recorded):
    X, y = blobs(rng, n=40, n_classes=3)
    y[0] = 3  # a class with one sample cannot be on both sides
    with pytest.warns(SkAvscWarning, match="cannot stratify.*least populated class"):
        clf = small(max_epochs=2, validation_split=0.25).fit(X, y)
    assert len(recorded[1][0]) == 10 and clf.best_epoch_ is not None


def test_empty_validation_side_warns_and_trains_on_all(rng, recorded):
    X, y = blobs(rng, n=60)
    groups = y.astype(str)  # one location per class: LocationShuffleSplit holds out none
    with pytest.warns(SkAvscWarning, match="0 validation sample.*without validation"):
        clf = small(max_epochs=2, validation_split=LocationShuffleSplit()).fit(
            X, y, groups=groups)
    assert len(recorded) == 1 and len(recorded[0][0]) == 60 and clf.best_epoch_ is None


def test_validation_data_is_used_as_is(rng, recorded):
    X, y = blobs(rng)
    X_val, y_val = blobs(rng, n=30)
    clf = small(max_epochs=1).fit(X, np.array(["a", "b", "c"])[y],
                                  validation_data=(X_val, np.array(["a", "b", "c"])[y_val]))
    (X_tr, _), (X_va, y_va) = recorded
    assert len(X_tr) == len(X)  # all training data is trained on
    np.testing.assert_array_equal(X_va, X_val)
    np.testing.assert_array_equal(clf.classes_[y_va], np.array(["a", "b", "c"])[y_val])


def test_no_validation(rng, recorded):
    X, y = blobs(rng)
    clf = small(max_epochs=2, validation_split=None).fit(X, y)
    assert len(recorded) == 1 and clf.best_epoch_ is None


def test_groups_reach_fit_through_metadata_routing(rng, recorded):
    X, y = blobs(rng, n=400)
    groups = np.repeat(np.arange(20), 20)
    X[:, 0] = groups
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("z", ZScore(with_mean=False, with_std=False)),
                         ("clf", small(max_epochs=1).set_fit_request(groups=True))])
        pipe.fit(X, y, groups=groups)
        (X_tr, _), (X_va, _) = recorded
        assert not set(X_tr[:, 0]) & set(X_va[:, 0])
        scores = cross_val_score(pipe, X, y, cv=GroupKFold(2), params={"groups": groups})
        assert scores.shape == (2,)
        # not requested: routing refuses to drop the groups silently
        pipe.set_params(clf=small(max_epochs=1))
        with pytest.raises(ValueError, match="groups"):
            pipe.fit(X, y, groups=groups)


def test_pickle_and_joblib_round_trip(rng, tmp_path):
    X, y = blobs(rng)
    clf = small().fit(X, y)
    expected = clf.predict_proba(X)
    clone_p = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone_p.predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    clone_j = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(clone_j.predict_proba(X), expected)
    np.testing.assert_array_equal(clone_j.embed(X), clf.embed(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_model_saved_on_cuda_loads_on_cpu(rng):
    X, y = blobs(rng)
    clf = small().fit(X, y)
    expected = clf.predict_proba(X)
    clf.net_.device = "cuda"  # what a CUDA-fitted model records
    data = pickle.dumps(clf)
    with pytest.warns(DeviceWarning, match="(?i)cuda"):
        loaded = pickle.loads(data)
    assert torch.device(loaded.net_.device).type == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_then_cpu_predict(rng):
    X, y = blobs(rng)
    clf = small(device="cuda").fit(X, y)
    expected = clf.predict_proba(X)
    clf.net_.module_.cpu()
    clf.net_.device = "cpu"
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-4, atol=1e-6)


def test_embed_default_is_second_linear_before_batchnorm(rng):
    X, y = blobs(rng)
    clf = small(hidden_sizes=(16, 8, 4)).fit(X, y)
    model = clf.module_.model
    assert isinstance(model[4], torch.nn.Linear) and isinstance(model[5], torch.nn.BatchNorm1d)
    model.eval()
    with torch.no_grad():
        expected = model[:5](torch.from_numpy(X)).numpy()
    model.train()
    np.testing.assert_allclose(clf.embed(X), expected, rtol=1e-6)  # eval mode inside
    assert model.training  # and the mode is left as it was
    assert clf.embed(X).shape == (len(X), 8)
    # any layer by index; -1 is the logits
    logits = clf.embed(X, layer=-1)
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True),
                               clf.predict_proba(X), rtol=1e-5, atol=1e-7)
    with pytest.raises(ParameterError, match="layer"):
        clf.embed(X, layer=len(model))


def test_layout_without_batchnorm_activation_dropout(rng):
    X, y = blobs(rng)
    clf = small(hidden_sizes=(8,), dropout=0.0, batch_norm=False, activation="identity")
    clf.fit(X, y)
    assert list(clf.module_.state_dict()) == ["model.0.weight", "model.0.bias",
                                              "model.1.weight", "model.1.bias"]
    assert clf.embed(X).shape == (len(X), 8)


HEADS = {
    "audio_model.pt": 512,
    "video_model.pt": 512,
    "early_fusion_model.pt": 1024,
}


@pytest.mark.shared
@pytest.mark.parametrize("name, n_features", HEADS.items())
def test_authors_heads_load_strictly(tau2021_dir, rng, name, n_features):
    # default architecture, trained one epoch on random 10-class data
    X = rng.normal(size=(200, n_features)).astype(np.float32)
    y = np.arange(200) % 10
    clf = SkorchMLPClassifier(max_epochs=1, random_state=0).fit(X, y)
    state = torch.load(Path(tau2021_dir) / "reference-heads" / name, map_location="cpu",
                       weights_only=True)
    clf.module_.load_state_dict(state, strict=True)
    # the default representation is the authors' fusion input: model.4's output (128-d)
    W0, b0 = state["model.0.weight"].numpy(), state["model.0.bias"].numpy()
    bn = {k: state[f"model.1.{k}"].numpy()
          for k in ("weight", "bias", "running_mean", "running_var")}
    h = X @ W0.T + b0
    h = (h - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-5) * bn["weight"] + bn["bias"]
    h = np.maximum(h, 0)
    expected = h @ state["model.4.weight"].numpy().T + state["model.4.bias"].numpy()
    np.testing.assert_allclose(clf.embed(X), expected, rtol=1e-3, atol=1e-3)
    assert clf.embed(X).shape == (200, 128)


def test_one_class_is_an_error(rng):
    with pytest.raises(ParameterError, match="1 class"):
        small().fit(rng.normal(size=(10, 3)), np.zeros(10))


@pytest.mark.parametrize("param, value", [("hidden_sizes", (8, 0)), ("dropout", 1.0),
                                          ("activation", "tanh"), ("lr", -1.0),
                                          ("max_epochs", 0), ("batch_size", 1.5),
                                          ("validation_split", 1.0), ("patience", 0),
                                          ("lr", float("inf")), ("lr", float("nan")),
                                          ("weight_decay", float("inf")), ("hidden_sizes", 5),
                                          ("validation_split", 0), ("validation_split", "0.1"),
                                          ("batch_norm", "yes")])
def test_invalid_parameters_are_named(rng, param, value):
    X, y = blobs(rng, n=30)
    with pytest.raises(ParameterError, match=param):
        small(**{param: value}).fit(X, y)


def test_groups_need_two_groups(rng):
    X, y = blobs(rng, n=30)
    with pytest.raises(ParameterError, match="2 distinct groups"):
        small().fit(X, y, groups=np.zeros(30))


def test_history_keeps_epochs_not_batches(rng):
    X, y = blobs(rng, n=600)
    clf = small(batch_size=16, max_epochs=3).fit(X, y)
    history = clf.net_.history
    assert len(history) == 3
    assert all(epoch["batches"] == [] for epoch in history)
    assert np.isfinite(history[:, "train_loss"]).all()
    assert np.isfinite(history[:, "valid_loss"]).all()


@pytest.mark.parametrize("validation_split", [None, 0.25])
def test_diverging_fit_stops_with_an_error_naming_the_epoch(rng, validation_split):
    # lr=1e20 overflows the weights within a few steps; a fit that went on would predict
    # one class for everything
    X, y = blobs(rng)
    clf = small(lr=1e20, max_epochs=50, validation_split=validation_split)
    with pytest.raises(TrainingError, match=r"SkorchMLPClassifier: training diverged: the "
                       r"(train|valid) loss is (nan|inf) at epoch \d+ of 50; lower lr") as err:
        clf.fit(X, y)
    assert "1e+20" in str(err.value)
    assert not hasattr(clf, "net_")
