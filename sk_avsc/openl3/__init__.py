"""OpenL3 in PyTorch, and a drop-in for openl3 0.4.2's public API.

A port of OpenL3 (Cramer et al., ICASSP 2019; the ``openl3`` package 0.4.2 with its kapre
0.3 front-end) that reads the official Keras weight files, with openl3 0.3.1's kapre 0.1.4
front-end too (``frontend="kapre-0.1.4"``, the one the paper's features were made with)
and openl3 0.4.2's librosa one (``frontend="librosa"``). The API mirrors openl3 0.4.2's
names, signatures and defaults, so code written for openl3 runs with::

    import sk_avsc.openl3 as openl3

``get_audio_embedding``, ``get_image_embedding``, ``preprocess_audio``,
``process_audio_file``, ``process_image_file``, ``process_video_file``,
``get_output_path``, ``openl3.models.load_audio_embedding_model`` (and ``..._from_path``,
``get_audio_embedding_model_path``, the image equivalents), ``OpenL3Error``
(``openl3.openl3_exceptions``), ``OpenL3Warning`` (``openl3.openl3_warnings``), the
command line (``python -m sk_avsc.openl3 audio|image|video ...``, :mod:`~sk_avsc.openl3.cli`)
and ``__version__`` (``"0.4.2"``, the openl3 version mirrored; sk_avsc's own is
``sk_avsc.__version__``).

Differences from openl3 0.4.2 (deliberate):

* Models are PyTorch modules (:class:`AudioEmbeddingNetwork`, :class:`ImageEmbeddingNetwork`),
  not Keras models; the front-end is always inside the audio model (``model.frontend``
  says which), so a model always takes 1-s windows. Weights are found by
  ``$SK_AVSC_WEIGHTS_DIR``, the user cache, an installed openl3, then a verified download.
* Errors raised through the openl3 names are :class:`OpenL3Error` *and* the matching
  sk_avsc error (:class:`~sk_avsc.exceptions.ParameterError`, ``AudioError``,
  ``ImageError``, ``WeightsError``, ``MediaError``: all ``ValueError``); warnings are
  :class:`OpenL3Warning`, an :class:`~sk_avsc.exceptions.SkAvscWarning`.
* Integer audio is scaled to [-1, 1] (openl3 fed raw integers; the per-window dB
  normalisation makes the two agree up to the 1e-10 floor); non-finite audio or images are
  rejected; embeddings are float32 whatever the input dtype.
* ``input_repr=None`` means "mel256" for every front-end (openl3 raises for librosa);
  ``preprocess_audio(..., **kw)`` accepts openl3's librosa parameters at their values only.
* ``verbose=True`` shows tqdm progress bars (stderr) and openl3's ``openl3: ...`` lines
  (stdout) in the ``process_*_file`` functions.
* ``process_*_file`` write atomically and read media with the embedders' readers (see
  :mod:`~sk_avsc.openl3.files`); openl3's private helpers (``core._pad_audio``...) are not
  provided.

Submodules: :mod:`~sk_avsc.openl3.framing` (how audio is cut into 1-s windows),
:mod:`~sk_avsc.openl3.frontend` (the audio front-ends), :mod:`~sk_avsc.openl3.models`
(the networks, and openl3's loaders), :mod:`~sk_avsc.openl3.weights` (reading Keras weight
files), :mod:`~sk_avsc.openl3.audio` and :mod:`~sk_avsc.openl3.image` (preprocessing and
embedding), :mod:`~sk_avsc.openl3.files` (openl3's ``process_*_file``),
:mod:`~sk_avsc.openl3.core` and :mod:`~sk_avsc.openl3.cli` (namespaces under openl3's module
names). Private: ``_loading`` (weights, device, dtype, compilation of the networks),
``_batching`` (the list handling and batching loop both modalities share), ``_download``
(finding and downloading the official weight files), ``_cli`` (the command line).
"""

from . import cli, core, models, openl3_exceptions, openl3_warnings  # noqa: F401
from .core import (  # noqa: F401  (listed in __all__ through core.__all__)
    OpenL3Error,
    OpenL3Warning,
    cut_audio_windows,
    embed_audio_windows,
    embed_images,
    get_audio_embedding,
    get_image_embedding,
    get_output_path,
    load_audio_model,
    load_image_model,
    preprocess_audio,
    preprocess_image,
    process_audio_file,
    process_image_file,
    process_video_file,
)
from .frontend import FRONTENDS, TARGET_SR, AudioFrontend
from .models import (
    AUDIO_EMBEDDING_SIZES,
    CONTENT_TYPES,
    IMAGE_EMBEDDING_SIZES,
    INPUT_REPRS,
    AudioEmbeddingNetwork,
    ImageEmbeddingNetwork,
)

#: The openl3 version whose API this package mirrors (not sk_avsc's version).
__version__ = "0.4.2"

__all__ = [
    *(name for name in core.__all__
      if name not in ("TARGET_SR", "load_audio_embedding_model", "load_image_embedding_model")),
    "AudioEmbeddingNetwork",
    "ImageEmbeddingNetwork",
    "AudioFrontend",
    "FRONTENDS",
    "INPUT_REPRS",
    "CONTENT_TYPES",
    "AUDIO_EMBEDDING_SIZES",
    "IMAGE_EMBEDDING_SIZES",
    "TARGET_SR",
]
