"""The paper's comparison systems (Wang et al., ICASSP 2021, section 4).

- :class:`LogMelSpectrogram` and :class:`ResNetAudioClassifier`: McDonnell & Gao's
  log-mel ResNet ("McDonnell USA", DCASE 2019 Task 1A), front-end and training recipe
  from the authors' code.
- :class:`VideoFrames` and :class:`ResNet50FrameClassifier`: a ResNet50 (torchvision's
  architecture and weight files) on one video frame per second.
- :class:`AudioVisualEnsemble`: the two by late fusion of clip probabilities.
"""

from ._ensemble import AudioVisualEnsemble
from ._frames import VideoFrames, read_frame_candidates
from ._logmel import LogMelSpectrogram, log_mel_deltas
from ._mcdonnell import McDonnellResNet
from ._resnet50 import ResNet50, load_resnet50_weights
from ._resnet50_classifier import ResNet50FrameClassifier
from ._resnet_audio import ResNetAudioClassifier, count_parameters
from ._training import KerasSGD, MixupStream, warm_restart_lr

__all__ = [
    "LogMelSpectrogram",
    "log_mel_deltas",
    "McDonnellResNet",
    "VideoFrames",
    "read_frame_candidates",
    "ResNet50",
    "load_resnet50_weights",
    "ResNet50FrameClassifier",
    "AudioVisualEnsemble",
    "ResNetAudioClassifier",
    "count_parameters",
    "KerasSGD",
    "MixupStream",
    "warm_restart_lr",
]
