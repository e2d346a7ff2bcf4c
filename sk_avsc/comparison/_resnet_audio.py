"""ResNetAudioClassifier: McDonnell & Gao's log-mel ResNet and recipe on skorch."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch.helper import predefined_split
from torch import nn

from .._validation import check_int, check_real, check_validation_split
from ..exceptions import ParameterError
from .._net_training import (
    _BatchData,
    _BatchIterator,
    _DropBatchHistory,
    _Net,
    encode_validation_labels,
    prepare_clip_fit,
    seeded_torch,
    split_train_valid,
)
from ._mcdonnell import McDonnellResNet
from ._training import KerasSGD, MixupIterator, MixupStream, WarmRestarts

__all__ = ["ResNetAudioClassifier", "count_parameters"]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of a module.

    Parameters
    ----------
    module : torch.nn.Module
        Any network.

    Returns
    -------
    n_parameters : int
        The number of elements of its parameters with ``requires_grad``.

    Examples
    --------
    >>> from torch import nn
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def check_features(X, owner: str, n_channels: int | None = None) -> np.ndarray:
    """``X`` as a float32 ``(n_clips, n_channels, n_mels, n_frames)`` array."""
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{owner}: X must be a numeric array of shape (n_clips, n_channels, n_mels, "
            "n_frames), as LogMelSpectrogram outputs."
        ) from None
    if X.ndim != 4 or 0 in X.shape:
        raise ParameterError(
            f"{owner}: X must have shape (n_clips, n_channels, n_mels, n_frames) with no "
            f"empty axis, got shape {X.shape}; compute it with LogMelSpectrogram."
        )
    if not np.isfinite(X).all():
        raise ParameterError(f"{owner}: X contains NaN or infinite values.")
    if n_channels is not None and X.shape[1] != n_channels:
        raise ParameterError(
            f"{owner}: X has {X.shape[1]} channels but the model was fitted on {n_channels}."
        )
    return np.ascontiguousarray(X)


def _as_tensor(X: np.ndarray) -> torch.Tensor:
    """``X`` as a tensor without a copy, a read-only memory map too (a stored subset:
    nothing writes to it, so torch's warning about non-writable arrays does not apply)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(X)


class ResNetAudioClassifier(ClassifierMixin, BaseEstimator):
    """McDonnell & Gao's "McDonnell USA" log-mel ResNet (DCASE 2019 Task 1A), trained
    with their recipe: the paper's audio comparison system (~3 M parameters, 82.84 %).

    Input: :class:`LogMelSpectrogram` features ``(n_clips, 6, 128, n_frames)``. The
    network (:class:`McDonnellResNet`) splits the 128 mel bins into two paths of 64,
    each an affine BatchNorm and a 3x3 convolution to 24 channels with stride 2 in time,
    then 4 stages of 2 pre-activation residual blocks (BN-ReLU-conv, widths
    24/48/96/192, the first block of stages 2-4 strided in time only, shortcuts by 3x3
    average pooling and zero channels); the paths are concatenated along frequency;
    head BN-ReLU-1x1 conv to 768, BN-1x1 conv to the classes, BN, global average
    pooling, softmax. 3,247,416 parameters for 6 channels and 10 classes.

    Parameters
    ----------
    width : int, default=24
        Channels of the first stage (doubling per stage).
    n_stages : int, default=4
        Residual stages.
    n_blocks : int, default=2
        Residual blocks per stage.
    max_epochs : int, default=510
        Epochs (the authors' eight warm-restart cycles 2 + 4 + ... + 256). The model
        after the last epoch is kept (no early stopping, as the authors).
    batch_size : int, default=32
        Mixed samples per batch; an epoch is ``ceil(n_clips / batch_size)`` batches.
    max_lr : float, default=0.1
        Learning rate at the start of each cycle.
    min_lr : float, default=1e-5
        Learning rate at the end of each cycle (``max_lr * 1e-4``).
    first_cycle : int, default=2
        Length in epochs of the first cosine cycle.
    cycle_mult : int, default=2
        Factor by which each cycle is longer than the previous: restarts at (1-based)
        epochs 3, 7, 15, 31, ...
    momentum : float, default=0.9
        SGD momentum (Keras's update rule, see :class:`KerasSGD`).
    weight_decay : float, default=2e-3
        L2 gradient on the convolution weights only: the authors' Keras ``l2(1e-3)``
        (a loss term ``1e-3 * sum(w**2)``, gradient ``2e-3 * w``). BatchNorm parameters
        are not decayed.
    mixup_alpha : float, default=0.4
        Beta(alpha, alpha) mixup of pairs of clips and their one-hot labels; 0 turns
        mixup off (then each batch holds ``batch_size`` plain crops).
    crop_length : int or None, default=400
        Frames of the random crop taken independently from each clip in training
        (before mixing); ``None`` trains on whole clips. Prediction always uses all
        frames (461 for 10-s clips).
    channel_swap : float, default=0.5
        Probability of swapping the left/right planes (``[1, 0, 3, 2, 5, 4]``) of each
        clip before mixing; 0 turns it off. Needs an even number of channels.
    validation_split : float, splitter or None, default=None
        Clips held out of training in :meth:`fit`, chosen as
        :class:`~sk_avsc.SkorchMLPClassifier`'s ``validation_split`` chooses them (a
        fraction by the ``groups`` given to ``fit``, else stratified by class; a
        splitter such as :class:`~sk_avsc.datasets.AuthorsSplit`); their loss is only
        monitored (``net_.history``), since the authors keep the last epoch. ``None``
        (the authors'): train on all clips. Ignored when ``fit`` gets ``validation_data``.
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the weight initialisation, the batch order, the
        crops, swaps and mixup weights. With an int, CPU results repeat exactly; the
        global torch RNG is left untouched.
    verbose : int, default=0
        1 prints skorch's per-epoch table.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels in sorted order (for TAU: the alphabetical order of the dataset,
        ``airport, bus, metro, metro_station, park, ...``).
    n_channels_in_ : int
        Input planes per clip (6).
    n_mels_in_ : int
        Mel bins per plane (128).
    net_ : skorch.NeuralNet
        The fitted skorch net (``net_.history`` holds per-epoch losses).
    module_ : McDonnellResNet
        The fitted network.
    n_iter_ : int
        Epochs run.

    See Also
    --------
    LogMelSpectrogram : the input features.
    ResNet50FrameClassifier : the paper's visual comparison system.
    AudioVisualEnsemble : the two by late fusion.

    Notes
    -----
    Taken from the authors' code (``McDonnell-Lab/DCASE2019-Task1``): Keras
    BatchNormalization settings (momentum 0.99 = torch 0.01, eps 1e-3), ``he_normal``
    initialisation, 'same' padding and pooling exactly as Keras pads; the
    learning rate is set before every batch as their ``LR_WarmRestart``; their
    ``MixupGenerator`` draws ``2 * batch_size`` clips per batch from a running
    permutation (see :class:`MixupStream`). Their inference notebook swaps the codes
    of ``metro`` and ``metro_station`` "to match the DCASE ordering"; this class does
    not: its columns follow ``classes_`` (sorted labels) everywhere. Known
    deviations: torch's running variance uses the unbiased batch variance.

    The training features are moved to ``device`` whole and batches are cropped and
    mixed there (the TAU 2021 fold-1 training set, 8,646 clips of 6 x 128 x 461
    float32, is 12 GB). Training at the authors' size (510 epochs) needs a GPU.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.comparison import ResNetAudioClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["bus", "park"] * 8)
    >>> X = rng.normal(size=(16, 6, 8, 12)).astype(np.float32)
    >>> X[y == "park", :, :4] += 2.0  # energy in the low bins
    >>> clf = ResNetAudioClassifier(width=4, n_stages=2, n_blocks=1, max_epochs=4,
    ...                             batch_size=4, crop_length=10, random_state=0)
    >>> clf.fit(X, y).predict_proba(X).shape
    (16, 2)
    >>> clf.classes_
    array(['bus', 'park'], dtype='<U4')
    """

    def __init__(
        self,
        *,
        width: int = 24,
        n_stages: int = 4,
        n_blocks: int = 2,
        max_epochs: int = 510,
        batch_size: int = 32,
        max_lr: float = 0.1,
        min_lr: float = 1e-5,
        first_cycle: int = 2,
        cycle_mult: int = 2,
        momentum: float = 0.9,
        weight_decay: float = 2e-3,
        mixup_alpha: float = 0.4,
        crop_length: int | None = 400,
        channel_swap: float = 0.5,
        validation_split=None,
        device: str = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        self.width = width
        self.n_stages = n_stages
        self.n_blocks = n_blocks
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.max_lr = max_lr
        self.min_lr = min_lr
        self.first_cycle = first_cycle
        self.cycle_mult = cycle_mult
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.mixup_alpha = mixup_alpha
        self.crop_length = crop_length
        self.channel_swap = channel_swap
        self.validation_split = validation_split
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        owner = type(self).__name__
        for name in ("width", "n_stages", "n_blocks", "max_epochs", "batch_size",
                     "first_cycle", "cycle_mult"):
            check_int(name, getattr(self, name), owner=owner)
        check_int("crop_length", self.crop_length, allow_none=True, owner=owner)
        check_real("max_lr", self.max_lr, low=0, low_open=True, owner=owner)
        check_real("min_lr", self.min_lr, low=0, high=self.max_lr, owner=owner,
                   hint="it must not exceed max_lr")
        check_real("momentum", self.momentum, low=0, high=1, high_open=True, owner=owner)
        check_real("weight_decay", self.weight_decay, low=0, owner=owner)
        check_real("mixup_alpha", self.mixup_alpha, low=0, owner=owner)
        check_real("channel_swap", self.channel_swap, low=0, high=1, owner=owner)
        return check_validation_split(self.validation_split, owner=owner)

    def fit(self, X, y, *, groups=None, validation_data=None):
        """Train the network with the recipe.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_mels, n_frames)
            :class:`LogMelSpectrogram` output (cast to float32).
        y : array-like of shape (n_clips,)
            Clip labels.
        groups : array-like of shape (n_clips,), default=None
            Group of each clip (e.g. location), for ``validation_split``.
        validation_data : tuple (X_val, y_val), default=None
            Clips whose loss is recorded each epoch (``net_.history``), on all their
            frames; only monitored, as by the authors (the last epoch is kept).

        Returns
        -------
        self : ResNetAudioClassifier
        """
        split = self._check_params()
        owner = type(self).__name__
        X = check_features(X, owner)
        y, encoder, rs, seed = prepare_clip_fit(X, y, self.random_state, owner=owner)
        classes = encoder.classes_
        if validation_data is None:
            train, valid = split_train_valid(X, y, split, groups, rs, owner=owner)
            if valid is not None:
                validation_data = (X[valid], y[valid])
                X, y = X[train], y[train]
        n_clips, n_channels, n_mels, n_frames = X.shape
        need = 2 if self.mixup_alpha > 0 else 1
        if n_clips < need:
            raise ParameterError(f"{owner}: mixup needs at least 2 clips, got {n_clips}.")
        if self.channel_swap > 0 and n_channels % 2:
            raise ParameterError(
                f"{owner}: channel_swap={self.channel_swap} needs left/right plane pairs, but "
                f"X has {n_channels} channels; pass channel_swap=0."
            )
        if n_mels < 2:
            raise ParameterError(f"{owner}: X has {n_mels} mel bins; the two paths need 2.")
        crop = self.crop_length
        if crop is not None and crop > n_frames:
            raise ParameterError(
                f"{owner}: crop_length={crop} exceeds the {n_frames} frames of X; pass a "
                "smaller crop_length or None."
            )
        device = torch.device(self.device)
        y_enc = torch.from_numpy(encoder.transform(y).astype(np.int64)).to(device)
        data_tr = _BatchData(_as_tensor(X).to(device), y_enc)
        valid_ds = None
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = check_features(X_val, owner, n_channels)
            y_val = encode_validation_labels(column_or_1d(y_val), encoder, owner=owner)
            valid_ds = _BatchData(_as_tensor(X_val).to(device),
                                  torch.from_numpy(y_val.astype(np.int64)).to(device))
        steps = -(-n_clips // self.batch_size)
        stream = MixupStream(
            data_tr.X, data_tr.y, len(classes), batch_size=self.batch_size,
            alpha=float(self.mixup_alpha), crop_length=crop,
            swap_prob=float(self.channel_swap), random_state=np.random.RandomState(seed),
        )
        callbacks = [
            ("warm_restarts", WarmRestarts(self.max_lr, self.min_lr, self.first_cycle,
                                           self.cycle_mult, steps)),
            ("drop_batch_history", _DropBatchHistory()),
        ]
        net = _Net(
            McDonnellResNet,
            module__n_channels=n_channels,
            module__n_classes=len(classes),
            module__width=self.width,
            module__n_stages=self.n_stages,
            module__n_blocks=self.n_blocks,
            criterion=nn.CrossEntropyLoss,  # soft (mixup) targets in training
            optimizer=KerasSGD,
            lr=self.max_lr,
            optimizer__momentum=self.momentum,
            optimizer__weight_decay=self.weight_decay,
            optimizer__param_groups=[("*bn.*", {"weight_decay": 0.0})],
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=predefined_split(valid_ds) if valid_ds is not None else None,
            iterator_train=MixupIterator,
            iterator_train__stream=stream,
            iterator_train__steps_per_epoch=steps,
            iterator_valid=_BatchIterator,
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
        )
        with seeded_torch(device, seed):
            net.fit(data_tr, None)
        # do not keep the training data (held by the stream) in the fitted model
        net.train_split = None
        net.iterator_train__stream = None
        self.net_ = net
        self.classes_ = classes
        self.n_channels_in_ = n_channels
        self.n_mels_in_ = n_mels
        self.n_iter_ = len(net.history)
        return self

    @property
    def module_(self) -> McDonnellResNet:
        """The fitted network (``net_.module_``)."""
        check_is_fitted(self)
        return self.net_.module_

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = check_features(X, type(self).__name__, self.n_channels_in_)
        module = self.net_.module_
        device = torch.device(self.net_.device)
        was_training = module.training
        module.eval()
        try:
            with torch.inference_mode():
                Xt = _as_tensor(X)
                bs = self.batch_size
                outs = [module(Xt[i:i + bs].to(device)).cpu() for i in range(0, len(Xt), bs)]
        finally:
            module.train(was_training)
        return torch.cat(outs)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network output), on all frames.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_mels, n_frames)

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes), float32
            Columns follow ``classes_``.
        """
        return torch.softmax(self._logits(X), dim=1).numpy()

    def predict(self, X):
        """Most probable class of each clip.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_mels, n_frames)

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
        """
        index = self._logits(X).argmax(dim=1).numpy()
        return self.classes_[index]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = not isinstance(self.random_state, numbers.Integral)
        return tags
