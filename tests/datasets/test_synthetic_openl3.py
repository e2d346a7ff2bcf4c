"""The synthetic classes survive OpenL3 embeddings with random weights (what the demo uses)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_avsc.datasets import load_tau2021, make_av_scenes
from sk_avsc.embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder
from sk_avsc.exceptions import RandomWeightsWarning


@pytest.mark.slow
def test_sound_and_look_groups_survive_random_openl3(tmp_path):
    root = make_av_scenes(tmp_path, n_classes=4, n_cities=1, n_locations=3, clips_per_location=2,
                          duration=1.0, fps=4, random_state=0)
    ds = load_tau2021(root, subset="all")
    side = dict(weights="random", hop_size=0.5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomWeightsWarning)
            X = AudioVisualEmbedder(OpenL3AudioEmbedder(**side),
                                    OpenL3FrameEmbedder(**side)).fit_transform(ds.data)
    finally:
        torch.set_num_threads(threads)
    # clip means of the window embeddings; documented design for 4 classes: sound groups
    # [0, 0, 1, 2], look groups [0, 1, 1, 2] (blocks of three classes)
    audio, video = X[:, :, :512].mean(1), X[:, :, 512:].mean(1)
    sound, look = np.array([0, 0, 1, 2])[ds.target], np.array([0, 1, 1, 2])[ds.target]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))

    def score(features, target):
        return cross_val_score(clf, features, target, groups=ds.groups,
                               cv=GroupKFold(n_splits=3)).mean()

    # on unseen locations: audio embeddings tell the sound groups apart, image embeddings
    # the look groups (that neither carries the other's distinction is by construction and
    # checked on hand-made features in test_synthetic.py)
    # (3 groups each, half the clips in the largest: 0.5 without the cue)
    assert score(audio, sound) > 0.8
    assert score(video, look) > 0.8
