"""Training speed of ResNetAudioClassifier.fit against a bare PyTorch loop (same work).

Both train McDonnell & Gao's network (:class:`sk_avsc.comparison.McDonnellResNet`)
with their recipe: Keras-style SGD (momentum 0.9, L2 on the conv weights only), the
warm-restart cosine learning rate set before every batch, and mixup batches of
independently cropped, randomly channel-swapped clips drawn by the same
:class:`sk_avsc.comparison.MixupStream`, ``ceil(n_clips / batch)`` batches per epoch.
The bare loop does exactly that without skorch, so the ratio measures what skorch and
the estimator wrapper add.

Prints clips/s (mixed training samples x epochs / wall time, best of ``--repeats``
interleaved runs) and the ratio of ResNetAudioClassifier to bare-loop time (target
<= 1.3). The defaults are shorter than the authors' 461 frames (``--frames 461
--crop 400`` for their input) so that a CPU run takes minutes.

    python benchmarks/bench_comparison_training.py [--clips 128] [--frames 60] [--crop 50]
"""

import argparse
import math
import time

import numpy as np
import torch
from torch import nn

from sk_avsc.comparison import KerasSGD, McDonnellResNet, MixupStream, ResNetAudioClassifier
from sk_avsc.comparison import warm_restart_lr

BATCH, MAX_LR, MIN_LR, WD = 32, 0.1, 1e-5, 2e-3


def make_data(n, n_mels, n_frames, n_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, 6, n_mels, n_frames)).astype(np.float32)
    X[np.arange(n), :, y % n_mels] += 1.0  # a class-specific bin: something to learn
    return X, y


def bare_loop(X, y, epochs, crop, width, seed=0):
    torch.manual_seed(seed)
    module = McDonnellResNet(n_channels=X.shape[1], n_classes=10, width=width)
    decay = [p for n, p in module.named_parameters() if ".bn." not in n]
    no_decay = [p for n, p in module.named_parameters() if ".bn." in n]
    opt = KerasSGD([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
                   lr=MAX_LR, momentum=0.9, weight_decay=WD)
    loss_fn = nn.CrossEntropyLoss()
    stream = MixupStream(torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)), 10,
                         batch_size=BATCH, alpha=0.4, crop_length=crop, swap_prob=0.5,
                         random_state=np.random.RandomState(seed))
    steps = math.ceil(len(X) / BATCH)
    module.train()
    for epoch in range(epochs):
        for b in range(steps):
            lr = warm_restart_lr(epoch, b / steps, max_lr=MAX_LR, min_lr=MIN_LR,
                                 first_cycle=2, cycle_mult=2)
            for group in opt.param_groups:
                group["lr"] = lr
            xb, yb = stream.next_batch()
            opt.zero_grad()
            loss = loss_fn(module(xb), yb)
            loss.backward()
            opt.step()
            loss.item()  # skorch records every batch loss; so does this loop
    return module


def sk_avsc_fit(X, y, epochs, crop, width, seed=0):
    clf = ResNetAudioClassifier(width=width, max_epochs=epochs, crop_length=crop,
                                random_state=seed)
    return clf.fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--mels", type=int, default=128)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--crop", type=int, default=50)
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = make_data(args.clips, args.mels, args.frames)
    systems = {"bare PyTorch loop": bare_loop, "sk_avsc ResNetAudioClassifier": sk_avsc_fit}
    sk_avsc_fit(X[:2 * BATCH], y[:2 * BATCH], 1, args.crop, args.width)  # warm-up
    times = {name: [] for name in systems}
    for _ in range(args.repeats):
        for name, fn in systems.items():
            t = time.perf_counter()
            fn(X, y, args.epochs, args.crop, args.width)
            times[name].append(time.perf_counter() - t)
    n_train = math.ceil(args.clips / BATCH) * BATCH * args.epochs
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.clips} clips of "
          f"6 x {args.mels} x {args.frames} (crops of {args.crop}), width {args.width}, "
          f"batch {BATCH}, {args.epochs} epoch(s), best of {args.repeats}")
    for name, ts in times.items():
        print(f"  {name:32s} {n_train / min(ts):8,.1f} clips/s  ({min(ts):.2f} s)")
    ratio = min(times["sk_avsc ResNetAudioClassifier"]) / min(times["bare PyTorch loop"])
    print(f"  ResNetAudioClassifier time / bare loop time = {ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
