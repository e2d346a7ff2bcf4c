"""FeatureStore: on-disk layout, the settings check, subsets that accumulate, torn and
concurrent writes."""

import json
import multiprocessing
import os
import time

import numpy as np
import pandas as pd
import pytest

from sk_avsc import store as store_module
from sk_avsc.exceptions import DatasetError
from sk_avsc.store import FeatureStore

SETTINGS = {"weights": "random", "hop_size": 0.5, "duration": None, "batch_size": 32}


def _index(n, first=0):
    return pd.DataFrame({"filename": [f"audio/c{i}.wav" for i in range(first, first + n)],
                         "scene_label": ["bus"] * n, "location": ["0123"] * n,
                         "target": [0] * n})


def test_layout_and_round_trip(tmp_path, rng):
    store = FeatureStore.create(tmp_path, SETTINGS)
    # the settings are claimed at once, so that a concurrent run with others is refused
    assert json.loads((tmp_path / "store.json").read_text())["subsets"] == {}
    X = rng.normal(size=(3, 2, 4))
    store.write_subset("fold1_train", X, _index(3), target_names=["bus"])
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".lock") == [
        "fold1_train.npz", "fold1_train.tsv", "store.json"]
    on_disk = json.loads((tmp_path / "store.json").read_text())
    assert on_disk["subsets"]["fold1_train"]["n_clips"] == 3
    assert on_disk["subsets"]["fold1_train"]["n_windows"] == 2
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


# --- item 1 of issue 10: a crash between the subset's two files ------------------------------

def _crash_on_tsv(monkeypatch):
    """Make the write of a subset's .tsv fail, as a kill right after its .npz would."""
    real = store_module.atomic_write

    def atomic_write(path, *args, **kwargs):
        if str(path).endswith(".tsv"):
            raise KeyboardInterrupt("killed between the .npz and the .tsv")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store_module, "atomic_write", atomic_write)


@pytest.mark.parametrize("n_new, first", [(5, 0), (3, 1)], ids=["more-clips", "same-count"])
def test_torn_subset_is_refused(tmp_path, rng, monkeypatch, n_new, first):
    store = FeatureStore.create(tmp_path, SETTINGS)
    store.write_subset("fold1_train", rng.normal(size=(3, 2, 4)), _index(3))
    # the subset's clip list changed (more clips, or as many but others); the rerun dies
    # after writing the new features, before their table
    _crash_on_tsv(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        FeatureStore.create(tmp_path, SETTINGS).write_subset(
            "fold1_train", rng.normal(size=(n_new, 2, 4)), _index(n_new, first))
    monkeypatch.undo()
    with pytest.raises(DatasetError, match="'fold1_train'.*torn.*rerun 'sk-avsc extract"):
        FeatureStore.open(tmp_path).read_subset("fold1_train")


def test_table_edited_after_extract_is_refused(tmp_path, rng):
    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", rng.normal(size=(2, 1, 2)),
                                                         _index(2))
    tsv = tmp_path / "a.tsv"
    tsv.write_text(tsv.read_text().replace("audio/c0.wav", "audio/other.wav"))
    with pytest.raises(DatasetError, match="torn"):
        FeatureStore.open(tmp_path).read_subset("a")


def test_features_without_clip_ids_are_refused(tmp_path, rng):
    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", rng.normal(size=(2, 1, 2)),
                                                         _index(2))
    np.savez(tmp_path / "a.npz", X=np.zeros((2, 1, 2), np.float32))  # an older store's file
    with pytest.raises(DatasetError, match="no clip ids.*rerun"):
        FeatureStore.open(tmp_path).read_subset("a")


# --- item 2 of issue 10: concurrent writers --------------------------------------------------

def _writer(path, settings, subset, n, barrier, results):
    try:
        store = FeatureStore.create(path, settings)
    except DatasetError as exc:
        results.put((subset, str(exc)))
        barrier.wait(timeout=60)
        return
    barrier.wait(timeout=60)  # both have opened the store before either writes
    store.write_subset(subset, np.zeros((n, 2, 4)), _index(n), target_names=["bus"])
    results.put((subset, "ok"))


def _run_writers(path, jobs):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, settings, subset, n, barrier, results))
             for settings, subset, n in jobs]
    for p in procs:
        p.start()
    out = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_concurrent_writers_of_two_subsets_keep_both(tmp_path):
    out = _run_writers(tmp_path, [(SETTINGS, "fold1_train", 3), (SETTINGS, "fold1_evaluate", 2)])
    assert out == {"fold1_train": "ok", "fold1_evaluate": "ok"}
    store = FeatureStore.open(tmp_path)
    assert sorted(store.subsets) == ["fold1_evaluate", "fold1_train"]
    assert store.read_subset("fold1_train")[0].shape[0] == 3
    assert store.read_subset("fold1_evaluate")[0].shape[0] == 2


def test_concurrent_first_runs_with_other_settings_one_is_refused(tmp_path):
    other = {**SETTINGS, "hop_size": 0.25}
    out = _run_writers(tmp_path, [(SETTINGS, "a", 1), (other, "b", 1)])
    assert list(out.values()).count("ok") == 1  # the first to claim the folder
    refused = [msg for msg in out.values() if msg != "ok"]
    assert len(refused) == 1 and "other settings" in refused[0] and "hop_size" in refused[0]
    assert len(FeatureStore.open(tmp_path).subsets) == 1


# --- item 10 of issue 10: temporaries of killed writers --------------------------------------

def test_stale_temporaries_are_removed_when_a_store_is_opened(tmp_path, rng):
    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", rng.normal(size=(1, 1, 2)),
                                                         _index(1))
    stale, fresh = tmp_path / ".a.npz.x1.tmp", tmp_path / ".a.tsv.x2.tmp"
    stale.write_bytes(b"half"), fresh.write_bytes(b"being written")
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    FeatureStore.open(tmp_path)
    assert not stale.exists() and fresh.exists()  # a write in progress is left alone
    os.utime(fresh, (hour_ago, hour_ago))
    FeatureStore.create(tmp_path, SETTINGS)
    assert not fresh.exists()


def test_features_of_another_version_warn(tmp_path, rng):
    from sk_avsc.exceptions import SkAvscWarning

    FeatureStore.create(tmp_path, SETTINGS).write_subset("a", rng.normal(size=(1, 1, 2)),
                                                         _index(1))
    path = tmp_path / "store.json"
    path.write_text(path.read_text().replace('"sk_avsc_version": "', '"sk_avsc_version": "0.0.1+'))
    with pytest.warns(SkAvscWarning, match="extracted by sk_avsc 0.0.1"):
        FeatureStore.open(tmp_path).read_subset("a")


def test_model_settings_are_compared(tmp_path):
    store = FeatureStore.create(tmp_path, {**SETTINGS, "audio_dim": 512, "center": True})
    store.check_settings_of({**SETTINGS, "batch_size": 8}, what="m")  # batch size: no matter
    with pytest.raises(DatasetError, match="m was trained on features with duration 10.0, "
                       "but .* holds duration None"):
        store.check_settings_of({**SETTINGS, "duration": 10.0}, what="m")


# --- log-mel and frame stores (issue 12) ------------------------------------------------------

FRAME_SETTINGS = {"kind": "frames", "duration": 2.0, "frontend": {"candidates_per_second": 2}}


def _frames(n, rng, shape=(2, 2, 8, 8, 3)):
    return [rng.integers(0, 256, size=shape, dtype=np.uint8) for _ in range(n)]


def test_frame_store_round_trip_is_memory_mapped_and_keeps_the_dtype(tmp_path, rng):
    path = store_module.store_path(tmp_path, "frames")
    store = FeatureStore.create(path, FRAME_SETTINGS)
    clips = _frames(3, rng)
    store.write_subset("fold1_train", iter(clips), _index(3), target_names=["bus"])
    X, index = FeatureStore.open(path).read_subset("fold1_train")
    assert isinstance(X, np.memmap) and X.dtype == np.uint8 and X.shape == (3, 2, 2, 8, 8, 3)
    np.testing.assert_array_equal(X, np.stack(clips))
    assert index["filename"].tolist() == _index(3)["filename"].tolist()
    entry = FeatureStore.open(path).subsets["fold1_train"]
    assert entry["shape"] == [2, 2, 8, 8, 3] and entry["n_clips"] == 3
    # a rewrite with other clips replaces the array file; the old one is removed
    store.write_subset("fold1_train", iter(clips[:2]), _index(2, first=5))
    assert len(list(path.glob("fold1_train.*.npy"))) == 1
    assert FeatureStore.open(path).read_subset("fold1_train")[0].shape[0] == 2
    # an OpenL3 store cannot take these features, nor the other way round
    with pytest.raises(DatasetError, match="other settings.*kind"):
        FeatureStore.create(path, SETTINGS)


@pytest.mark.parametrize("n_new, first", [(5, 0), (3, 1)], ids=["more-clips", "same-count"])
def test_frame_store_killed_mid_write_keeps_the_old_subset(tmp_path, rng, monkeypatch, n_new,
                                                           first):
    path = tmp_path / "frames"
    old = _frames(3, rng)
    FeatureStore.create(path, FRAME_SETTINGS).write_subset("a", old, _index(3))
    _crash_on_tsv(monkeypatch)  # killed after the new array is renamed in, before its table
    with pytest.raises(KeyboardInterrupt):
        FeatureStore.create(path, FRAME_SETTINGS).write_subset("a", _frames(n_new, rng),
                                                               _index(n_new, first))
    monkeypatch.undo()
    # store.json still names the old array (by its clips' checksum) and the old table
    X, index = FeatureStore.open(path).read_subset("a")
    np.testing.assert_array_equal(X, np.stack(old))
    assert index["filename"].tolist() == _index(3)["filename"].tolist()


def test_torn_frame_store_is_refused(tmp_path, rng):
    path = tmp_path / "frames"
    FeatureStore.create(path, FRAME_SETTINGS).write_subset("a", _frames(2, rng), _index(2))
    tsv = path / "a.tsv"
    tsv.write_text(tsv.read_text().replace("audio/c0.wav", "audio/other.wav"))
    with pytest.raises(DatasetError, match="'a'.*torn.*--kind frames"):
        FeatureStore.open(path).read_subset("a")
    for array in path.glob("a.*.npy"):
        array.unlink()
    with pytest.raises(DatasetError, match="cannot be read"):
        FeatureStore.open(path).read_subset("a")


def test_array_store_refuses_clips_of_other_shapes_and_leaves_no_temporary(tmp_path, rng):
    path = tmp_path / "logmel"
    store = FeatureStore.create(path, {**FRAME_SETTINGS, "kind": "logmel"})
    bad = [np.zeros((6, 4, 5), np.float32), np.zeros((6, 4, 7), np.float32)]
    with pytest.raises(DatasetError, match="clip 1 gives float32 \\(6, 4, 7\\)"):
        store.write_subset("a", bad, _index(2))
    with pytest.raises(DatasetError, match="1 clips of features for a table of 2"):
        store.write_subset("a", bad[:1], _index(2))
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]
    assert "a" not in FeatureStore.open(path).subsets


def test_cached_clip_features_resume_and_recompute_corrupt_files(tmp_path):
    from sk_avsc.exceptions import SkAvscWarning

    class Counting:  # a transformer that counts the clips it computes
        calls = 0

        def get_params(self):
            return {"scale": 2}

        def transform(self, sources):
            Counting.calls += 1
            return np.full((1, 3), float(len(str(sources[0]))), np.float32)

    files = []
    for name in ("a.wav", "bb.wav"):
        (tmp_path / name).write_bytes(b"x")
        files.append(tmp_path / name)
    first = list(store_module.cached_clip_features(Counting(), files, cache_dir=tmp_path / "c",
                                                   modality="logmel"))
    again = list(store_module.cached_clip_features(Counting(), files, cache_dir=tmp_path / "c",
                                                   modality="logmel"))
    assert Counting.calls == 2 and all(np.array_equal(a, b) for a, b in zip(first, again))
    cached = sorted((tmp_path / "c" / "logmel").glob("a-*.npz"))
    cached[0].write_bytes(b"garbage")
    with pytest.warns(SkAvscWarning, match="corrupt"):
        list(store_module.cached_clip_features(Counting(), files[:1], cache_dir=tmp_path / "c",
                                               modality="logmel"))
    assert Counting.calls == 3


def test_precisions_are_never_mixed_and_an_old_store_holds_float32(tmp_path, rng):
    old = tmp_path / "old"  # written before precision was a setting
    FeatureStore.create(old, SETTINGS).write_subset("a", rng.normal(size=(1, 2, 4)), _index(1))
    FeatureStore.create(old, {**SETTINGS, "precision": "float32"})  # the same features
    with pytest.raises(DatasetError, match="precision 'float32' there, 'bfloat16' here"):
        FeatureStore.create(old, {**SETTINGS, "precision": "bfloat16"})
    new = FeatureStore.create(tmp_path / "new", {**SETTINGS, "precision": "bfloat16"})
    with pytest.raises(DatasetError, match="precision 'bfloat16' there, 'float32' here"):
        FeatureStore.create(tmp_path / "new", SETTINGS)
    # a model trained on float32 features (or before the setting) is not scored on these
    with pytest.raises(DatasetError, match="features with precision 'float32', but .* holds "
                                           "precision 'bfloat16'"):
        new.check_settings_of(SETTINGS, what="m")
    new.check_settings_of({**SETTINGS, "precision": "bfloat16"}, what="m")
