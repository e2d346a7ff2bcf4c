"""load_tau2021 on fake dataset roots built from the real TAU 2021 metadata."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from sk_avsc.datasets import (
    AUTHORS_VALIDATION_LOCATIONS,
    TAU_CLASSES,
    authors_split,
    load_tau2021,
)
from sk_avsc.exceptions import DatasetError, MediaError, ParameterError, SkAvscWarning

NO_VIDEO_CLIP = "airport-lyon-1095-40158"
META_HEADER = "filename_audio\tfilename_video\tscene_label\tidentifier"


def _reference(tau2021_dir, name):
    ref = pd.read_csv(tau2021_dir / f"reference_{name}.csv")
    city = ref["filename_audio"].str.split("-").str[1]
    ref["identifier"] = city + "-" + ref["location_id"].astype(str)
    return ref


def _write_tsv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header] + ["\t".join(r) for r in rows]) + "\n")


def write_root(root, meta, *, train, evaluate, test=None, skip=(), touch=True):
    """A dataset root in the official layout; media files are empty placeholders."""
    _write_tsv(
        root / "meta.csv",
        META_HEADER,
        meta[["filename_audio", "filename_video", "scene_label", "identifier"]].values.tolist(),
    )
    cols = ["filename_audio", "filename_video", "scene_label"]
    setup = root / "evaluation_setup"
    _write_tsv(setup / "fold1_train.csv", "\t".join(cols), train[cols].values.tolist())
    _write_tsv(setup / "fold1_evaluate.csv", "\t".join(cols), evaluate[cols].values.tolist())
    test = evaluate if test is None else test
    _write_tsv(setup / "fold1_test.csv", "\t".join(cols[:2]), test[cols[:2]].values.tolist())
    if touch:
        (root / "audio").mkdir(exist_ok=True)
        (root / "video").mkdir(exist_ok=True)
        for name in pd.concat([meta["filename_audio"], meta["filename_video"]]):
            if name not in skip:
                (root / name).touch()
    return root


def _fake_clips(n_per_class, first_location=5000):
    """Clips at made-up locations (not in the real lists), for fold1_evaluate."""
    rows = []
    for k, scene in enumerate(TAU_CLASSES):
        for j in range(n_per_class):
            stem = f"{scene}-vienna-{first_location + k}-{j}"
            rows.append([f"audio/{stem}.wav", f"video/{stem}.mp4", scene,
                         f"vienna-{first_location + k}"])
    return pd.DataFrame(rows, columns=["filename_audio", "filename_video", "scene_label",
                                       "identifier"])


@pytest.fixture(scope="module")
def reference(tau2021_dir):
    return _reference(tau2021_dir, "train"), _reference(tau2021_dir, "val")


@pytest.fixture(scope="module")
def tau_root(tmp_path_factory, reference):
    """All 8,646 fold1_train clips (the video of airport-lyon-1095-40158 absent, as in the
    real dataset) plus 20 made-up fold1_evaluate clips."""
    train = pd.concat(reference, ignore_index=True)
    # the real fold1_train is not ordered train-then-validation: interleave
    train = train.sample(frac=1.0, random_state=0).reset_index(drop=True)
    evaluate = _fake_clips(2)
    meta = pd.concat([train, evaluate], ignore_index=True)
    root = tmp_path_factory.mktemp("tau2021")
    return write_root(root, meta, train=train, evaluate=evaluate,
                      skip={f"video/{NO_VIDEO_CLIP}.mp4"})


def test_tau_classes_are_the_authors_order(tau2021_dir):
    readme = (tau2021_dir / "README.md").read_text()
    line = re.search(r"Class order used by the authors:(.*?)\.\s*$", readme, re.S | re.M)
    authors = [c.strip() for c in " ".join(line.group(1).split()).split(",")]
    assert list(TAU_CLASSES) == authors
    # classifiers order classes_ by np.unique: it must agree
    assert list(np.unique(TAU_CLASSES)) == authors


def test_authors_locations_are_those_of_the_reference_validation_list(reference):
    train, val = reference
    assert set(AUTHORS_VALIDATION_LOCATIONS) == set(val["identifier"])
    assert len(AUTHORS_VALIDATION_LOCATIONS) == len(set(AUTHORS_VALIDATION_LOCATIONS))
    assert set(train["identifier"]).isdisjoint(AUTHORS_VALIDATION_LOCATIONS)


def test_split_authors_reproduces_reference_lists(tau_root, reference):
    ref_train, ref_val = reference
    ds = load_tau2021(tau_root, split="authors", on_missing="ignore")
    assert len(ds.frame) == 8646
    val = ds.frame.iloc[ds.validation_index]
    train = ds.frame.iloc[ds.train_index]
    assert sorted(val["filename"]) == sorted(ref_val["filename_audio"])
    assert sorted(train["filename"]) == sorted(ref_train["filename_audio"])
    assert (len(train), len(val)) == (7907, 739)
    assert (val["split"] == "validation").all() and (train["split"] == "train").all()
    assert set(train["location"]).isdisjoint(val["location"])


def test_missing_video_clip_is_dropped_with_a_warning_naming_it(tau_root, reference):
    with pytest.warns(SkAvscWarning, match=NO_VIDEO_CLIP):
        ds = load_tau2021(tau_root, split="authors")
    assert len(ds.frame) == 8645
    assert ds.missing == [f"audio/{NO_VIDEO_CLIP}.wav"]
    assert f"audio/{NO_VIDEO_CLIP}.wav" not in set(ds.frame["filename"])
    expected_val = set(reference[1]["filename_audio"]) - {f"audio/{NO_VIDEO_CLIP}.wav"}
    assert set(ds.frame["filename"].iloc[ds.validation_index]) == expected_val
    assert len(ds.target) == len(ds.groups) == len(ds.data) == 8645


def test_missing_video_clip_raises_when_asked(tau_root):
    with pytest.raises(MediaError, match=NO_VIDEO_CLIP) as info:
        load_tau2021(tau_root, on_missing="raise")
    assert "video" in str(info.value)


def test_bunch_contents(tau_root, reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkAvscWarning)
        ds = load_tau2021(tau_root)
    assert ds.target_names == list(TAU_CLASSES)
    assert list(ds.data.columns) == ["filename_audio", "filename_video"]
    # target indexes target_names; labels and locations agree with the reference lists
    assert (np.asarray(ds.target_names)[ds.target] == ds.frame["scene_label"]).all()
    ref = pd.concat(reference).set_index("filename_audio")
    assert (ref.loc[ds.frame["filename"], "identifier"].to_numpy() == ds.groups).all()
    assert (ref.loc[ds.frame["filename"], "scene_label"].to_numpy()
            == ds.frame["scene_label"].to_numpy()).all()
    # absolute paths of existing files; the video of the same clip
    first = ds.frame.iloc[0]
    assert first["filename_audio"].startswith(str(tau_root.resolve()))
    assert first["filename_audio"].endswith(first["filename"])
    assert first["filename_video"].endswith(first["filename"][6:-4] + ".mp4")
    cities = ds.frame["filename"].str.split("-").str[1]
    assert (ds.frame["city"] == cities).all()
    X, y = load_tau2021(tau_root, subset="fold1_evaluate", return_X_y=True)
    assert X.shape == (20, 2) and y.shape == (20,)


def test_subsets(tau_root):
    ev = load_tau2021(tau_root, subset="fold1_evaluate")
    test = load_tau2021(tau_root, subset="fold1_test")
    # the unlabelled test list gets its labels and locations from meta.csv
    assert list(test.frame["scene_label"]) == list(ev.frame["scene_label"])
    assert list(test.groups) == list(ev.groups)
    assert test.target_names == ev.target_names == list(TAU_CLASSES)
    with pytest.warns(SkAvscWarning, match=NO_VIDEO_CLIP):
        every = load_tau2021(tau_root, subset="all")
    assert len(every.frame) == 8646 + 20 - 1


def test_split_location_never_shares_a_location(tau_root):
    ds = load_tau2021(tau_root, split="location", validation_size=0.1, random_state=3,
                      on_missing="ignore")
    train = ds.frame.iloc[ds.train_index]
    val = ds.frame.iloc[ds.validation_index]
    assert set(train["location"]).isdisjoint(val["location"])
    assert len(train) + len(val) == len(ds.frame)
    assert set(val["scene_label"]) == set(TAU_CLASSES)
    assert 0.05 < len(val) / len(ds.frame) < 0.15


def test_split_authors_on_other_data_says_what_to_use(tmp_path):
    clips = _fake_clips(2)
    write_root(tmp_path, clips, train=clips, evaluate=clips.iloc[:2])
    with pytest.raises(ParameterError, match="location_split"):
        load_tau2021(tmp_path, split="authors")
    with pytest.raises(ParameterError, match="not TAU"):
        authors_split(clips["identifier"])


# --- bad inputs ---------------------------------------------------------------------------

@pytest.fixture
def small_root(tmp_path):
    clips = _fake_clips(2)
    return write_root(tmp_path, clips, train=clips.iloc[::2], evaluate=clips.iloc[1::2])


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_tau2021(tmp_path / "nope")


def test_no_meta_csv(small_root):
    (small_root / "meta.csv").unlink()
    with pytest.raises(DatasetError, match=r"meta\.csv not found"):
        load_tau2021(small_root)


def test_metadata_saved_with_a_byte_order_mark_is_read(small_root):
    # spreadsheet programs save "UTF-8 with BOM"; the first column must still be found
    expected = load_tau2021(small_root).frame
    for path in [small_root / "meta.csv", *(small_root / "evaluation_setup").glob("*.csv")]:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    frame = load_tau2021(small_root).frame
    assert list(frame.columns) == list(expected.columns)
    assert frame["filename_audio"].tolist() == expected["filename_audio"].tolist()


def test_malformed_row_names_file_and_line(small_root):
    path = small_root / "evaluation_setup" / "fold1_train.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("\t", " ", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"fold1_train\.csv line 4: malformed row"):
        load_tau2021(small_root)


def test_header_without_required_column(small_root):
    path = small_root / "meta.csv"
    path.write_text(path.read_text().replace("filename_audio", "audio_file", 1))
    with pytest.raises(DatasetError, match="lacks column"):
        load_tau2021(small_root)


def test_unknown_label_in_a_list(small_root):
    path = small_root / "evaluation_setup" / "fold1_train.csv"
    text = path.read_text()
    lines = text.splitlines()
    # a blank line before it: the message still gives the file's own line number
    i = next(i for i, line in enumerate(lines) if line.endswith("\tbus"))
    lines[i] = lines[i][: -len("bus")] + "buss"
    lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n")
    match = rf"line {i + 2}: clip 'audio/bus-.*unknown label 'buss'"
    with pytest.raises(DatasetError, match=match):
        load_tau2021(small_root)


def test_clip_missing_from_meta(small_root):
    path = small_root / "evaluation_setup" / "fold1_train.csv"
    path.write_text(path.read_text() + "audio/x-y-1-2.wav\tvideo/x-y-1-2.mp4\tbus\n")
    with pytest.raises(DatasetError, match=r"not in meta\.csv: audio/x-y-1-2\.wav"):
        load_tau2021(small_root)


def test_unknown_subset_lists_available_ones(small_root):
    with pytest.raises(DatasetError, match="fold1_evaluate"):
        load_tau2021(small_root, subset="fold2_train")


def test_missing_audio_is_dropped_too(small_root):
    victim = "audio/bus-vienna-5001-0.wav"
    (small_root / victim).unlink()
    with pytest.warns(SkAvscWarning, match=r"bus-vienna-5001-0 \(.*\.wav missing\)"):
        ds = load_tau2021(small_root, subset="all")
    assert victim not in set(ds.frame["filename"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"on_missing": "skip"}, "on_missing"),
        ({"split": "random"}, "split"),
        ({"subset": "../meta"}, "subset"),
        ({"split": "location", "validation_size": 1.5}, "test_size"),
    ],
)
def test_bad_parameters(small_root, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        load_tau2021(small_root, **kwargs)


# --- issue 10 item 5: training and test lists that share clips or locations -----------------

def _load_pair(tmp_path, train, evaluate):
    meta = pd.concat([train, evaluate]).drop_duplicates("filename_audio")
    root = write_root(tmp_path, meta, train=train, evaluate=evaluate, touch=False)
    return (load_tau2021(root, subset="fold1_train", on_missing="ignore").frame,
            load_tau2021(root, subset="fold1_evaluate", on_missing="ignore").frame)


def test_check_disjoint_names_shared_locations_and_clips(tmp_path):
    from sk_avsc.datasets import check_disjoint

    clips = _fake_clips(2)
    first = clips["filename_audio"].str.endswith("-0.wav")
    # every location on both sides (other clips), and one clip too
    train, evaluate = _load_pair(tmp_path, clips[first], pd.concat([clips[~first],
                                                                    clips[first][:1]]))
    with pytest.warns(SkAvscWarning, match="fold1_train and fold1_evaluate share 1 clip") as w:
        shared = check_disjoint(train, evaluate)
    assert shared["clips"] == [clips["filename_audio"][first].iloc[0]]
    assert shared["locations"] == sorted(clips["identifier"].unique())
    assert "vienna-5000" in str(w[0].message) and "and 0 more" not in str(w[0].message)
    assert "inflated" in str(w[0].message)


def test_check_disjoint_is_silent_on_disjoint_lists(tmp_path):
    from sk_avsc.datasets import check_disjoint

    clips = _fake_clips(1)
    train, evaluate = _load_pair(tmp_path, clips[:5], clips[5:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_disjoint(train, evaluate) == {"clips": [], "locations": [],
                                                   "message": None}
