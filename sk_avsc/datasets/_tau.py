"""Loader for TAU Urban Audio-Visual Scenes 2021 in its official layout."""

from __future__ import annotations

import csv
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..exceptions import DatasetError, MediaError, ParameterError, SkAvscWarning
from ._splits import authors_split, location_split

__all__ = ["TAU_CLASSES", "TAU_CITIES", "load_tau2021", "check_disjoint"]

#: The ten scene classes in the paper's authors' order (also alphabetical, so
#: ``np.unique`` of the labels gives the same order).
TAU_CLASSES: tuple[str, ...] = (
    "airport",
    "bus",
    "metro",
    "metro_station",
    "park",
    "public_square",
    "shopping_mall",
    "street_pedestrian",
    "street_traffic",
    "tram",
)

#: The cities of the development set's fold-1 training list.
TAU_CITIES: tuple[str, ...] = (
    "barcelona",
    "helsinki",
    "lisbon",
    "london",
    "lyon",
    "milan",
    "paris",
    "prague",
    "stockholm",
    "vienna",
)

# audio/<scene>-<city>-<location>-<segment>.wav
_NAME_RE = re.compile(
    r"^(?:.*/)?(?P<scene>[^-/]+)-(?P<city>[^-/]+)-(?P<location>[^-/]+)-[^-/]+\.\w+$"
)
_ON_MISSING = ("drop", "raise", "ignore")
_SPLITS = (None, "authors", "location")
_MAX_NAMED = 10


def _read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a tab-separated metadata file, naming the file and line on any problem."""
    if not path.is_file():
        raise DatasetError(
            f"{path} not found; pass the dataset root, the folder that holds meta.csv, "
            "audio/, video/ and evaluation_setup/."
        )
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot be read as a tab-separated text file ({exc}).") from exc
    # keep file line numbers for messages; blank lines are skipped
    rows = [(i, r) for i, r in enumerate(rows, start=1) if any(cell.strip() for cell in r)]
    if not rows:
        raise DatasetError(f"{path} is empty; expected a header line and one line per clip.")
    header = [h.strip() for h in rows[0][1]]
    if "filename" in header and "filename_audio" not in header:  # older DCASE test lists
        header[header.index("filename")] = "filename_audio"
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(
            f"{path}: header {header!r} lacks column(s) {missing}; the file must be "
            "tab-separated with a header line such as "
            "'filename_audio<TAB>filename_video<TAB>scene_label<TAB>identifier'."
        )
    for lineno, row in rows[1:]:
        if len(row) != len(header) or not row[0].strip():
            raise DatasetError(
                f"{path} line {lineno}: malformed row {row!r}: expected {len(header)} "
                f"tab-separated fields ({', '.join(header)})."
            )
    lines = [i for i, _ in rows[1:]]
    rows = [r for _, r in rows[1:]]
    frame = pd.DataFrame([[c.strip() for c in r] for r in rows], columns=header, dtype=object)
    frame.attrs["lines"] = lines
    dup = frame["filename_audio"].duplicated()
    if dup.any():
        raise DatasetError(
            f"{path}: clip {frame['filename_audio'][dup].iloc[0]!r} is listed more than once."
        )
    return frame


def _class_order(labels) -> list[str]:
    present = set(labels)
    if present <= set(TAU_CLASSES):
        return [c for c in TAU_CLASSES if c in present]
    return sorted(present)


def _short(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMED])
    if len(names) > _MAX_NAMED:
        shown += f" and {len(names) - _MAX_NAMED} more"
    return shown


def load_tau2021(
    root: str | os.PathLike,
    *,
    subset: str = "fold1_train",
    split: str | None = None,
    validation_size: float = 0.1,
    random_state=None,
    on_missing: str = "drop",
    return_X_y: bool = False,
):
    """Load TAU Urban Audio-Visual Scenes 2021 (or a dataset in its layout).

    Reads the metadata of the official development dataset (Zenodo DOI
    10.5281/zenodo.4477542) and resolves each clip's WAV and MP4 files; media
    are not decoded here. Datasets written by :func:`make_av_scenes` have the
    same layout.

    Parameters
    ----------
    root : str or path-like
        Dataset root: the folder holding ``meta.csv``, ``audio/``, ``video/``
        and ``evaluation_setup/``.
    subset : str, default="fold1_train"
        Which clips: ``"fold1_train"``, ``"fold1_evaluate"``, ``"fold1_test"``
        (any ``evaluation_setup/<subset>.csv``), or ``"all"`` for every clip
        of ``meta.csv``. Labels and locations come from ``meta.csv``, so the
        unlabelled ``fold1_test`` list gets them too.
    split : {None, "authors", "location"}, default=None
        Also split the clips into training and validation by location:
        ``"authors"`` reproduces the paper's split of ``fold1_train`` (see
        :func:`authors_split`), ``"location"`` draws one with
        :func:`location_split` (works on any data). Adds ``train_index``,
        ``validation_index`` and a ``split`` column to the result.
    validation_size : float, default=0.1
        Fraction of each class's clips held out by ``split="location"``.
    random_state : int, RandomState instance or None, default=None
        Seeds ``split="location"``.
    on_missing : {"drop", "raise", "ignore"}, default="drop"
        What to do with clips whose WAV or MP4 file does not exist (the
        development set has one: ``airport-lyon-1095-40158`` has no video).
        ``"drop"`` removes them with an :class:`~sk_avsc.SkAvscWarning` naming
        them, ``"raise"`` raises :class:`~sk_avsc.MediaError`, ``"ignore"``
        does not look at the media files at all (metadata only, fast).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : pandas.DataFrame of shape (n_clips, 2)
            Columns ``filename_audio`` and ``filename_video``: absolute paths
            as str, the input of :class:`~sk_avsc.AudioVisualEmbedder`.
        target : ndarray of int of shape (n_clips,) or None
            Index of each clip's label in ``target_names``; None when the
            metadata has no labels.
        target_names : list of str
            Class names: the authors' order for the TAU classes (which is
            alphabetical), otherwise sorted.
        groups : ndarray of str of shape (n_clips,)
            Location identifier ``"<city>-<location id>"`` of every clip, for
            group-aware splitters such as :class:`~sklearn.model_selection.GroupKFold`.
        frame : pandas.DataFrame of shape (n_clips, 7)
            Columns ``filename`` (the audio file name relative to ``root``, the
            clip's id in DCASE submissions), ``filename_audio``,
            ``filename_video`` (absolute paths), ``scene_label``, ``city``,
            ``location`` (= ``groups``) and ``target``; plus ``split`` when
            ``split`` is given.
        missing : list of str
            Relative audio names of the clips dropped by ``on_missing="drop"``.
        train_index, validation_index : ndarray of int
            Only with ``split``: positions (into ``frame``) of each side.
        root, subset, DESCR : str
            Where the data came from and a short description.

    (data, target) : tuple
        With ``return_X_y=True``: the ``data`` DataFrame and ``target``.

    Raises
    ------
    DatasetError
        If ``meta.csv`` or the subset list is absent or malformed (the
        message names the file and line), or a listed clip is unknown to
        ``meta.csv`` or has a label that disagrees with it.
    MediaError
        With ``on_missing="raise"``, if any clip's media file is absent.
    ParameterError
        For an invalid ``subset``, ``split`` or ``on_missing``.

    See Also
    --------
    make_av_scenes : Writes a small synthetic dataset in this layout.
    authors_split, location_split : The splits by location.

    Notes
    -----
    The paper counts 12,292 clips of 10 s in the development set (one,
    ``airport-lyon-1095-40158``, without video); its ``fold1_train`` list has
    8,646 clips and ``fold1_evaluate`` holds other locations. The paper trains
    on ``fold1_train`` less the authors' validation locations (7,907 clips),
    validates on those (739) and tests on ``fold1_evaluate``.

    Examples
    --------
    >>> import tempfile
    >>> from sk_avsc.datasets import load_tau2021, make_av_scenes
    >>> root = make_av_scenes(tempfile.mkdtemp(), n_classes=2, n_cities=1, n_locations=2,
    ...                       clips_per_location=1, duration=1.0, random_state=0)
    >>> ds = load_tau2021(root, subset="all")
    >>> ds.target_names, ds.frame.shape[0]
    (['airport', 'bus'], 4)
    >>> list(ds.data.columns)
    ['filename_audio', 'filename_video']
    """
    if on_missing not in _ON_MISSING:
        raise ParameterError(f"on_missing must be one of {_ON_MISSING}, got {on_missing!r}.")
    if split not in _SPLITS:
        raise ParameterError(f"split must be one of {_SPLITS}, got {split!r}.")
    if not isinstance(subset, str) or not subset or "/" in subset or "\\" in subset:
        raise ParameterError(
            f"subset must be 'all' or a list name such as 'fold1_train', got {subset!r}."
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset root {str(root)!r} does not exist or is not a folder.")
    root = root.resolve()

    meta = _read_table(root / "meta.csv", ("filename_audio",))
    if subset == "all":
        clips = meta
    else:
        setup = root / "evaluation_setup"
        path = setup / f"{subset}.csv"
        if not path.is_file():
            found = sorted(p.stem for p in setup.glob("*.csv")) if setup.is_dir() else []
            raise DatasetError(
                f"{path} not found; subsets in this dataset: {found + ['all']}."
            )
        listed = _read_table(path, ("filename_audio",))
        known = meta.set_index("filename_audio")
        unknown = ~listed["filename_audio"].isin(known.index)
        if unknown.any():
            names = listed["filename_audio"][unknown].tolist()
            raise DatasetError(
                f"{path}: {len(names)} clip(s) not in meta.csv: {_short(names)}."
            )
        if "scene_label" in listed and "scene_label" in meta:
            expected = known.loc[listed["filename_audio"], "scene_label"].to_numpy()
            bad = listed["scene_label"].to_numpy() != expected
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                line, clip = listed.attrs["lines"][i], listed["filename_audio"].iloc[i]
                raise DatasetError(
                    f"{path} line {line}: clip {clip!r} has "
                    f"unknown label {listed['scene_label'].iloc[i]!r}; meta.csv says "
                    f"{expected[i]!r}."
                )
        clips = known.loc[listed["filename_audio"]].reset_index()

    frame = _build_frame(root, clips)
    labels = meta["scene_label"] if "scene_label" in meta else pd.Series([], dtype=object)
    target_names = _class_order(labels[labels != ""])

    missing = []
    if on_missing != "ignore":
        absent = []
        for rel, a, v in zip(frame["filename"], frame["filename_audio"], frame["filename_video"]):
            lacking = [p for p in (a, v) if not os.path.isfile(p)]
            if lacking:
                absent.append((rel, lacking))
        if absent:
            what = [f"{Path(rel).stem} ({', '.join(lacking)} missing)" for rel, lacking in absent]
            if on_missing == "raise":
                raise MediaError(
                    f"{len(absent)} clip(s) of {subset} in {root} lack media files: "
                    f"{_short(what)}; pass on_missing='drop' to leave them out."
                )
            missing = [rel for rel, _ in absent]
            warnings.warn(
                f"dropped {len(absent)} clip(s) of {subset} whose media files are missing: "
                f"{_short(what)}. Pass on_missing='raise' to stop instead.",
                SkAvscWarning,
                stacklevel=2,
            )
            frame = frame[~frame["filename"].isin(missing)].reset_index(drop=True)

    if frame["scene_label"].isna().all():
        frame["target"] = -1
        target = None
    else:
        unlabelled = frame["scene_label"].isna() | (frame["scene_label"] == "")
        if unlabelled.any():
            raise DatasetError(
                f"{root / 'meta.csv'}: clip {frame['filename'][unlabelled].iloc[0]!r} has no "
                "scene_label."
            )
        code = {name: i for i, name in enumerate(target_names)}
        frame["target"] = frame["scene_label"].map(code).astype(np.int64)
        target = frame["target"].to_numpy()
    groups = frame["location"].to_numpy(dtype=object)

    bunch = Bunch(
        data=frame[["filename_audio", "filename_video"]],
        target=target,
        target_names=target_names,
        groups=groups,
        frame=frame,
        missing=missing,
        root=str(root),
        subset=subset,
        DESCR=(
            f"TAU Urban Audio-Visual Scenes 2021 layout at {root}, subset {subset!r}: "
            f"{len(frame)} clips, {len(target_names)} classes, "
            f"{len(pd.unique(groups))} locations."
        ),
    )
    if split is not None:
        if split == "authors":
            train, val = authors_split(groups)
        else:
            if target is None:
                raise ParameterError(
                    "split='location' needs labels for stratification, but this subset has none."
                )
            train, val = location_split(
                groups, target, test_size=validation_size, random_state=random_state
            )
        frame["split"] = "train"
        frame.loc[val, "split"] = "validation"
        bunch.train_index, bunch.validation_index = train, val
    if return_X_y:
        return bunch.data, bunch.target
    return bunch


def _build_frame(root: Path, clips: pd.DataFrame) -> pd.DataFrame:
    rel_audio = clips["filename_audio"].astype(str)
    if "filename_video" in clips:
        rel_video = clips["filename_video"].astype(str)
    else:  # derive it as the dataset names it: video/<same stem>.mp4
        rel_video = rel_audio.map(lambda r: f"video/{Path(r).stem}.mp4")
    parsed = rel_audio.str.extract(_NAME_RE)
    if "identifier" in clips:
        location = clips["identifier"].astype(str).where(clips["identifier"] != "")
    else:
        location = pd.Series(np.nan, index=clips.index, dtype=object)
    fallback = parsed["city"] + "-" + parsed["location"]
    location = location.fillna(fallback)
    if location.isna().any():
        rel = rel_audio[location.isna()].iloc[0]
        raise DatasetError(
            f"clip {rel!r}: no identifier (location) in meta.csv and its file name is not "
            "'<scene>-<city>-<location>-<segment>.<ext>', so its location is unknown."
        )
    city = location.str.split("-", n=1).str[0]
    if "scene_label" in clips:
        label = clips["scene_label"].astype(object).where(clips["scene_label"] != "")
    else:
        label = pd.Series(np.nan, index=clips.index, dtype=object)
    root_str = str(root)
    return pd.DataFrame(
        {
            "filename": rel_audio.to_numpy(),
            "filename_audio": [os.path.join(root_str, r) for r in rel_audio],
            "filename_video": [os.path.join(root_str, r) for r in rel_video],
            "scene_label": label.to_numpy(),
            "city": city.to_numpy(),
            "location": location.to_numpy(),
        }
    )


def check_disjoint(train, test, *, names=("fold1_train", "fold1_evaluate"), warn=True) -> dict:
    """Clips and recording locations that a training and a test subset share.

    DCASE's rule for TAU Urban Audio-Visual Scenes keeps the recording locations of
    training and test apart; a clip or location on both sides inflates the test
    scores. :func:`load_tau2021` reads one subset at a time, so the check is this
    separate function (``sk-avsc extract``, ``train`` and ``evaluate`` call it).

    Parameters
    ----------
    train, test : pandas.DataFrame or mapping
        Clip tables with ``filename`` and ``location`` columns: ``load_tau2021(...).frame``
        or a feature store's tables (or mappings of those two names to arrays).
    names : tuple of str, default=("fold1_train", "fold1_evaluate")
        The two subsets' names, for the message.
    warn : bool, default=True
        Warn :class:`~sk_avsc.SkAvscWarning` (naming the clips and locations) when
        anything is shared.

    Returns
    -------
    shared : dict
        ``{"clips": [...], "locations": [...], "message": str or None}``, sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_avsc.datasets import check_disjoint
    >>> a = pd.DataFrame({"filename": ["audio/x.wav", "audio/y.wav"],
    ...                   "location": ["lisbon-1", "lisbon-2"]})
    >>> b = pd.DataFrame({"filename": ["audio/z.wav"], "location": ["lisbon-2"]})
    >>> check_disjoint(a, b, warn=False)["locations"]
    ['lisbon-2']
    """
    def column(table, name):
        return {str(v) for v in np.asarray(table[name]).astype(str)}

    clips = sorted(column(train, "filename") & column(test, "filename"))
    locations = sorted(column(train, "location") & column(test, "location"))
    message = None
    if clips or locations:
        a, b = names
        message = (
            f"{a} and {b} share {len(clips)} clip(s)"
            + (f" ({_short(clips)})" if clips else "")
            + f" and {len(locations)} recording location(s)"
            + (f" ({_short(locations)})" if locations else "")
            + f": scores on {b} are inflated, as DCASE's rule keeps the locations of "
            f"training and test apart; remove them from one of the two lists."
        )
        if warn:
            warnings.warn(message, SkAvscWarning, stacklevel=2)
    return {"clips": clips, "locations": locations, "message": message}
