"""ResNet50FrameClassifier: the paper's visual comparison system (ResNet50 on frames)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch.helper import predefined_split
from torch import nn

from .._meta import predict_from_proba
from .._validation import check_choice, check_int, check_real, check_validation_split
from ..aggregation import AGGREGATION_METHODS, aggregate_windows
from ..exceptions import ParameterError
from .._net_training import (
    _DropBatchHistory,
    _KeepBest,
    _Net,
    encode_validation_labels,
    prepare_clip_fit,
    seeded_torch,
    split_train_valid,
)
from ._resnet50 import IMAGENET_MEAN, IMAGENET_STD, ResNet50, load_resnet50_weights

__all__ = ["ResNet50FrameClassifier"]


def _check_frames(X, owner: str) -> np.ndarray:
    """``X`` as ``(n_clips, n_seconds, n_candidates, H, W, 3)`` (a 5-D X has one candidate)."""
    X = X if isinstance(X, np.ndarray) else np.asarray(X)
    if X.ndim == 5:
        X = X[:, :, None]
    if X.ndim != 6 or X.shape[-1] != 3 or 0 in X.shape:
        raise ParameterError(
            f"{owner}: X must have shape (n_clips, n_seconds, n_candidates, H, W, 3) or "
            f"(n_clips, n_seconds, H, W, 3) of RGB frames, got shape {X.shape}; compute it "
            "with VideoFrames."
        )
    if X.dtype != np.uint8:
        raise ParameterError(
            f"{owner}: X must hold uint8 RGB frames (as VideoFrames gives), got {X.dtype}."
        )
    return X


class _Frames(torch.utils.data.Dataset):
    """Frames of some clips: one sample per (clip, second)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, clips: np.ndarray):
        self.X, self.y, self.clips = X, y, clips

    def __len__(self):
        return len(self.clips) * self.X.shape[1]


class _FrameBatches:
    """Batches of (clip, second) frames: a random candidate and flip in training, else the
    middle candidate. uint8 frames go to the device, then become normalised floats."""

    def __init__(self, dataset: _Frames, batch_size=64, training=False, rng=None,
                 hflip=0.5, device="cpu", **kwargs):
        self.ds, self.batch_size, self.training = dataset, batch_size, training
        self.rng, self.hflip, self.device = rng, hflip, torch.device(device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255

    def __len__(self):
        return -(-len(self.ds) // self.batch_size)

    def __iter__(self):
        ds = self.ds
        n_sec, n_cand = ds.X.shape[1], ds.X.shape[2]
        clip = np.repeat(ds.clips, n_sec)
        sec = np.tile(np.arange(n_sec), len(ds.clips))
        if self.training:
            order = self.rng.permutation(len(clip))
            clip, sec = clip[order], sec[order]
            cand = self.rng.randint(0, n_cand, size=len(clip))
        else:
            cand = np.full(len(clip), n_cand // 2)
        starts = list(range(0, len(clip), self.batch_size))
        if self.training and len(starts) > 1 and len(clip) - starts[-1] == 1:
            starts.pop()  # BatchNorm cannot train on a batch of one frame
        for k, start in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(clip)
            c, s, j = clip[start:stop], sec[start:stop], cand[start:stop]
            frames = torch.from_numpy(np.ascontiguousarray(ds.X[c, s, j])).to(self.device)
            x = (frames.permute(0, 3, 1, 2).float() - self.mean) / self.std
            if self.training and self.hflip > 0:
                flip = torch.from_numpy(self.rng.random_sample(len(c)) < self.hflip)
                if flip.any():
                    rows = flip.nonzero().view(-1).to(self.device)
                    x[rows] = x[rows].flip(-1)
            yield x, torch.from_numpy(ds.y[c]).to(self.device)


class ResNet50FrameClassifier(ClassifierMixin, BaseEstimator):
    """The paper's visual comparison system: a ResNet50 on one frame per second.

    Wang et al. report "ResNet50, ImageNet-pretrained, trained on ten frames per clip,
    one frame chosen at random in each second" (~23 M parameters, 77.9 %), and nothing
    more; no code of theirs is public. Everything else here is **the package's
    assumption**, chosen as a standard fine-tuning recipe:

    - input: :class:`VideoFrames` output, frames rescaled to a short side of 256 px and
      centre-cropped to 224x224 (the OpenL3 image policy used elsewhere in the
      package), RGB scaled to [0, 1] and normalised with the ImageNet mean and
      standard deviation of torchvision's weights;
    - training samples: every second of every training clip, labelled with the clip's
      label, one of the second's candidate frames drawn at random each epoch, flipped
      horizontally with probability ``hflip``;
    - ResNet50 (torchvision's architecture and weight layout) with a new ``fc`` layer
      for the classes; all layers trained; Adam, ``lr=1e-4``, no weight decay,
      cross-entropy, batches of 64 frames, ``max_epochs=30``;
    - the weights of the epoch with the lowest validation loss are kept (validation on
      the middle candidate frame of each second of held-out clips);
    - inference: the middle candidate frame of each second; clip probabilities by
      :func:`sk_avsc.aggregation.aggregate_windows` (``aggregation="sum"``, the rule of
      :class:`sk_avsc.ClipAggregator`, with a window = the frame of each second).

    Parameters
    ----------
    weights : str, os.PathLike or None, default=None
        A torchvision-format ResNet50 ``state_dict`` file (e.g. torchvision's ImageNet
        ``resnet50-11ad3fa6.pth``), loaded in :meth:`fit` except its ``fc`` layer.
        ``None`` starts from random weights and warns (:class:`RandomWeightsWarning`).
        Nothing is downloaded.
    lr : float, default=1e-4
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    max_epochs : int, default=30
        Epochs (one pass over every second of every training clip).
    batch_size : int, default=64
        Frames per batch.
    hflip : float, default=0.5
        Probability of a horizontal flip of each training frame.
    validation_split : float, splitter or None, default=0.1
        The clips held out in :meth:`fit` whose validation loss picks the kept epoch,
        as :class:`~sk_avsc.SkorchMLPClassifier`'s ``validation_split``: a fraction
        (by the ``groups`` given to ``fit``, else stratified by class), a splitter
        (e.g. :class:`~sk_avsc.datasets.AuthorsSplit`) or None (the last epoch is
        kept). Ignored when ``fit`` gets ``validation_data``.
    aggregation : {"sum", "log", "vote"}, default="sum"
        Clip rule over the seconds' frame probabilities.
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the new ``fc`` layer (and all layers without ``weights``), the
        frame order, candidate draws and flips. With an int, CPU results repeat exactly.
    verbose : int, default=0
        1 prints skorch's per-epoch table.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels (the alphabetical TAU order).
    net_ : skorch.NeuralNet
        The fitted skorch net.
    module_ : ResNet50
        The fitted network.
    best_epoch_ : int or None
        1-based epoch whose weights were kept (None without validation).
    n_iter_ : int
        Epochs run.

    See Also
    --------
    VideoFrames : the input.
    ResNetAudioClassifier : the audio comparison system.
    AudioVisualEnsemble : both by late fusion.

    Examples
    --------
    Frames from :class:`VideoFrames`, then the classifier (training a ResNet50 takes a
    GPU; ``tests/comparison`` fits it on tiny frames):

    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_avsc.comparison import ResNet50FrameClassifier, VideoFrames
    >>> model = make_pipeline(VideoFrames(), ResNet50FrameClassifier("resnet50.pth",
    ...                                                              device="cuda"))
    >>> [name for name, _ in model.steps]
    ['videoframes', 'resnet50frameclassifier']
    """

    def __init__(
        self,
        weights=None,
        *,
        lr: float = 1e-4,
        weight_decay: float = 0.0,
        max_epochs: int = 30,
        batch_size: int = 64,
        hflip: float = 0.5,
        validation_split=0.1,
        aggregation: str = "sum",
        device: str = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        self.weights = weights
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.hflip = hflip
        self.validation_split = validation_split
        self.aggregation = aggregation
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        owner = type(self).__name__
        check_real("lr", self.lr, low=0, low_open=True, owner=owner)
        check_real("weight_decay", self.weight_decay, low=0, owner=owner)
        check_int("max_epochs", self.max_epochs, owner=owner)
        check_int("batch_size", self.batch_size, low=2, owner=owner)
        check_real("hflip", self.hflip, low=0, high=1, owner=owner)
        check_choice("aggregation", self.aggregation, AGGREGATION_METHODS, owner=owner)
        return check_validation_split(self.validation_split, owner=owner)

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Fine-tune the network on the frames.

        Parameters
        ----------
        X : ndarray of shape (n_clips, n_seconds, n_candidates, H, W, 3), uint8
            :class:`VideoFrames` output (5-D: one candidate per second). A
            memory-mapped array works: batches are gathered from it.
        y : array-like of shape (n_clips,)
            Clip labels.
        groups : array-like of shape (n_clips,), default=None
            Group of each clip (e.g. location) for the internal validation split.
        validation_data : tuple (X_val, y_val), default=None
            Fixed validation clips, instead of the internal split.

        Returns
        -------
        self : ResNet50FrameClassifier
        """
        split = self._check_params()
        owner = type(self).__name__
        X = _check_frames(X, owner)
        y, encoder, rs, seed = prepare_clip_fit(X, y, self.random_state, owner=owner)
        classes = encoder.classes_
        y_enc = encoder.transform(y).astype(np.int64)
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = _check_frames(X_val, owner)
            y_val = encode_validation_labels(column_or_1d(y_val), encoder, owner=owner)
            train_ds = _Frames(X, y_enc, np.arange(len(X)))
            valid_ds = _Frames(X_val, y_val.astype(np.int64), np.arange(len(X_val)))
        else:
            train, valid = split_train_valid(X, y, split, groups, rs, owner=owner)
            train_ds = _Frames(X, y_enc, np.asarray(train))
            valid_ds = None if valid is None else _Frames(X, y_enc, np.asarray(valid))

        net = _Net(
            ResNet50,
            module__n_classes=len(classes),
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=predefined_split(valid_ds) if valid_ds is not None else None,
            iterator_train=_FrameBatches,
            iterator_train__training=True,
            iterator_train__rng=np.random.RandomState(seed),
            iterator_train__hflip=float(self.hflip),
            iterator_train__device=self.device,
            iterator_valid=_FrameBatches,
            iterator_valid__device=self.device,
            callbacks=[("keep_best", _KeepBest()), ("drop_batch_history", _DropBatchHistory())],
            device=self.device,
            verbose=self.verbose,
        )
        with seeded_torch(self.device, seed):
            net.initialize()
            load_resnet50_weights(net.module_, self.weights, owner=owner)
            net.partial_fit(train_ds, None)
        # the datasets hold the training frames: do not keep them in the fitted model
        net.train_split = None
        net.iterator_train__rng = None
        # Adam's two moment buffers would triple the pickle (2 x 94 MB): a fitted model
        # is for prediction; a later net_.partial_fit restarts the moments
        net.optimizer_.state.clear()
        self.net_ = net
        self.classes_ = classes
        self.best_epoch_ = dict(net.callbacks_)["keep_best"].best_epoch_
        self.n_iter_ = len(net.history)
        return self

    @property
    def module_(self) -> ResNet50:
        """The fitted network (``net_.module_``)."""
        check_is_fitted(self)
        return self.net_.module_

    def predict_window_proba(self, X):
        """Class probabilities of the fixed frame of every second.

        Parameters
        ----------
        X : ndarray of shape (n_clips, n_seconds, n_candidates, H, W, 3), uint8

        Returns
        -------
        proba : ndarray of shape (n_clips, n_seconds, n_classes), float32
        """
        check_is_fitted(self)
        X = _check_frames(X, type(self).__name__)
        module = self.net_.module_
        ds = _Frames(X, np.zeros(len(X), dtype=np.int64), np.arange(len(X)))
        was_training = module.training
        module.eval()
        try:
            with torch.inference_mode():
                outs = [torch.softmax(module(xb), dim=1).cpu()
                        for xb, _ in _FrameBatches(ds, self.batch_size, device=self.net_.device)]
        finally:
            module.train(was_training)
        return torch.cat(outs).numpy().reshape(len(X), X.shape[1], -1)

    def predict_proba(self, X):
        """Clip probabilities aggregated over the seconds with ``aggregation``.

        Parameters
        ----------
        X : ndarray of shape (n_clips, n_seconds, n_candidates, H, W, 3), uint8

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return aggregate_windows(self.predict_window_proba(X), method=self.aggregation)

    def predict(self, X):
        """Clip labels: argmax of :meth:`predict_proba`.

        Parameters
        ----------
        X : ndarray of shape (n_clips, n_seconds, n_candidates, H, W, 3), uint8

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
        """
        return predict_from_proba(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = not isinstance(self.random_state, numbers.Integral)
        return tags
