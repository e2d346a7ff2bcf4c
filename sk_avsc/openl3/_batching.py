"""What audio and images share: the list handler and the batching loop.

``get_audio_embedding`` and ``get_image_embedding`` take one array or a list of arrays
with one rate each (or one for all), preprocess every array, embed all of them together
and split the result back: :func:`embed_each` does that for both. The forward passes
go through :func:`embed_in_batches`, the one loop over batches.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .._validation import check_choice, check_int
from ..exceptions import ParameterError
from ._loading import cached_model
from .frontend import FRONTENDS, INPUT_REPRS
from .models import CONTENT_TYPES

__all__ = ["embed_each", "embed_in_batches", "requested_network", "check_model", "Concat"]


def check_model(model, cls, what: str) -> None:
    """Refuse anything but a network of class ``cls`` (from ``load_<what>_model``)."""
    if not isinstance(model, cls):
        raise ParameterError(
            f"model must be an {cls.__name__} (from load_{what}_model), got "
            f"{type(model).__name__}.")


def requested_network(model, *, kind: str, cls: type, sizes, input_repr, content_type,
                      embedding_size, batch_size, frontend=None) -> Callable:
    """Check the model arguments of ``get_<kind>_embedding``; return a network getter.

    ``model`` when given, else the official network for ``input_repr``, ``content_type``,
    ``embedding_size`` (and the audio ``frontend``), loaded (once per process) only when
    the getter is called, so that bad data fail before a weight file is looked for. A
    given audio model must have the requested ``frontend``, as openl3's
    ``_validate_audio_frontend`` demands.
    """
    check_choice("input_repr", input_repr, INPUT_REPRS)
    check_choice("content_type", content_type, CONTENT_TYPES)
    check_choice("embedding_size", embedding_size, sizes)
    check_int("batch_size", batch_size)
    if frontend is not None:
        check_choice("frontend", frontend, FRONTENDS,
                     hint="'kapre' is openl3 0.4.2's, 'kapre-0.1.4' openl3 0.3.1's")
    if model is not None:
        check_model(model, cls, kind)
        if frontend is not None and getattr(model, "frontend", frontend) != frontend:
            raise ParameterError(
                f"the model has the {model.frontend!r} front-end but frontend={frontend!r} "
                f"was passed; pass frontend={model.frontend!r} or a model loaded with "
                f"frontend={frontend!r}.")
        return lambda: model
    if kind == "audio":
        return lambda: cached_model(kind, input_repr, content_type, embedding_size,
                                    frontend or "kapre")
    return lambda: cached_model(kind, input_repr, content_type, embedding_size)


def _input_device(model) -> torch.device:
    """Where the network wants its input: the audio front-end's device, else the network's."""
    frontend_device = getattr(model, "frontend_device", None)
    return model.device if frontend_device is None else torch.device(frontend_device)


def _submit(model, batch: np.ndarray):
    """Start the forward pass of one batch; :func:`_collect` gives its rows.

    On CPU the pass runs here. With the network on CUDA the batch goes through pinned host
    memory with a non-blocking copy (unless the audio front-end runs on CPU) and the result
    comes back the same way, so the kernels are queued and this returns at once: the
    caller slices (and spectrograms) the next batch meanwhile.
    """
    arr = np.ascontiguousarray(batch, dtype=np.float32)
    if not arr.flags.writeable:  # a read-only window view: torch wants writable memory
        arr = arr.copy()
    x = torch.from_numpy(arr)
    with torch.inference_mode():
        if model.device.type != "cuda":
            return model(x).cpu().numpy()
        device = _input_device(model)
        if device.type == "cuda":  # else the audio front-end runs on CPU first
            x = x.pin_memory().to(device, non_blocking=True)
        out = model(x)
        host = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
        host.copy_(out, non_blocking=True)
        done = torch.cuda.Event()
        done.record()
    return host, done


def _collect(handle) -> np.ndarray:
    if isinstance(handle, np.ndarray):
        return handle
    host, done = handle
    done.synchronize()
    return host.numpy()


def embed_in_batches(inputs, model, batch_size: int, verbose: bool, desc: str) -> np.ndarray:
    """Run ``model`` on ``inputs`` (rows first) ``batch_size`` rows at a time.

    Returns an ``(n_rows, model.embedding_size)`` float32 array; results do not depend
    on ``batch_size``. ``inputs`` may be a :class:`Concat` (sliced, never copied whole).
    On CUDA one batch is in flight on the GPU while the next one is prepared.
    """
    batch_size = check_int("batch_size", batch_size)
    from tqdm.auto import tqdm

    n = inputs.shape[0]
    out = np.empty((n, model.embedding_size), dtype=np.float32)
    pending = None
    for start in tqdm(range(0, n, batch_size), disable=not verbose, desc=desc, unit="batch"):
        handle = _submit(model, inputs[start:start + batch_size])
        if pending is not None:
            out[pending[0]:pending[0] + batch_size] = _collect(pending[1])
        pending = (start, handle)
    if pending is not None:
        out[pending[0]:pending[0] + batch_size] = _collect(pending[1])
    return out


def embed_each(data, rates, *, name: str, rate_name: str, error: type,
               preprocess: Callable, embed: Callable):
    """openl3's list handling: one array or a list of arrays, embedded together.

    Parameters
    ----------
    data : ndarray or list/tuple of ndarray
        What the user passed; any other type raises ``error``.
    rates : object or list/tuple
        One rate per array, or a single one for all.
    name, rate_name : str
        How messages call the arrays (``"audio"``) and their rate (``"sample rate"``).
    error : type
        Exception class of bad arrays; an array's error is prefixed with ``name[i]``.
    preprocess : callable
        ``preprocess(array, rate) -> (inputs, extra)``; ``inputs`` has rows first.
    embed : callable
        ``embed(list of inputs) -> ndarray`` with one row per input row; called once.

    Returns
    -------
    embeddings, extras : list
        Per array, its embedding rows and its ``extra``.
    list_input : bool
        Whether ``data`` was a list (the caller then returns lists).
    """
    if isinstance(data, np.ndarray):
        items, list_input = [data], False
    elif isinstance(data, (list, tuple)):
        items, list_input = list(data), True
        if not items:
            raise error(f"{name} is an empty list; pass at least one array.")
    else:
        raise error(
            f"{name} must be a numpy array or a list of arrays, got {type(data).__name__}.")
    if isinstance(rates, (list, tuple)):
        rate_list = list(rates)
        if len(rate_list) != len(items):
            raise ParameterError(
                f"got {len(items)} {name} arrays but {len(rate_list)} {rate_name}s; pass "
                f"one {rate_name} per array, or a single one for all.")
    else:
        rate_list = [rates] * len(items)
    inputs, extras = [], []
    for i, (item, rate) in enumerate(zip(items, rate_list)):
        try:
            x, extra = preprocess(item, rate)
        except error as exc:
            if list_input:
                raise error(f"{name}[{i}]: {exc}") from exc
            raise
        inputs.append(x)
        extras.append(extra)
    rows = embed(inputs)
    embeddings = np.split(rows, np.cumsum([x.shape[0] for x in inputs])[:-1])
    return embeddings, extras, list_input


class Concat:
    """Row-wise concatenation of arrays that is sliced, not copied whole."""

    def __init__(self, parts: Sequence[np.ndarray]):
        self.parts = parts
        self.offsets = np.cumsum([0] + [p.shape[0] for p in parts])
        self.shape = (int(self.offsets[-1]),) + tuple(parts[0].shape[1:])
        self.ndim = len(self.shape)

    def __array__(self, dtype=None, copy=None):
        return np.concatenate(self.parts).astype(dtype or np.float32)

    def __getitem__(self, sl: slice) -> np.ndarray:
        start, stop = sl.start, min(sl.stop, self.shape[0])
        chunks = []
        for part, lo in zip(self.parts, self.offsets[:-1]):
            a, b = max(start - lo, 0), min(stop - lo, part.shape[0])
            if a < b:
                chunks.append(part[a:b])
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
