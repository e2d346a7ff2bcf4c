"""FeatureStore: today's on-disk layout, the settings check, subsets that accumulate."""

import json

import numpy as np
import pandas as pd
import pytest

from sk_avsc.exceptions import DatasetError
from sk_avsc.store import FeatureStore

SETTINGS = {"weights": "random", "hop_size": 0.5, "duration": None, "batch_size": 32}


def _index(n):
    return pd.DataFrame({"filename": [f"audio/c{i}.wav" for i in range(n)],
                         "scene_label": ["bus"] * n, "location": ["0123"] * n,
                         "target": [0] * n})


def test_layout_and_round_trip(tmp_path, rng):
    store = FeatureStore.create(tmp_path, SETTINGS)
    assert not (tmp_path / "store.json").exists()  # nothing is written before a subset
    X = rng.normal(size=(3, 2, 4))
    store.write_subset("fold1_train", X, _index(3), target_names=["bus"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fold1_train.npz", "fold1_train.tsv", "store.json"]
    on_disk = json.loads((tmp_path / "store.json").read_text())
    assert on_disk["subsets"] == {"fold1_train": {"n_clips": 3, "n_windows": 2}}
    assert on_disk["target_names"] == ["bus"] and on_disk["hop_size"] == 0.5
    X2, index = FeatureStore.open(tmp_path).read_subset("fold1_train")
    assert X2.dtype == np.float32 and np.array_equal(X2, X.astype(np.float32))
    assert index["location"].tolist() == ["0123"] * 3  # read as text, leading zero kept
    assert store.cache_dir == tmp_path / "cache"


def test_subsets_accumulate_and_other_settings_are_refused(tmp_path, rng):
    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", rng.normal(size=(1, 2, 4)),
                                                         _index(1))
    again = FeatureStore.create(tmp_path, {**SETTINGS, "batch_size": 8})
    again.write_subset("b", rng.normal(size=(2, 2, 4)), _index(2))
    store = FeatureStore.open(tmp_path)
    assert sorted(store.subsets) == ["a", "b"] and store.settings["batch_size"] == 8
    with pytest.raises(DatasetError, match="other settings"):
        FeatureStore.create(tmp_path, {**SETTINGS, "hop_size": 0.25})


def test_missing_store_and_subset(tmp_path):
    with pytest.raises(DatasetError, match="not a feature store"):
        FeatureStore.open(tmp_path)
    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", np.zeros((1, 1, 2)), _index(1))
    with pytest.raises(DatasetError, match="no features of 'b'.*--subset b"):
        FeatureStore.open(tmp_path).read_subset("b")
