"""make_system and make_embedder: the paper's systems built by name."""

import pickle

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from sk_avsc import (
    ClipAggregator,
    LateFusionClassifier,
    SkorchMLPClassifier,
    OpenL3AudioEmbedder,
    OpenL3FrameEmbedder,
    ParameterError,
    StackedAVClassifier,
    ZScore,
)
from sk_avsc.systems import (
    COMPARISON_SYSTEMS,
    PAPER_ACCURACY,
    SYSTEM_FEATURES,
    SYSTEMS,
    available_systems,
    make_embedder,
    make_system,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TRAINING = dict(max_epochs=3, batch_size=8, device="cpu", random_state=7)


def _heads(clf):
    return [clf] if isinstance(clf, SkorchMLPClassifier) else [clf.audio, clf.video]


def test_the_papers_eight_systems_are_registered_with_their_figures():
    assert available_systems() == SYSTEMS + COMPARISON_SYSTEMS
    assert set(PAPER_ACCURACY) == set(SYSTEMS + COMPARISON_SYSTEMS)
    assert PAPER_ACCURACY["mcdonnell"] == 82.84 and PAPER_ACCURACY["ensemble"] == 85.8
    assert set(SYSTEM_FEATURES) == set(available_systems())
    assert SYSTEM_FEATURES["ensemble"] == ("logmel", "frames")


def test_comparison_systems_have_the_published_recipes_and_take_the_shared_options():
    from sk_avsc.comparison import (
        AudioVisualEnsemble,
        ResNet50FrameClassifier,
        ResNetAudioClassifier,
    )

    mcd = make_system("mcdonnell")[-1]
    assert type(mcd) is ResNetAudioClassifier
    assert (mcd.max_epochs, mcd.batch_size, mcd.validation_split) == (510, 32, None)
    r50 = make_system("resnet50", resnet50_weights="w.pth")[-1]
    assert type(r50) is ResNet50FrameClassifier and r50.weights == "w.pth"
    assert (r50.max_epochs, r50.batch_size, r50.validation_split) == (30, 64, 0.1)
    ens = make_system("ensemble", crop_length=40, **TRAINING, validation_split=None)[-1]
    assert type(ens) is AudioVisualEnsemble and ens.audio.crop_length == 40
    for net in (ens.audio, ens.video):
        assert {k: net.get_params()[k] for k in TRAINING} == TRAINING
        assert net.validation_split is None


def test_parameter_counts_are_near_the_papers():
    from sk_avsc.systems import PAPER_PARAMETERS, count_system_parameters

    # McDonnell & Gao's code gives 3.25 M (the paper rounds to 3 M); ResNet50 ~23 M
    assert abs(count_system_parameters("mcdonnell") / 3.25e6 - 1) < 0.03
    assert abs(count_system_parameters("resnet50") / PAPER_PARAMETERS["resnet50"] - 1) < 0.03
    assert count_system_parameters("ensemble") == (count_system_parameters("mcdonnell")
                                                   + count_system_parameters("resnet50"))
    # both OpenL3 networks (4.7 M each) and three heads
    assert 9.5e6 < count_system_parameters("proposed") < PAPER_PARAMETERS["proposed"]


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_system_is_a_zscore_clip_aggregator_pipeline(name):
    system = make_system(name, audio_features=6, hidden_sizes=(16,), **TRAINING)
    assert isinstance(system, Pipeline)
    names = [step for step, _ in system.steps]
    assert names == (["select", "zscore", "clf"] if name in ("audio", "video")
                     else ["zscore", "clf"])
    assert isinstance(system.named_steps["zscore"], ZScore)
    agg = system.named_steps["clf"]
    assert isinstance(agg, ClipAggregator) and agg.method == "sum"
    clf = agg.estimator
    mlp = SkorchMLPClassifier
    expected = {"audio": mlp, "video": mlp, "early": mlp,
                "late": LateFusionClassifier, "proposed": StackedAVClassifier}[name]
    assert type(clf) is expected
    if name in ("late", "proposed"):
        assert clf.audio_features == 6
    for head in _heads(clf):
        assert head.hidden_sizes == (16,)
        assert {k: head.get_params()[k] for k in TRAINING} == TRAINING


def test_single_modality_systems_see_only_their_columns():
    X = np.arange(2 * 3 * 10, dtype=float).reshape(2, 3, 10)
    audio = make_system("audio", audio_features=4)[0].transform(X)
    video = make_system("video", audio_features=4)[0].transform(X)
    assert np.array_equal(audio, X[..., :4]) and np.array_equal(video, X[..., 4:])


def test_proposed_keeps_the_authors_fusion_head_with_the_runs_training():
    fusion = make_system("proposed", hidden_sizes=(16,), **TRAINING)[-1].estimator.fusion
    params = fusion.get_params()
    assert params["hidden_sizes"] == (128,) and params["dropout"] == 0.0
    assert params["batch_norm"] is False and params["activation"] == "identity"
    assert {k: params[k] for k in TRAINING} == TRAINING


def test_default_heads_are_mlp_classifier_defaults():
    head = make_system("early")[-1].estimator
    assert head.get_params() == SkorchMLPClassifier().get_params()


def test_a_fitted_system_pickles_and_predicts_clips(rng):
    X = rng.normal(size=(12, 3, 8)).astype(np.float32)
    y = np.array(["bus", "park", "tram"] * 4)
    X[..., :4] += (y == "park")[:, None, None]
    system = make_system("proposed", audio_features=4, hidden_sizes=(8,), **TRAINING)
    system.fit(X, y)
    again = pickle.loads(pickle.dumps(system))
    proba = again.predict_proba(X)
    assert proba.shape == (12, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(proba, system.predict_proba(X))


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="svm"), "name must be one of"),
    (dict(name="audio", audio_features=0), "audio_features"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_system(**kwargs)


def test_make_embedder_is_the_papers_front_end():
    emb = make_embedder(weights="random", hop_size=0.5, duration=2.0, batch_size=4, n_jobs=2)
    assert isinstance(emb.audio, OpenL3AudioEmbedder)
    assert isinstance(emb.video, OpenL3FrameEmbedder)
    for net in (emb.audio, emb.video):
        params = net.get_params()
        assert (params["input_repr"], params["content_type"], params["embedding_size"]) == (
            "mel256", "env", 512)
        assert params["center"] is True and params["hop_size"] == 0.5
        assert params["duration"] == 2.0 and params["weights"] == "random"
    assert emb.n_jobs == 2


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_network_of_a_system_holds_out_the_same_validation_clips(name):
    from sk_avsc.datasets import AuthorsSplit

    split = AuthorsSplit()
    clf = make_system(name, audio_features=6, validation_split=split, **TRAINING)[-1].estimator
    nets = _heads(clf) + ([clf.fusion] if name == "proposed" else [])
    assert len(nets) == {"late": 2, "proposed": 3}.get(name, 1)
    assert all(net.validation_split is split for net in nets)


def test_location_grouped_validation_fits_in_one_call():
    # groups given to the pipeline reach every network's split, one entry per window
    from sk_avsc.datasets import LocationShuffleSplit

    seen = []

    class Spy(LocationShuffleSplit):
        def split(self, X=None, y=None, groups=None):
            seen.append(np.asarray(groups))
            return super().split(X, y, groups)

    rng = np.random.default_rng(0)
    y = np.array(["bus", "park"] * 8)
    location = np.repeat(np.array(list("abcdefgh")), 2)
    X = rng.normal(size=(16, 3, 6)) + (y == "park")[:, None, None]
    system = make_system("proposed", audio_features=3, hidden_sizes=(8,),
                         validation_split=Spy(test_size=0.25, random_state=0), **TRAINING)
    system.fit(X, y, clf__groups=location)
    assert len(seen) == 3  # audio, video, fusion head
    for groups in seen:
        np.testing.assert_array_equal(groups, np.repeat(location, 3))


def test_validation_splitter_chooses_the_authors_split_when_it_applies():
    from sk_avsc.datasets import AUTHORS_VALIDATION_LOCATIONS, AuthorsSplit, LocationShuffleSplit
    from sk_avsc.systems import validation_splitter

    authors = sorted(AUTHORS_VALIDATION_LOCATIONS)[:2] + ["lyon-9999", "paris-9999"]
    splitter, name = validation_splitter("auto", authors, ["a", "b", "a", "b"])
    assert name == "authors" and isinstance(splitter, AuthorsSplit)
    groups = ["x-1", "x-2", "x-3", "y-4", "y-5", "y-6"]
    splitter, name = validation_splitter("auto", groups, list("aaabbb"), test_size=0.3,
                                         random_state=0)
    assert name == "location" and isinstance(splitter, LocationShuffleSplit)
    assert validation_splitter("none") == (None, "none")
    with pytest.raises(ParameterError, match="authors"):
        validation_splitter("authors", groups)


def test_validation_splitter_refuses_a_location_split_with_one_location_per_class():
    from sk_avsc.systems import validation_splitter

    with pytest.raises(ParameterError, match="too few locations.*'none'"):
        validation_splitter("location", ["x-1", "x-1", "y-2", "y-2"], list("aabb"))
