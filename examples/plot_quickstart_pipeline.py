"""
Quick start: a scikit-learn Pipeline from files to scene labels
================================================================

One :class:`~sklearn.pipeline.Pipeline` takes ``(audio file, video file)`` pairs to clip
labels: :class:`~sk_avsc.AudioVisualEmbedder` (OpenL3 audio embeddings of 1-s windows and
OpenL3 image embeddings of the video frame at each window's centre), :class:`~sk_avsc.ZScore`,
and the paper's two-stage fusion :class:`~sk_avsc.StackedAVClassifier` trained on windows and
deciding per clip through :class:`~sk_avsc.ClipAggregator` (sum of window probabilities).

The data is a small synthetic dataset in the TAU Urban Audio-Visual Scenes 2021 layout, and
OpenL3 runs with *random* weights (nothing is downloaded): the accuracy printed shows that the
pipeline works and that fusing sound and picture helps on these scenes, not OpenL3's quality.
Set ``SK_AVSC_EXAMPLE_SMALL=1`` for a run of a few seconds.
"""

# %%
# Settings: the small variant is what the test suite runs.
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.pipeline import Pipeline

from sk_avsc import (
    AudioVisualEmbedder,
    ClipAggregator,
    SkorchMLPClassifier,
    OpenL3AudioEmbedder,
    OpenL3FrameEmbedder,
    StackedAVClassifier,
    ZScore,
)
from sk_avsc.datasets import load_tau2021, make_av_scenes
from sk_avsc.exceptions import RandomWeightsWarning
from sk_avsc.metrics import class_wise_accuracy

SMALL = os.environ.get("SK_AVSC_EXAMPLE_SMALL") == "1"
torch.set_num_threads(1)  # small heads on small data: threads cost more than they give
warnings.simplefilter("ignore", RandomWeightsWarning)  # said in the docstring above

# %%
# A synthetic dataset: real WAV and MP4 files, ``meta.csv`` and ``evaluation_setup/``.
# Some classes differ only in sound, others only in picture.
root = make_av_scenes(
    tempfile.mkdtemp(prefix="sk-avsc-quickstart-"), n_classes=4, n_cities=1 if SMALL else 2,
    n_locations=3, clips_per_location=1 if SMALL else 2, duration=1.0 if SMALL else 2.0,
    fps=4, random_state=0,
)
train = load_tau2021(root, subset="fold1_train")
test = load_tau2021(root, subset="fold1_evaluate")
print(f"{len(train.frame)} training clips, {len(test.frame)} test clips, "
      f"classes {train.target_names}")

# %%
# The pipeline. ``hop_size=0.5`` (the paper: 0.1) and small heads keep this quick.
openl3 = dict(weights="random", input_repr="mel256", content_type="env", embedding_size=512,
              hop_size=0.5, duration=1.0 if SMALL else 2.0)
epochs = 10 if SMALL else 60


def head():
    return SkorchMLPClassifier(hidden_sizes=(128, 64), max_epochs=epochs, batch_size=16,
                               random_state=0)


model = Pipeline([
    ("embed", AudioVisualEmbedder(OpenL3AudioEmbedder(**openl3),
                                  OpenL3FrameEmbedder(**openl3))),
    ("zscore", ZScore()),
    ("clf", ClipAggregator(StackedAVClassifier(audio=head(), video=head(), fusion=head(),
                                               audio_features=512))),
])
model.fit(train.data, train.frame["scene_label"].to_numpy())

# %%
# Clip accuracy on the test locations (never seen in training).
y_test = test.frame["scene_label"].to_numpy()
y_pred = model.predict(test.data)
print(f"proposed fusion: clip accuracy {100 * np.mean(y_pred == y_test):.1f} % "
      f"on {len(y_test)} test clips")

# %%
# Class-wise accuracy, as in the paper's Fig. 2.
acc = class_wise_accuracy(y_test, y_pred, labels=test.target_names)
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(test.target_names, 100 * acc)
ax.set_ylabel("accuracy (%)")
ax.set_title("Class-wise accuracy (synthetic scenes, random OpenL3 weights)")
fig.tight_layout()
plt.show()
