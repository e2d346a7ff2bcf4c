"""Reading OpenL3's Keras HDF5 weight files into the PyTorch networks.

The official files (``openl3_audio_<repr>_<content>.h5``, ``openl3_image_<repr>_<content>.h5``,
also distributed gzipped as ``.h5.gz``) are Keras ``save_weights`` files: a root attribute
``layer_names`` lists the layers in model order, and each layer's group holds its arrays
(``kernel``/``bias`` for convolutions, ``gamma``/``beta``/``moving_mean``/
``moving_variance`` for batch normalisation). Layer *names* vary between files (Keras
numbers them per session), so the layers are matched by their order and kind.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zlib
from pathlib import Path

import h5py
import numpy as np
import torch

from ..exceptions import WeightsError
from .models import LAYER_ORDER, ConvBody

__all__ = ["read_keras_weights", "load_keras_weights", "weights_sha1"]

logger = logging.getLogger(__name__)

_BN_KEYS = ("gamma", "beta", "moving_mean", "moving_variance")
_CONV_KEYS = ("kernel", "bias")


def _file_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read weight file {str(path)!r}: {exc}") from exc
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the suffix
        inflater = zlib.decompressobj(wbits=31)
        try:
            raw = inflater.decompress(raw)
            error = None if inflater.eof else "truncated"
        except zlib.error as exc:
            error = str(exc)
        if error:
            raise WeightsError(
                f"weight file {str(path)!r} is a damaged gzip file ({error}); delete it and "
                "download it again")
    return raw


def weights_sha1(path: str | os.PathLike) -> str:
    """SHA-1 (hex) of a weight file's HDF5 bytes, decompressed first for ``.h5.gz``.

    A file and its gzipped copy get the same identity.

    Parameters
    ----------
    path : str or path-like
        ``.h5`` or ``.h5.gz`` file.

    Returns
    -------
    sha1 : str
        40 hexadecimal digits.
    """
    return hashlib.sha1(_file_bytes(Path(path))).hexdigest()


def _decode(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def read_keras_weights(path: str | os.PathLike) -> tuple[list[tuple[str, dict]], str]:
    """Read the weighted layers of a Keras HDF5 weight file, in model order.

    Parameters
    ----------
    path : str or path-like
        ``.h5`` or ``.h5.gz`` file written by Keras ``save_weights``/``save``.

    Returns
    -------
    layers : list of (str, dict)
        ``(layer_name, {"kernel": ndarray, ...})`` for each layer that holds a convolution
        (``kernel``, ``bias``) or a batch normalisation (``gamma``, ``beta``,
        ``moving_mean``, ``moving_variance``); other layers are skipped.
    sha1 : str
        SHA-1 of the HDF5 bytes (see :func:`weights_sha1`).
    """
    path = Path(path)
    raw = _file_bytes(path)
    sha1 = hashlib.sha1(raw).hexdigest()
    try:
        h5 = h5py.File(io.BytesIO(raw), "r")
    except OSError as exc:
        raise WeightsError(
            f"weight file {str(path)!r} is not an HDF5 file ({exc}); expected an OpenL3 "
            "Keras weight file (.h5 or .h5.gz)") from exc
    with h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        if "layer_names" in root.attrs:
            names = [_decode(n) for n in root.attrs["layer_names"]]
        else:
            names = list(root.keys())
        layers = []
        for name in names:
            if name not in root:
                continue
            arrays = {}

            def collect(key, obj, arrays=arrays):
                if isinstance(obj, h5py.Dataset):
                    short = key.rsplit("/", 1)[-1].split(":")[0]
                    arrays[short] = np.asarray(obj[()], dtype=np.float32)

            root[name].visititems(collect)
            if set(_CONV_KEYS) <= set(arrays) or set(_BN_KEYS) <= set(arrays):
                layers.append((name, arrays))
            elif arrays:
                logger.debug("skipping layer %r of %s (arrays %s)", name, path, sorted(arrays))
    return layers, sha1


def _expected(body: ConvBody) -> list[tuple[str, dict]]:
    out = []
    for layer in LAYER_ORDER:
        module = getattr(body, layer)
        if isinstance(module, torch.nn.Conv2d):
            out_c, in_c, kh, kw = module.weight.shape
            out.append((layer, {"kernel": (kh, kw, in_c, out_c), "bias": (out_c,)}))
        else:
            out.append((layer, {key: (module.num_features,) for key in _BN_KEYS}))
    return out


def load_keras_weights(body: ConvBody, path: str | os.PathLike, *, what: str = "network") -> str:
    """Copy the weights of a Keras weight file into a :class:`ConvBody`.

    Parameters
    ----------
    body : ConvBody
        Body of an audio or image network, modified in place.
    path : str or path-like
        ``.h5`` or ``.h5.gz`` weight file.
    what : str, default="network"
        How to call the network in error messages (e.g. ``"audio network mel256"``).

    Returns
    -------
    sha1 : str
        SHA-1 of the file's HDF5 bytes, the weights' identity.

    Raises
    ------
    WeightsError
        If the file cannot be read, or its layers do not match the network: the message
        names the file, the layer, and the expected and found shapes.
    """
    path = Path(path)
    layers, sha1 = read_keras_weights(path)
    expected = _expected(body)
    kinds = ["conv" if "kernel" in a else "bn" for _, a in layers]
    want = ["conv" if "kernel" in s else "bn" for _, s in expected]
    if kinds != want:
        found = ", ".join(f"{n}({k})" for (n, _), k in zip(layers, kinds)) or "none"
        raise WeightsError(
            f"weight file {str(path)!r} does not match the {what}: expected "
            f"{len(want)} weighted layers (batch-norm, then 8 convolutions each but the last "
            f"followed by batch-norm), found {len(kinds)}: {found}. Is it an OpenL3 "
            "weight file of the right modality (audio/image)?")
    state = {}
    for (name, arrays), (layer, shapes) in zip(layers, expected):
        for key, shape in shapes.items():
            found = arrays[key].shape
            if found != shape:
                raise WeightsError(
                    f"weight file {str(path)!r}, layer {name!r} ({key}): expected shape "
                    f"{shape} for the {what}, found {found}. The file was made for another "
                    "architecture (input_repr, modality): pick the file that matches.")
        if "kernel" in arrays:
            # Keras (kh, kw, in, out) -> torch (out, in, kh, kw)
            state[f"{layer}.weight"] = torch.from_numpy(
                np.ascontiguousarray(arrays["kernel"].transpose(3, 2, 0, 1)))
            state[f"{layer}.bias"] = torch.from_numpy(arrays["bias"])
        else:
            state[f"{layer}.weight"] = torch.from_numpy(arrays["gamma"])
            state[f"{layer}.bias"] = torch.from_numpy(arrays["beta"])
            state[f"{layer}.running_mean"] = torch.from_numpy(arrays["moving_mean"])
            state[f"{layer}.running_var"] = torch.from_numpy(arrays["moving_variance"])
    missing, unexpected = body.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:  # pragma: no cover - guarded by the shape checks above
        raise WeightsError(f"weight file {str(path)!r}: missing {missing}, "
                           f"unexpected {unexpected}")
    return sha1
