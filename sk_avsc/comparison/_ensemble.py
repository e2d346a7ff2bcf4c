"""AudioVisualEnsemble: late fusion of an audio and a video clip classifier on different inputs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

from .._meta import any_non_deterministic, check_same_classes, predict_from_proba, route_fit
from ..exceptions import ParameterError

__all__ = ["AudioVisualEnsemble"]


class AudioVisualEnsemble(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Late fusion of two clip classifiers that read different inputs of the same clips.

    The paper's third comparison row (85.8 %): the McDonnell log-mel ResNet and the
    ResNet50 frame classifier, their clip probabilities averaged. Unlike
    :class:`sk_avsc.LateFusionClassifier`, which splits the columns of one 2-D
    embedding array, each side here gets its own input: log-mel arrays and frame
    arrays, or audio and video file paths when the sides are Pipelines.

    Parameters
    ----------
    audio : classifier or None, default=None
        Clip classifier of the audio side (cloned); ``None`` is
        ``Pipeline([LogMelSpectrogram(), ResNetAudioClassifier()])`` on audio files.
    video : classifier or None, default=None
        Clip classifier of the video side; ``None`` is
        ``Pipeline([VideoFrames(), ResNet50FrameClassifier()])`` on video files
        (random ResNet50 weights unless you set ``video__resnet50__weights``).
    modality_weights : tuple (w_audio, w_video) or None, default=None
        As :class:`~sk_avsc.LateFusionClassifier`'s.
        Non-negative weights of the mean; ``None``: equal weights (the paper gives none).
    audio_key, video_key : str, default="audio", "video"
        Where each side's input is in ``X`` (see :meth:`fit`).

    Attributes
    ----------
    audio_ : classifier
        The fitted audio classifier.
    video_ : classifier
        The fitted video classifier.
    classes_ : ndarray of shape (n_classes,)
        Class labels (the same for both sides).

    See Also
    --------
    ResNetAudioClassifier, ResNet50FrameClassifier : the paper's two sides.
    sk_avsc.LateFusionClassifier : the same rule on one 2-D array of both modalities.

    Notes
    -----
    ``p(c | clip) = (w_a p_audio(c | clip) + w_v p_video(c | clip)) / (w_a + w_v)``.
    ``X`` is a mapping (dict) or a DataFrame with the keys ``audio_key`` and
    ``video_key``; a DataFrame of file paths (columns ``audio``, ``video``) can be
    split by scikit-learn's cross-validation, a dict of arrays cannot.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_avsc.comparison import AudioVisualEnsemble
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 20)
    >>> X = {"audio": rng.normal(size=(40, 3)) + y[:, None],
    ...      "video": rng.normal(size=(40, 5)) + y[:, None]}
    >>> ens = AudioVisualEnsemble(LogisticRegression(), LogisticRegression()).fit(X, y)
    >>> ens.predict_proba(X).shape, (ens.predict(X) == y).mean() > 0.9
    ((40, 2), np.True_)
    """

    def __init__(self, audio=None, video=None, *, modality_weights=None,
                 audio_key: str = "audio", video_key: str = "video"):
        self.audio = audio
        self.video = video
        self.modality_weights = modality_weights
        self.audio_key = audio_key
        self.video_key = video_key

    def _components(self):
        from sklearn.pipeline import Pipeline

        from ._frames import VideoFrames
        from ._logmel import LogMelSpectrogram
        from ._resnet50_classifier import ResNet50FrameClassifier
        from ._resnet_audio import ResNetAudioClassifier

        audio = self.audio if self.audio is not None else Pipeline(
            [("logmel", LogMelSpectrogram()), ("resnet", ResNetAudioClassifier())])
        video = self.video if self.video is not None else Pipeline(
            [("frames", VideoFrames()), ("resnet50", ResNet50FrameClassifier())])
        return audio, video

    def get_metadata_routing(self):
        """Get the metadata routing of this object (``fit`` to each side's ``fit``).

        Returns
        -------
        routing : MetadataRouter
            The ``audio`` and ``video`` sides as scikit-learn's routing sees them.
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        audio, video = self._components()
        for side, est in (("audio", audio), ("video", video)):
            router.add(**{side: est}, method_mapping=MethodMapping().add(caller="fit",
                                                                         callee="fit"))
        return router

    def _weights(self):
        if self.modality_weights is None:
            return 0.5, 0.5
        try:
            w_a, w_v = (float(w) for w in self.modality_weights)
        except (TypeError, ValueError):
            w_a = w_v = -1.0
        if not (w_a >= 0 and w_v >= 0 and w_a + w_v > 0):
            raise ParameterError(
                f"{type(self).__name__}: modality_weights must be None or two non-negative "
                f"numbers (w_audio, w_video) not both 0, got {self.modality_weights!r}."
            )
        return w_a / (w_a + w_v), w_v / (w_a + w_v)

    def _sides(self, X):
        name = type(self).__name__
        if not (isinstance(X, Mapping) or hasattr(X, "columns")):
            raise ParameterError(
                f"{name}: X must be a dict or DataFrame with {self.audio_key!r} and "
                f"{self.video_key!r} entries (each side's input), got {type(X).__name__}."
            )
        try:
            Xa, Xv = X[self.audio_key], X[self.video_key]
        except KeyError as exc:
            raise ParameterError(f"{name}: X has no entry {exc.args[0]!r}.") from None
        if hasattr(Xa, "to_numpy"):  # DataFrame columns: plain sequences for the sides
            Xa, Xv = Xa.to_numpy(), Xv.to_numpy()
        if len(Xa) != len(Xv):
            raise ParameterError(
                f"{name}: the audio side has {len(Xa)} clips but the video side {len(Xv)}."
            )
        return Xa, Xv

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Fit both sides on the same clips.

        Parameters
        ----------
        X : dict or DataFrame
            ``X[audio_key]`` and ``X[video_key]``: each side's input, one entry per clip.
        y : array-like of shape (n_clips,)
            Clip labels.
        groups : array-like of shape (n_clips,), default=None
            Passed to each side whose ``fit`` accepts it.
        validation_data : tuple (X_val, y_val), default=None
            ``X_val`` like ``X``; each side gets its part if its ``fit`` accepts it.

        Returns
        -------
        self : AudioVisualEnsemble
        """
        self._weights()
        Xa, Xv = self._sides(X)
        y = column_or_1d(y, warn=True)
        if len(y) != len(Xa):
            raise ParameterError(
                f"{type(self).__name__}: X has {len(Xa)} clips but y has {len(y)} labels."
            )
        check_classification_targets(y)
        val = (None, None)
        if validation_data is not None:
            X_val, y_val = validation_data
            Xva, Xvv = self._sides(X_val)
            val = ((Xva, y_val), (Xvv, y_val))
        audio, video = self._components()
        routed = route_fit(self, {"audio": audio, "video": video}, groups=groups,
                           validation_data=validation_data)
        for side, est, X_side, v in (("audio", audio, Xa, val[0]), ("video", video, Xv, val[1])):
            params = routed[side]
            if "validation_data" in params:
                params["validation_data"] = v
            setattr(self, f"{side}_", clone(est).fit(X_side, y, **params))
        self.classes_ = check_same_classes(self, self.audio_, self.video_)
        return self

    def predict_proba(self, X):
        """Weighted mean of the two sides' clip probabilities.

        Parameters
        ----------
        X : dict or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
        """
        check_is_fitted(self)
        Xa, Xv = self._sides(X)
        w_a, w_v = self._weights()
        return (w_a * np.asarray(self.audio_.predict_proba(Xa), dtype=np.float64)
                + w_v * np.asarray(self.video_.predict_proba(Xv), dtype=np.float64))

    def predict(self, X):
        """Clip labels: argmax of :meth:`predict_proba`.

        Parameters
        ----------
        X : dict or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
        """
        return predict_from_proba(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.non_deterministic = any_non_deterministic(*self._components())
        return tags
