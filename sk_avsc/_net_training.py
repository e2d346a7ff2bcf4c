"""The training machinery every skorch net of the package shares.

:class:`~sk_avsc.SkorchMLPClassifier` and the comparison systems' classifiers
(:mod:`sk_avsc.comparison`) train through the same pieces, so that they behave alike:
a skorch ``NeuralNet`` without per-batch costs (``_Net``), batches gathered by index
(``_BatchIterator``), the best-validation-loss weights kept in memory (``_KeepBest``),
a diverged loss stopping the fit (``_FiniteLoss``), one meaning of ``validation_split``
(:func:`split_train_valid`), label encoding and seeding (:func:`prepare_clip_fit`,
:func:`seeded_torch`).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog

from ._meta import check_groups
from .exceptions import ParameterError, SkAvscWarning, TrainingError

__all__ = ["split_train_valid", "encode_labels", "prepare_clip_fit",
           "encode_validation_labels", "seeded_torch"]


class _BatchData(torch.utils.data.Dataset):
    """Whole tensors, so that batches are gathered by index, not sample by sample."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else torch.zeros(()))


class _BatchIterator:
    """Yields ``(X[idx], y[idx])`` batches from a :class:`_BatchData`.

    skorch's default DataLoader calls ``__getitem__`` per sample and collates, which
    costs more than the paper's small network at batch size 64. A final batch of one
    sample is merged into the previous one in training, since BatchNorm cannot
    normalise a batch of one.
    """

    def __init__(self, dataset, batch_size=64, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n, bs = len(X), self.batch_size
        starts = list(range(0, n, bs))
        if not self.shuffle:
            for k, start in enumerate(starts):
                stop = starts[k + 1] if k + 1 < len(starts) else n
                yield X[start:stop], (y[start:stop] if y is not None else None)
            return
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        order = torch.randperm(n, generator=self.generator).to(X.device)
        # gather per batch rather than permuting X: no second copy of the training set
        for k, start in enumerate(starts):
            idx = order[start : starts[k + 1] if k + 1 < len(starts) else n]
            yield X.index_select(0, idx), (y.index_select(0, idx) if y is not None else None)


class _KeepBest(Callback):
    """Keeps an in-memory copy of the weights with the lowest validation loss."""

    def on_train_begin(self, net, **kwargs):
        self.best_loss_, self.best_state_, self.best_epoch_ = np.inf, None, None

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        loss = net.history[-1, "valid_loss"]
        if loss < self.best_loss_:
            self.best_loss_ = loss
            self.best_epoch_ = len(net.history)
            self.best_state_ = {
                k: v.detach().clone() for k, v in net.module_.state_dict().items()
            }

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # do not pickle a second copy of the weights


class _FiniteLoss(Callback):
    """Stops training when a loss is not finite: a diverged net only predicts garbage."""

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        for key in ("train_loss", "valid_loss"):
            if key in net.history[-1] and not np.isfinite(net.history[-1, key]):
                raise TrainingError(
                    f"training diverged: the {key.replace('_', ' ')} is "
                    f"{net.history[-1, key]} at epoch {epoch} of {net.max_epochs}; lower lr "
                    f"(now {net.lr:g}) or check that the features are z-scored and finite."
                )


class _DropBatchHistory(Callback):
    """Forgets per-batch records once the epoch's scores are computed.

    In the paper's setting (13,600 batches x 200 epochs) they would hold millions of
    dicts in ``history`` and in every pickle of the fitted model.
    """

    def on_epoch_end(self, net, **kwargs):
        net.history[-1]["batches"] = []


class _Net(NeuralNet):
    """skorch net with the callbacks we need and nothing that costs per batch."""

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("finite_loss", _FiniteLoss()),
        ]
        # PrintLog tabulates the history every epoch even when it prints nothing
        return callbacks + ([("print_log", PrintLog())] if self.verbose else [])

    def _set_training(self, training=True):
        # skorch calls this every batch; walking the module tree each time is measurable
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)


def _noop(*args, **kwargs):
    pass


class _FractionSplit:
    """What ``validation_split=<float>`` means: hold out a fraction in one split.

    By ``groups`` when given (``GroupShuffleSplit``: no group on both sides), otherwise
    stratified by class; when stratifying is impossible (a class with one sample, fewer
    held-out samples than classes) it warns and holds out a random fraction instead.
    The fusion classifiers give one seeded instance to all their default networks, so
    that the three use the same validation samples.
    """

    def __init__(self, test_size: float, random_state=None):
        self.test_size = test_size
        self.random_state = random_state

    def __repr__(self):
        return f"{type(self).__name__}(test_size={self.test_size!r}, " \
               f"random_state={self.random_state!r})"

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1

    def split(self, X, y, groups=None):
        idx = np.arange(len(y))
        ts, rs = self.test_size, self.random_state
        if groups is not None:
            if len(np.unique(groups)) < 2:
                raise ParameterError(
                    f"validation_split={ts} with groups needs at least 2 distinct groups "
                    "(e.g. locations); pass more groups, validation_data=, or "
                    "validation_split=None."
                )
            yield next(GroupShuffleSplit(n_splits=1, test_size=ts, random_state=rs).split(
                idx, y, groups))
            return
        try:
            yield next(StratifiedShuffleSplit(n_splits=1, test_size=ts, random_state=rs).split(
                idx, y))
            return
        except ValueError as exc:
            warnings.warn(
                f"validation_split={ts}: cannot stratify the validation split by class "
                f"({exc}); holding out a random {ts:g} of the samples instead.",
                SkAvscWarning,
                stacklevel=4,
            )
        n_valid = max(1, int(round(ts * len(idx))))
        if len(idx) - n_valid < 1:
            yield idx, idx[:0]
            return
        yield next(ShuffleSplit(n_splits=1, test_size=n_valid, random_state=rs).split(idx))


def split_train_valid(X, y, split, groups, random_state, *, owner: str):
    """Indices ``(train, valid)`` of ``validation_split``'s first split, or ``(all, None)``.

    What every network of the package means by ``validation_split`` (see
    :class:`SkorchMLPClassifier`): ``split`` is a checked value
    (:func:`~sk_avsc._validation.check_validation_split`): None, a fraction
    (:class:`_FractionSplit`: by ``groups`` when given, else stratified) or a splitter
    called as ``split(X, y, groups)``. A split with an empty side (or fewer than two
    training samples) warns and gives ``(all, None)``.
    """
    n = len(y)
    idx = np.arange(n)
    if split is None:
        return idx, None
    groups = check_groups(groups, n, owner=owner)
    splitter = (_FractionSplit(split, random_state=random_state) if isinstance(split, float)
                else split)
    train, valid = (np.asarray(side) for side in next(iter(splitter.split(X, y, groups))))
    if len(valid) == 0 or len(train) < 2:
        warnings.warn(
            f"{owner}: validation_split={split!r} gave {len(train)} training and "
            f"{len(valid)} validation sample(s); training on all {n} samples without "
            "validation (the last epoch's weights are kept). Pass more groups or "
            "classes, validation_data=, or validation_split=None.",
            SkAvscWarning,
            stacklevel=4,
        )
        return idx, None
    return train, valid


def encode_labels(y, *, owner: str) -> LabelEncoder:
    """A LabelEncoder fitted on classification targets ``y`` of at least 2 classes."""
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ParameterError(
            f"{owner}: training data has 1 class ({encoder.classes_[0]!r}); a classifier "
            "needs at least 2 classes."
        )
    return encoder


def prepare_clip_fit(X, y, random_state, *, owner: str):
    """The common start of a clip classifier's ``fit``: labels, encoder and seed.

    Returns ``(y, encoder, rs, seed)``: ``y`` as a 1-d array of one label per clip of
    ``X`` (else ParameterError), :func:`encode_labels`' encoder, the RandomState of
    ``random_state`` and the torch seed drawn from it first.
    """
    y = column_or_1d(y, warn=True)
    if len(y) != len(X):
        raise ParameterError(f"{owner}: X has {len(X)} clips but y has {len(y)} labels.")
    encoder = encode_labels(y, owner=owner)
    rs = check_random_state(random_state)
    return y, encoder, rs, int(rs.randint(np.iinfo(np.int32).max))


def encode_validation_labels(y_val, encoder: LabelEncoder, *, owner: str) -> np.ndarray:
    """``y_val`` encoded as the training labels; unknown labels raise ParameterError."""
    y_val = np.asarray(y_val)
    unknown = np.setdiff1d(y_val, encoder.classes_)
    if len(unknown):
        raise ParameterError(
            f"{owner}: validation_data has labels not in the training labels: "
            f"{unknown[:5].tolist()}; every validation class must be trained on."
        )
    return encoder.transform(y_val)


@contextlib.contextmanager
def seeded_torch(device, seed: int):
    """Seed a forked copy of the torch RNG (of ``device`` too, if CUDA), so that the
    caller's RNG state is neither used nor changed (init and dropout draw from it)."""
    device = torch.device(device)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        yield
