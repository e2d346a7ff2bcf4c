"""Training speed of SkorchMLPClassifier.fit against a bare PyTorch loop (same work).

Both train the paper's network (512 -> 512 -> 128 -> 64 -> 10, BatchNorm, ReLU,
Dropout 0.2) with Adam (lr 1e-4, weight decay 1e-4) on the cross-entropy at batch size
64, shuffle every epoch, evaluate the validation loss once per epoch (batches of 1024)
and keep a copy of the best weights: the work SkorchMLPClassifier.fit does. The bare loop
gathers each batch from one float32 tensor by index (``index_select`` on a per-epoch
``randperm``), the same data access as SkorchMLPClassifier, so the ratio measures what
skorch and the estimator wrapper add. For context, the
same network in a stock skorch ``NeuralNetClassifier`` (per-sample DataLoader) is timed
too (``--no-stock`` skips it).

Prints windows/s (training windows x epochs / wall time, best of ``--repeats``
interleaved runs) and the ratio of bare-loop to SkorchMLPClassifier time.

    python benchmarks/bench_training.py [--windows 100000] [--epochs 2] [--threads 1]
"""

import argparse
import copy
import time

import numpy as np
import torch
from torch import nn

from sk_avsc import SkorchMLPClassifier
from sk_avsc.neural import MLPModule

LR, WEIGHT_DECAY, BATCH = 1e-4, 1e-4, 64


def make_data(n, d=512, n_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    centres = rng.normal(size=(n_classes, d))
    X = (centres[y] + 3.0 * rng.normal(size=(n, d))).astype(np.float32)
    n_val = n // 10
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]


def bare_loop(X, y, X_val, y_val, epochs, seed=0):
    torch.manual_seed(seed)
    module = MLPModule(X.shape[1], 10)
    opt = torch.optim.Adam(module.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Xv, yv = torch.from_numpy(X_val), torch.from_numpy(y_val)
    gen = torch.Generator().manual_seed(seed)
    best, best_state = np.inf, None
    for _ in range(epochs):
        module.train()
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), BATCH):
            idx = order[start:start + BATCH]
            xb, yb = Xt.index_select(0, idx), yt.index_select(0, idx)
            opt.zero_grad()
            loss = loss_fn(module(xb), yb)
            loss.backward()
            opt.step()
            loss.item()  # skorch records every batch loss; so does this loop
        module.eval()
        with torch.no_grad():
            total = sum(loss_fn(module(Xv[i:i + 1024]), yv[i:i + 1024]).item()
                        * len(yv[i:i + 1024]) for i in range(0, len(Xv), 1024))
        if total / len(Xv) < best:
            best = total / len(Xv)
            best_state = copy.deepcopy(module.state_dict())
    module.load_state_dict(best_state)
    return module


def sk_avsc_fit(X, y, X_val, y_val, epochs, seed=0):
    clf = SkorchMLPClassifier(max_epochs=epochs, random_state=seed)
    return clf.fit(X, y, validation_data=(X_val, y_val))


def stock_skorch(X, y, X_val, y_val, epochs, seed=0):
    from skorch import NeuralNetClassifier
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        MLPModule, module__n_features=X.shape[1], module__n_classes=10,
        criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=LR,
        optimizer__weight_decay=WEIGHT_DECAY, batch_size=BATCH, max_epochs=epochs,
        iterator_train__shuffle=True, train_split=predefined_split(Dataset(X_val, y_val)),
        verbose=0,
    )
    return net.fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000,
                        help="total windows; 10%% are the validation set")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-stock", action="store_true", help="skip stock skorch")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y, X_val, y_val = make_data(args.windows)
    systems = {"bare PyTorch loop": bare_loop, "sk_avsc SkorchMLPClassifier": sk_avsc_fit}
    if not args.no_stock:
        systems["stock skorch (DataLoader)"] = stock_skorch
    sk_avsc_fit(X[:1000], y[:1000], X_val[:100], y_val[:100], 1)  # warm-up
    times = {name: [] for name in systems}
    for r in range(args.repeats):
        for name, fn in systems.items():
            if name.startswith("stock") and r > 0:
                continue  # slow and only for context: one run
            t = time.perf_counter()
            fn(X, y, X_val, y_val, args.epochs)
            times[name].append(time.perf_counter() - t)
    n_train = len(X) * args.epochs
    print(f"torch {torch.__version__}, {args.threads} thread(s), {len(X)} training + "
          f"{len(X_val)} validation windows, batch {BATCH}, {args.epochs} epochs, "
          f"best of {args.repeats}")
    for name, ts in times.items():
        print(f"  {name:28s} {n_train / min(ts):10,.0f} windows/s  ({min(ts):.2f} s)")
    ratio = min(times["sk_avsc SkorchMLPClassifier"]) / min(times["bare PyTorch loop"])
    print(f"  SkorchMLPClassifier time / bare loop time = {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
