"""A synthetic audio-visual scene task where neither modality suffices alone.

Audio separates the class pairs {0, 1}, {2, 3}, {4, 5}, ... but not the classes within
a pair; video separates the pairs {1, 2}, {3, 4}, ..., {n-1, 0}. Together they identify
every class. Every location adds its own offset to all its clips (recording
conditions), so models must generalise to unseen locations (GroupKFold on locations).
Used by tests/test_fusion.py and benchmarks/bench_fusion_cv.py.
"""

import numpy as np


def make_av_scenes(
    *,
    n_classes=6,
    n_locations=12,
    clips_per_class=3,
    n_windows=5,
    n_features=16,
    location_scale=0.7,
    clip_scale=0.5,
    window_scale=0.7,
    random_state=0,
):
    """Return X (n_clips, n_windows, 2 * n_features) float32, y (n_clips,), location.

    Columns ``[:n_features]`` are audio, the rest video; each location records
    ``clips_per_class`` clips of every class.
    """
    if n_classes % 2:
        raise ValueError("n_classes must be even")
    rng = np.random.default_rng(random_state)
    classes = np.arange(n_classes)
    audio_group = classes // 2
    video_group = ((classes + 1) % n_classes) // 2
    proto_a = rng.normal(size=(n_classes // 2, n_features))
    proto_v = rng.normal(size=(n_classes // 2, n_features))
    off_a = rng.normal(scale=location_scale, size=(n_locations, n_features))
    off_v = rng.normal(scale=location_scale, size=(n_locations, n_features))
    y = np.tile(np.repeat(classes, clips_per_class), n_locations)
    location = np.repeat(np.arange(n_locations), n_classes * clips_per_class)
    n = len(y)

    def modality(proto, group, off):
        clip = proto[group[y]] + off[location] + rng.normal(scale=clip_scale,
                                                            size=(n, n_features))
        return clip[:, None, :] + rng.normal(scale=window_scale,
                                             size=(n, n_windows, n_features))

    X = np.concatenate([modality(proto_a, audio_group, off_a),
                        modality(proto_v, video_group, off_v)], axis=2)
    return X.astype(np.float32), y, location
