"""Does StackedAVClassifier's out-of-fold option (``cv=``) help? Measured on synthetic data.

The task (sk_avsc.datasets.make_av_embeddings): audio separates some class pairs, video
others, every location adds an offset; clip accuracy under GroupKFold(4) over locations, pipelines
``ZScore -> ClipAggregator(classifier)``. Prints the mean (and per-seed) accuracy of
audio-only, video-only, early, late and proposed fusion with cv=None (the paper) and
cv=3 (out-of-fold stage-1 features, folds by location).

    python benchmarks/bench_fusion_cv.py [--seeds 3] [--hard]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sk_avsc import (
    ClipAggregator,
    LateFusionClassifier,
    SkorchMLPClassifier,
    StackedAVClassifier,
    ZScore,
)
from sk_avsc.datasets import make_av_embeddings as make_av_scenes


def head(seed):
    return SkorchMLPClassifier(hidden_sizes=(32, 16), lr=1e-2, max_epochs=20, random_state=seed)


def fusion_head(seed):
    return SkorchMLPClassifier(hidden_sizes=(16,), dropout=0.0, batch_norm=False,
                               activation="identity", lr=1e-2, max_epochs=20, random_state=seed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--hard", action="store_true",
                        help="noisier data (more window/clip/location noise, fewer clips)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data_kw = dict(window_scale=1.6, clip_scale=1.0, location_scale=1.0,
                   clips_per_class=2) if args.hard else {}
    results = {}
    for seed in range(args.seeds):
        X, y, loc = make_av_scenes(random_state=seed, **data_kw)
        d = X.shape[2] // 2
        systems = {
            "audio only": (head(seed), X[..., :d]),
            "video only": (head(seed), X[..., d:]),
            "early fusion": (head(seed), X),
            "late fusion": (LateFusionClassifier(head(seed), head(seed), audio_features=d), X),
            "proposed, cv=None": (
                StackedAVClassifier(head(seed), head(seed), fusion_head(seed),
                                    audio_features=d), X),
            "proposed, cv=3": (
                StackedAVClassifier(head(seed), head(seed), fusion_head(seed),
                                    audio_features=d, cv=3), X),
        }
        for name, (clf, Xs) in systems.items():
            t = time.perf_counter()
            pipe = make_pipeline(ZScore(), ClipAggregator(clf))
            acc = cross_val_score(pipe, Xs, y, groups=loc, cv=GroupKFold(4)).mean()
            results.setdefault(name, []).append(acc)
            print(f"seed {seed} {name:18s} {acc:.3f}  ({time.perf_counter() - t:.1f} s)",
                  flush=True)
    kind = "hard" if args.hard else "default"
    print(f"\nclip accuracy, mean over {args.seeds} data seeds ({kind} data), "
          "GroupKFold(4) over locations:")
    for name, accs in results.items():
        print(f"  {name:18s} {np.mean(accs):.3f}  " + " ".join(f"{a:.3f}" for a in accs))


if __name__ == "__main__":
    main()
