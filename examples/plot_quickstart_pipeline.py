"""
Quick start: a scikit-learn Pipeline from files to scene labels
================================================================

One :class:`~sklearn.pipeline.Pipeline` takes ``(audio file, video file)`` pairs to clip
labels: :class:`~sk_avsc.AudioVisualEmbedder` (OpenL3 audio embeddings of 1-s windows and
OpenL3 image embeddings of the video frame at each window's centre), :class:`~sk_avsc.ZScore`,
and the paper's two-stage fusion :class:`~sk_avsc.StackedAVClassifier` trained on windows and
deciding per clip through :class:`~sk_avsc.ClipAggregator` (sum of window probabilities).
:func:`~sk_avsc.systems.make_embedder` and :func:`~sk_avsc.systems.make_system` build them
as the paper (and ``sk-avsc``) does.

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
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.pipeline import Pipeline

from sk_avsc.datasets import load_tau2021, make_av_scenes
from sk_avsc.exceptions import RandomWeightsWarning
from sk_avsc.metrics import class_wise_accuracy
from sk_avsc.systems import make_embedder, make_system

SMALL = os.environ.get("SK_AVSC_EXAMPLE_SMALL") == "1"
torch.set_num_threads(1)  # small heads on small data: threads cost more than they give
warnings.simplefilter("ignore", RandomWeightsWarning)  # said in the docstring above

# %%
# A synthetic dataset: real WAV and MP4 files, ``meta.csv`` and ``evaluation_setup/``.
# Some classes differ only in sound, others only in picture.
workdir = tempfile.TemporaryDirectory(prefix="sk-avsc-quickstart-")  # removed at the end
root = make_av_scenes(
    workdir.name, n_classes=4, n_cities=1 if SMALL else 2,
    n_locations=3, clips_per_location=1 if SMALL else 2, duration=1.0 if SMALL else 2.0,
    fps=4, random_state=0,
)
train = load_tau2021(root, subset="fold1_train")
test = load_tau2021(root, subset="fold1_evaluate")
print(f"{len(train.frame)} training clips, {len(test.frame)} test clips, "
      f"classes {train.target_names}")

# %%
# The pipeline: the paper's front end, then its proposed system (``ZScore`` and
# ``ClipAggregator(StackedAVClassifier(...))``; ``print(model)`` shows every step).
# ``hop_size=0.5`` (the paper: 0.1) and small heads keep this quick.
model = Pipeline([
    ("embed", make_embedder(weights="random", hop_size=0.5, duration=1.0 if SMALL else 2.0)),
    ("system", make_system("proposed", hidden_sizes=(128, 64), max_epochs=10 if SMALL else 60,
                           batch_size=16, random_state=0)),
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
# Without a display (a server, CI, the documentation build) ``plt.show()`` shows nothing:
# then the figure is saved too, under ``$SK_AVSC_OUT`` or the current folder.
if os.environ.get("SK_AVSC_OUT") or plt.get_backend().lower() == "agg":
    figure_path = Path(os.environ.get("SK_AVSC_OUT", ".")) / "quickstart_class_wise_accuracy.png"
    fig.savefig(figure_path, dpi=100)
    print(f"figure saved to {figure_path}")
plt.show()

# %%
# The generated dataset is no longer needed.
workdir.cleanup()
