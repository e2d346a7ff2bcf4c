"""OpenL3 images: resizing and cropping frames as openl3 0.4.2 does, and embedding them.

:func:`preprocess_image` reproduces openl3's scikit-image path (rescale of frames whose
short side exceeds 256 px, centre crop to 224x224, its value scaling quirks);
:func:`embed_images` runs the image network; :func:`get_image_embedding` is openl3's
one-call API over both. The names are openl3's: the frames come from a video.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_choice, check_real
from ..exceptions import ImageError
from ._batching import Concat, check_model, embed_each, embed_in_batches, requested_network
from ._loading import load_image_model  # noqa: F401  (doctests)
from .models import IMAGE_EMBEDDING_SIZES, IMAGE_SIZE, ImageEmbeddingNetwork
from .openl3_exceptions import raises_openl3_errors
from .openl3_warnings import OpenL3Warning

__all__ = ["preprocess_image", "embed_images", "get_image_embedding"]

_RESCALE_SHORT_SIDE = 256


def _img_as_float(arr: np.ndarray, float32: bool) -> np.ndarray:
    # scikit-image's img_as_float / img_as_float32 conversions
    kind = arr.dtype.kind
    if kind == "f":
        if float32:
            return arr.astype(np.float32)
        return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    info = np.iinfo(arr.dtype)
    if float32:
        ctype = np.float32 if arr.dtype.itemsize <= 4 else np.float64
    else:
        ctype = np.float64
    out = np.multiply(arr, 1.0 / info.max, dtype=ctype)
    if kind == "i":
        np.maximum(out, -1.0, out=out)
    return out.astype(np.float32) if float32 else out


def _check_images(images, name="image") -> np.ndarray:
    if not isinstance(images, np.ndarray):
        raise ImageError(
            f"{name} must be a numpy array (H, W, 3) or (N, H, W, 3), or a list of them; got "
            f"{type(images).__name__}.")
    if images.size == 0:
        raise ImageError(f"{name} is empty (shape {images.shape}).")
    if images.ndim not in (3, 4):
        raise ImageError(
            f"{name} has {images.ndim} dimensions (shape {images.shape}); pass one image "
            "(H, W, 3) or a batch (N, H, W, 3).")
    if images.shape[-1] != 3:
        raise ImageError(
            f"{name} has {images.shape[-1]} channels (shape {images.shape}); OpenL3 needs RGB "
            "images with 3 channels last (drop alpha: image[..., :3]).")
    if images.dtype.kind not in "fiu":
        raise ImageError(f"{name} has dtype {images.dtype}; pass uint8, integer or float pixels.")
    if images.dtype.kind == "f" and not np.all(np.isfinite(images)):
        raise ImageError(f"{name} contains NaN or infinite pixels.")
    if images.ndim == 3:
        images = images[np.newaxis]
    height, width = images.shape[1:3]
    if min(height, width) < IMAGE_SIZE:
        raise ImageError(
            f"{name} is {height}x{width} px; OpenL3 needs images of at least "
            f"{IMAGE_SIZE}x{IMAGE_SIZE} px (upscale them first).")
    return images


def _source_pixels(start: int, count: int, in_size: int, out_size: int):
    """Bilinear source pixels and weights of output pixels ``start .. start + count - 1``.

    scikit-image's pixel-centre mapping (``align_corners=False`` in torch), clamped at 0.
    """
    dst = np.arange(start, start + count, dtype=np.float64)
    src = np.maximum((dst + 0.5) * (in_size / out_size) - 0.5, 0.0)
    first = src.astype(np.intp)
    frac = src - first
    return first, np.minimum(first + 1, in_size - 1), frac


def _rescale_crop(frames: np.ndarray) -> np.ndarray:
    """skimage ``rescale(frame, 256 / short_side, order=1, anti_aliasing=False)`` + crop.

    Only the 224x224 pixels that survive the crop are interpolated, from the four source
    pixels each reads: ~50x less work than rescaling whole frames. In float32 (the
    network's input type; scikit-image's float64 differs by ~1e-7, within openl3's own
    float32 rounding of the result).
    """
    n, height, width = frames.shape[:3]
    scale = _RESCALE_SHORT_SIDE / min(height, width)
    out_h, out_w = (int(max(np.round(scale * s), 1)) for s in (height, width))
    top, left = out_h // 2 - IMAGE_SIZE // 2, out_w // 2 - IMAGE_SIZE // 2
    y0, y1, fy = _source_pixels(top, IMAGE_SIZE, height, out_h)
    x0, x1, fx = _source_pixels(left, IMAGE_SIZE, width, out_w)
    fy = fy.astype(np.float32)[:, None, None]
    fx = fx.astype(np.float32)[None, :, None]
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    for start in range(0, n, 8):  # temporaries that stay in cache
        chunk = frames[start:start + 8]

        def pixels(rows, cols):
            return _img_as_float(chunk[:, rows[:, None], cols[None, :]], float32=True)

        upper, lower = pixels(y0, x0), pixels(y1, x0)
        upper += fx * (pixels(y0, x1) - upper)
        lower += fx * (pixels(y1, x1) - lower)
        lower -= upper
        lower *= fy
        lower += upper
        # skimage clips to each frame's input range (clip=True); the conversion is monotonic
        lo = _img_as_float(chunk.min(axis=(1, 2, 3), keepdims=True), float32=True)
        hi = _img_as_float(chunk.max(axis=(1, 2, 3), keepdims=True), float32=True)
        np.clip(lower, lo, hi, out=out[start:start + 8])
    return out


def preprocess_image(images: np.ndarray) -> np.ndarray:
    """Resize, crop and scale frames for OpenL3's image network, as openl3 0.4.2 does.

    Parameters
    ----------
    images : ndarray of shape (H, W, 3) or (N, H, W, 3)
        RGB frames, at least 224 px on each side; uint8, other integers or floats.

    Returns
    -------
    batch : ndarray of shape (N, 224, 224, 3), float32
        Input of :class:`~sk_avsc.openl3.models.ImageEmbeddingNetwork`.

    Raises
    ------
    ImageError
        Not 3-D/4-D, not 3 channels, smaller than 224 px, empty, or non-finite.

    Warns
    -----
    OpenL3Warning
        If every pixel is zero (a :class:`~sk_avsc.exceptions.SkAvscWarning`).

    Notes
    -----
    openl3's quirks, reproduced:

    * Frames whose short side exceeds 256 px are rescaled so that it becomes 256 (bilinear,
      no anti-aliasing, output size rounded, scikit-image's pixel-centre convention), then
      the centre 224x224 is cropped; frames of 224-256 px are only cropped.
    * Value ranges depend on the path: an exactly 224x224 unsigned-integer image maps to
      [-1, 1] (``2 * x / max - 1``), signed integers to [-1, 1] and floats are kept; a
      rescaled unsigned-integer frame ends in [0, 1]; a cropped-only frame keeps its raw
      values. Finally, if the largest magnitude in the *whole array* exceeds 1, the whole
      array is divided by it (so one bright frame changes the scale of the others).

    Examples
    --------
    >>> frames = np.full((2, 720, 1280, 3), 255, dtype=np.uint8)
    >>> batch = preprocess_image(frames)
    >>> batch.shape, batch.dtype, float(batch.max())
    ((2, 224, 224, 3), dtype('float32'), 1.0)
    >>> float(preprocess_image(np.full((224, 224, 3), 255, dtype=np.uint8)).max())
    1.0
    """
    original = images
    images = _check_images(images)
    if not np.any(original):
        warnings.warn("image is all zeros: its embeddings carry no information.",
                      OpenL3Warning, stacklevel=2)
    height, width = images.shape[1:3]
    if (height, width) != (IMAGE_SIZE, IMAGE_SIZE):
        if min(height, width) > _RESCALE_SHORT_SIDE:
            batch = _rescale_crop(images)
        else:
            top, left = height // 2 - IMAGE_SIZE // 2, width // 2 - IMAGE_SIZE // 2
            # one rounding to float32, as the float64 detour gave
            batch = images[:, top:top + IMAGE_SIZE, left:left + IMAGE_SIZE].astype(np.float32)
    elif images.dtype.kind == "u":
        batch = 2 * _img_as_float(images, float32=True) - 1
    else:
        batch = _img_as_float(images, float32=True)
    peak = np.max(np.abs(batch))
    if peak > 1:
        batch = batch / peak
    return np.ascontiguousarray(batch, dtype=np.float32)


def embed_images(preprocessed: np.ndarray, model: ImageEmbeddingNetwork,
                 batch_size: int = 32, verbose: bool = False) -> np.ndarray:
    """Embed frames from :func:`preprocess_image` in batches.

    Parameters
    ----------
    preprocessed : ndarray of shape (N, 224, 224, 3), float32
        Output of :func:`preprocess_image`.
    model : ImageEmbeddingNetwork
        From :func:`load_image_model`.
    batch_size : int, default=32
        Frames per forward pass.
    verbose : bool, default=False
        Show a progress bar on stderr.

    Returns
    -------
    embeddings : ndarray of shape (N, model.embedding_size), float32

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random weights: the values mean nothing
    ...     model = load_image_model("random", embedding_size=512)
    >>> frames = np.random.default_rng(0).integers(0, 256, (2, 720, 1280, 3), dtype=np.uint8)
    >>> embed_images(preprocess_image(frames), model, batch_size=1).shape
    (2, 512)
    """
    check_model(model, ImageEmbeddingNetwork, "image")
    if not isinstance(preprocessed, Concat):
        preprocessed = np.asarray(preprocessed)
    if preprocessed.ndim != 4 or preprocessed.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ImageError(
            f"preprocessed frames must have shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
            f"{preprocessed.shape}; make them with preprocess_image.")
    return embed_in_batches(preprocessed, model, batch_size, verbose, "OpenL3 image")


@raises_openl3_errors
def get_image_embedding(
    image,
    frame_rate=None,
    model: ImageEmbeddingNetwork | None = None,
    input_repr: str = "mel256",
    content_type: str = "music",
    embedding_size: int = 8192,
    batch_size: int = 32,
    verbose: bool = True,
):
    """Compute OpenL3 image embeddings of frames, as ``openl3.get_image_embedding``.

    openl3 0.4.2's signature and defaults.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (N, H, W, 3), or list of them
        RGB frames of at least 224x224 px (see :func:`preprocess_image`).
    frame_rate : float or list of float, default=None
        Frame rate(s) in frames/s; when given, timestamps are returned too.
    model : ImageEmbeddingNetwork, default=None
        A loaded model; if None, the official one is loaded (and cached) from
        ``input_repr``, ``content_type`` and ``embedding_size``.
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
    content_type : {"music", "env"}, default="music"
    embedding_size : {8192, 512}, default=8192
    batch_size : int, default=32
        Frames per forward pass; results do not depend on it.
    verbose : bool, default=True
        Show a progress bar (stderr).

    Returns
    -------
    embeddings : ndarray of shape (N, dim), float32, or list of them
    timestamps : ndarray of shape (N,), float64, or list of them
        ``arange(N) / frame_rate``; only returned when ``frame_rate`` is given.

    Raises
    ------
    OpenL3Error
        Bad images (also an :class:`~sk_avsc.exceptions.ImageError`) or parameters (also
        a :class:`~sk_avsc.exceptions.ParameterError`).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_image_model("random", embedding_size=512)
    >>> frames = np.random.default_rng(0).integers(0, 256, (2, 240, 320, 3), dtype=np.uint8)
    >>> emb, ts = get_image_embedding(frames, frame_rate=10, model=model, verbose=False)
    >>> emb.shape, ts
    ((2, 512), array([0. , 0.1]))
    """
    verbose = bool(check_choice("verbose", verbose, (False, True)))
    network = requested_network(
        model, kind="image", cls=ImageEmbeddingNetwork, sizes=IMAGE_EMBEDDING_SIZES,
        input_repr=input_repr, content_type=content_type, embedding_size=embedding_size,
        batch_size=batch_size)
    for rate in frame_rate if isinstance(frame_rate, (list, tuple)) else [frame_rate]:
        check_real("frame_rate", rate, low=0, low_open=True, allow_none=True)

    def embed(batches):
        return embed_images(Concat(batches), network(), batch_size, verbose)

    def timestamps(n_frames, rate):
        return None if rate is None else np.arange(n_frames) / float(rate)

    embeddings, rates, list_input = embed_each(
        image, frame_rate, name="image", rate_name="frame rate", error=ImageError,
        embed=embed, preprocess=lambda img, rate: (preprocess_image(img), rate))
    stamps = [timestamps(len(e), rate) for e, rate in zip(embeddings, rates)]
    with_ts = any(rate is not None for rate in rates)
    if not list_input:
        return (embeddings[0], stamps[0]) if with_ts else embeddings[0]
    return (embeddings, stamps) if with_ts else embeddings
