"""Train/validation splits by recording location.

TAU Urban Audio-Visual Scenes 2021 has many clips per location (a place in a
city, recorded for several minutes and cut into 10-s clips). Clips of one
location share background sounds and views, so a split that puts a location
on both sides measures memorisation of places, not scene classification.
Every split here keeps each location on one side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils import check_random_state

from .._validation import check_int, check_real
from ..exceptions import ParameterError

__all__ = [
    "AUTHORS_VALIDATION_LOCATIONS",
    "AuthorsSplit",
    "LocationShuffleSplit",
    "authors_split",
    "location_split",
]

# The paper's authors split the official fold1_train list into training and
# validation by location; these are the location identifiers
# (``<city>-<location id>``, as in meta.csv's ``identifier`` column) of their
# 739 validation clips. Derived from their published lists (DCASE 2021 Task 1B
# baseline); tests check that this reproduces those lists exactly.
AUTHORS_VALIDATION_LOCATIONS: tuple[str, ...] = (
    "barcelona-89", "barcelona-125", "barcelona-141",
    "helsinki-3", "helsinki-18", "helsinki-130",
    "london-72", "london-113", "london-169",
    "lyon-1077", "lyon-1095", "lyon-1112",
    "milan-1040", "milan-1065", "milan-1074", "milan-1117",
    "paris-99", "paris-152", "paris-153",
    "prague-1022", "prague-1026", "prague-1027", "prague-1090", "prague-1153", "prague-1157",
    "stockholm-102",
    "vienna-200",
)  # fmt: skip


def _as_groups(groups, name: str = "groups") -> np.ndarray:
    if groups is None:
        raise ParameterError(
            f"{name} is required: pass the location identifier of every clip "
            "(the 'groups' of load_tau2021's Bunch)."
        )
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got shape {groups.shape}.")
    if groups.size == 0:
        raise ParameterError(f"{name} is empty: there are no clips to split.")
    return groups


def authors_split(groups: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split clips into the paper's training and validation sets by location.

    The authors held out 27 locations of the official ``fold1_train`` list
    (739 of its 8,646 clips) for validation; a clip goes to validation when its
    location is one of :data:`AUTHORS_VALIDATION_LOCATIONS`.

    Parameters
    ----------
    groups : array-like of str of shape (n_clips,)
        Location identifier of every clip, ``"<city>-<location id>"`` (for
        example ``"lyon-1095"``), as in the ``identifier`` column of the
        dataset's ``meta.csv`` and the ``groups`` of :func:`load_tau2021`.

    Returns
    -------
    train_index : ndarray of int of shape (n_train,)
        Positions of the training clips, ascending.
    validation_index : ndarray of int of shape (n_validation,)
        Positions of the validation clips, ascending.

    Raises
    ------
    ParameterError
        If no clip, or every clip, is at one of the authors' validation
        locations: the data is then not TAU Urban Audio-Visual Scenes 2021's
        fold1_train, and :func:`location_split` is the split to use.

    See Also
    --------
    AuthorsSplit : The same split as a scikit-learn splitter.
    location_split : A rule-based location split for any data.
    load_tau2021 : Loads the dataset; ``split="authors"`` applies this split.

    Examples
    --------
    >>> from sk_avsc.datasets import authors_split
    >>> train, val = authors_split(["lyon-1095", "lyon-1", "paris-99", "paris-2"])
    >>> train, val
    (array([1, 3]), array([0, 2]))
    """
    groups = _as_groups(groups)
    is_val = np.isin(groups.astype(str), AUTHORS_VALIDATION_LOCATIONS)
    if not is_val.any() or is_val.all():
        side = "none" if not is_val.any() else "all"
        raise ParameterError(
            f"authors_split: {side} of the {groups.size} clips are at the authors' validation "
            "locations, so this is not TAU Urban Audio-Visual Scenes 2021 fold1_train (or its "
            "location identifiers are not '<city>-<location id>'); use location_split (or "
            "split='location') instead."
        )
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _check_lengths(X, y, groups):
    """``groups`` as an array, ``y`` as an array or None, after checking lengths."""
    groups = _as_groups(groups)
    n = groups.size
    if X is not None and len(X) != n:
        raise ParameterError(f"X has {len(X)} rows but groups has {n}.")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (n,):
            raise ParameterError(f"y has shape {y.shape} but groups has {n} entries.")
    return groups, y


class AuthorsSplit(BaseCrossValidator):
    """The paper's training/validation split of TAU 2021 fold1_train as a splitter.

    One split: a clip is on the test (validation) side when its location, given as
    ``groups``, is one of :data:`AUTHORS_VALIDATION_LOCATIONS`; see
    :func:`authors_split`. Use it where scikit-learn takes a splitter, e.g.
    ``SkorchMLPClassifier(validation_split=AuthorsSplit())``, with the location ids
    as ``groups`` (requested by default under metadata routing, like
    scikit-learn's group splitters).

    See Also
    --------
    authors_split : The same split as index arrays.
    LocationShuffleSplit : A random location split for any data.

    Examples
    --------
    >>> from sk_avsc.datasets import AuthorsSplit
    >>> groups = ["lyon-1095", "lyon-1", "paris-99", "paris-2"]
    >>> [(tr.tolist(), va.tolist()) for tr, va in AuthorsSplit().split(groups, None, groups)]
    [([1, 3], [0, 2])]
    """

    # requested by default under metadata routing, as by scikit-learn's group splitters
    __metadata_request__split = {"groups": True}

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: 1.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
        """
        return 1

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the one (train, validation) split of the clips.

        Parameters
        ----------
        X : array-like of shape (n_clips, ...) or None
            Ignored except for its length, which must match ``groups``.
        y : array-like of shape (n_clips,), default=None
            Ignored except for its length.
        groups : array-like of str of shape (n_clips,)
            Location identifier of every clip, ``"<city>-<location id>"``. Required.

        Yields
        ------
        train, test : ndarray of int
            Positions of the training and validation clips, ascending.
        """
        groups, _ = _check_lengths(X, y, groups)
        yield authors_split(groups)


class LocationShuffleSplit(BaseShuffleSplit):
    """Random train/test splits by location, stratified by class.

    Like scikit-learn's :class:`~sklearn.model_selection.GroupShuffleSplit`
    with locations as groups, but the test side is drawn class by class, so
    each class with at least two locations has at least one location on each
    side and roughly ``test_size`` of its clips in the test set. A location
    never appears on both sides of a split.

    Parameters
    ----------
    n_splits : int, default=1
        Number of re-shuffled splits.
    test_size : float, default=0.1
        Target fraction of each class's clips in the test set, in (0, 1).
        Whole locations move, so the achieved fraction is the closest one the
        locations allow.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of locations; pass an int for repeatable splits.

    See Also
    --------
    location_split : One split as index arrays.
    sklearn.model_selection.GroupShuffleSplit : The unstratified version.
    sklearn.model_selection.StratifiedGroupKFold : K folds instead of shuffles.

    Notes
    -----
    Each location is assigned to the class most of its clips have (TAU
    locations hold one scene each). Within a class, locations are visited in
    random order and a location joins the test side when that brings the
    class's test-clip count closer to ``test_size`` times its clip count. A
    class with a single location stays entirely in the training set. Without
    ``y`` every clip counts as one class.

    Examples
    --------
    >>> from sk_avsc.datasets import LocationShuffleSplit
    >>> groups = ["a-1", "a-1", "a-2", "a-2", "b-3", "b-3", "b-4", "b-4"]
    >>> y = ["park", "park", "park", "park", "bus", "bus", "bus", "bus"]
    >>> cv = LocationShuffleSplit(test_size=0.5, random_state=0)
    >>> train, test = next(cv.split(groups, y, groups))
    >>> sorted({groups[i] for i in test}) in (["a-1", "b-3"], ["a-1", "b-4"],
    ...                                       ["a-2", "b-3"], ["a-2", "b-4"])
    True
    """

    __metadata_request__split = {"groups": True}  # as scikit-learn's group splitters

    def __init__(self, n_splits: int = 1, *, test_size: float = 0.1, random_state=None):
        super().__init__(
            n_splits=n_splits, test_size=test_size, train_size=None, random_state=random_state
        )

    def _validate(self):
        owner = type(self).__name__
        check_int("n_splits", self.n_splits, owner=owner)
        check_real("test_size", self.test_size, low=0, high=1, low_open=True, high_open=True,
                   owner=owner, hint="a fraction of the clips")

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate indices to split the clips into training and test sets.

        Parameters
        ----------
        X : array-like of shape (n_clips, ...) or None
            Ignored except for its length, which must match ``groups``.
        y : array-like of shape (n_clips,), default=None
            Class labels used for stratification.
        groups : array-like of shape (n_clips,)
            Location of every clip. Required.

        Yields
        ------
        train : ndarray of int
            Training positions, ascending.
        test : ndarray of int
            Test positions, ascending.
        """
        self._validate()
        groups, y = _check_lengths(X, y, groups)
        if y is None:
            y = np.zeros(groups.size, dtype=int)
        yield from self._iter_indices(X, y, groups)

    def _iter_indices(self, X, y, groups):
        loc_names, loc_of_clip = np.unique(groups, return_inverse=True)
        _, y_codes = np.unique(y, return_inverse=True)
        n_locs = loc_names.size
        loc_size = np.bincount(loc_of_clip, minlength=n_locs)
        # majority class per location (ties: the lowest class code)
        counts = np.zeros((n_locs, y_codes.max() + 1), dtype=int)
        np.add.at(counts, (loc_of_clip, y_codes), 1)
        loc_class = counts.argmax(axis=1)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            is_test_loc = np.zeros(n_locs, dtype=bool)
            for c in np.unique(loc_class):
                locs = np.flatnonzero(loc_class == c)
                if locs.size < 2:
                    continue
                locs = locs[rng.permutation(locs.size)]
                target = self.test_size * loc_size[locs].sum()
                taken = n_taken = 0
                for loc in locs:
                    if n_taken == locs.size - 1:  # keep one location for training
                        break
                    if n_taken == 0 or abs(taken + loc_size[loc] - target) < abs(taken - target):
                        is_test_loc[loc] = True
                        taken += loc_size[loc]
                        n_taken += 1
            is_test = is_test_loc[loc_of_clip]
            yield np.flatnonzero(~is_test), np.flatnonzero(is_test)


def location_split(
    groups: Sequence[str] | np.ndarray,
    y=None,
    *,
    test_size: float = 0.1,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split clips into training and test (or validation) sets by location.

    One draw of :class:`LocationShuffleSplit`: no location on both sides, each
    class with two or more locations represented on both sides, about
    ``test_size`` of each class's clips held out.

    Parameters
    ----------
    groups : array-like of shape (n_clips,)
        Location identifier of every clip.
    y : array-like of shape (n_clips,), default=None
        Class labels, for stratification.
    test_size : float, default=0.1
        Target fraction of each class's clips on the test side, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of locations.

    Returns
    -------
    train_index, test_index : ndarray of int
        Positions of the clips on each side, ascending.

    See Also
    --------
    authors_split : The paper's own split of TAU 2021 fold1_train.
    LocationShuffleSplit : The same as a scikit-learn CV splitter.

    Examples
    --------
    >>> from sk_avsc.datasets import location_split
    >>> groups = ["a-1", "a-1", "a-2", "a-3", "b-4", "b-5"]
    >>> y = ["park", "park", "park", "park", "bus", "bus"]
    >>> train, test = location_split(groups, y, test_size=0.3, random_state=0)
    >>> set(train).isdisjoint(test), len(train) + len(test)
    (True, 6)
    """
    cv = LocationShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    return next(cv.split(None, y, groups))
