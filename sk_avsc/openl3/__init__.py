"""OpenL3 in PyTorch: audio and image embeddings equal to openl3 0.4.2's.

A port of OpenL3 (Cramer et al., ICASSP 2019; the ``openl3`` package 0.4.2 with its kapre
0.3 front-end) that reads the official Keras weight files. The functional API mirrors
openl3's, so ``import openl3`` becomes ``from sk_avsc import openl3``.

Submodules: :mod:`~sk_avsc.openl3.framing` (how audio is cut into 1-s windows),
:mod:`~sk_avsc.openl3.frontend` (the audio front-end), :mod:`~sk_avsc.openl3.models`
(the networks), :mod:`~sk_avsc.openl3.weights` (reading Keras weight files),
:mod:`~sk_avsc.openl3.audio` and :mod:`~sk_avsc.openl3.image` (preprocessing and
embedding), :mod:`~sk_avsc.openl3.core` (the functional API under openl3's module name).
Private: ``_loading`` (weights, device, dtype, compilation of the networks), ``_batching``
(the list handling and batching loop both modalities share), ``_download`` (finding and
downloading the official weight files).
"""

from . import core
from .core import (  # noqa: F401  (listed in __all__ through core.__all__)
    embed_audio_windows,
    embed_images,
    get_audio_embedding,
    get_image_embedding,
    load_audio_model,
    load_image_model,
    preprocess_audio,
    preprocess_image,
)
from .frontend import TARGET_SR, AudioFrontend
from .models import (
    AUDIO_EMBEDDING_SIZES,
    CONTENT_TYPES,
    IMAGE_EMBEDDING_SIZES,
    INPUT_REPRS,
    AudioEmbeddingNetwork,
    ImageEmbeddingNetwork,
)

__all__ = [
    *core.__all__,
    "AudioEmbeddingNetwork",
    "ImageEmbeddingNetwork",
    "AudioFrontend",
    "INPUT_REPRS",
    "CONTENT_TYPES",
    "AUDIO_EMBEDDING_SIZES",
    "IMAGE_EMBEDDING_SIZES",
    "TARGET_SR",
]
