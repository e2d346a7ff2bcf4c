"""ResNet50 (torchvision's layout) for the paper's visual comparison system."""

from __future__ import annotations

import os
import warnings

import torch
from torch import nn

from ..exceptions import RandomWeightsWarning, WeightsError

__all__ = ["ResNet50", "load_resnet50_weights", "IMAGENET_MEAN", "IMAGENET_STD"]

#: Channel means and deviations of the ImageNet-trained torchvision weights (RGB, [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_LAYERS = (3, 4, 6, 3)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


class ResNet50(nn.Module):
    """ResNet-50 v1.5 with torchvision's module names, so its weight files load as they are.

    ``torchvision.models.resnet50`` rebuilt (stride in the 3x3 convolution of each
    bottleneck, torchvision's initialisation), so that :class:`ResNet50FrameClassifier`
    runs without torchvision: the torchvision wheels on PyPI link the CUDA build of
    torch and fail to import beside a CPU-only torch. ``state_dict`` keys and shapes are
    torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ..., ``fc``); the test-suite
    checks them against torchvision when it imports.

    Parameters
    ----------
    n_classes : int, default=1000
        Outputs of the final ``fc`` layer.

    Examples
    --------
    >>> net = ResNet50(n_classes=10)
    >>> sum(p.numel() for p in net.parameters())
    23528522
    """

    def __init__(self, n_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = 64
        for i, (n_blocks, planes) in enumerate(zip(_LAYERS, (64, 128, 256, 512))):
            blocks = []
            for b in range(n_blocks):
                stride = 2 if (b == 0 and i > 0) else 1
                blocks.append(_Bottleneck(inplanes, planes, stride))
                inplanes = planes * _Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """2048-d pooled features of ``(N, 3, H, W)`` ImageNet-normalised images."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def load_resnet50_weights(module: ResNet50, weights, *, owner: str = "ResNet50") -> None:
    """Load a torchvision-format ResNet50 file into ``module``, all but ``fc``.

    Parameters
    ----------
    module : ResNet50
        The network; its ``fc`` (sized for your classes) keeps its initialisation.
    weights : str, os.PathLike or None
        A ``state_dict`` saved by torchvision or ``torch.save(model.state_dict())``
        (e.g. ``resnet50-11ad3fa6.pth``, ImageNet ``IMAGENET1K_V2``). ``None`` keeps the
        random initialisation and warns with :class:`RandomWeightsWarning`.
        Nothing is ever downloaded.
    owner : str, default="ResNet50"
        The name messages and warnings start with (the estimator that loads the file).

    Raises
    ------
    WeightsError
        The file is missing, not a torch file, or its tensors do not fit ResNet50.
    """
    if weights is None:
        warnings.warn(
            f"{owner}: weights=None: the ResNet50 starts from random weights, not from "
            "ImageNet; pass weights='path/to/resnet50.pth' (a torchvision state_dict) to "
            "reproduce the paper.",
            RandomWeightsWarning,
            stacklevel=3,
        )
        return
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise WeightsError(
            f"{owner}: ResNet50 weights file {path!r} not found; pass the path of a "
            "torchvision resnet50 state_dict (.pth), e.g. resnet50-11ad3fa6.pth."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise WeightsError(
            f"{owner}: {path!r} is not a torch weights file ({type(exc).__name__}: {exc})."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"],
                                                                        dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{owner}: {path!r} holds a {type(state).__name__}, not a state_dict.")
    body = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = {k: v for k, v in module.state_dict().items() if not k.startswith("fc.")}
    missing = sorted(set(own) - set(body))
    unexpected = sorted(set(body) - set(own))
    wrong = sorted(k for k in set(own) & set(body) if tuple(own[k].shape) != tuple(body[k].shape))
    if missing or unexpected or wrong:
        raise WeightsError(
            f"{owner}: {path!r} is not a torchvision ResNet50 state_dict (missing "
            f"{missing[:3]}, unexpected {unexpected[:3]}, wrong shape {wrong[:3]})."
        )
    module.load_state_dict(body, strict=False)
