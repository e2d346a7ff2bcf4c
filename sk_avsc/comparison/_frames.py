"""VideoFrames: candidate frames of every second of a video, preprocessed to 224x224."""

from __future__ import annotations

import math
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_int, check_real
from ..exceptions import MediaError, ParameterError

__all__ = ["VideoFrames", "read_frame_candidates"]


def _to_uint8_crop(frame: np.ndarray) -> np.ndarray:
    # OpenL3's image policy: short side rescaled to 256 (bilinear), centre 224x224 crop
    from ..openl3.image import _rescale_crop

    crop = _rescale_crop(frame[None])[0]
    return np.clip(np.round(crop * 255.0), 0, 255).astype(np.uint8)


def read_frame_candidates(path, *, n_seconds: int | None, candidates_per_second: int
                          ) -> np.ndarray:
    """Decode ``candidates_per_second`` frames of each second of a video, 224x224 RGB.

    Parameters
    ----------
    path : str or os.PathLike
        A video file ffmpeg decodes.
    n_seconds : int or None
        Seconds to cover from the start; ``None``: the whole seconds of the video
        (at least one). Seconds past the end repeat the last decodable frame.
    candidates_per_second : int
        ``k``: candidate ``j`` of second ``s`` is the frame shown at ``s + j / k``
        seconds (:func:`sk_avsc.embedders.frame_indices` with a hop of ``1 / k``).

    Returns
    -------
    frames : ndarray of shape (n_seconds, k, 224, 224, 3), uint8
        Each frame's short side rescaled to 256 px and its centre 224x224 cropped (the
        OpenL3 image policy of :func:`sk_avsc.openl3.preprocess_image`).

    Examples
    --------
    A 2-s video at 8 fps, two candidates per second:

    >>> import os, tempfile
    >>> import imageio_ffmpeg
    >>> from sk_avsc.comparison import read_frame_candidates
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "clip.mp4")
    >>> writer = imageio_ffmpeg.write_frames(path, (320, 240), fps=8, macro_block_size=16)
    >>> writer.send(None)
    >>> for k in range(16):
    ...     writer.send(np.full((240, 320, 3), 15 * k, dtype=np.uint8))
    >>> writer.close()
    >>> frames = read_frame_candidates(path, n_seconds=2, candidates_per_second=2)
    >>> frames.shape, frames.dtype
    ((2, 2, 224, 224, 3), dtype('uint8'))
    >>> tmp.cleanup()
    """
    from ..embedders import frame_indices, read_video_frames

    k = candidates_per_second
    shape = {}

    def select(meta):
        fps = meta.get("fps")
        if not fps or not np.isfinite(fps) or fps <= 0:
            raise MediaError(f"video file {os.fspath(path)!r} reports no usable frame rate "
                             f"({fps!r}).")
        seconds = n_seconds
        if seconds is None:
            duration = meta.get("duration")
            if not duration or not np.isfinite(duration):
                raise MediaError(
                    f"video file {os.fspath(path)!r}: its duration is unknown; pass duration=."
                )
            seconds = max(1, int(math.floor(duration + 1e-6)))
        shape["n"] = seconds
        return frame_indices(seconds * k, hop_size=1.0 / k, center=True, fps=float(fps),
                             duration=float(meta.get("duration") or 0.0))

    frames, inverse, _ = read_video_frames(path, select, transform=_to_uint8_crop)
    stacked = np.stack(frames)[inverse]
    return stacked.reshape((shape["n"], k) + stacked.shape[1:])


class VideoFrames(TransformerMixin, BaseEstimator):
    """Candidate frames per second of each video, for :class:`ResNet50FrameClassifier`.

    The paper trains its ResNet50 "on ten frames per clip, one frame chosen at random
    in each second". Decoding whole videos every epoch is slow and keeping every frame
    is large (10 s of 30-fps 224x224 RGB is 45 MB), so this transformer keeps
    ``candidates_per_second`` evenly spaced frames of each second, among which the
    classifier draws one at random per epoch; at inference it uses the middle one.
    That pool is the package's assumption, as is every other detail of the recipe.

    Parameters
    ----------
    duration : float or None, default=10.0
        Seconds covered per clip (its whole seconds: ``floor(duration)``, at least 1);
        seconds past a video's end repeat its last frame. ``None``: the whole seconds of
        each video (all videos must then have the same number).
    candidates_per_second : int, default=4
        Frames kept per second (at 0, 1/4, 1/2 and 3/4 s into it by default); with
        ``int(fps)`` every frame of a constant-rate video is kept.

    Attributes
    ----------
    n_seconds_ : int or None
        Seconds per clip (None when ``duration`` is None).

    See Also
    --------
    ResNet50FrameClassifier : the classifier these frames feed.
    sk_avsc.embedders.read_video_frames : the reader used.

    Examples
    --------
    >>> VideoFrames().fit().n_seconds_
    10
    """

    def __init__(self, *, duration: float | None = 10.0, candidates_per_second: int = 4):
        self.duration = duration
        self.candidates_per_second = candidates_per_second

    def fit(self, X=None, y=None):
        """Check the parameters (nothing is learned).

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : VideoFrames
        """
        owner = type(self).__name__
        check_real("duration", self.duration, low=1, allow_none=True, owner=owner,
                   hint="a clip needs at least one whole second")
        check_int("candidates_per_second", self.candidates_per_second, owner=owner)
        self.n_seconds_ = (None if self.duration is None
                           else int(math.floor(self.duration + 1e-6)))
        return self

    def transform(self, X):
        """Frames of each video.

        Parameters
        ----------
        X : sequence of str or os.PathLike
            Video files.

        Returns
        -------
        frames : ndarray of shape (n_clips, n_seconds, candidates_per_second, 224, 224, 3)
            uint8 RGB.
        """
        check_is_fitted(self)
        if isinstance(X, (str, os.PathLike)):
            raise ParameterError(f"{type(self).__name__}: X must be a sequence of video "
                                 "paths; wrap a single path in a list: [X].")
        out = [read_frame_candidates(p, n_seconds=self.n_seconds_,
                                     candidates_per_second=self.candidates_per_second)
               for p in X]
        if not out:
            raise ParameterError(f"{type(self).__name__}: X holds no videos.")
        if len({o.shape for o in out}) > 1:
            raise MediaError(
                f"videos cover different numbers of seconds "
                f"({sorted({o.shape[0] for o in out})}); pass duration=."
            )
        return np.stack(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
