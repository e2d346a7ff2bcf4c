"""AudioVisualEnsemble: late fusion of two clip classifiers on different inputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from sk_avsc.comparison import AudioVisualEnsemble, ResNetAudioClassifier
from sk_avsc.exceptions import ParameterError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def two_sides(rng, n=40):
    y = np.array(["bus", "park"] * (n // 2))
    shift = 2.0 * (y == "park")[:, None]
    return {"audio": rng.normal(size=(n, 3)) + shift,
            "video": rng.normal(size=(n, 5)) + shift}, y


def test_probabilities_are_the_weighted_mean_of_the_sides(rng):
    X, y = two_sides(rng)
    ens = AudioVisualEnsemble(LogisticRegression(), LogisticRegression(), modality_weights=(3, 1))
    ens.fit(X, y)
    expected = (0.75 * ens.audio_.predict_proba(X["audio"])
                + 0.25 * ens.video_.predict_proba(X["video"]))
    np.testing.assert_allclose(ens.predict_proba(X), expected)
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[expected.argmax(1)])
    assert list(ens.classes_) == ["bus", "park"]
    assert (ens.predict(X) == y).mean() > 0.9


def test_the_paper_systems_on_log_mels_and_another_side(rng):
    n = 12
    y = np.array(["bus", "park"] * (n // 2))
    logmels = rng.normal(size=(n, 6, 4, 6)).astype(np.float32)
    X = {"audio": logmels, "video": rng.normal(size=(n, 4))}
    audio = ResNetAudioClassifier(width=4, n_stages=1, n_blocks=1, max_epochs=2, batch_size=4,
                                  crop_length=None, random_state=0)
    ens = AudioVisualEnsemble(audio, LogisticRegression()).fit(X, y)
    expected = 0.5 * ens.audio_.predict_proba(logmels) + 0.5 * ens.video_.predict_proba(X["video"])
    np.testing.assert_allclose(ens.predict_proba(X), expected, rtol=1e-6)


class _PathClassifier(ClassifierMixin, BaseEstimator):
    """Reads 'path-<label>' strings: stands in for a Pipeline on file paths."""

    def fit(self, X, y):
        assert all(isinstance(p, str) for p in X)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.array([[float(p.endswith(c)) for c in self.classes_] for p in X])


def test_dataframe_of_paths_and_cross_validation():
    from sklearn.model_selection import cross_val_score

    y = np.array(["bus", "park"] * 6)
    df = pd.DataFrame({"audio": [f"a{i}-{c}" for i, c in enumerate(y)],
                       "video": [f"v{i}-{c}" for i, c in enumerate(y)]})
    scores = cross_val_score(AudioVisualEnsemble(_PathClassifier(), _PathClassifier()), df, y,
                             cv=3)
    assert np.all(scores == 1.0)


def test_errors(rng):
    X, y = two_sides(rng)
    with pytest.raises(ParameterError, match="dict or DataFrame"):
        AudioVisualEnsemble(LogisticRegression(), LogisticRegression()).fit(X["audio"], y)
    with pytest.raises(ParameterError, match="no entry 'video'"):
        AudioVisualEnsemble(LogisticRegression(), LogisticRegression()).fit(
            {"audio": X["audio"]}, y)
    with pytest.raises(ParameterError, match="weights must be"):
        AudioVisualEnsemble(LogisticRegression(), LogisticRegression(),
                            modality_weights=(0, 0)).fit(X, y)
    bad = {"audio": X["audio"], "video": X["video"][:-1]}
    with pytest.raises(ParameterError, match="40 clips but the video side 39"):
        AudioVisualEnsemble(LogisticRegression(), LogisticRegression()).fit(bad, y)


def test_default_sides_are_the_papers_pipelines():
    audio, video = AudioVisualEnsemble()._components()
    assert isinstance(audio, Pipeline) and isinstance(video, Pipeline)
    names = [[type(s).__name__ for _, s in side.steps] for side in (audio, video)]
    assert names == [["LogMelSpectrogram", "ResNetAudioClassifier"],
                     ["VideoFrames", "ResNet50FrameClassifier"]]
    est = AudioVisualEnsemble(modality_weights=(1, 2))
    assert clone(est).get_params()["modality_weights"] == (1, 2)
    check_no_attributes_set_in_init("AudioVisualEnsemble", est)
    check_parameters_default_constructible("AudioVisualEnsemble", AudioVisualEnsemble())
