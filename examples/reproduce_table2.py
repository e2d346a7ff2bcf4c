"""
Reproducing Table 2 of the paper
================================

Trains the paper's five systems (audio only, video only, early fusion, late fusion and the
proposed two-stage fusion) on ``fold1_train`` with the authors' validation split by location,
tests them on ``fold1_evaluate``, and prints one table beside the paper's figures (audio 75.8,
video 68.4, early 82.2, late 80.8, proposed 84.8 % clip accuracy) plus the class-wise chart of
Fig. 2. This is what ``sk-avsc reproduce ROOT --out DIR`` does; here it is called from Python.

- With ``SK_AVSC_TAU_ROOT`` pointing at TAU Urban Audio-Visual Scenes 2021 (Zenodo, DOI
  10.5281/zenodo.4477542), it runs on the real dataset with the official OpenL3 weights
  (downloaded once if missing) and the paper's settings: hop 0.1 s, 10-s clips, 200 epochs.
  Hours on a CPU; embeddings are cached in ``OUT/features`` and a rerun resumes.
  ``SK_AVSC_QUICK=1`` uses hop 0.5 s and 30 epochs.
- Otherwise it runs on a small synthetic dataset with *random* OpenL3 weights: the figures then
  say nothing about the paper, only that the whole procedure runs.

Everything is written under ``--out OUT`` (default ``$SK_AVSC_OUT``, else ``./sk-avsc-table2``)
and kept.
"""

# %%
import argparse
import os
import warnings
from pathlib import Path

import torch

from sk_avsc.cli import main
from sk_avsc.datasets import make_av_scenes
from sk_avsc.exceptions import RandomWeightsWarning

SMALL = os.environ.get("SK_AVSC_EXAMPLE_SMALL") == "1"
root = os.environ.get("SK_AVSC_TAU_ROOT")
# Results go under --out (default: $SK_AVSC_OUT, else ./sk-avsc-table2), and stay there.
parser = argparse.ArgumentParser(description="Table 2 of the paper, from Python.")
parser.add_argument("--out", type=Path,
                    default=Path(os.environ.get("SK_AVSC_OUT") or "sk-avsc-table2"),
                    help="folder for the features, models and results (default: %(default)s)")
out = parser.parse_args().out

# %%
# The arguments of ``sk-avsc reproduce``.
if root:
    print(f"TAU Urban Audio-Visual Scenes 2021 at {root}")
    argv = ["reproduce", root, "--out", str(out), "--duration", "10"]
    if os.environ.get("SK_AVSC_QUICK") == "1":
        argv.append("--quick")
    if torch.cuda.is_available():
        argv += ["--device", "cuda"]
else:
    print("SK_AVSC_TAU_ROOT is not set: synthetic scenes and RANDOM OpenL3 weights "
          "(the figures are not comparable to the paper's)")
    warnings.simplefilter("ignore", RandomWeightsWarning)
    torch.set_num_threads(1)
    root = make_av_scenes(out / "data", n_classes=4, n_cities=1 if SMALL else 2,
                          n_locations=3 if SMALL else 2, clips_per_location=1 if SMALL else 2,
                          duration=1.0 if SMALL else 2.0, fps=4, random_state=0)
    argv = ["reproduce", root, "--out", str(out / "run"), "--quick", "--weights", "random",
            "--epochs", "3" if SMALL else "100", "--batch-size", "16"]
    out = out / "run"

# %%
# Run it: prints the table (Markdown) and writes ``results.md``, ``results.json``,
# ``fig2.png``, the five models and each one's evaluation.
status = main(argv)
if status != 0:
    raise SystemExit(status)
print(f"Fig. 2 written to {out / 'fig2.png'}; everything else under {out}")
