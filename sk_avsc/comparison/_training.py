"""McDonnell & Gao's training recipe pieces: Keras SGD, warm restarts, mixup batches.

From ``McDonnell-Lab/DCASE2019-Task1`` (``DCASE_training_functions.py``,
``DCASE_training.ipynb``): SGD with momentum 0.9 (Keras 2.2.4's update rule), a cosine
learning rate restarted at epochs 3, 7, 15, ... and stepped every batch, and
``MixupGenerator``: each batch mixes ``batch_size`` pairs of clips, each clip cropped
independently to 400 random frames and its left/right planes swapped with probability
1/2, with one Beta(0.4, 0.4) weight per pair for both inputs and one-hot labels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["KerasSGD", "WarmRestarts", "warm_restart_lr", "MixupStream", "swap_index"]


class KerasSGD(torch.optim.Optimizer):
    """SGD with momentum as Keras 2.2.4 updates: ``v = m v - lr (g + wd w); w += v``.

    torch's SGD keeps ``b = m b + g`` and steps ``w -= lr b``: the same with a constant
    learning rate, but with the per-batch schedule Keras scales each gradient by the
    learning rate of its own step, torch by the current one.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (a group may set its own ``weight_decay``).
    lr : float
        Learning rate (changed per batch by :class:`WarmRestarts`).
    momentum : float, default=0.9
        Momentum.
    weight_decay : float, default=0
        Gradient of an L2 penalty: Keras's ``l2(c)`` adds ``c * sum(w**2)`` to the loss,
        i.e. ``weight_decay = 2 * c``.

    Examples
    --------
    Two steps on ``w`` with gradient 1: the velocity is ``-lr``, then ``m (-lr) - lr``:

    >>> import torch
    >>> from sk_avsc.comparison import KerasSGD
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = KerasSGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = torch.ones(1)
    ...     opt.step()
    >>> round(w.item(), 6)  # -0.1 + (-0.09 - 0.1)
    -0.29
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter with its gradient: ``v = m v - lr (g + wd w); w += v``.

        Parameters
        ----------
        closure : callable, default=None
            Re-evaluates the model and returns the loss (torch's optimizer protocol).

        Returns
        -------
        loss : torch.Tensor or None
            The closure's loss, if a closure was given.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, m, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                v = state["velocity"]
                v.mul_(m).sub_(grad, alpha=lr)
                p.add_(v)
        return loss


def warm_restart_lr(epoch: int, fraction: float, *, max_lr: float, min_lr: float,
                    first_cycle: int, cycle_mult: int) -> float:
    """Cosine learning rate with warm restarts at ``epoch + fraction`` (0-based epochs).

    Cycles last ``first_cycle * cycle_mult**k`` epochs (2, 4, 8, ..., 256: restarts at
    1-based epochs 3, 7, 15, ..., 510 epochs for eight cycles), as the authors'
    ``LR_WarmRestart``: ``lr = min + (max - min) (1 + cos(pi t / T)) / 2``, with ``t``
    the epochs since the cycle's start and ``T`` its length.

    Parameters
    ----------
    epoch : int
        Current epoch, 0-based.
    fraction : float
        Fraction of the epoch done, in [0, 1) (the batch index over the batches per epoch).
    max_lr, min_lr : float
        Learning rate at the start and at the end of each cycle.
    first_cycle : int
        Length of the first cycle in epochs.
    cycle_mult : int
        Each cycle is this many times longer than the one before.

    Returns
    -------
    lr : float
        The learning rate at ``epoch + fraction``.

    Examples
    --------
    >>> kw = dict(max_lr=0.1, min_lr=1e-5, first_cycle=2, cycle_mult=2)
    >>> warm_restart_lr(0, 0.0, **kw), round(warm_restart_lr(1, 0.0, **kw), 6)
    (0.1, 0.050005)
    >>> warm_restart_lr(2, 0.0, **kw)  # restart
    0.1
    """
    start, length = 0, first_cycle
    while epoch >= start + length:
        start += length
        length *= cycle_mult
    t = epoch - start + fraction
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * t / length))


class WarmRestarts(Callback):
    """skorch callback setting the learning rate of every training batch."""

    def __init__(self, max_lr, min_lr, first_cycle, cycle_mult, steps_per_epoch):
        self.max_lr = max_lr
        self.min_lr = min_lr
        self.first_cycle = first_cycle
        self.cycle_mult = cycle_mult
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, net, **kwargs):
        self.batch_ = 0

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        lr = warm_restart_lr(
            len(net.history) - 1, self.batch_ / self.steps_per_epoch, max_lr=self.max_lr,
            min_lr=self.min_lr, first_cycle=self.first_cycle, cycle_mult=self.cycle_mult,
        )
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.batch_ += 1


def swap_index(n_channels: int) -> list[int]:
    """Plane order after a left/right swap of ``[L, R, dL, dR, ddL, ddR]``-style input.

    Examples
    --------
    >>> swap_index(6)
    [1, 0, 3, 2, 5, 4]
    """
    return [c ^ 1 for c in range(n_channels)]


class MixupStream:
    """The authors' mixup batches, drawn from one RandomState across epochs.

    Clips are visited in shuffled order, ``2 * batch_size`` per batch (the first half
    mixed with the second); a new permutation starts when fewer than ``2 * batch_size``
    clips are left, so an epoch of ``ceil(n / batch_size)`` batches (the authors'
    ``steps_per_epoch``) sees each clip about twice. With fewer than
    ``2 * batch_size`` clips, each batch mixes ``n // 2`` pairs of a fresh permutation.

    Parameters
    ----------
    X : torch.Tensor of shape (n_clips, n_channels, n_bands, n_frames)
        Training inputs (e.g. :class:`LogMelSpectrogram` output), on the training device.
    y : torch.Tensor of int of shape (n_clips,)
        Class index of each clip.
    n_classes : int
        Number of classes (the width of the one-hot targets).
    batch_size : int
        Mixed samples per batch.
    alpha : float
        Mixup weights are drawn from Beta(alpha, alpha); 0 turns mixup off (plain crops).
    crop_length : int or None
        Random crop of this many frames per clip; None keeps all frames.
    swap_prob : float
        Probability of swapping the left and right channel planes of a clip.
    random_state : numpy.random.RandomState
        The one generator of every draw (order, crops, swaps, mixup weights).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sk_avsc.comparison import MixupStream
    >>> X = torch.randn(8, 6, 4, 20, generator=torch.Generator().manual_seed(0))
    >>> y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    >>> stream = MixupStream(X, y, 3, batch_size=4, alpha=0.4, crop_length=10,
    ...                      swap_prob=0.5, random_state=np.random.RandomState(0))
    >>> xb, yb = stream.next_batch()
    >>> tuple(xb.shape), tuple(yb.shape)  # 4 mixed pairs, cropped to 10 frames
    ((4, 6, 4, 10), (4, 3))
    >>> torch.allclose(yb.sum(dim=1), torch.ones(4))  # soft targets
    True
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, n_classes: int, *, batch_size: int,
                 alpha: float, crop_length: int | None, swap_prob: float,
                 random_state: np.random.RandomState):
        self.X, self.y, self.n_classes = X, y, n_classes
        self.batch_size, self.alpha = batch_size, alpha
        self.crop_length, self.swap_prob = crop_length, swap_prob
        self.rng = random_state
        self._order, self._pos = np.empty(0, dtype=np.int64), 0
        self._swap = torch.tensor(swap_index(X.shape[1]), device=X.device)

    def _pairs(self) -> np.ndarray:
        n = len(self.X)
        k = 2 if self.alpha > 0 else 1  # clips per output sample
        need = k * min(self.batch_size, n // k)
        if self._pos + need > len(self._order):
            self._order, self._pos = self.rng.permutation(n), 0
        ids = self._order[self._pos:self._pos + need]
        self._pos += need
        return ids

    def _augment(self, ids: np.ndarray) -> torch.Tensor:
        x = self.X[torch.from_numpy(ids).to(self.X.device)]
        n_frames = x.shape[-1]
        L = self.crop_length
        if L is not None and L < n_frames:
            # the authors' np.random.randint(0, T - L): the last offset is never drawn
            starts = self.rng.randint(0, n_frames - L, size=len(ids))
            t = torch.from_numpy(starts[:, None] + np.arange(L)).to(x.device)
            x = torch.gather(x, 3, t[:, None, None, :].expand(x.shape[0], x.shape[1],
                                                              x.shape[2], L))
        if self.swap_prob > 0:
            swap = self.rng.random_sample(len(ids)) < self.swap_prob
            if swap.any():
                rows = torch.from_numpy(np.flatnonzero(swap)).to(x.device)
                x[rows] = x[rows][:, self._swap]
        return x

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw the next training batch.

        Returns
        -------
        X : torch.Tensor of shape (batch_size, n_channels, n_bands, crop_length)
            Cropped, possibly channel-swapped clips, mixed in pairs when ``alpha > 0``.
        Y : torch.Tensor of shape (batch_size, n_classes)
            The matching (mixed) one-hot targets.
        """
        ids = self._pairs()
        x = self._augment(ids)
        onehot = torch.nn.functional.one_hot(
            self.y[torch.from_numpy(ids).to(self.y.device)], self.n_classes
        ).to(x.dtype)
        if self.alpha == 0:  # no mixup: plain crops and swaps
            return x, onehot
        half = len(ids) // 2
        lam = self.rng.beta(self.alpha, self.alpha, size=half).astype(np.float32)
        lam_t = torch.from_numpy(lam).to(x.device)
        xl = lam_t[:, None, None, None]
        X = x[:half] * xl + x[half:] * (1.0 - xl)
        Y = onehot[:half] * lam_t[:, None] + onehot[half:] * (1.0 - lam_t[:, None])
        return X, Y


class MixupIterator:
    """skorch ``iterator_train``: ``steps_per_epoch`` batches from a :class:`MixupStream`."""

    def __init__(self, dataset, batch_size=32, stream=None, steps_per_epoch=1, **kwargs):
        self.stream = stream
        self.steps_per_epoch = steps_per_epoch

    def __len__(self):
        return self.steps_per_epoch

    def __iter__(self):
        for _ in range(self.steps_per_epoch):
            yield self.stream.next_batch()
