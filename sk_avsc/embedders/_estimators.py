"""OpenL3AudioEmbedder, OpenL3FrameEmbedder and AudioVisualEmbedder.

Over 600 lines because most of it is the three estimators' numpydoc docstrings (with
runnable examples); the logic is short, and the machinery (clips, workers, cache) is in
:mod:`._engine`, the media reading in :mod:`._media`.
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_bool,
    check_choice,
    check_device,
    check_folder,
    check_hop_size,
    check_int,
    check_n_jobs,
    check_real,
)
from ..exceptions import MediaError, ParameterError
from . import _cache, _engine, _media

__all__ = ["OpenL3AudioEmbedder", "OpenL3FrameEmbedder", "AudioVisualEmbedder"]


class _OpenL3Embedder(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Shared parameters, validation and transform of the two OpenL3 embedders."""

    _modality = "audio"  # or "video": the input, named as in the cache and feature names
    _column = "filename_audio"
    _allow_arrays = False

    def __init__(
        self,
        weights=None,
        input_repr="mel256",
        content_type="env",
        embedding_size=512,
        *,
        hop_size=0.1,
        center=True,
        duration=None,
        batch_size=32,
        device="cpu",
        precision="float32",
        compile=False,
        decode_workers=1,
        cache_dir=None,
        cache_key="stat",
        n_jobs=None,
        verbose=0,
    ):
        self.weights = weights
        self.input_repr = input_repr
        self.content_type = content_type
        self.embedding_size = embedding_size
        self.hop_size = hop_size
        self.center = center
        self.duration = duration
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.compile = compile
        self.decode_workers = decode_workers
        self.cache_dir = cache_dir
        self.cache_key = cache_key
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ---------------------------------------------------------------- checks
    def _check_params(self) -> None:
        owner = type(self).__name__
        check_hop_size(self.hop_size, owner=owner, hint="the paper uses 0.1")
        check_bool("center", self.center, owner=owner)
        check_real("duration", self.duration, low=0, low_open=True, allow_none=True,
                   owner=owner, hint="TAU clips last 10.0 s")
        check_int("batch_size", self.batch_size, owner=owner)
        check_int("embedding_size", self.embedding_size, owner=owner)  # the network's choices
        check_n_jobs(self.n_jobs, owner=owner)
        check_folder("cache_dir", self.cache_dir, allow_none=True, owner=owner)
        check_choice("cache_key", self.cache_key, _cache.CACHE_KEYS, owner=owner)
        check_choice("precision", self.precision, _engine.PRECISIONS, owner=owner,
                     hint="'float32' is exact, 'bfloat16' the fast mode")
        check_bool("compile", self.compile, owner=owner)
        check_int("decode_workers", self.decode_workers, owner=owner)
        if self.precision == "tf32" and check_device(self.device, owner=owner).type != "cuda":
            raise ParameterError(
                f"{owner}: precision='tf32' needs a CUDA device (TF32 is a GPU tensor-core "
                f"format), got device={self.device!r}; pass device='cuda', or "
                f"precision='bfloat16' (fast on CPUs with AMX/AVX512-BF16) or 'float32'."
            )

    def _job(self) -> _engine.Job:
        return _engine.Job(
            modality=self._modality,
            weights=self.weights,
            input_repr=self.input_repr,
            content_type=self.content_type,
            embedding_size=int(self.embedding_size),
            device=self.device,
            hop_size=float(self.hop_size),
            center=bool(self.center),
            duration=None if self.duration is None else float(self.duration),
            frame_policy=getattr(self, "frame_policy", "center"),
            frontend=getattr(self, "frontend", "kapre"),
            batch_size=int(self.batch_size),
            precision=self.precision,
            compile=bool(self.compile),
            decode_workers=int(self.decode_workers),
        )

    # ---------------------------------------------------------------- API
    def fit(self, X=None, y=None):
        """Validate the parameters and load the network; nothing is learnt from ``X``.

        Parameters
        ----------
        X : ignored
            Accepted for Pipeline compatibility; not read.
        y : ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self
            The fitted embedder.
        """
        self._check_params()
        self.model_ = _engine.load_network(self._job())
        self.weights_id_ = str(self.model_.weights_id)
        return self

    def _clips(self, X):
        return _engine.as_clips(
            X, what=self._modality, allow_arrays=self._allow_arrays, column=self._column
        )

    def _iter(self, clips, *, desc=None):
        return _engine.iter_embeddings(
            clips,
            self._job(),
            model=self.model_,
            weights_id=self.weights_id_,
            cache_dir=self.cache_dir,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc=desc or type(self).__name__,
            cache_key=self.cache_key,
        )

    def transform(self, X):
        """Embed every clip of ``X``.

        Parameters
        ----------
        X : sequence of clips
            See the class documentation for what a clip can be.

        Returns
        -------
        ndarray of shape (n_clips, n_windows, embedding_size), float32
            Window embeddings of each clip.
        """
        check_is_fitted(self)
        clips = self._clips(X)
        return _fill(clips, self._iter(clips), int(self.embedding_size))

    def get_feature_names_out(self, input_features=None):
        """Names of the last axis of the output: ``openl3_<modality>_<i>``.

        Parameters
        ----------
        input_features : ignored
            The input is a sequence of files; it has no feature names.

        Returns
        -------
        ndarray of str, shape (embedding_size,)
            ``["openl3_audio_0", ..., "openl3_audio_511"]`` for the audio
            embedder (``openl3_video_...`` for frames).
        """
        check_is_fitted(self)
        prefix = f"openl3_{self._modality}_"
        return np.asarray([f"{prefix}{i}" for i in range(int(self.embedding_size))], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _fill(clips, pairs, dim: int, out=None, offset: int = 0, counts=None) -> np.ndarray:
    """Write each clip's (n_windows, dim) block into ``out``; all clips must agree on n_windows.

    With ``counts`` (audio window counts per clip) it checks the video side against them.
    """
    labels = {clip.index: clip.label for clip in clips}
    first = None
    for index, emb in pairs:
        n_windows = emb.shape[0]
        if counts is not None and n_windows != counts[index]:
            raise MediaError(
                f"{labels[index]}: the video gives {n_windows} windows but the audio "
                f"{counts[index]}; pass the same duration= (seconds) to both embedders "
                f"(TAU clips: 10.0) so that they crop or pad to one length."
            )
        if out is None:
            out = np.empty((len(clips), n_windows, dim), dtype=np.float32)
        if first is None:
            first = (index, n_windows)
        elif n_windows != out.shape[1]:
            raise MediaError(
                f"clips give different numbers of windows: {labels[first[0]]} gives "
                f"{first[1]}, {labels[index]} gives {n_windows}; pass duration= (seconds) "
                f"to crop or zero-pad every clip to one length (TAU clips: duration=10.0)."
            )
        out[index, :, offset:offset + emb.shape[1]] = emb
    return out


_COMMON_PARAMS_DOC = """
    weights : None, "random" or path, default=None
        OpenL3 weights: ``None`` finds the official file for ``input_repr``
        and ``content_type`` (see :func:`sk_avsc.openl3.load_audio_model`),
        a path reads that Keras ``.h5``/``.h5.gz`` file, ``"random"`` gives a
        seeded random network (tests and demos; warns).
    input_repr : {"linear", "mel128", "mel256"}, default="mel256"
        Spectrogram of the audio network the weights belong to.
    content_type : {"env", "music"}, default="env"
        Training content of the weights.
    embedding_size : int, default=512
        Embedding dimension (audio network: 512 or 6144; image network: 512
        or 8192).
    hop_size : float, default=0.1
        Hop between one-second windows, in seconds.
    center : bool, default=True
        If True, window ``k`` is centred at ``k * hop_size`` s (half a window
        of zeros precedes the audio); if False, at ``k * hop_size + 0.5`` s.
    duration : float or None, default=None
        If set, every clip is cropped or zero-padded to this many seconds
        (TAU clips: 10.0), so that all clips give the same number of windows.
        Zero-padding by more than one hop warns
        :class:`~sk_avsc.exceptions.MediaWarning` naming the clip (a damaged
        or short file, or a wrong ``duration``), as does an audio file holding
        fewer samples than its header declares.
    batch_size : int, default=32
        Windows per forward pass; windows of several clips share batches.
    device : str or torch.device, default="cpu"
        Where the network runs (``"cuda"`` for a GPU). On CUDA, batches travel
        through pinned memory with non-blocking copies, one batch in flight while
        the next is prepared.
    precision : {"float32", "tf32", "bfloat16"}, default="float32"
        Arithmetic of the network. ``"float32"``: exact (IEEE float32 also on
        CUDA, where TF32 is turned off while embedding). ``"tf32"``: CUDA only
        (refused elsewhere), TF32 tensor-core convolutions and matmuls while
        embedding, the previous torch settings restored after. ``"bfloat16"``:
        convolutions in bfloat16 (the front-end stays float32), relative L2
        deviation from float32 ~5e-3; fast on GPUs and on CPUs with AMX or
        AVX512-BF16. It changes the embeddings, so it is part of the cache key.
    compile : bool, default=False
        Compile the network with ``torch.compile`` (see
        :func:`sk_avsc.openl3.load_audio_model`): faster after the first
        batches, which compile for tens of seconds; needs a C++ compiler on
        CPU. Not part of the cache key.
    decode_workers : int, default=1
        Threads that read, decode and preprocess clips ahead of the network
        (ffmpeg runs as a subprocess, so they overlap): up to this many
        chunks of clips are decoded while the network embeds the current one.
        Results and errors come in the order of ``X`` whatever the value, and
        the embeddings are bit-identical. Used when the clips are embedded in
        this process (``n_jobs`` of 1); not part of the cache key.
    cache_dir : str, path or None, default=None
        Folder of the embedding cache: one ``.npz`` per clip and modality under
        ``<cache_dir>/<modality>/``, named by a hash of the file's identity
        (see ``cache_key``) and of every parameter that changes the result
        (weights identity, ``input_repr``, ``content_type``,
        ``embedding_size``, ``hop_size``, ``center``, ``duration``,
        ``frontend``, ``frame_policy``, ``precision`` unless float32, package
        version). Writes are atomic; an interrupted
        run computes only the missing clips when started again (and removes
        the temporary files a killed run left, once they are an hour old); a
        corrupt file is recomputed with a warning. ``batch_size``, ``device``,
        ``compile``, ``decode_workers`` and ``n_jobs`` are not part of the key.
    cache_key : {"stat", "content"}, default="stat"
        How the cache recognises a file. ``"stat"``: by one ``os.stat`` (real
        path, size, modification and status-change times, device, inode):
        free, and content replaced keeping the size and mtime (``cp -p``,
        ``rsync -t``, unzip) still changes the ctime or inode; but so does a
        ``chmod``, a move or a restored copy of the dataset, which then
        recomputes every clip. ``"content"``: by a BLAKE2b hash of the file's
        bytes: survives moves, copies and metadata changes (the same bytes
        anywhere reuse one entry), but reads every file in full on each
        ``transform``, cache hits included. Arrays are always keyed by their
        samples, so both modes share their entries.
    n_jobs : int or None, default=None
        joblib workers (processes) for decoding and embedding; ``None`` means 1
        unless inside a :func:`joblib.parallel_backend` context (e.g.
        ``"dask"``), ``-1`` all cores. Each worker loads the network once and
        uses ``cpu_count // n_workers`` torch threads. The embeddings are
        bit-identical whatever ``n_jobs`` (the front-end's mel projection runs
        on one BLAS thread, whose sums do not depend on the thread count).
    verbose : int, default=0
        If non-zero, a tqdm progress bar over clips (clips/s, ETA) on stderr.
"""


class OpenL3AudioEmbedder(_OpenL3Embedder, auto_wrap_output_keys=None):
    __doc__ = (
        """OpenL3 audio embeddings of audio files, one per one-second window.

    The paper's audio features: for each clip, the OpenL3 audio embedding of
    every one-second window (hop 0.1 s, mel256, "env", 512-d), computed by
    :func:`sk_avsc.openl3.get_audio_embedding` on the clip's samples.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """    frontend : {"kapre", "kapre-0.1.4", "librosa"}, default="kapre"
        The audio network's spectrogram, as openl3 computes it: ``"kapre"`` is
        openl3 0.4.2's (its default), ``"kapre-0.1.4"`` openl3 0.3.1's, the
        version the paper's authors used (its embeddings differ from 0.4.2's by
        a relative L2 of ~0.23 on the official weights), ``"librosa"`` openl3
        0.4.2's ``frontend="librosa"``. Part of the cache key.

    Attributes
    ----------
    model_ : AudioEmbeddingNetwork
        The network, loaded by ``fit``.
    weights_id_ : str
        Identity of the weights (SHA-1 of the weight file, or
        ``"random-<seed>"``), part of the cache key.

    See Also
    --------
    OpenL3FrameEmbedder : The matching video-frame embeddings.
    AudioVisualEmbedder : Both, concatenated window by window.
    sk_avsc.openl3.get_audio_embedding : The functional API for one array.

    Notes
    -----
    ``X`` is a sequence (list, array, pandas Series, or a DataFrame with a
    ``filename_audio`` column) whose items are audio file paths, read with
    soundfile as float32 at their own sample rate and channel count (several
    channels are averaged, other rates resampled to 48 kHz), or
    ``(waveform, sample_rate)`` pairs with ``waveform`` of shape
    ``(n_samples,)`` or ``(n_samples, n_channels)``.

    The output has shape ``(n_clips, n_windows, embedding_size)``; clips that
    give different window counts raise an error naming two of them (set
    ``duration``). ``fit`` learns nothing from ``X``: it validates the
    parameters and loads the network; ``n_features_in_`` is not defined
    because the input is a list of files. ``get_feature_names_out`` names the
    last output axis.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc.embedders import OpenL3AudioEmbedder
    >>> rng = np.random.default_rng(0)
    >>> clips = [(rng.uniform(-1, 1, 48000).astype(np.float32), 48000) for _ in range(2)]
    >>> emb = OpenL3AudioEmbedder(weights="random", input_repr="mel128").fit(clips)
    >>> emb.transform(clips).shape     # 1 s, centred, hop 0.1 s: 6 windows
    (2, 6, 512)
    """
    )

    _allow_arrays = True

    def __init__(
        self,
        weights=None,
        input_repr="mel256",
        content_type="env",
        embedding_size=512,
        *,
        hop_size=0.1,
        center=True,
        duration=None,
        frontend="kapre",
        batch_size=32,
        device="cpu",
        precision="float32",
        compile=False,
        decode_workers=1,
        cache_dir=None,
        cache_key="stat",
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            weights, input_repr, content_type, embedding_size, hop_size=hop_size,
            center=center, duration=duration, batch_size=batch_size, device=device,
            precision=precision, compile=compile, decode_workers=decode_workers,
            cache_dir=cache_dir, cache_key=cache_key, n_jobs=n_jobs, verbose=verbose,
        )
        self.frontend = frontend

    def _check_params(self) -> None:
        from ..openl3.frontend import FRONTENDS

        super()._check_params()
        check_choice("frontend", self.frontend, FRONTENDS, owner=type(self).__name__,
                     hint="the paper's features are 'kapre-0.1.4' (openl3 0.3.1)")


class OpenL3FrameEmbedder(_OpenL3Embedder, auto_wrap_output_keys=None):
    __doc__ = (
        """OpenL3 image embeddings of the video frame that goes with each audio window.

    The paper's video features: for each window of
    :class:`OpenL3AudioEmbedder` on the clip's audio, the OpenL3 image
    embedding of one video frame, so the two align one-to-one.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """    frame_policy : {"center", "authors"}, default="center"
        Which frame goes with window ``k``:

        - ``"center"``: the frame shown at the window's centre time ``t_k``
          (``k * hop_size``, or ``k * hop_size + 0.5`` without ``center``),
          frame ``floor(t_k * fps)``.
        - ``"authors"``: what the paper's authors' feature scripts do
          (``create_data/create_tr.py`` lines 112-120 in
          shanwangshan/TAU-urban-audio-visual-scenes): decode all frames with
          moviepy and take ``np.linspace(0, n_frames - 1, n_windows)
          .astype(int)``, i.e. ``n_windows`` frames spread evenly from the
          first to the last, regardless of the window times; ``n_frames`` is
          ``len(np.arange(0, duration, 1 / fps))`` with the container's
          duration, as moviepy 1.0.3 iterates. On a 10-s, 30-fps TAU clip
          (96 windows) window k gets frame ``floor(k * 299 / 95)`` instead of
          ``3 * k``: up to 0.5 s later than its centre.

        In both policies, an index past the last decodable frame uses the
        last decodable frame (moviepy does the same), silently for a video
        up to one hop shorter than its windows; beyond that (a cut file, or
        ``duration`` longer than the video) a
        :class:`~sk_avsc.exceptions.MediaWarning` names the clip and how many
        windows repeat the last frame.

    Attributes
    ----------
    model_ : ImageEmbeddingNetwork
        The network, loaded by ``fit``.
    weights_id_ : str
        Identity of the weights, part of the cache key.

    See Also
    --------
    OpenL3AudioEmbedder : The audio embeddings these frames align with.
    AudioVisualEmbedder : Both, concatenated window by window.
    sk_avsc.openl3.get_image_embedding : The functional API for frames.

    Notes
    -----
    ``X`` is a sequence of video file paths (list, array, Series, or a
    DataFrame with a ``filename_video`` column). Videos are decoded with
    imageio-ffmpeg as a stream: frames are read in order, only the needed
    ones are kept (already shrunk to the network's 224x224 input) and
    decoding stops after the last needed frame, so a video is never held in
    memory whole.

    The number of windows is the audio rule of
    :func:`sk_avsc.openl3.cut_audio_windows` applied to ``duration`` if set,
    else to the video's duration as its container reports it. The weights
    are those of the image network (``openl3_image_<repr>_<content>``).

    Examples
    --------
    >>> import numpy as np, imageio_ffmpeg, tempfile, os
    >>> from sk_avsc.embedders import OpenL3FrameEmbedder
    >>> path = os.path.join(tempfile.mkdtemp(), "clip.mp4")
    >>> writer = imageio_ffmpeg.write_frames(path, (320, 240), fps=5)
    >>> writer.send(None)
    >>> for i in range(5):
    ...     writer.send(np.full((240, 320, 3), 40 + 40 * i, dtype=np.uint8).tobytes())
    >>> writer.close()
    >>> emb = OpenL3FrameEmbedder(weights="random").fit([path])
    >>> emb.transform([path]).shape   # 1 s, centred, hop 0.1 s: 6 windows
    (1, 6, 512)
    """
    )

    _modality = "video"
    _column = "filename_video"

    def __init__(
        self,
        weights=None,
        input_repr="mel256",
        content_type="env",
        embedding_size=512,
        *,
        hop_size=0.1,
        center=True,
        duration=None,
        frame_policy="center",
        batch_size=32,
        device="cpu",
        precision="float32",
        compile=False,
        decode_workers=1,
        cache_dir=None,
        cache_key="stat",
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            weights, input_repr, content_type, embedding_size, hop_size=hop_size,
            center=center, duration=duration, batch_size=batch_size, device=device,
            precision=precision, compile=compile, decode_workers=decode_workers,
            cache_dir=cache_dir, cache_key=cache_key, n_jobs=n_jobs, verbose=verbose,
        )
        self.frame_policy = frame_policy

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("frame_policy", self.frame_policy, _media.FRAME_POLICIES,
                     owner=type(self).__name__)


class AudioVisualEmbedder(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Audio and video-frame OpenL3 embeddings of each clip, concatenated per window.

    The paper's early-fusion input: for each clip, the audio embedding of each
    window followed by the image embedding of its frame, shape
    ``(n_clips, n_windows, audio_dim + video_dim)`` (1024 in the paper).
    scikit-learn's ColumnTransformer cannot do this (it concatenates 2-D
    outputs).

    Parameters
    ----------
    audio : OpenL3AudioEmbedder or None, default=None
        The audio side; None means ``OpenL3AudioEmbedder()``.
    video : OpenL3FrameEmbedder or None, default=None
        The video side; None means ``OpenL3FrameEmbedder()``. Its
        ``hop_size``, ``center`` and ``duration`` must equal the audio side's.
    frontend : {"kapre", "kapre-0.1.4", "librosa"} or None, default=None
        If not None, the audio side's ``frontend`` (see
        :class:`OpenL3AudioEmbedder`; the image network has none); None keeps it.
    cache_dir, cache_key, n_jobs, device, precision, compile, decode_workers, verbose : \
optional, default=None
        If not None, set on both sides (overriding their own values), so that
        one setting covers the pair; None keeps each side's value (whose
        defaults are ``cache_key="stat"``, ``precision="float32"``,
        ``compile=False``, ``decode_workers=1``; see
        :class:`OpenL3AudioEmbedder`).

    Attributes
    ----------
    audio_ : OpenL3AudioEmbedder
        Fitted clone of ``audio``.
    video_ : OpenL3FrameEmbedder
        Fitted clone of ``video``.

    See Also
    --------
    OpenL3AudioEmbedder, OpenL3FrameEmbedder : The two sides.

    Notes
    -----
    ``X`` is a table with columns ``filename_audio`` and ``filename_video``
    (the TAU metadata's names; a pandas DataFrame or a dict of sequences), or
    a sequence of ``(audio_path, video_path)`` pairs. For every clip the
    window counts of the two sides must agree, else an error names the clip;
    set ``duration`` on both sides (TAU: 10.0) to make them agree by
    construction.

    Examples
    --------
    >>> import numpy as np, imageio_ffmpeg, soundfile, tempfile, os
    >>> from sk_avsc.embedders import (AudioVisualEmbedder, OpenL3AudioEmbedder,
    ...                                OpenL3FrameEmbedder)
    >>> folder = tempfile.mkdtemp()
    >>> wav, mp4 = os.path.join(folder, "a.wav"), os.path.join(folder, "a.mp4")
    >>> noise = np.random.default_rng(0).uniform(-0.5, 0.5, 48000)
    >>> soundfile.write(wav, noise, 48000)
    >>> writer = imageio_ffmpeg.write_frames(mp4, (320, 240), fps=5)
    >>> writer.send(None)
    >>> for i in range(5):
    ...     writer.send(np.full((240, 320, 3), 40 + 40 * i, dtype=np.uint8).tobytes())
    >>> writer.close()
    >>> av = AudioVisualEmbedder(
    ...     OpenL3AudioEmbedder(weights="random", input_repr="mel128", duration=1.0),
    ...     OpenL3FrameEmbedder(weights="random", duration=1.0))
    >>> av.fit_transform([(wav, mp4)]).shape
    (1, 6, 1024)
    """

    def __init__(self, audio=None, video=None, *, frontend=None, cache_dir=None, cache_key=None,
                 n_jobs=None, device=None, precision=None, compile=None, decode_workers=None,
                 verbose=None):
        self.audio = audio
        self.video = video
        self.frontend = frontend
        self.cache_dir = cache_dir
        self.cache_key = cache_key
        self.n_jobs = n_jobs
        self.device = device
        self.precision = precision
        self.compile = compile
        self.decode_workers = decode_workers
        self.verbose = verbose

    def _sides(self):
        audio = OpenL3AudioEmbedder() if self.audio is None else clone(self.audio)
        video = OpenL3FrameEmbedder() if self.video is None else clone(self.video)
        if not isinstance(audio, OpenL3AudioEmbedder):
            raise ParameterError(
                f"AudioVisualEmbedder: audio must be an OpenL3AudioEmbedder, got "
                f"{type(audio).__name__}."
            )
        if not isinstance(video, OpenL3FrameEmbedder):
            raise ParameterError(
                f"AudioVisualEmbedder: video must be an OpenL3FrameEmbedder, got "
                f"{type(video).__name__}."
            )
        shared = {
            name: getattr(self, name)
            for name in _SHARED_PARAMS
            if getattr(self, name) is not None
        }
        audio.set_params(**shared)
        video.set_params(**shared)
        if self.frontend is not None:
            audio.set_params(frontend=self.frontend)
        for name in ("hop_size", "center", "duration"):
            a, v = getattr(audio, name), getattr(video, name)
            if a != v:
                raise ParameterError(
                    f"AudioVisualEmbedder: audio.{name}={a!r} but video.{name}={v!r}; the "
                    f"windows align only when both sides use the same {name}."
                )
        return audio, video

    def fit(self, X=None, y=None):
        """Check that the sides agree and fit them (load their networks).

        Parameters
        ----------
        X : ignored
            Accepted for Pipeline compatibility; not read.
        y : ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self
            The fitted embedder.
        """
        audio, video = self._sides()
        self.audio_ = audio.fit()
        self.video_ = video.fit()
        return self

    def transform(self, X):
        """Embed each clip's audio and video and concatenate them on the last axis.

        Parameters
        ----------
        X : DataFrame, dict or sequence of (audio_path, video_path)
            The clips.

        Returns
        -------
        ndarray of shape (n_clips, n_windows, audio_dim + video_dim), float32
            Audio embedding first, then the frame embedding, for every window.
        """
        check_is_fitted(self)
        audio_paths, video_paths = _pairs(X)
        audio_clips = self.audio_._clips(audio_paths)
        video_clips = self.video_._clips(video_paths)
        for a, v in zip(audio_clips, video_clips):
            v.label = f"clip {v.index} ({v.source!r}, audio {a.source!r})"
        d_audio = int(self.audio_.embedding_size)
        dim = d_audio + int(self.video_.embedding_size)
        counts: dict[int, int] = {}

        def audio_pairs():
            for index, emb in self.audio_._iter(audio_clips, desc="audio"):
                counts[index] = emb.shape[0]
                yield index, emb

        out = _fill(audio_clips, audio_pairs(), dim)
        return _fill(
            video_clips, self.video_._iter(video_clips, desc="video"), dim, out=out,
            offset=d_audio, counts=counts,
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the last output axis: the audio side's, then the video side's.

        Parameters
        ----------
        input_features : ignored
            The input is a table of files; it has no feature names.

        Returns
        -------
        ndarray of str, shape (audio_dim + video_dim,)
            ``openl3_audio_0, ..., openl3_video_0, ...``.
        """
        check_is_fitted(self)
        return np.concatenate(
            [self.audio_.get_feature_names_out(), self.video_.get_feature_names_out()]
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


#: AudioVisualEmbedder's parameters that, when not None, are set on both sides.
_SHARED_PARAMS = ("cache_dir", "cache_key", "n_jobs", "device", "precision", "compile",
                  "decode_workers", "verbose")


def _pairs(X):
    """``(audio paths, video paths)`` from a table with the TAU column names or a list of pairs."""
    columns = ("filename_audio", "filename_video")
    if hasattr(X, "columns") or isinstance(X, dict):
        keys = list(X.columns) if hasattr(X, "columns") else list(X)
        missing = [c for c in columns if c not in keys]
        if missing:
            raise ParameterError(
                f"X must have columns {list(columns)} (the TAU metadata's names); "
                f"missing {missing}, found {keys}."
            )
        audio, video = X["filename_audio"], X["filename_video"]
        return list(np.asarray(audio, dtype=object)), list(np.asarray(video, dtype=object))
    if isinstance(X, (str, bytes, os.PathLike)):
        raise ParameterError(
            f"X must be a table or a sequence of (audio, video) pairs, got {X!r}."
        )
    try:
        items = list(X)
    except TypeError:
        raise ParameterError(
            f"X must be a table or a sequence of (audio, video) pairs, got {type(X).__name__}."
        ) from None
    audio, video = [], []
    for i, item in enumerate(items):
        if isinstance(item, (str, bytes, os.PathLike)) or not _is_pair(item):
            raise ParameterError(
                f"clip {i} in X must be an (audio_path, video_path) pair, got {item!r:.80}."
            )
        audio.append(item[0])
        video.append(item[1])
    return audio, video


def _is_pair(item) -> bool:
    try:
        return len(item) == 2
    except TypeError:
        return False
