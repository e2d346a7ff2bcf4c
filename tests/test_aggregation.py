import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sk_avsc import ClipAggregator, SkorchMLPClassifier, ParameterError, ZScore


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def clips(rng, n=40, w=5, d=3, labels=("bus", "park")):
    y = np.array(labels)[np.arange(n) % len(labels)]
    shift = (y == labels[-1]).astype(float)[:, None, None]
    X = rng.normal(size=(n, w, d)) + 1.5 * shift
    return X.astype(np.float32), y


class GroupRecorder(ClassifierMixin, BaseEstimator):
    """LogisticRegression that records the groups its fit receives."""

    def fit(self, X, y, *, groups=None):
        self.groups_ = groups
        self.lr_ = LogisticRegression().fit(X, y)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X):
        return self.lr_.predict_proba(X)


def test_clip_probability_is_normalised_sum_of_windows(rng):
    X, y = clips(rng)
    clf = ClipAggregator(LogisticRegression()).fit(X, y)
    window = clf.estimator_.predict_proba(X.reshape(-1, 3)).reshape(40, 5, 2)
    np.testing.assert_allclose(clf.predict_window_proba(X), window)
    expected = window.sum(1) / window.sum(1).sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(1)])
    np.testing.assert_array_equal(clf.classes_, ["bus", "park"])
    assert (clf.predict(X) == y).mean() > 0.9
    # the estimator was trained on every window with its clip's label
    assert clf.estimator_.n_features_in_ == 3
    lr = LogisticRegression().fit(X.reshape(-1, 3), np.repeat(y, 5))
    np.testing.assert_allclose(clf.estimator_.coef_, lr.coef_)


def test_other_methods(rng):
    X, y = clips(rng)
    window = ClipAggregator(LogisticRegression()).fit(X, y).predict_window_proba(X)
    log = ClipAggregator(LogisticRegression(), method="log").fit(X, y).predict_proba(X)
    prod = np.prod(window, axis=1)
    np.testing.assert_allclose(log, prod / prod.sum(1, keepdims=True), rtol=1e-4, atol=1e-9)
    vote = ClipAggregator(LogisticRegression(), method="vote").fit(X, y).predict_proba(X)
    np.testing.assert_allclose(vote[:, 1], (window.argmax(2) == 1).mean(1))
    with pytest.raises(ParameterError, match="method"):
        ClipAggregator(LogisticRegression(), method="max").fit(X, y)


def test_2d_input_is_one_window_per_clip(rng):
    X, y = clips(rng, w=1)
    a = ClipAggregator(LogisticRegression()).fit(X[:, 0], y)
    np.testing.assert_allclose(a.predict_proba(X[:, 0]),
                               LogisticRegression().fit(X[:, 0], y).predict_proba(X[:, 0]))
    assert a.predict_window_proba(X[:, 0]).shape == (40, 1, 2)


def test_clip_index_is_the_default_group(rng):
    X, y = clips(rng, n=6, w=4)
    clf = ClipAggregator(GroupRecorder()).fit(X, y)
    np.testing.assert_array_equal(clf.estimator_.groups_, np.repeat(np.arange(6), 4))
    locations = np.array(["a", "a", "b", "b", "c", "c"])
    clf = ClipAggregator(GroupRecorder()).fit(X, y, groups=locations)
    np.testing.assert_array_equal(clf.estimator_.groups_, np.repeat(locations, 4))
    with pytest.raises(ParameterError, match="groups"):
        ClipAggregator(GroupRecorder()).fit(X, y, groups=locations[:3])


def test_windows_of_a_clip_stay_on_one_side_of_mlp_validation(rng, monkeypatch):
    from sk_avsc import neural

    made = []

    class Recording(neural._BatchData):
        def __init__(self, X, y=None):
            super().__init__(X, y)
            made.append(X.numpy().copy())

    monkeypatch.setattr(neural, "_BatchData", Recording)
    X, y = clips(rng, n=50, w=4)
    X[:, :, 0] = np.arange(50)[:, None]  # clip id in feature 0
    ClipAggregator(SkorchMLPClassifier(hidden_sizes=(4,), max_epochs=1, validation_split=0.2,
                                       random_state=0)).fit(X, y)
    train, valid = made
    assert not set(train[:, 0]) & set(valid[:, 0])
    assert len(valid) == 10 * 4


def test_groups_routed_through_pipeline(rng):
    X, y = clips(rng, n=12, w=2)
    locations = np.repeat(np.arange(6), 2)
    X_val, y_val = clips(rng, n=4, w=3)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = ClipAggregator(GroupRecorder().set_fit_request(groups=True))
        assert not hasattr(clf, "set_fit_request")  # a router: the estimator requests
        pipe = Pipeline([("z", ZScore()), ("clf", clf)])
        pipe.fit(X, y, groups=locations)
        np.testing.assert_array_equal(pipe[-1].estimator_.groups_, np.repeat(locations, 2))
        # requested but not passed: the clip index, as with routing off
        pipe.fit(X, y)
        np.testing.assert_array_equal(pipe[-1].estimator_.groups_, np.repeat(np.arange(12), 2))
        # set_fit_request(groups=False) is honoured, even over the clip-index default
        pipe.set_params(clf__estimator=GroupRecorder().set_fit_request(groups=False))
        pipe.fit(X, y)
        assert pipe[-1].estimator_.groups_ is None
        with pytest.raises(TypeError, match="not routed to any object"):
            pipe.fit(X, y, groups=locations)  # scikit-learn: nobody uses them
        # unset: routing refuses to guess
        pipe.set_params(clf__estimator=GroupRecorder())
        with pytest.raises(UnsetMetadataPassedError, match="groups"):
            pipe.fit(X, y, groups=locations)
        # validation data reaches an estimator that requests it, expanded to windows
        rec = ValidationRecorder().set_fit_request(validation_data=True)
        ClipAggregator(rec).fit(X, y, validation_data=(X_val, y_val))
        assert ValidationRecorder.seen[-1][0].shape == (12, 3)
        np.testing.assert_array_equal(ValidationRecorder.seen[-1][1], np.repeat(y_val, 3))


class ValidationRecorder(GroupRecorder):
    seen = []  # class-level: fit runs on a clone

    def fit(self, X, y, *, validation_data=None):
        ValidationRecorder.seen.append(validation_data)
        return super().fit(X, y)


def mlp_pipeline(**mlp):
    params = dict(hidden_sizes=(8,), lr=1e-2, max_epochs=5, random_state=0)
    params.update(mlp)
    return Pipeline([("z", ZScore()), ("clf", ClipAggregator(SkorchMLPClassifier(**params)))])


def test_grid_search_over_hidden_sizes(rng):
    X, y = clips(rng, n=48, w=4, d=6, labels=("airport", "bus", "park"))
    locations = np.arange(48) % 6
    search = GridSearchCV(mlp_pipeline(),
                          {"clf__estimator__hidden_sizes": [(4,), (16, 8)]},
                          cv=GroupKFold(n_splits=3))
    search.fit(X, y, groups=locations)
    assert search.best_params_["clf__estimator__hidden_sizes"] in [(4,), (16, 8)]
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_estimator_[-1].estimator_.module_.model[0].out_features == \
        search.best_params_["clf__estimator__hidden_sizes"][0]
    assert search.predict(X).shape == (48,)


def test_joblib_round_trip_of_pipeline(rng, tmp_path):
    X, y = clips(rng, labels=("metro", "tram", "park"))
    pipe = mlp_pipeline().fit(X, y)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    loaded = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert set(loaded.predict(X)) <= {"metro", "tram", "park"}


def test_errors(rng):
    X, y = clips(rng)
    with pytest.raises(ParameterError, match="y has 39 labels"):
        ClipAggregator(LogisticRegression()).fit(X, y[:-1])
    clf = ClipAggregator(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(X[:, :, :2])
