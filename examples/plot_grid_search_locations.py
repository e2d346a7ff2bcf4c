"""
Grid search over hidden sizes, cross-validated by recording location
=====================================================================

Clips recorded at one location share its acoustics and its view, so a split that puts a
location on both sides measures how well a model recognises *places*, not *scenes*.
:class:`~sklearn.model_selection.GroupKFold` with the location identifier as the group keeps
each location on one side.

OpenL3 embeddings do not depend on the classifier's hyper-parameters, so they are computed
once, and the grid search runs over a light ``ZScore -> ClipAggregator(SkorchMLPClassifier)``
pipeline on the stored ``(n_clips, n_windows, 1024)`` array. Data: a small synthetic dataset,
OpenL3 with *random* weights (no download); ``SK_AVSC_EXAMPLE_SMALL=1`` shrinks everything.
"""

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sk_avsc import ClipAggregator, SkorchMLPClassifier, ZScore
from sk_avsc.datasets import load_tau2021, make_av_scenes
from sk_avsc.exceptions import RandomWeightsWarning
from sk_avsc.systems import make_embedder

SMALL = os.environ.get("SK_AVSC_EXAMPLE_SMALL") == "1"
torch.set_num_threads(1)
warnings.simplefilter("ignore", RandomWeightsWarning)  # said in the docstring above

# %%
# Data: three locations per class, all in one development set here.
workdir = tempfile.TemporaryDirectory(prefix="sk-avsc-grid-")  # removed at the end
root = make_av_scenes(
    workdir.name, n_classes=4, n_cities=1, n_locations=3,
    clips_per_location=1 if SMALL else 3, duration=1.0 if SMALL else 2.0, fps=4,
    random_state=0,
)
parts = [load_tau2021(root, subset=s) for s in ("fold1_train", "fold1_evaluate")]
table = pd.concat([p.data for p in parts], ignore_index=True)
y = np.concatenate([p.frame["scene_label"].to_numpy(dtype=str) for p in parts])
locations = np.concatenate([p.groups for p in parts])
print(f"{len(y)} clips from {len(set(locations))} locations")

# %%
# Embeddings, once, with the paper's front end (``cache_dir=`` would keep them on disk
# between runs).
X = make_embedder(weights="random", hop_size=0.5,
                  duration=1.0 if SMALL else 2.0).fit_transform(table)
print(f"embeddings: {X.shape} (clips, windows, audio + video features)")

# %%
# The search: each fold holds out whole locations. ``validation_split=None`` trains each
# head for a fixed number of epochs on all of its training fold.
pipe = Pipeline([
    ("zscore", ZScore()),
    ("clf", ClipAggregator(SkorchMLPClassifier(max_epochs=5 if SMALL else 40, batch_size=16,
                                               validation_split=None, random_state=0))),
])
grid = {"clf__estimator__hidden_sizes": [(64,), (256, 64)] if SMALL
        else [(64,), (256, 64), (512, 128, 64)]}
search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3), error_score="raise")
search.fit(X, y, groups=locations)

results = pd.DataFrame(search.cv_results_)[
    ["param_clf__estimator__hidden_sizes", "mean_test_score", "std_test_score"]]
print(results.to_string(index=False))
print(f"best hidden sizes: {search.best_params_['clf__estimator__hidden_sizes']} "
      f"(location-held-out clip accuracy {100 * search.best_score_:.1f} %)")

# %%
# No location is on both sides of any fold.
for train_idx, test_idx in GroupKFold(n_splits=3).split(X, y, groups=locations):
    assert not set(locations[train_idx]) & set(locations[test_idx])

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar([str(h) for h in results.iloc[:, 0]], 100 * results["mean_test_score"],
       yerr=100 * results["std_test_score"])
ax.set_xlabel("hidden sizes")
ax.set_ylabel("clip accuracy (%)")
ax.set_title("GroupKFold by location")
fig.tight_layout()
# Without a display (a server, CI, the documentation build) ``plt.show()`` shows nothing:
# then the figure is saved too, under ``$SK_AVSC_OUT`` or the current folder.
if os.environ.get("SK_AVSC_OUT") or plt.get_backend().lower() == "agg":
    figure_path = Path(os.environ.get("SK_AVSC_OUT", ".")) / "grid_search_locations.png"
    fig.savefig(figure_path, dpi=100)
    print(f"figure saved to {figure_path}")
plt.show()

# %%
# The generated dataset is no longer needed.
workdir.cleanup()
