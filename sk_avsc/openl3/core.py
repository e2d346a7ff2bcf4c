"""The functional API under openl3's module name: a namespace, no logic of its own.

openl3 0.4.2 keeps its functions in ``openl3.core``; this module re-exports ours under
the same name so that code written against ``openl3.core`` keeps working with
``from sk_avsc.openl3 import core``. The code lives by concept in
:mod:`~sk_avsc.openl3._loading` (loading the networks), :mod:`~sk_avsc.openl3.audio`
and :mod:`~sk_avsc.openl3.image`.

Differences from openl3: errors are :class:`~sk_avsc.exceptions.SkAvscError` subclasses
(all ``ValueError``), warnings are :class:`~sk_avsc.exceptions.SkAvscWarning`, ``verbose``
defaults to False, non-finite audio/images are rejected, integer audio is scaled to
[-1, 1] (openl3 fed raw integers; the per-window dB normalisation makes the two agree up to
the 1e-10 floor), and the return types do not depend on the input beyond list vs. array.
"""

from ._loading import load_audio_model, load_image_model
from .audio import embed_audio_windows, get_audio_embedding, preprocess_audio
from .image import embed_images, get_image_embedding, preprocess_image

__all__ = [
    "load_audio_model",
    "load_image_model",
    "get_audio_embedding",
    "get_image_embedding",
    "preprocess_audio",
    "preprocess_image",
    "embed_audio_windows",
    "embed_images",
]
