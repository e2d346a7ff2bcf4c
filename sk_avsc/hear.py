"""OpenL3 audio embeddings behind the HEAR 2021 benchmark's API.

The Holistic Evaluation of Audio Representations (HEAR 2021) runs a module
that offers three functions: ``load_model``, ``get_timestamp_embeddings`` and
``get_scene_embeddings``, with PyTorch tensors in and out. This module offers
them for the OpenL3 audio network of :mod:`sk_avsc.openl3`, so the paper's
audio features can be scored on HEAR's tasks::

    python -m heareval.embeddings.runner sk_avsc.hear --model openl3_audio_mel256_env.h5

Timestamps are the centres of the one-second windows, in milliseconds.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ._validation import check_bool, check_hop_size, check_int
from .exceptions import AudioError
from .openl3._download import parse_weights_filename
from .openl3.framing import SAMPLE_RATE, window_centres

__all__ = ["OpenL3HearModel", "load_model", "get_timestamp_embeddings", "get_scene_embeddings"]


class OpenL3HearModel(torch.nn.Module):
    """The OpenL3 audio network with the attributes HEAR expects.

    Made by :func:`load_model`. ``model.to(device)`` moves the network;
    calling the model on ``(n_sounds, n_samples)`` audio returns the
    timestamp embeddings.

    Parameters
    ----------
    network : AudioEmbeddingNetwork
        From :func:`sk_avsc.openl3.load_audio_model`.
    hop_size : float, default=0.1
        Hop between windows in seconds.
    center : bool, default=True
        Centre the windows on their timestamps (openl3's default).
    batch_size : int, default=32
        Windows per forward pass.

    Attributes
    ----------
    sample_rate : int
        48000: input audio must be at 48 kHz.
    scene_embedding_size : int
        Dimension of :func:`get_scene_embeddings` (the network's embedding size).
    timestamp_embedding_size : int
        Dimension of :func:`get_timestamp_embeddings`.

    See Also
    --------
    load_model : Builds this model.

    Examples
    --------
    >>> import warnings, torch
    >>> from sk_avsc import hear
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random weights: the values mean nothing
    ...     model = hear.load_model("random", input_repr="mel128", hop_size=0.5)
    >>> model.sample_rate, model.timestamp_embedding_size, model.hop_size
    (48000, 512, 0.5)
    >>> noise = torch.rand(1, 48000, generator=torch.Generator().manual_seed(0)) - 0.5
    >>> tuple(model(noise).shape)  # (sounds, timestamps, features)
    (1, 2, 512)
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, network, *, hop_size: float = 0.1, center: bool = True,
                 batch_size: int = 32) -> None:
        super().__init__()
        self.network = network
        self.hop_size = hop_size
        self.center = center
        self.batch_size = batch_size
        self.scene_embedding_size = int(network.embedding_size)
        self.timestamp_embedding_size = int(network.embedding_size)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Timestamp embeddings of ``audio`` (see :func:`get_timestamp_embeddings`).

        Parameters
        ----------
        audio : torch.Tensor of shape (n_sounds, n_samples)
            Mono audio at 48 kHz.

        Returns
        -------
        embeddings : torch.Tensor of shape (n_sounds, n_timestamps, timestamp_embedding_size)
            float32, on ``audio``'s device.
        """
        return get_timestamp_embeddings(audio, self)[0]


def load_model(
    model_file_path: str = "",
    *,
    input_repr: str | None = None,
    content_type: str | None = None,
    embedding_size: int = 512,
    hop_size: float = 0.1,
    center: bool = True,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    random_state: int = 0,
    frontend: str = "kapre",
) -> OpenL3HearModel:
    """Load the OpenL3 audio network for HEAR.

    Parameters
    ----------
    model_file_path : str, default=""
        A Keras weight file (``openl3_audio_<repr>_<content>.h5``); ``""``
        finds the official file (see :func:`sk_avsc.openl3.load_audio_model`);
        ``"random"`` gives a seeded random network (tests only).
    input_repr : {"linear", "mel128", "mel256"} or None, default=None
        None takes it from a file name of the official pattern, else "mel256"
        (the paper's choice).
    content_type : {"env", "music"} or None, default=None
        None takes it from the file name, else "env".
    embedding_size : {512, 6144}, default=512
        Embedding dimension.
    hop_size : float, default=0.1
        Hop between timestamps in seconds.
    center : bool, default=True
        Centre each window on its timestamp.
    batch_size : int, default=32
        Windows per forward pass.
    device : str or torch.device, default="cpu"
        Where the network runs; ``model.to(device)`` moves it later.
    random_state : int, default=0
        Seed for ``model_file_path="random"``.
    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        Audio front-end: openl3 0.4.2's (``"kapre"``), openl3 0.3.1's
        (``"kapre-0.1.4"``, with which the paper's features were computed) or openl3
        0.4.2's librosa one; see :mod:`sk_avsc.openl3.frontend`.

    Returns
    -------
    OpenL3HearModel
        A ``torch.nn.Module`` with ``sample_rate``, ``scene_embedding_size``
        and ``timestamp_embedding_size``.

    Examples
    --------
    >>> import warnings, torch
    >>> from sk_avsc import hear
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = hear.load_model("random", input_repr="mel128", hop_size=0.5)
    >>> model.sample_rate, model.scene_embedding_size
    (48000, 512)
    >>> audio = torch.zeros(2, 48000).uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    >>> emb, ts = hear.get_timestamp_embeddings(audio, model)
    >>> tuple(emb.shape), ts.tolist()
    ((2, 2, 512), [[0.0, 500.0], [0.0, 500.0]])
    >>> tuple(hear.get_scene_embeddings(audio, model).shape)
    (2, 512)
    """
    from . import openl3

    path = os.fspath(model_file_path) if model_file_path is not None else ""
    parts = parse_weights_filename(path)
    if parts is not None and parts[0] != "audio":
        parts = None  # an image file: load_audio_model names the mismatch
    if input_repr is None:
        input_repr = parts[1] if parts else "mel256"
    if content_type is None:
        content_type = parts[2] if parts else "env"
    weights = None if path == "" else path
    network = openl3.load_audio_model(
        weights, input_repr, content_type, embedding_size, device=device,
        random_state=random_state, frontend=frontend,
    )
    # fail here rather than in the first call
    check_hop_size(hop_size)
    check_bool("center", center)
    check_int("batch_size", batch_size)
    return OpenL3HearModel(network, hop_size=hop_size, center=center, batch_size=batch_size)


def _check_audio(audio) -> torch.Tensor:
    if not isinstance(audio, torch.Tensor):
        raise AudioError(
            f"audio must be a torch.Tensor of shape (n_sounds, n_samples), got "
            f"{type(audio).__name__}.")
    if audio.ndim != 2 or audio.shape[0] == 0 or audio.shape[1] == 0:
        raise AudioError(
            f"audio must have shape (n_sounds, n_samples) with both > 0, got "
            f"{tuple(audio.shape)}; stack mono 48 kHz sounds of equal length.")
    return audio


def get_timestamp_embeddings(
    audio: torch.Tensor, model: OpenL3HearModel
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings of every window of each sound, and the window centres in ms.

    Parameters
    ----------
    audio : torch.Tensor of shape (n_sounds, n_samples)
        Mono audio at ``model.sample_rate`` (48 kHz), values in [-1, 1].
    model : OpenL3HearModel
        From :func:`load_model`.

    Returns
    -------
    embeddings : torch.Tensor of shape (n_sounds, n_timestamps, model.timestamp_embedding_size)
        float32, on ``audio``'s device.
    timestamps : torch.Tensor of shape (n_sounds, n_timestamps)
        Centre of each window in milliseconds (float32), regularly spaced by
        ``hop_size``.

    Examples
    --------
    >>> import warnings, torch
    >>> from sk_avsc import hear
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random weights: the values mean nothing
    ...     model = hear.load_model("random", input_repr="mel128", hop_size=0.5)
    >>> audio = torch.rand(3, 72000, generator=torch.Generator().manual_seed(0)) - 0.5  # 1.5 s
    >>> emb, ts = hear.get_timestamp_embeddings(audio, model)
    >>> tuple(emb.shape), ts[0].tolist()
    ((3, 3, 512), [0.0, 500.0, 1000.0])
    """
    from . import openl3

    audio = _check_audio(audio)
    samples = list(audio.detach().to("cpu", torch.float32).numpy())
    embeddings, _ = openl3.get_audio_embedding(
        samples, model.sample_rate, model=model.network, center=model.center,
        hop_size=model.hop_size, batch_size=model.batch_size,
        frontend=model.network.frontend, verbose=False)
    emb = np.stack(embeddings)  # equal lengths give equal window counts
    n_windows = emb.shape[1]
    centres_ms = window_centres(n_windows, model.hop_size, model.center) * 1000.0
    timestamps = np.broadcast_to(centres_ms, (len(samples), n_windows))
    return (
        torch.from_numpy(emb).to(audio.device),
        torch.tensor(timestamps, dtype=torch.float32, device=audio.device),
    )


def get_scene_embeddings(audio: torch.Tensor, model: OpenL3HearModel) -> torch.Tensor:
    """One embedding per sound: the mean of its timestamp embeddings.

    Parameters
    ----------
    audio : torch.Tensor of shape (n_sounds, n_samples)
        Mono audio at 48 kHz.
    model : OpenL3HearModel
        From :func:`load_model`.

    Returns
    -------
    torch.Tensor of shape (n_sounds, model.scene_embedding_size)
        float32, on ``audio``'s device.

    Examples
    --------
    >>> import warnings, torch
    >>> from sk_avsc import hear
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random weights: the values mean nothing
    ...     model = hear.load_model("random", input_repr="mel128", hop_size=0.5)
    >>> audio = torch.rand(2, 48000, generator=torch.Generator().manual_seed(0)) - 0.5
    >>> scene = hear.get_scene_embeddings(audio, model)
    >>> tuple(scene.shape)
    (2, 512)
    >>> torch.allclose(scene, hear.get_timestamp_embeddings(audio, model)[0].mean(dim=1))
    True
    """
    embeddings, _ = get_timestamp_embeddings(audio, model)
    return embeddings.mean(dim=1)
