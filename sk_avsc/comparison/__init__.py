"""The paper's comparison systems (Wang et al., ICASSP 2021, section 4).

- :class:`LogMelSpectrogram` and :class:`ResNetAudioClassifier`: McDonnell & Gao's
  log-mel ResNet ("McDonnell USA", DCASE 2019 Task 1A), front-end and training recipe
  from the authors' code.
- :class:`ResNet50FrameClassifier`: torchvision's ResNet50 on one video frame per
  second (needs the ``[vision]`` extra: torchvision).
- :class:`AudioVisualEnsemble`: the two by late fusion of clip probabilities.
"""

from ._logmel import LogMelSpectrogram, htk_mel_filterbank, log_mel_deltas
from ._mcdonnell import McDonnellResNet
from ._resnet_audio import ResNetAudioClassifier, count_parameters
from ._training import KerasSGD, MixupStream, warm_restart_lr

__all__ = [
    "LogMelSpectrogram",
    "htk_mel_filterbank",
    "log_mel_deltas",
    "McDonnellResNet",
    "ResNetAudioClassifier",
    "count_parameters",
    "KerasSGD",
    "MixupStream",
    "warm_restart_lr",
]
