"""McDonnell & Gao's two-path pre-activation ResNet for log-mels, as a PyTorch module.

Read from ``McDonnell-Lab/DCASE2019-Task1`` (``DCASE2019_network.py``, Keras 2.2.4):
input ``(N, C, F, T)`` with frequency ``F`` (128 mel bins) and time ``T``; the bins are
split into two halves processed by separate residual paths whose outputs are
concatenated along frequency again. Strides are (1, 2): time only. Keras's ``'same'``
padding (extra zero at the end for even sizes) and ``AveragePooling2D(padding='same')``
(padding excluded from the average) are reproduced exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["McDonnellResNet", "KERAS_BN_MOMENTUM", "KERAS_BN_EPS"]

#: torch momentum of Keras's BatchNormalization(momentum=0.99).
KERAS_BN_MOMENTUM = 0.01
#: Keras's BatchNormalization epsilon.
KERAS_BN_EPS = 1e-3
# Keras 2.2.4 he_normal: truncated normal (2 std) rescaled to keep the variance 2 / fan_in
_TRUNC_STD_CORRECTION = 0.87962566103423978


def _same_pad_time(width: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same' padding (before, after) along one axis."""
    out = -(-width // stride)
    total = max((out - 1) * stride + kernel - width, 0)
    return total // 2, total - total // 2


def _bn(channels: int, affine: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM, affine=affine)


class _Unit(nn.Module):
    """The authors' ``resnet_layer``: BatchNorm -> (ReLU) -> Conv2d (no bias, 'same')."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride_t: int = 1,
                 affine_bn: bool = False, relu: bool = True):
        super().__init__()
        self.bn = _bn(c_in, affine_bn)
        self.relu = relu
        self.kernel = kernel
        self.stride_t = stride_t
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=(1, stride_t), bias=False)

    def forward(self, x):
        x = self.bn(x)
        if self.relu:
            x = F.relu(x)
        k = self.kernel
        if k > 1:
            t0, t1 = _same_pad_time(x.shape[-1], k, self.stride_t)
            x = F.pad(x, (t0, t1, (k - 1) // 2, k // 2))
        return self.conv(x)


def _avg_pool_same(x: torch.Tensor) -> torch.Tensor:
    """Keras AveragePooling2D(3, strides=(1, 2), padding='same'): padding not counted."""
    t0, t1 = _same_pad_time(x.shape[-1], 3, 2)
    pad = (t0, t1, 1, 1)
    summed = F.avg_pool2d(F.pad(x, pad), 3, stride=(1, 2), divisor_override=1)
    ones = torch.ones((1, 1) + tuple(x.shape[-2:]), dtype=x.dtype, device=x.device)
    counts = F.avg_pool2d(F.pad(ones, pad), 3, stride=(1, 2), divisor_override=1)
    return summed / counts


class _Block(nn.Module):
    """Two pre-activation units and the shortcut (avg-pool + zero channels when strided)."""

    def __init__(self, c_in: int, c_out: int, downsample: bool):
        super().__init__()
        self.downsample = downsample
        self.unit1 = _Unit(c_in, c_out, stride_t=2 if downsample else 1)
        self.unit2 = _Unit(c_out, c_out)

    def forward(self, x):
        out = self.unit2(self.unit1(x))
        if self.downsample:
            x = _avg_pool_same(x)
            x = torch.cat([x, torch.zeros_like(x)], dim=1)
        return out + x


class _Path(nn.Module):
    """One frequency path: affine BN + strided conv, then the residual stages."""

    def __init__(self, n_channels: int, width: int, n_stages: int, n_blocks: int):
        super().__init__()
        self.stem = _Unit(n_channels, width, stride_t=2, affine_bn=True, relu=False)
        blocks = []
        c = width
        for stage in range(n_stages):
            c_out = width * 2 ** stage
            for b in range(n_blocks):
                down = stage > 0 and b == 0
                blocks.append(_Block(c, c_out, down))
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = c

    def forward(self, x):
        return self.blocks(self.stem(x))


class McDonnellResNet(nn.Module):
    """The "McDonnell USA" network: two frequency paths, pre-activation residual stages.

    Parameters
    ----------
    n_channels : int, default=6
        Input planes (log-mels, deltas, delta-deltas of two channels).
    n_classes : int, default=10
        Output size (logits).
    width : int, default=24
        Channels of the first stage; stage ``s`` has ``width * 2**s`` (24/48/96/192).
    n_stages : int, default=4
        Residual stages; every stage after the first halves the time axis.
    n_blocks : int, default=2
        Residual blocks per stage.
    split_bin : int or None, default=None
        First mel bin of the upper path (``None``: half the bins, 64 of 128).

    Notes
    -----
    Forward input ``(N, n_channels, n_mels, n_frames)``, output ``(N, n_classes)``
    logits (the authors' softmax lives in the loss and in ``predict_proba``). Head:
    BN-ReLU-1x1 conv to ``2 * width * 2**n_stages`` (768) channels, BN-1x1 conv to the
    classes, BN without affine parameters, global average pooling. Only the input
    BatchNorm of each path has affine parameters. Convolutions have no bias and are
    initialised as Keras 2.2.4's ``he_normal`` (truncated normal). With the defaults
    there are 3,247,416 trainable parameters.

    Examples
    --------
    >>> import torch
    >>> net = McDonnellResNet()
    >>> sum(p.numel() for p in net.parameters())
    3247416
    >>> net.eval()(torch.zeros(1, 6, 128, 24)).shape
    torch.Size([1, 10])
    """

    def __init__(self, n_channels: int = 6, n_classes: int = 10, width: int = 24,
                 n_stages: int = 4, n_blocks: int = 2, split_bin: int | None = None):
        super().__init__()
        self.split_bin = split_bin
        self.low = _Path(n_channels, width, n_stages, n_blocks)
        self.high = _Path(n_channels, width, n_stages, n_blocks)
        c = self.low.out_channels
        hidden = 2 * width * 2 ** n_stages
        self.head = nn.Sequential(
            _Unit(c, hidden, kernel=1),
            _Unit(hidden, n_classes, kernel=1, relu=False),
            _bn(n_classes, affine=False),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                std = math.sqrt(2.0 / fan_in) / _TRUNC_STD_CORRECTION
                nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std)

    def forward(self, x):
        split = x.shape[2] // 2 if self.split_bin is None else self.split_bin
        z = torch.cat([self.low(x[:, :, :split]), self.high(x[:, :, split:])], dim=2)
        return self.head(z).mean(dim=(2, 3))
