"""The functional API under openl3's module name: a namespace, no logic of its own.

openl3 0.4.2 keeps its functions in ``openl3.core``; this module re-exports ours under
the same name so that code written against ``openl3.core`` keeps working with
``from sk_avsc.openl3 import core``. The code lives by concept in
:mod:`~sk_avsc.openl3._loading` (loading the networks), :mod:`~sk_avsc.openl3.audio`,
:mod:`~sk_avsc.openl3.image` and :mod:`~sk_avsc.openl3.files` (the ``process_*_file``
functions). The differences from openl3 are listed in :mod:`sk_avsc.openl3`.
"""

from ._loading import load_audio_model, load_image_model
from .audio import cut_audio_windows, embed_audio_windows, get_audio_embedding, preprocess_audio
from .files import get_output_path, process_audio_file, process_image_file, process_video_file
from .framing import SAMPLE_RATE as TARGET_SR
from .image import embed_images, get_image_embedding, preprocess_image
from .models import load_audio_embedding_model, load_image_embedding_model
from .openl3_exceptions import OpenL3Error
from .openl3_warnings import OpenL3Warning

__all__ = [
    "load_audio_model",
    "load_image_model",
    "get_audio_embedding",
    "get_image_embedding",
    "preprocess_audio",
    "preprocess_image",
    "cut_audio_windows",
    "embed_audio_windows",
    "embed_images",
    "get_output_path",
    "process_audio_file",
    "process_image_file",
    "process_video_file",
    "load_audio_embedding_model",
    "load_image_embedding_model",
    "OpenL3Error",
    "OpenL3Warning",
    "TARGET_SR",
]
