"""Loading the OpenL3 networks: weights, device, dtype, compilation, random init.

:func:`load_audio_model` and :func:`load_image_model` build a network of
:mod:`~sk_avsc.openl3.models`, fill it from a Keras weight file (found or downloaded by
:mod:`~sk_avsc.openl3._download` when ``weights=None``) or with a seeded random
initialisation, and put it in inference mode on the requested device and dtype.

Exactness and speed modes
-------------------------
* Default (float32, CPU): the front-end is TensorFlow's computation to float32 rounding
  (see :mod:`sk_avsc.openl3.frontend`), the convolutions run eagerly with batch
  normalisation folded into them, channels-last. Measured against openl3 0.4.2 on every
  reference case: relative L2 error <= 2e-6 (<= 3e-5 on all-zero audio), resampled audio
  included (resampy ``kaiser_best``, as openl3).
* ``dtype=torch.bfloat16``: convolutions in bfloat16 (front-end still float32); relative
  deviation from float32 ~5e-3. Fast on CPUs with AMX or AVX512-BF16, and on GPUs.
* ``compile=True``: ``torch.compile(freezing=True)`` of the convolutions; needs a C++
  compiler at run time and compiles on the first batch (tens of seconds).
* CUDA (``device="cuda"``): the front-end still runs on CPU by default (exact; its
  throughput is in ``benchmarks/README.md``) and the spectrograms go to the GPU. Set
  ``model.frontend_device = None`` to run it on the GPU with ``torch.fft`` (faster; relative
  deviation from openl3 up to ~3e-4 on mel and ~5e-3 on linear spectrograms of tonal or
  resampled audio, measured on the reference fixtures with torch's CPU FFT).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import warnings
from pathlib import Path

import torch

from .._validation import check_bool, check_choice, check_device, check_int
from ..exceptions import ParameterError, RandomWeightsWarning, SkAvscWarning, WeightsError
from ._download import parse_weights_filename
from .models import AudioEmbeddingNetwork, ImageEmbeddingNetwork
from .weights import load_keras_weights

__all__ = ["load_audio_model", "load_image_model", "cached_model", "cuda_fp32_math"]

#: Computation dtypes of the convolutions (None means float32).
DTYPES = (None, torch.float32, torch.bfloat16)


@contextlib.contextmanager
def cuda_fp32_math(tf32: bool):
    """Within the block, CUDA float32 convolutions (cuDNN) and matmuls use TF32 or IEEE fp32.

    torch's own default lets cuDNN convolutions use TF32 (and matmuls not), so even plain
    float32 needs the block to be IEEE fp32 throughout. The previous settings are restored
    on exit (they are process-wide: nothing else should run CUDA float32 work meanwhile).
    Without effect on CPU computations.

    Examples
    --------
    >>> before = torch.backends.cuda.matmul.fp32_precision
    >>> with cuda_fp32_math(True):
    ...     torch.backends.cuda.matmul.fp32_precision
    'tf32'
    >>> torch.backends.cuda.matmul.fp32_precision == before
    True
    """
    tf32 = check_bool("tf32", tf32)
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision") and hasattr(cudnn, "conv"):
        # torch >= 2.9: the legacy allow_tf32 flags must not be mixed with these
        targets, value = [(matmul, "fp32_precision"), (cudnn.conv, "fp32_precision")], (
            "tf32" if tf32 else "ieee")
    else:
        targets, value = [(matmul, "allow_tf32"), (cudnn, "allow_tf32")], tf32
    before = [getattr(obj, name) for obj, name in targets]
    try:
        for obj, name in targets:
            setattr(obj, name, value)
        yield
    finally:
        for (obj, name), old in zip(targets, before):
            setattr(obj, name, old)


def _check_file_name(path: Path, modality, input_repr, content_type):
    parts = parse_weights_filename(path)
    if parts is None:
        return
    f_modality, f_repr, f_content = parts
    if f_modality != modality:
        raise WeightsError(
            f"weight file {str(path)!r} is for the {f_modality} network, but an {modality} "
            f"model was requested; pass an openl3_{modality}_... file.")
    if f_repr != input_repr and modality == "audio":
        raise WeightsError(
            f"weight file {str(path)!r} is for input_repr={f_repr!r}, but "
            f"input_repr={input_repr!r} was requested; pass input_repr={f_repr!r} or the "
            f"openl3_audio_{input_repr}_... file.")
    if (f_repr, f_content) != (input_repr, content_type):
        warnings.warn(
            f"weight file {path.name!r} says input_repr={f_repr!r}, content_type="
            f"{f_content!r}, but input_repr={input_repr!r}, content_type={content_type!r} "
            "were passed; the model's attributes keep the values passed.",
            SkAvscWarning, stacklevel=4)


def _random_init(body: torch.nn.Module, random_state) -> None:
    random_state = check_int("random_state", random_state, low=0)
    gen = torch.Generator().manual_seed(int(random_state))
    with torch.no_grad():
        for module in body.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen)
                                    * (2.0 / fan_in) ** 0.5)  # He normal, as Keras
                module.bias.zero_()
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.reset_parameters()


def _compiler_available() -> bool:
    return any(shutil.which(cc) for cc in (os.environ.get("CXX", ""), "c++", "g++", "clang++")
               if cc)


def _prepare(model, weights, modality, device, dtype, compile, random_state):
    dtype = check_choice("dtype", dtype, DTYPES, hint="None means float32") or torch.float32
    compile = check_bool("compile", compile)
    dev = check_device(device)
    what = f"{modality} network ({model.input_repr}, {model.embedding_size})"
    if isinstance(weights, str) and weights == "random":
        _random_init(model.body, random_state)
        model.weights_id = f"random-{int(random_state)}"
        warnings.warn(
            f"the OpenL3 {modality} model has random weights (random_state={random_state}): "
            "its embeddings are meaningless as features; load the official weights "
            "(weights=None) for real use.", RandomWeightsWarning, stacklevel=3)
    else:
        if weights is None:
            from ._download import resolve_weights

            path = Path(resolve_weights(modality, model.input_repr, model.content_type))
        elif isinstance(weights, (str, os.PathLike)):
            path = Path(weights)
            if not path.is_file():
                raise WeightsError(
                    f"weight file {str(path)!r} not found; pass the path of an "
                    f"openl3_{modality}_<input_repr>_<content_type>.h5 (or .h5.gz) file, "
                    "weights=None to find the official one, or weights='random'.")
            _check_file_name(path, modality, model.input_repr, model.content_type)
        else:
            raise ParameterError(
                f"weights must be None, a path to a .h5/.h5.gz file or 'random', got "
                f"{type(weights).__name__} {weights!r}.")
        model.weights_id = load_keras_weights(model.body, path, what=what)
    if compile and dev.type == "cpu" and not _compiler_available():
        raise ParameterError(
            "compile=True needs a C++ compiler at run time (c++/g++/clang++ on PATH, or "
            "$CXX) for torch.compile; install one (e.g. apt-get install g++) or use "
            "compile=False.")
    model.eval().requires_grad_(False)
    model.to(device=dev)
    model.set_inference_mode(dtype, compile)
    return model


def load_audio_model(
    weights: str | os.PathLike | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 6144,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    compile: bool = False,
    random_state: int = 0,
    frontend: str = "kapre",
) -> AudioEmbeddingNetwork:
    """Load OpenL3's audio embedding network with its weights.

    Parameters
    ----------
    weights : str, path-like or None, default=None
        ``None`` finds the official file ``openl3_audio_<input_repr>_<content_type>.h5``
        (``$SK_AVSC_WEIGHTS_DIR``, the user cache, an installed ``openl3`` package, then
        a verified download); a path to a Keras ``.h5``/``.h5.gz`` weight file; or
        ``"random"`` for a deterministic random initialisation (warns
        :class:`~sk_avsc.exceptions.RandomWeightsWarning`; for tests and demos).
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Input representation.
    content_type : {"music", "env"}, default="music"
        Training content of the weights ("env" in the paper).
    embedding_size : {6144, 512}, default=6144
        Embedding dimension.
    device : str or torch.device, default="cpu"
        Where the network runs.
    dtype : {None, torch.float32, torch.bfloat16}, default=None
        Computation dtype of the convolutions (None: float32). bfloat16 is much faster on
        CPUs with bf16 support (AVX512-BF16/AMX) and deviates by ~5e-3 (relative L2);
        the front-end always runs in float32.
    compile : bool, default=False
        Compile the convolutions with ``torch.compile`` (constant folding/freezing): the
        fastest CPU mode, needs a C++ compiler at run time and compiles on the first
        batches (tens of seconds; the batch size is dynamic, so a shorter last batch costs
        at most one more compilation).
    random_state : int, default=0
        Seed of ``weights="random"``.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Audio front-end (:data:`~sk_avsc.openl3.frontend.FRONTENDS`): ``"kapre"`` is
        openl3 0.4.2's, ``"kapre-0.1.4"`` openl3 0.3.1's (the paper's features),
        ``"librosa"`` openl3 0.4.2's ``frontend="librosa"``. The same weight files serve
        all three.

    Returns
    -------
    model : AudioEmbeddingNetwork
        In eval mode on ``device``, with attributes ``input_repr``, ``content_type``,
        ``embedding_size``, ``frontend`` and ``weights_id`` (SHA-1 of the weight file's
        HDF5 bytes, or ``"random-<random_state>"``).

    Raises
    ------
    ParameterError
        For an invalid choice (the message lists the valid values).
    WeightsError
        When the weight file is missing, unreadable, or made for another architecture.

    See Also
    --------
    get_audio_embedding : Embed audio with the model.
    load_image_model : The image network.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_audio_model("random", "mel128", "env", 512)
    >>> model.weights_id, model.embedding_size, model.frontend
    ('random-0', 512, 'kapre')
    """
    model = AudioEmbeddingNetwork(input_repr, content_type, embedding_size, frontend)
    return _prepare(model, weights, "audio", device, dtype, compile, random_state)


def load_image_model(
    weights: str | os.PathLike | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 8192,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    compile: bool = False,
    random_state: int = 0,
) -> ImageEmbeddingNetwork:
    """Load OpenL3's image embedding network with its weights.

    Parameters
    ----------
    weights : str, path-like or None, default=None
        As in :func:`load_audio_model`, with ``openl3_image_<input_repr>_<content_type>.h5``.
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Audio representation of the audio-visual model the image weights were trained with.
    content_type : {"music", "env"}, default="music"
        Training content of the weights.
    embedding_size : {8192, 512}, default=8192
        Embedding dimension.
    device, dtype, compile, random_state
        As in :func:`load_audio_model`.

    Returns
    -------
    model : ImageEmbeddingNetwork
        In eval mode on ``device``; attributes as in :func:`load_audio_model`.

    See Also
    --------
    get_image_embedding : Embed frames with the model.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_image_model("random", embedding_size=512, random_state=3)
    >>> model.weights_id
    'random-3'
    """
    model = ImageEmbeddingNetwork(input_repr, content_type, embedding_size)
    return _prepare(model, weights, "image", device, dtype, compile, random_state)


@functools.lru_cache(maxsize=2)
def cached_model(kind, input_repr, content_type, embedding_size, frontend="kapre"):
    """The official network, loaded once per process (``get_*_embedding(model=None)``).

    ``frontend`` is part of the key (audio only; the image network has none).
    """
    if kind == "audio":
        return load_audio_model(None, input_repr, content_type, embedding_size,
                                frontend=frontend)
    return load_image_model(None, input_repr, content_type, embedding_size)
