"""Datasets: TAU Urban Audio-Visual Scenes 2021, synthetic scenes, location splits.

- :func:`load_tau2021` reads the official development dataset (or anything in
  its layout) into a scikit-learn ``Bunch`` of file paths, labels and locations;
  :func:`check_disjoint` reports clips and locations two subsets share.
- :func:`make_av_scenes` writes a small synthetic dataset in that layout, with
  real WAV and MP4 files, for demos and tests; :func:`make_av_embeddings` draws
  the embedding arrays of a similar task directly, for the classifiers alone.
- :func:`authors_split`, :func:`location_split`, :class:`AuthorsSplit` and
  :class:`LocationShuffleSplit` split clips by recording location, never
  putting one location on both sides.
"""

from ._splits import (
    AUTHORS_VALIDATION_LOCATIONS,
    AuthorsSplit,
    LocationShuffleSplit,
    authors_split,
    location_split,
)
from ._synthetic import make_av_embeddings, make_av_scenes
from ._tau import TAU_CITIES, TAU_CLASSES, check_disjoint, load_tau2021

__all__ = [
    "AUTHORS_VALIDATION_LOCATIONS",
    "AuthorsSplit",
    "LocationShuffleSplit",
    "TAU_CITIES",
    "TAU_CLASSES",
    "authors_split",
    "check_disjoint",
    "load_tau2021",
    "location_split",
    "make_av_embeddings",
    "make_av_scenes",
]
