"""Location splits: no location on both sides, stratification, determinism."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import cross_val_score

from sk_avsc.datasets import LocationShuffleSplit, authors_split, location_split
from sk_avsc.exceptions import ParameterError


@pytest.fixture(scope="module")
def tau_groups(tau2021_dir):
    ref = pd.concat([pd.read_csv(tau2021_dir / f"reference_{n}.csv") for n in ("train", "val")])
    city = ref["filename_audio"].str.split("-").str[1]
    return (city + "-" + ref["location_id"].astype(str)).to_numpy(), ref["scene_label"].to_numpy()


def _random_task(rng, n_classes, n_locs, max_clips):
    groups, y = [], []
    for c in range(n_classes):
        for j in range(rng.integers(1, n_locs + 1)):
            n = rng.integers(1, max_clips + 1)
            groups += [f"city{c % 3}-{c}_{j}"] * n
            y += [c] * n
    return np.array(groups), np.array(y)


def test_no_location_on_both_sides_on_random_tasks():
    rng = np.random.default_rng(0)
    for trial in range(50):
        groups, y = _random_task(rng, rng.integers(1, 6), 6, 30)
        cv = LocationShuffleSplit(n_splits=3, test_size=rng.uniform(0.05, 0.6), random_state=trial)
        for train, test in cv.split(groups, y, groups):
            assert set(groups[train]).isdisjoint(groups[test])
            assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
            for c in np.unique(y):
                n_locs = len(set(groups[y == c]))
                on_test = len(set(groups[test][y[test] == c]))
                # a class with >= 2 locations is on both sides; one with 1 stays in training
                assert on_test == (1 if n_locs == 2 else on_test)
                assert (on_test >= 1) == (n_locs >= 2)
                assert on_test < max(n_locs, 2)


def test_stratified_fraction_on_tau_metadata(tau_groups):
    groups, y = tau_groups
    train, test = location_split(groups, y, test_size=0.1, random_state=0)
    assert set(groups[train]).isdisjoint(groups[test])
    for c in np.unique(y):
        frac = np.mean(y[test] == c) * len(test) / np.sum(y == c)
        assert 0.05 < frac < 0.15, (c, frac)


def test_random_state_repeats_and_varies(tau_groups):
    groups, y = tau_groups
    a = location_split(groups, y, test_size=0.2, random_state=1)
    b = location_split(groups, y, test_size=0.2, random_state=1)
    c = location_split(groups, y, test_size=0.2, random_state=2)
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_without_labels_and_with_mixed_locations():
    groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"])
    y = np.array([0, 1, 0, 0, 1, 1, 0, 0, 1, 1])  # location "a" holds two classes
    for labels in (None, y):
        train, test = location_split(groups, labels, test_size=0.3, random_state=0)
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(test) > 0 and len(train) > 0


def test_is_a_scikit_learn_cv_splitter():
    rng = np.random.default_rng(0)
    groups, y = _random_task(rng, 3, 4, 10)
    X = rng.normal(size=(len(y), 2))
    cv = LocationShuffleSplit(n_splits=4, test_size=0.25, random_state=0)
    assert cv.get_n_splits() == 4
    scores = cross_val_score(DummyClassifier(), X, y, groups=groups, cv=cv)
    assert scores.shape == (4,)
    assert "LocationShuffleSplit(n_splits=4" in repr(cv)


@pytest.mark.parametrize("test_size", [0, 1, 1.0, -0.1, 3, "0.2", True])
def test_bad_test_size(test_size):
    with pytest.raises(ParameterError, match="test_size"):
        location_split(["a", "b"], test_size=test_size)


def test_groups_required_and_checked():
    with pytest.raises(ParameterError, match="groups is required"):
        next(LocationShuffleSplit().split(np.zeros((3, 1)), [0, 1, 0]))
    with pytest.raises(ParameterError, match="3 rows but groups has 2"):
        next(LocationShuffleSplit().split(np.zeros((3, 1)), None, ["a", "b"]))
    with pytest.raises(ParameterError, match="n_splits"):
        next(LocationShuffleSplit(n_splits=0).split(None, None, ["a", "b"]))


def test_authors_split_by_location():
    train, val = authors_split(np.array(["vienna-200", "vienna-201", "lyon-1095", "lyon-1"]))
    assert list(train) == [1, 3] and list(val) == [0, 2]
