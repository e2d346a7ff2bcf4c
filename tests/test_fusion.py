from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sk_avsc import (
    ClipAggregator,
    LateFusionClassifier,
    MLPClassifier,
    ParameterError,
    StackedAVClassifier,
    ZScore,
)
from sk_avsc.datasets import make_av_embeddings


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def head(**kwargs):
    params = dict(hidden_sizes=(32, 16), lr=1e-2, max_epochs=20, random_state=0)
    params.update(kwargs)
    return MLPClassifier(**params)


def fusion_head(**kwargs):
    params = dict(hidden_sizes=(16,), dropout=0.0, batch_norm=False, activation="identity",
                  lr=1e-2, max_epochs=20, random_state=0)
    params.update(kwargs)
    return MLPClassifier(**params)


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
    original = MLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        seen.append((X.shape[1], groups is not None, validation_data is not None))
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(MLPClassifier, "fit", spy)
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
    original = MLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        calls.append(None if groups is None else set(groups))
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(MLPClassifier, "fit", spy)
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
                               weights=(3, 1)).fit(X, y)
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
    with pytest.raises(ParameterError, match="weights"):
        LateFusionClassifier(LogisticRegression(), LogisticRegression(), audio_features=4,
                             weights=weights).fit(X, y)


@pytest.mark.parametrize("cls", [StackedAVClassifier, LateFusionClassifier])
@pytest.mark.parametrize("audio_features", [8, 9, 0, 2.5])
def test_bad_audio_features(rng, cls, audio_features):
    X, y = av_data(rng, n=20)
    with pytest.raises(ParameterError, match="audio_features"):
        cls(LogisticRegression(), LogisticRegression(), audio_features=audio_features).fit(X, y)


def test_defaults_are_the_paper_networks():
    clf = StackedAVClassifier()
    assert clf.audio_features == 512 and clf.cv is None
    audio, video, _ = clf._components()
    assert audio.get_params() == MLPClassifier().get_params() == video.get_params()


@pytest.mark.shared
@pytest.mark.slow
def test_default_fusion_head_loads_authors_checkpoint(tau2021_dir, rng):
    # the paper's architecture end to end: 512 + 512 inputs, 10 classes, default fusion head
    X = rng.normal(size=(64, 1024)).astype(np.float32)
    y = np.arange(64) % 10
    stage1 = MLPClassifier(max_epochs=1, random_state=0)
    clf = StackedAVClassifier(audio=stage1, video=stage1).fit(X, y)
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


def test_groups_routed_to_stacked_classifier(rng, monkeypatch):
    import sklearn
    from sklearn.pipeline import Pipeline

    X, y = av_data(rng)
    groups = np.arange(len(X)) % 10
    seen = []
    original = MLPClassifier.fit

    def spy(self, X, y, *, groups=None, validation_data=None):
        seen.append(groups)
        return original(self, X, y, groups=groups, validation_data=validation_data)

    monkeypatch.setattr(MLPClassifier, "fit", spy)
    with sklearn.config_context(enable_metadata_routing=True):
        stacked = StackedAVClassifier(head(max_epochs=1), head(max_epochs=1),
                                      fusion_head(max_epochs=1), audio_features=4)
        pipe = Pipeline([("z", ZScore()), ("clf", stacked.set_fit_request(groups=True))])
        pipe.fit(X, y, groups=groups)
    assert len(seen) == 3
    for g in seen:
        np.testing.assert_array_equal(g, groups)


@pytest.mark.parametrize("cls", [StackedAVClassifier, LateFusionClassifier])
def test_random_state_seeds_default_classifiers(cls):
    # The defaults (MLPClassifier() for None) must repeat exactly given random_state.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 3] > 0)

    def fitted(seed):
        clf = cls(audio_features=3, random_state=seed)
        clf.set_params(**{f"{k}": None for k in ("audio", "video")})
        comps = clf._components()
        for c in comps:
            assert c.random_state is not None
        # small, fast versions of the defaults, keeping the seeds they were given
        small = dict(hidden_sizes=(8, 4), max_epochs=2, lr=1e-2)
        clf.set_params(audio=comps[0].set_params(**small), video=comps[1].set_params(**small))
        if cls is StackedAVClassifier:
            clf.set_params(fusion=comps[2].set_params(max_epochs=2, hidden_sizes=(4,)))
        return clf.fit(X, y).predict_proba(X)

    np.testing.assert_array_equal(fitted(7), fitted(7))
    assert not np.array_equal(fitted(7), fitted(8))
