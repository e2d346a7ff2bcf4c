"""Embedding transformers that read real files: the paper's features.

- :class:`OpenL3AudioEmbedder`: OpenL3 audio embeddings of audio files, one per
  one-second window.
- :class:`OpenL3FrameEmbedder`: OpenL3 image embeddings of the video frame that
  goes with each audio window.
- :class:`AudioVisualEmbedder`: both, concatenated window by window.

All three output ``(n_clips, n_windows, dim)`` float32 arrays, cache per clip
on disk (``cache_dir``), run in parallel with joblib (``n_jobs``, or a Dask
cluster) and show a progress bar (``verbose``). Helpers for reading media and
aligning frames with windows are public for users who build their own loops.
"""

from ._estimators import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder
from ._media import (
    fix_duration,
    frame_indices,
    read_audio,
    read_video_audio,
    read_video_frames,
)

__all__ = [
    "OpenL3AudioEmbedder",
    "OpenL3FrameEmbedder",
    "AudioVisualEmbedder",
    "read_audio",
    "read_video_audio",
    "read_video_frames",
    "fix_duration",
    "frame_indices",
]
