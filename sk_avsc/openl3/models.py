"""OpenL3's audio and image embedding networks as PyTorch modules.

The layer structure follows openl3 0.4.2 (``openl3/models.py``): a batch normalisation of
the input, four convolution blocks of two 3x3 convolutions (64, 128, 256, 512 filters),
each followed by batch normalisation and ReLU, 2x2 max pooling between blocks, a last
3x3 convolution (the "embedding layer", no activation), and a max pooling whose size
sets the embedding dimension, flattened in channels-last order.

Notes
-----
Details reproduced from the Keras models:

* Keras ``BatchNormalization`` uses ``epsilon=1e-3`` (torch's default is 1e-5).
* The audio network pools with ``padding="valid"`` between blocks (odd sizes are floored:
  199 frames -> 99 -> 49 -> 24), the image network with ``padding="same"``; the final
  pooling uses ``"same"`` in both (ceil), pooling windows not covering the border pad with
  -inf as TensorFlow does.
* In the image network's first block the second convolution is followed by ReLU and *then*
  batch normalisation (the other blocks, and the audio network, do BN then ReLU).
* The flattened embedding (6,144 / 8,192 dimensions) is in Keras' channels-last order
  (height, width, channel): ``x.permute(0, 2, 3, 1).flatten(1)``.

openl3's loaders are here too, under openl3's names (``openl3.models`` is where openl3
keeps them): :func:`load_audio_embedding_model`, :func:`load_audio_embedding_model_from_path`,
:func:`get_audio_embedding_model_path` and the image equivalents. They return these
PyTorch networks (not Keras models), find the weights as
:func:`~sk_avsc.openl3.load_audio_model` does, and raise
:class:`~sk_avsc.openl3.openl3_exceptions.OpenL3Error`.

Just over 600 lines: the two networks plus openl3 0.4.2's model-loading names
(``load_audio_embedding_model`` ...), which openl3 users import from this module.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice
from .frontend import FRONTENDS, INPUT_REPRS, AudioFrontend, _tf_same_padding, spectrogram_shape
from .openl3_exceptions import raises_openl3_errors

__all__ = [
    "CONTENT_TYPES",
    "INPUT_REPRS",
    "FRONTENDS",
    "AUDIO_EMBEDDING_SIZES",
    "IMAGE_EMBEDDING_SIZES",
    "ConvBody",
    "AudioEmbeddingNetwork",
    "ImageEmbeddingNetwork",
    "load_audio_embedding_model",
    "load_audio_embedding_model_from_path",
    "get_audio_embedding_model_path",
    "load_image_embedding_model",
    "load_image_embedding_model_from_path",
    "get_image_embedding_model_path",
]

CONTENT_TYPES = ("music", "env")
AUDIO_EMBEDDING_SIZES = (6144, 512)
IMAGE_EMBEDDING_SIZES = (8192, 512)
IMAGE_SIZE = 224

# Final max-pooling sizes (height, width), as in openl3 0.4.2.
_AUDIO_POOL = {
    "linear": {6144: (8, 8), 512: (32, 24)},
    "mel128": {6144: (4, 8), 512: (16, 24)},
    "mel256": {6144: (8, 8), 512: (32, 24)},
}
_IMAGE_POOL = {8192: (7, 7), 512: (28, 28)}
_BN_EPS = 1e-3
_FILTERS = (64, 128, 256, 512)

#: Layers that carry weights, in the order of the Keras model (and of its weight file).
LAYER_ORDER = (
    "bn_input",
    "conv1a", "bn1a", "conv1b", "bn1b",
    "conv2a", "bn2a", "conv2b", "bn2b",
    "conv3a", "bn3a", "conv3b", "bn3b",
    "conv4a", "bn4a", "embedding",
)


#: Largest first-block activation of one CPU micro-batch (see ``_run_body``).
_MICRO_BATCH_BYTES = 30 * 2**20


class _MaxPool(nn.Module):
    """Max pooling with TensorFlow's "valid" or "same" padding for a fixed input size."""

    def __init__(self, in_size, kernel, stride, padding):
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        if padding == "same":
            (top, bottom), (left, right) = (
                _tf_same_padding(n, k, s) for n, k, s in zip(in_size, self.kernel, self.stride)
            )
            self.pad = (left, right, top, bottom)
            self.out_size = tuple(-(-n // s) for n, s in zip(in_size, self.stride))
        else:
            self.pad = (0, 0, 0, 0)
            self.out_size = tuple(
                (n - k) // s + 1 for n, k, s in zip(in_size, self.kernel, self.stride)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = nn.functional.pad(x, self.pad, value=-math.inf)
        return nn.functional.max_pool2d(x, self.kernel, self.stride)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, pad={self.pad}"


class ConvBody(nn.Module):
    """The convolutional part shared by OpenL3's audio and image networks.

    Parameters
    ----------
    in_channels : int
        1 for a spectrogram, 3 for RGB images.
    input_size : tuple of int
        Fixed (height, width) of the input.
    embedding_pool : tuple of int
        Size (and stride) of the final max pooling.
    block_pool_padding : {"valid", "same"}
        TensorFlow padding of the 2x2 poolings between blocks.
    relu_before_bn_1b : bool
        Image network quirk: ReLU before BN after the second convolution of block 1.

    Attributes
    ----------
    output_size : tuple of int
        (height, width) after the final pooling; the embedding has
        ``512 * height * width`` dimensions.
    """

    def __init__(self, in_channels, input_size, embedding_pool, block_pool_padding,
                 relu_before_bn_1b=False):
        super().__init__()
        self.relu_before_bn_1b = relu_before_bn_1b
        self.bn_input = nn.BatchNorm2d(in_channels, eps=_BN_EPS)
        size = tuple(input_size)
        channels = in_channels
        for block, filters in enumerate(_FILTERS, start=1):
            for part in "ab":
                conv_name = "embedding" if (block, part) == (4, "b") else f"conv{block}{part}"
                setattr(self, conv_name, nn.Conv2d(channels, filters, 3, padding=1))
                if conv_name != "embedding":
                    setattr(self, f"bn{block}{part}", nn.BatchNorm2d(filters, eps=_BN_EPS))
                channels = filters
            if block < 4:
                pool = _MaxPool(size, (2, 2), (2, 2), block_pool_padding)
                setattr(self, f"pool{block}", pool)
                size = pool.out_size
        self.pool_embedding = _MaxPool(size, embedding_pool, embedding_pool, "same")
        self.output_size = self.pool_embedding.out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(N, C, H, W)`` inputs to flattened embeddings ``(N, dim)``."""
        relu = nn.functional.relu
        x = self.bn_input(x)
        for block in (1, 2, 3):
            x = relu(getattr(self, f"bn{block}a")(getattr(self, f"conv{block}a")(x)))
            conv_b, bn_b = getattr(self, f"conv{block}b"), getattr(self, f"bn{block}b")
            if block == 1 and self.relu_before_bn_1b:
                x = bn_b(relu(conv_b(x)))
            else:
                x = relu(bn_b(conv_b(x)))
            x = getattr(self, f"pool{block}")(x)
        x = relu(self.bn4a(self.conv4a(x)))
        x = self.pool_embedding(self.embedding(x))
        # Keras flattens channels-last
        return x.permute(0, 2, 3, 1).flatten(1)


class _InferenceBody(nn.Module):
    """A frozen, faster copy of a :class:`ConvBody` for inference.

    Batch normalisations that follow a convolution are folded into it (weights scaled,
    biases shifted: equal up to float rounding, ~1e-6 relative), the others become one
    in-place affine step, ReLUs run in place after the max pooling they precede (they
    commute, and the pooled tensor is 4x smaller), and the activations are channels-last
    (oneDNN's fast layout, and cuDNN's for tensor cores). Parameters are cast to ``dtype``
    after folding in float32.

    On CPU a one-channel input (a spectrogram) gets a second, all-zero channel, with zero
    weights: oneDNN cannot tell a one-channel tensor's layout, computed the first
    convolution channels-first and then spent twice that converting its 64-channel
    output to channels-last; with two channels it stays channels-last (the result is
    bit-identical).
    """

    def __init__(self, body: ConvBody, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.relu_before_bn_1b = body.relu_before_bn_1b
        self.pools = [body.pool1, body.pool2, body.pool3]
        self.pool_embedding = body.pool_embedding
        with torch.no_grad():
            self.input_scale, self.input_shift = (
                t.to(dtype) for t in self._affine(body.bn_input))
            self.convs = {}
            for block in (1, 2, 3, 4):
                for part in "ab":
                    name = f"{block}{part}"
                    conv = body.embedding if name == "4b" else getattr(body, f"conv{name}")
                    weight, bias = conv.weight.float(), conv.bias.float()
                    if name == "1b" and self.relu_before_bn_1b:
                        self.bn1b_scale, self.bn1b_shift = (
                            t.to(dtype).view(1, -1, 1, 1) for t in self._affine(body.bn1b))
                    elif name != "4b":
                        scale, shift = self._affine(getattr(body, f"bn{name}"))
                        weight = weight * scale.view(-1, 1, 1, 1)
                        bias = bias * scale + shift
                    cpu = weight.device.type == "cpu"
                    if name == "1a" and cpu and weight.shape[1] == 1:
                        weight = torch.cat([weight, torch.zeros_like(weight)], dim=1)
                    # channels-last: oneDNN's fast layout, and cuDNN's for tensor cores
                    self.convs[name] = (
                        weight.to(dtype).contiguous(memory_format=torch.channels_last),
                        bias.to(dtype),
                    )
        self.input_scale = self.input_scale.view(1, -1, 1, 1)
        self.input_shift = self.input_shift.view(1, -1, 1, 1)

    @staticmethod
    def _affine(bn: nn.BatchNorm2d):
        scale = bn.weight.float() / torch.sqrt(bn.running_var.float() + bn.eps)
        return scale, bn.bias.float() - bn.running_mean.float() * scale

    def _conv(self, x, name):
        weight, bias = self.convs[name]
        return nn.functional.conv2d(x, weight, bias, padding=1)

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        if self.convs["1a"][0].shape[1] == x.shape[1]:
            return x * self.input_scale + self.input_shift
        n, _, height, width = x.shape  # the padded channel (see the class docstring)
        padded = x.new_zeros((n, height, width, 2))
        padded[..., 0] = x[:, 0] * self.input_scale[:, 0] + self.input_shift[:, 0]
        return padded.permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._input(x)
        for block in (1, 2, 3):
            x = torch.relu_(self._conv(x, f"{block}a"))
            x = self._conv(x, f"{block}b")
            if block == 1 and self.relu_before_bn_1b:
                x = torch.relu_(x).mul_(self.bn1b_scale).add_(self.bn1b_shift)
                x = self.pools[block - 1](x)
            else:
                x = torch.relu_(self.pools[block - 1](x))
        x = torch.relu_(self._conv(x, "4a"))
        x = self.pool_embedding(self._conv(x, "4b"))
        return x.permute(0, 2, 3, 1).flatten(1)


class _EmbeddingNetwork(nn.Module):
    """Shared bookkeeping: the inference runner (folded, dtype, compiled) of the body."""

    body: ConvBody

    def _init_common(self, input_repr, content_type, embedding_size):
        self.input_repr = input_repr
        self.content_type = content_type
        self.embedding_size = embedding_size
        self.weights_id = "uninitialised"
        self.__dict__["_runner"] = None  # not a submodule: stays out of state_dict
        self.__dict__["_compute_dtype"] = torch.float32
        self.__dict__["_compile"] = False

    def set_inference_mode(self, dtype: torch.dtype | None = None, compile: bool = False):
        """Build the fast inference path from the current weights (eval mode only).

        Called by the loaders. Call it again after changing weights in place; ``train()``
        drops it, ``eval()``, ``load_state_dict`` and ``to`` rebuild it.

        Parameters
        ----------
        dtype : {None, torch.float32, torch.bfloat16}, default=None
            Computation dtype of the convolutions (None: float32).
        compile : bool, default=False
            Wrap the runner in ``torch.compile(dynamic=True, freezing=True)``.

        Returns
        -------
        self
        """
        dtype = torch.float32 if dtype is None else dtype
        runner = _InferenceBody(self.body, dtype)
        if compile:
            # dynamic batch size: a clip's last, shorter batch does not recompile each time
            runner = torch.compile(runner, dynamic=True, options={"freezing": True})
        self.__dict__.update(_runner=runner, _compute_dtype=dtype, _compile=compile,
                             _configured=True)
        return self

    def _rebuild(self):
        if self.__dict__.get("_runner") is not None:
            self.set_inference_mode(self._compute_dtype, self._compile)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode:
            self.__dict__["_runner"] = None
        elif self.__dict__.get("_configured") and self.__dict__.get("_runner") is None:
            self.set_inference_mode(self._compute_dtype, self._compile)
        return self

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self._rebuild()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._rebuild()
        return result

    def __getstate__(self):
        # the runner (possibly a compiled function) is derived state: rebuilt on unpickling
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["_had_runner"] = state.get("_runner") is not None
        state["_runner"] = None
        return state

    def __setstate__(self, state):
        had_runner = state.pop("_had_runner", False)
        super().__setstate__(state)
        if had_runner:
            self.set_inference_mode(self._compute_dtype, self._compile)

    def _run_body(self, x: torch.Tensor) -> torch.Tensor:
        runner = self.__dict__.get("_runner")
        if runner is None or self.training:
            return self.body(x.to(self.body.conv1a.weight.dtype))
        x = x.to(self._compute_dtype).contiguous(memory_format=torch.channels_last)
        if x.device.type != "cpu":
            return runner(x).to(torch.float32)
        # Micro-batches whose largest activation stays under glibc's mmap threshold (at
        # most 32 MiB): larger blocks are mapped fresh and page-faulted in on every call,
        # which cost ~15 % of the CPU time at batch 32 (and ~1 GB of peak memory). The
        # results do not depend on the batch composition.
        per_item = _FILTERS[0] * x.shape[-2] * x.shape[-1] * x.element_size()
        step = max(1, _MICRO_BATCH_BYTES // per_item)
        return torch.cat([runner(part).to(torch.float32) for part in x.split(step)])

    @property
    def device(self) -> torch.device:
        """Device of the network's parameters."""
        return self.body.conv1a.weight.device

    @property
    def dtype(self) -> torch.dtype:
        """Computation dtype of the inference path (float32 or bfloat16)."""
        return self._compute_dtype

    def extra_repr(self) -> str:
        return (f"input_repr={self.input_repr!r}, content_type={self.content_type!r}, "
                f"embedding_size={self.embedding_size}, weights_id={self.weights_id!r}")


class AudioEmbeddingNetwork(_EmbeddingNetwork):
    """OpenL3's audio embedding network: 1-s windows at 48 kHz to embeddings.

    Usually obtained from :func:`sk_avsc.openl3.load_audio_model`, which loads weights.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Input representation (spectrogram) of the network.
    content_type : {"music", "env"}, default="music"
        Training content of the weights (metadata only; it does not change the layers).
    embedding_size : {6144, 512}, default=6144
        Embedding dimension, set by the size of the final max pooling.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Audio front-end (see :mod:`sk_avsc.openl3.frontend`): ``"kapre"`` openl3 0.4.2's,
        ``"kapre-0.1.4"`` openl3 0.3.1's (with which the paper's features were made),
        ``"librosa"`` openl3 0.4.2's ``frontend="librosa"``. The same weight files serve
        all three; the embeddings differ.

    Attributes
    ----------
    frontend : str
        The front-end kind, as given.
    spectrogram : AudioFrontend
        Waveform to dB spectrogram, shape ``(N, 1, n_bins, n_frames)``.
    body : ConvBody
        The convolutional network; its ``state_dict`` holds all learned weights.
    weights_id : str
        Identity of the loaded weights (SHA-1 of the weight file, or ``"random-<seed>"``).
    frontend_device : str or None
        Where the front-end runs. ``"cpu"`` (default): the exact scipy float32 path, also
        when the network is on a GPU (the spectrograms are then copied to it). ``None``:
        on the network's device, with ``torch.fft`` on accelerators, which is faster there
        but deviates from openl3 by up to ~3e-4 (mel, relative L2) and ~5e-3 (linear,
        resampled tonal audio), measured on the reference fixtures (other front-ends: see
        :class:`~sk_avsc.openl3.frontend.AudioFrontend`).

    Examples
    --------
    >>> net = AudioEmbeddingNetwork("mel128", embedding_size=512).eval()
    >>> with torch.no_grad():
    ...     emb = net(torch.zeros(2, 1, 48000))
    >>> tuple(emb.shape)
    (2, 512)
    >>> AudioEmbeddingNetwork("mel128", frontend="kapre-0.1.4").frontend
    'kapre-0.1.4'
    """

    def __init__(self, input_repr: str = "mel256", content_type: str = "music",
                 embedding_size: int = 6144, frontend: str = "kapre") -> None:
        super().__init__()
        check_choice("input_repr", input_repr, INPUT_REPRS)
        check_choice("content_type", content_type, CONTENT_TYPES)
        check_choice("embedding_size", embedding_size, AUDIO_EMBEDDING_SIZES)
        check_choice("frontend", frontend, FRONTENDS)
        self._init_common(input_repr, content_type, embedding_size)
        self.frontend = frontend
        self.spectrogram = AudioFrontend(input_repr, frontend)
        self.frontend_device = "cpu"
        self.body = ConvBody(1, spectrogram_shape(input_repr),
                             _AUDIO_POOL[input_repr][embedding_size], "valid")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed windows ``(N, 1, 48000)`` (float32, 48 kHz) into ``(N, embedding_size)``."""
        if self.frontend_device is None:
            x = x.to(self.device)
        elif x.device != torch.device(self.frontend_device):
            x = x.to(self.frontend_device)
        spec = self.spectrogram(x)
        if spec.device != self.device and self.device.type == "cuda":
            spec = spec.pin_memory().to(self.device, non_blocking=True)
        return self._run_body(spec.to(self.device))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, frontend={self.frontend!r}"


class ImageEmbeddingNetwork(_EmbeddingNetwork):
    """OpenL3's image embedding network: preprocessed 224x224 RGB frames to embeddings.

    Usually obtained from :func:`sk_avsc.openl3.load_image_model`, which loads weights.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Audio input representation of the audio-visual model the weights come from
        (metadata only).
    content_type : {"music", "env"}, default="music"
        Training content of the weights (metadata only).
    embedding_size : {8192, 512}, default=8192
        Embedding dimension, set by the size of the final max pooling.

    Attributes
    ----------
    body : ConvBody
        The convolutional network; its ``state_dict`` holds all learned weights.
    weights_id : str
        Identity of the loaded weights (SHA-1 of the weight file, or ``"random-<seed>"``).

    Examples
    --------
    >>> net = ImageEmbeddingNetwork(embedding_size=512).eval()
    >>> with torch.no_grad():
    ...     emb = net(torch.zeros(1, 224, 224, 3))
    >>> tuple(emb.shape)
    (1, 512)
    """

    def __init__(self, input_repr: str = "mel256", content_type: str = "music",
                 embedding_size: int = 8192) -> None:
        super().__init__()
        check_choice("input_repr", input_repr, INPUT_REPRS)
        check_choice("content_type", content_type, CONTENT_TYPES)
        check_choice("embedding_size", embedding_size, IMAGE_EMBEDDING_SIZES)
        self._init_common(input_repr, content_type, embedding_size)
        self.body = ConvBody(3, (IMAGE_SIZE, IMAGE_SIZE), _IMAGE_POOL[embedding_size],
                             "same", relu_before_bn_1b=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed frames ``(N, 224, 224, 3)`` (channels last, as openl3) into ``(N, dim)``."""
        x = x.to(self.device).permute(0, 3, 1, 2)
        return self._run_body(x)


# openl3 0.4.2's names of the choices
VALID_FRONTENDS = FRONTENDS
VALID_INPUT_REPRS = INPUT_REPRS
VALID_CONTENT_TYPES = CONTENT_TYPES
VALID_AUDIO_EMBEDDING_SIZES = AUDIO_EMBEDDING_SIZES
VALID_IMAGE_EMBEDDING_SIZES = IMAGE_EMBEDDING_SIZES
AUDIO_POOLING_SIZES = _AUDIO_POOL
IMAGE_POOLING_SIZES = _IMAGE_POOL


def _file_parts(model_path, modality):
    from ._download import parse_weights_filename

    parts = parse_weights_filename(model_path)
    return parts[1:] if parts is not None and parts[0] == modality else None


@raises_openl3_errors
def get_audio_embedding_model_path(input_repr, content_type):
    """Path of the official audio weight file, as ``openl3.models`` (found or downloaded).

    openl3 returns the file inside its package; here it is found by
    :func:`~sk_avsc.openl3._download.resolve_weights` (``$SK_AVSC_WEIGHTS_DIR``, the user
    cache, an installed openl3, then a verified download).

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
    content_type : {"music", "env"}

    Returns
    -------
    path : str
    """
    from ._download import resolve_weights

    return str(resolve_weights("audio", input_repr, content_type))


@raises_openl3_errors
def get_image_embedding_model_path(input_repr, content_type):
    """Path of the official image weight file (see :func:`get_audio_embedding_model_path`).

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
    content_type : {"music", "env"}

    Returns
    -------
    path : str
    """
    from ._download import resolve_weights

    return str(resolve_weights("image", input_repr, content_type))


@raises_openl3_errors
def load_audio_embedding_model_from_path(model_path, input_repr, embedding_size,
                                         frontend="kapre"):
    """Load the audio network from a weight file, as ``openl3.models`` does.

    Parameters
    ----------
    model_path : str or path-like
        Keras ``.h5`` (or ``.h5.gz``) weight file; its ``content_type`` is read from an
        ``openl3_audio_<repr>_<content>`` file name ("music" for other names: metadata
        only).
    input_repr : {"linear", "mel128", "mel256"}
    embedding_size : {6144, 512}
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"

    Returns
    -------
    model : AudioEmbeddingNetwork
        In eval mode on CPU; ``model.frontend`` is ``frontend``.
    """
    from ._loading import load_audio_model

    parts = _file_parts(model_path, "audio")
    content_type = parts[1] if parts else "music"
    return load_audio_model(model_path, input_repr, content_type, embedding_size,
                            frontend=frontend)


@raises_openl3_errors
def load_audio_embedding_model(input_repr, content_type, embedding_size, frontend="kapre"):
    """Load the official audio network, as ``openl3.models.load_audio_embedding_model``.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
    content_type : {"music", "env"}
    embedding_size : {6144, 512}
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        ``"kapre"`` openl3 0.4.2's front-end, ``"kapre-0.1.4"`` openl3 0.3.1's,
        ``"librosa"`` openl3 0.4.2's ``frontend="librosa"`` (computed inside the model
        here, so the model takes 1-s windows whatever the front-end).

    Returns
    -------
    model : AudioEmbeddingNetwork
    """
    from ._loading import load_audio_model

    return load_audio_model(None, input_repr, content_type, embedding_size,
                            frontend=frontend)


@raises_openl3_errors
def load_image_embedding_model_from_path(model_path, embedding_size):
    """Load the image network from a weight file, as ``openl3.models`` does.

    Parameters
    ----------
    model_path : str or path-like
        Keras ``.h5`` (or ``.h5.gz``) weight file; ``input_repr`` and ``content_type``
        (metadata) are read from an ``openl3_image_<repr>_<content>`` file name, else
        "mel256" and "music".
    embedding_size : {8192, 512}

    Returns
    -------
    model : ImageEmbeddingNetwork
    """
    from ._loading import load_image_model

    input_repr, content_type = _file_parts(model_path, "image") or ("mel256", "music")
    return load_image_model(model_path, input_repr, content_type, embedding_size)


@raises_openl3_errors
def load_image_embedding_model(input_repr, content_type, embedding_size):
    """Load the official image network, as ``openl3.models.load_image_embedding_model``.

    Parameters
    ----------
    input_repr : {"linear", "mel128", "mel256"}
    content_type : {"music", "env"}
    embedding_size : {8192, 512}

    Returns
    -------
    model : ImageEmbeddingNetwork
    """
    from ._loading import load_image_model

    return load_image_model(None, input_repr, content_type, embedding_size)
