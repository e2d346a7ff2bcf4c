"""scikit-learn's common estimator checks on the package's estimators (small settings)."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_avsc import (
    ClipAggregator,
    LateFusionClassifier,
    SkorchMLPClassifier,
    StackedAVClassifier,
    ZScore,
)


def _head(**kwargs):
    params = dict(hidden_sizes=(16,), lr=3e-2, weight_decay=0.0, max_epochs=30,
                  batch_size=32, validation_split=None, random_state=0)
    params.update(kwargs)
    return SkorchMLPClassifier(**params)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


ESTIMATORS = [
    ZScore(),
    _head(),
    StackedAVClassifier(
        audio=_head(), video=_head(), fusion=_head(hidden_sizes=(8,)), audio_features=1
    ),
    LateFusionClassifier(audio=_head(), video=_head(), audio_features=1),
    ClipAggregator(LogisticRegression()),
]


# No expected failures: every check passes for every estimator (none is skipped).
@pytest.mark.slow
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
