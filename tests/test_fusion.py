from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from sk_avsc import (
    ClipAggregator,
    LateFusionClassifier,
    SkorchMLPClassifier,
    ParameterError,
    StackedAVClassifier,
    ZScore,
)
from sk_avsc.datasets import LocationShuffleSplit, make_av_embeddings


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def head(**kwargs):
    params = dict(hidden_sizes=(32, 16), lr=1e-2, max_epochs=20, random_state=0)
    params.update(kwargs)
    return SkorchMLPClassifier(**params)


def fusion_head(**kwargs):
    params = dict(hidden_sizes=(16,), dropout=0.0, batch_norm=False, activation="identity",
                  lr=1e-2, max_epochs=20, random_state=0)
    params.update(kwargs)
    return SkorchMLPClassifier(**params)


def av_data(rng, n=200, d=4):
    y = np.arange(n) % 4
    # audio tells {0,1} from {2,3}; video tells {0,2} from {1,3}
    Xa = rng.normal(size=(n, d)) + 2.0 * (y[:, None] // 2)
    Xv = rng.normal(size=(n, d)) + 2.0 * (y[:, None] % 2)
    return np.hstack([Xa, Xv]).astype(np.float32), y


@pytest.mark.slow
def test_proposed_fusion_beats_single_modalities_across_locations():
    X, y, location = make_av_embeddings(random_state=0)
    d = X.shape[2] // 2
    cv = GroupKFold(n_splits=4)

    def accuracy(clf, Xs):
        pipe = make_pipeline(ZScore(), ClipAggregator(clf))
        return cross_val_score(pipe, Xs, y, groups=location, cv=cv).mean()

    audio = accuracy(head(), X[..., :d])
    video = accuracy(head(), X[..., d:])
    fused = accuracy(StackedAVClassifier(head(), head(), fusion_head(), audio_features=d), X)
    # each modality alone confuses half of the classes (chance within a pair: ~0.5)
    assert audio < 0.7 and video < 0.7
    assert fused > max(audio, video) + 0.25
    assert fused > 0.85


def test_stages_see_the_right_columns(rng):
    X, y = av_data(rng)
    X[:, 4:] *= 100  # video columns distinguishable by scale
    clf = StackedAVClassifier(head(max_epochs=2), head(max_epochs=2, hidden_sizes=(8, 6)),
                              fusion_head(max_epochs=2), audio_features=4).fit(X, y)
    assert clf.audio_.n_features_in_ == 4 and clf.video_.n_features_in_ == 4
    Z = clf.transform_stage1(X)
    np.testing.assert_array_equal(Z, np.hstack([clf.audio_.embed(X[:, :4]),
                                                clf.video_.embed(X[:, 4:])]))
    assert Z.shape == (len(X), 16 + 6)
    assert clf.fusion_.n_features_in_ == 22
    np.testing.assert_array_equal(clf.predict_proba(X), clf.fusion_.predict_proba(Z))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    # audio stage trained on the audio columns: it cannot be applied to the scaled video
    assert not np.allclose(clf.audio_.embed(X[:, 4:]), clf.audio_.embed(X[:, :4]))


def test_groups_and_validation_data_reach_every_stage(rng, monkeypatch):
    X, y = av_data(rng)
    seen = []
    original = SkorchMLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        seen.append((X.shape[1], groups is not None, validation_data is not None))
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(SkorchMLPClassifier, "fit", spy)
    groups = np.arange(len(X)) % 10
    StackedAVClassifier(head(max_epochs=1), head(max_epochs=1), fusion_head(max_epochs=1),
                        audio_features=4).fit(X, y, groups=groups)
    assert seen == [(4, True, False), (4, True, False), (32, True, False)]
    seen.clear()
    X_val, y_val = av_data(rng, n=40)
    LateFusionClassifier(head(max_epochs=1), head(max_epochs=1), audio_features=4).fit(
        X, y, validation_data=(X_val, y_val))
    assert seen == [(4, False, True), (4, False, True)]


def test_out_of_fold_option(rng, monkeypatch):
    X, y = av_data(rng)
    groups = np.arange(len(X)) % 6
    calls = []
    original = SkorchMLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        calls.append(None if groups is None else set(groups))
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(SkorchMLPClassifier, "fit", spy)
    clf = StackedAVClassifier(head(max_epochs=2), head(max_epochs=2), fusion_head(max_epochs=2),
                              audio_features=4, cv=3).fit(X, y, groups=groups)
    # 2 full-data stage-1 fits, 3 folds x 2 modalities, 1 fusion fit
    assert len(calls) == 2 + 6 + 1
    fold_groups = calls[2:5]  # audio folds: GroupKFold(3) over the 6 groups
    assert all(len(g) == 4 for g in fold_groups)
    assert clf.predict(X).shape == (len(X),)


def test_late_fusion_rule(rng):
    X, y = av_data(rng)
    clf = LateFusionClassifier(LogisticRegression(), LogisticRegression(), audio_features=4,
                               modality_weights=(3, 1)).fit(X, y)
    expected = (0.75 * clf.audio_.predict_proba(X[:, :4])
                + 0.25 * clf.video_.predict_proba(X[:, 4:]))
    np.testing.assert_allclose(clf.predict_proba(X), expected)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(1)])
    equal = LateFusionClassifier(LogisticRegression(), LogisticRegression(),
                                 audio_features=4).fit(X, y)
    np.testing.assert_allclose(
        equal.predict_proba(X),
        (equal.audio_.predict_proba(X[:, :4]) + equal.video_.predict_proba(X[:, 4:])) / 2)
    # fusing the two views beats either one here
    assert (equal.predict(X) == y).mean() > (equal.audio_.predict(X[:, :4]) == y).mean() + 0.2


@pytest.mark.parametrize("weights", [(1, -1), (0, 0), "ab", (1, 2, 3)])
def test_late_fusion_bad_weights(rng, weights):
    X, y = av_data(rng, n=20)
    with pytest.raises(ParameterError, match="modality_weights"):
        LateFusionClassifier(LogisticRegression(), LogisticRegression(), audio_features=4,
                             modality_weights=weights).fit(X, y)


@pytest.mark.parametrize("cls", [StackedAVClassifier, LateFusionClassifier])
@pytest.mark.parametrize("audio_features", [8, 9, 0, 2.5])
def test_bad_audio_features(rng, cls, audio_features):
    X, y = av_data(rng, n=20)
    with pytest.raises(ParameterError, match="audio_features"):
        cls(LogisticRegression(), LogisticRegression(), audio_features=audio_features).fit(X, y)


def layout(clf):
    """(state_dict weight key, shape) of a fitted network, and its Dropout probabilities."""
    drop = [m.p for m in clf.module_.model if isinstance(m, torch.nn.Dropout)]
    return [(k, tuple(v.shape)) for k, v in clf.module_.state_dict().items()
            if k.endswith("weight")], drop


@pytest.fixture(scope="module")
def default_stacked():
    """StackedAVClassifier() with every default (the paper's networks) fitted on tiny data,
    and the (train, valid) tensors its networks were given, in creation order."""
    from sk_avsc import neural

    X, y = av_data(np.random.default_rng(5), n=80, d=3)
    X[:, 0] = X[:, 3] = np.arange(len(X))  # sample id in an audio and a video column
    made = []

    class Recording(neural._BatchData):
        def __init__(self, X, y=None):
            super().__init__(X, y)
            made.append(X.numpy().copy())

    original, threads = neural._BatchData, torch.get_num_threads()
    neural._BatchData = Recording
    torch.set_num_threads(1)
    try:
        clf = StackedAVClassifier(audio_features=3, random_state=7).fit(X, y)
    finally:
        neural._BatchData = original
        torch.set_num_threads(threads)
    return X, clf, made


def test_defaults_are_the_paper_networks(default_stacked):
    # the paper's numbers (and the layout of the authors' released heads), not our defaults
    _, clf, _ = default_stacked
    for net in (clf.audio_, clf.video_):
        weights, dropout = layout(net)
        assert weights == [("model.0.weight", (512, 3)), ("model.1.weight", (512,)),
                           ("model.4.weight", (128, 512)), ("model.5.weight", (128,)),
                           ("model.8.weight", (64, 128)), ("model.9.weight", (64,)),
                           ("model.12.weight", (4, 64))]
        assert dropout == [0.2, 0.2, 0.2]
        optimizer = net.net_.optimizer_
        assert isinstance(optimizer, torch.optim.Adam)
        assert (optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["weight_decay"]) \
            == (1e-4, 1e-4)
        assert net.net_.batch_size == 64 and net.n_iter_ == 200
        assert net.best_epoch_ is not None  # a validation split picked the epoch
    # proposed_fusion_head.pt: Linear(256, 128) -> Linear(128, n_classes), nothing between
    assert layout(clf.fusion_) == ([("model.0.weight", (128, 256)),
                                    ("model.1.weight", (4, 128))], [])
    assert clf.fusion_.n_iter_ == 200


def test_default_networks_share_one_validation_split(default_stacked):
    X, _, made = default_stacked
    # (train, valid) of audio, video, fusion; column 0 of the stage-1 inputs is the sample id
    audio_valid, video_valid, fusion_valid = made[1], made[3], made[5]
    assert len(audio_valid) == round(0.1 * len(X))  # validation_split=0.1 by default
    np.testing.assert_array_equal(audio_valid[:, 0], video_valid[:, 0])
    # the fusion net sees stage-1 features: it holds out the same rows of them
    train_ids = np.setdiff1d(np.arange(len(X)), audio_valid[:, 0])
    assert len(fusion_valid) == len(audio_valid) and len(made[4]) == len(train_ids)


@pytest.mark.shared
@pytest.mark.slow
def test_default_fusion_head_loads_authors_checkpoint(tau2021_dir, rng):
    # the paper's architecture end to end: 512 + 512 inputs, 10 classes, default fusion head
    X = rng.normal(size=(64, 1024)).astype(np.float32)
    y = np.arange(64) % 10
    # 64 windows of 10 classes: too few to hold out a stratified validation split
    stage1 = SkorchMLPClassifier(max_epochs=1, validation_split=None, random_state=0)
    clf = StackedAVClassifier(audio=stage1, video=stage1, validation_split=None).fit(X, y)
    assert clf.transform_stage1(X).shape == (64, 256)
    heads = Path(tau2021_dir) / "reference-heads"
    for name, est in [("proposed_fusion_head.pt", clf.fusion_), ("audio_model.pt", clf.audio_),
                      ("video_model.pt", clf.video_)]:
        state = torch.load(heads / name, map_location="cpu", weights_only=True)
        est.module_.load_state_dict(state, strict=True)
    # with the authors' fusion weights, the head is two affine maps and nothing else
    state = torch.load(heads / "proposed_fusion_head.pt", weights_only=True)
    Z = clf.transform_stage1(X)
    logits = (Z @ state["model.0.weight"].numpy().T + state["model.0.bias"].numpy()) \
        @ state["model.1.weight"].numpy().T + state["model.1.bias"].numpy()
    np.testing.assert_allclose(clf.fusion_.embed(Z, layer=-1), logits, rtol=1e-3, atol=1e-3)


def spy_on_fit(monkeypatch):
    """Records (n_features, groups, validation_data) of every SkorchMLPClassifier.fit."""
    seen = []
    original = SkorchMLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        seen.append((X.shape[1], groups, validation_data))
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(SkorchMLPClassifier, "fit", spy)
    return seen


def test_groups_routed_to_stacked_classifier(rng, monkeypatch):
    X, y = av_data(rng)
    groups = np.arange(len(X)) % 10
    seen = spy_on_fit(monkeypatch)
    with sklearn.config_context(enable_metadata_routing=True):
        stacked = StackedAVClassifier(head(max_epochs=1).set_fit_request(groups=True),
                                      head(max_epochs=1).set_fit_request(groups=False),
                                      fusion_head(max_epochs=1).set_fit_request(groups=True),
                                      audio_features=4)
        Pipeline([("z", ZScore()), ("clf", stacked)]).fit(X, y, groups=groups)
        # a router, not a consumer: it has no request of its own to set
        assert not hasattr(stacked, "set_fit_request")
        # a sub-classifier that left its request unset: routing refuses to guess
        stacked.set_params(video=head(max_epochs=1))
        with pytest.raises(UnsetMetadataPassedError, match="groups"):
            stacked.fit(X, y, groups=groups)
    assert [d for d, _, _ in seen[:3]] == [4, 4, 32]
    np.testing.assert_array_equal(seen[0][1], groups)
    assert seen[1][1] is None  # set_fit_request(groups=False) is honoured
    np.testing.assert_array_equal(seen[2][1], groups)


def test_validation_data_routed_by_request(rng, monkeypatch):
    X, y = av_data(rng)
    X_val, y_val = av_data(rng, n=40)
    seen = spy_on_fit(monkeypatch)
    with sklearn.config_context(enable_metadata_routing=True):
        LateFusionClassifier(head(max_epochs=1).set_fit_request(validation_data=True),
                             head(max_epochs=1).set_fit_request(validation_data=False),
                             audio_features=4).fit(X, y, validation_data=(X_val, y_val))
    np.testing.assert_array_equal(seen[0][2][0], X_val[:, :4])  # its own columns
    assert seen[1][2] is None


def test_default_networks_request_groups_and_validation_data(monkeypatch):
    # the networks built for None cannot be reached to set requests: they make their own
    X, y = av_data(np.random.default_rng(1), n=40, d=3)
    X_val, y_val = av_data(np.random.default_rng(2), n=20, d=3)
    groups = np.arange(len(X)) % 5
    seen = spy_on_fit(monkeypatch)
    with sklearn.config_context(enable_metadata_routing=True):
        LateFusionClassifier(audio_features=3, random_state=0).fit(
            X, y, groups=groups, validation_data=(X_val, y_val))
    assert len(seen) == 2
    for _, g, val in seen:
        np.testing.assert_array_equal(g, groups)
        assert val[0].shape == (20, 3)


def test_int_cv_folds_by_routed_groups(rng, monkeypatch):
    X, y = av_data(rng)
    groups = np.arange(len(X)) % 6
    seen = spy_on_fit(monkeypatch)
    with sklearn.config_context(enable_metadata_routing=True):
        StackedAVClassifier(head(max_epochs=1).set_fit_request(groups=True),
                            head(max_epochs=1).set_fit_request(groups=True),
                            fusion_head(max_epochs=1).set_fit_request(groups=True),
                            audio_features=4, cv=3).fit(X, y, groups=groups)
    fold_groups = [set(g) for _, g, _ in seen[2:5]]  # audio folds: GroupKFold(3), 6 groups
    assert all(len(g) == 4 for g in fold_groups)


@pytest.mark.slow
def test_random_state_seeds_default_classifiers(default_stacked):
    # audio=video=fusion=None (the paper's networks) must repeat exactly given random_state
    X, clf, _ = default_stacked
    y = clf.classes_[np.arange(len(X)) % 4]  # av_data's labels
    assert len({clf.audio_.random_state, clf.video_.random_state, clf.fusion_.random_state}) == 3
    again = StackedAVClassifier(audio_features=3, random_state=7).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    other = StackedAVClassifier(audio_features=3, random_state=8).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), clf.predict_proba(X))


def test_pipeline_with_location_grouped_validation_fits_inside_cross_val_score():
    # issue 9, "Done when": ZScore -> ClipAggregator(StackedAVClassifier) with validation
    # split by location fits in one call inside cross_val_score(params={"groups": g})
    X, y, location = make_av_embeddings(random_state=0)
    d = X.shape[2] // 2
    seen = []  # (groups, train, valid) of every validation split drawn inside the fits

    class SpySplit(LocationShuffleSplit):
        def split(self, X=None, y=None, groups=None):
            for train, valid in super().split(X, y, groups):
                seen.append((np.asarray(groups), train, valid))
                yield train, valid

    def net(**params):
        params = {**dict(hidden_sizes=(16,), lr=1e-2, max_epochs=3, random_state=0,
                         validation_split=SpySplit(test_size=0.2, random_state=0)), **params}
        return SkorchMLPClassifier(**params).set_fit_request(groups=True)

    outer = GroupKFold(n_splits=3)
    with sklearn.config_context(enable_metadata_routing=True):
        stacked = StackedAVClassifier(
            net(), net(), net(hidden_sizes=(8,), dropout=0.0, batch_norm=False,
                              activation="identity"), audio_features=d)
        pipe = make_pipeline(ZScore(), ClipAggregator(stacked))
        scores = cross_val_score(pipe, X, y, cv=outer, params={"groups": location})
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert len(seen) == 3 * 3  # audio, video and fusion network of each fold
    for k, (train_clips, _) in enumerate(outer.split(X, y, location)):
        for groups, train, valid in seen[3 * k: 3 * k + 3]:
            # the locations of this fold's training clips, one per window
            np.testing.assert_array_equal(groups, np.repeat(location[train_clips], X.shape[1]))
            assert len(valid) > 0 and set(groups[train]).isdisjoint(groups[valid])
