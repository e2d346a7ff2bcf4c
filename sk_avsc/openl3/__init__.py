"""OpenL3 in PyTorch: audio and image embeddings equal to openl3 0.4.2's.

A port of OpenL3 (Cramer et al., ICASSP 2019; the ``openl3`` package 0.4.2 with its kapre
0.3 front-end) that reads the official Keras weight files. The functional API mirrors
openl3's, so ``import openl3`` becomes ``from sk_avsc import openl3``.

Submodules: :mod:`~sk_avsc.openl3.frontend` (the audio front-end),
:mod:`~sk_avsc.openl3.models` (the networks), :mod:`~sk_avsc.openl3.weights` (weight
files), :mod:`~sk_avsc.openl3.core` (functional API and preprocessing).
"""

from .core import (
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
    "load_audio_model",
    "load_image_model",
    "get_audio_embedding",
    "get_image_embedding",
    "preprocess_audio",
    "preprocess_image",
    "embed_audio_windows",
    "embed_images",
    "AudioEmbeddingNetwork",
    "ImageEmbeddingNetwork",
    "AudioFrontend",
    "INPUT_REPRS",
    "CONTENT_TYPES",
    "AUDIO_EMBEDDING_SIZES",
    "IMAGE_EMBEDDING_SIZES",
    "TARGET_SR",
]
