"""make_av_embeddings: shapes, determinism, and a task that needs both modalities."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict

from sk_avsc.datasets import make_av_embeddings
from sk_avsc.exceptions import ParameterError


def test_shapes_labels_and_locations():
    X, y, location = make_av_embeddings(n_classes=4, n_locations=5, clips_per_class=2,
                                        n_windows=3, n_features=7, random_state=0)
    assert X.shape == (5 * 4 * 2, 3, 14) and X.dtype == np.float32
    assert np.array_equal(np.bincount(y), [10] * 4)
    assert np.array_equal(np.bincount(location), [8] * 5)
    for loc in range(5):  # every location records every class
        assert set(y[location == loc]) == set(range(4))


def test_same_seed_same_arrays_other_seed_other_arrays():
    a, b, c = (make_av_embeddings(random_state=s) for s in (3, 3, 4))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    rs = np.random.RandomState(0)
    assert make_av_embeddings(random_state=rs)[0].shape == a[0].shape


def test_each_modality_tells_apart_only_its_pairs():
    # clip means, location-held-out: audio confuses 0/1, video confuses 1/2, both separate all
    X, y, location = make_av_embeddings(n_classes=4, n_locations=12, clips_per_class=4,
                                        location_scale=0.3, random_state=0)
    clips, d = X.mean(axis=1), X.shape[2] // 2

    def predicted(columns):
        return cross_val_predict(LogisticRegression(max_iter=2000), clips[:, columns], y,
                                 groups=location, cv=GroupKFold(4))

    audio, video, both = predicted(slice(0, d)), predicted(slice(d, None)), predicted(slice(None))
    assert np.mean(both == y) > 0.9
    # audio never mixes up the pairs {0, 1} and {2, 3}; within a pair it is near chance
    assert np.mean((audio // 2) == (y // 2)) > 0.9 and np.mean(audio == y) < 0.75
    video_pair = ((video + 1) % 4) // 2
    assert np.mean(video_pair == ((y + 1) % 4) // 2) > 0.9 and np.mean(video == y) < 0.75


@pytest.mark.parametrize("kwargs, match", [
    ({"n_classes": 3}, "even"),
    ({"n_classes": 0}, "n_classes"),
    ({"n_windows": 0}, "n_windows"),
    ({"clip_scale": -1.0}, "clip_scale"),
    ({"window_scale": float("nan")}, "window_scale"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=f"make_av_embeddings: .*{match}"):
        make_av_embeddings(**kwargs)
