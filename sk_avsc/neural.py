"""The paper's PyTorch classifier heads as a scikit-learn classifier built on skorch."""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_int,
    check_int_sequence,
    check_real,
    check_validation_split,
)
from .exceptions import ParameterError, TrainingError
from ._net_training import (
    _BatchData,
    _BatchIterator,
    _KeepBest,
    _DropBatchHistory,
    _Net,
    _noop,
    split_train_valid,
    encode_labels,
    encode_validation_labels,
    seeded_torch,
)

__all__ = ["SkorchMLPClassifier", "MLPModule"]

_ACTIVATIONS = {"relu": nn.ReLU, "identity": None}


class MLPModule(nn.Module):
    """Linear-BatchNorm-ReLU-Dropout blocks then a Linear output, in ``self.model``.

    With the defaults of :class:`SkorchMLPClassifier` this is the authors' head: its
    ``state_dict`` keys are ``model.{0,1,4,5,8,9,12}``, so their released
    ``audio_model.pt`` / ``video_model.pt`` / ``early_fusion_model.pt`` load with
    ``strict=True``. Modules that do nothing (BatchNorm when ``batch_norm=False``, the
    identity activation, Dropout with ``dropout=0``) are left out, so a one-hidden-layer
    linear head has the keys ``model.0``, ``model.1`` of ``proposed_fusion_head.pt``.

    Parameters
    ----------
    n_features : int
        Input size.
    n_classes : int
        Output size (logits).
    hidden_sizes : sequence of int, default=(512, 128, 64)
        Width of each hidden block.
    dropout : float, default=0.2
        Dropout probability after each hidden block's activation.
    batch_norm : bool, default=True
        BatchNorm1d after each hidden Linear layer.
    activation : {"relu", "identity"}, default="relu"
        Nonlinearity of the hidden blocks.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_sizes: Sequence[int] = (512, 128, 64),
        dropout: float = 0.2,
        batch_norm: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        layers: list[nn.Module] = []
        self.block_outputs: list[int] = []  # index in `model` of each hidden Linear
        width = n_features
        for size in hidden_sizes:
            self.block_outputs.append(len(layers))
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            if _ACTIVATIONS[activation] is not None:
                layers.append(_ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.model = nn.Sequential(*layers)

    def forward(self, X):
        return self.model(X)


class SkorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """The paper's multilayer-perceptron head, trained with skorch.

    Hidden blocks of Linear, BatchNorm1d, ReLU and Dropout, then a Linear layer to the
    classes; Adam on the cross-entropy; the weights of the epoch with the lowest
    validation loss are kept. The defaults are the paper's audio-only / video-only /
    early-fusion network. Early fusion needs no class of its own: it is this
    classifier on the concatenated ``(n_samples, 1024)`` audio+video embeddings.

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(512, 128, 64)
        Width of each hidden block; ``()`` gives a linear (softmax-regression) model.
    dropout : float, default=0.2
        Dropout probability after each hidden block (0 removes the Dropout modules).
    batch_norm : bool, default=True
        Put BatchNorm1d after each hidden Linear layer.
    activation : {"relu", "identity"}, default="relu"
        Nonlinearity of the hidden blocks; "identity" removes it (a deep linear model,
        as in the paper's fusion head).
    lr : float, default=1e-4
        Adam learning rate.
    weight_decay : float, default=1e-4
        Adam weight decay (L2 penalty).
    max_epochs : int, default=200
        Number of passes over the training windows.
    batch_size : int, default=64
        Training mini-batch size (windows).
    validation_split : float, splitter or None, default=0.1
        The validation samples held out inside :meth:`fit` to pick the best epoch
        (skorch's ``train_split``). A float is the fraction held out: by the ``groups``
        passed to ``fit`` when given (no group on both sides), otherwise stratified by
        class (with a :class:`~sk_avsc.SkAvscWarning` and an unstratified split when
        the classes are too small to stratify). A splitter (an object with
        ``split(X, y, groups)``, e.g. ``LocationShuffleSplit(test_size=0.1)`` or
        ``AuthorsSplit()`` of :mod:`sk_avsc.datasets`) is called on the training data
        and ``groups``, and its first split is used. ``None`` trains on everything and
        keeps the last epoch's weights. A split with an empty side warns and trains
        without validation. Ignored when ``fit`` gets ``validation_data``.
    patience : int or None, default=None
        Stop when the validation loss has not improved for this many epochs. ``None``
        (the paper) trains all ``max_epochs``.
    device : str, default="cpu"
        Torch device to train on, e.g. "cuda". A model fitted on CUDA unpickles on a
        CPU-only machine (onto the CPU, with skorch's ``DeviceWarning``).
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the weight initialisation, the shuffling and the
        dropout masks. With an int, CPU results repeat exactly. The global torch RNG
        is left untouched.
    verbose : int, default=0
        1 prints skorch's per-epoch table.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in sorted order (the column order of :meth:`predict_proba`).
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fitted on a DataFrame with string column names.
    net_ : skorch.NeuralNet
        The fitted skorch net (``net_.history`` has the per-epoch losses).
    module_ : MLPModule
        The fitted network (``net_.module_``); ``module_.model`` is the
        ``nn.Sequential`` whose ``state_dict`` matches the authors' files.
    best_epoch_ : int or None
        1-based epoch whose weights were kept (None without validation).
    n_iter_ : int
        Number of epochs run.

    See Also
    --------
    sk_avsc.StackedAVClassifier : the paper's proposed fusion of two such heads.
    sk_avsc.LateFusionClassifier : average of an audio and a video head's probabilities.
    sk_avsc.ClipAggregator : clip decisions from window-level classifiers.

    Notes
    -----
    Not :class:`sklearn.neural_network.MLPClassifier`: the parameters are skorch's
    (``lr``, ``max_epochs``, ``batch_size``, ``device``) and the network is the paper's,
    so this class has a name of its own rather than scikit-learn's class name with
    other parameters (``hidden_layer_sizes``, ``max_iter``, ``learning_rate_init``
    there), which would fail or mislead in a script that imports both.

    With metadata routing enabled (``sklearn.set_config(enable_metadata_routing=True)``)
    ``groups`` and ``validation_data`` reach :meth:`fit` from a Pipeline or
    ``cross_val_score`` only when requested, ``set_fit_request(groups=True)``: like
    every scikit-learn consumer, nothing is requested by default (only CV splitters
    request ``groups`` by default). The fusion classifiers request both for the
    networks they build themselves.

    Batches are gathered from one float32 tensor by index (one ``randperm`` per
    epoch, no copy of the training set) instead of by skorch's per-sample DataLoader,
    and validation runs in batches of at least 1024; see
    ``benchmarks/bench_training.py`` for the speed relative to a bare PyTorch loop.
    A final training batch of a single window is merged into the previous batch
    (BatchNorm cannot train on one sample).

    :meth:`predict_proba` applies the softmax to the network's logits (skorch's own
    ``predict_proba`` would return the raw module output).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_avsc import SkorchMLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8)).astype(np.float32)
    >>> y = np.where(X[:, 0] > 0, "park", "bus")
    >>> clf = SkorchMLPClassifier(hidden_sizes=(16, 8), lr=1e-2, max_epochs=10, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.classes_
    array(['bus', 'park'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.], dtype=float32)
    >>> clf.embed(X[:2]).shape  # second Linear layer's output (128-d in the paper)
    (2, 8)
    """

    def __init__(
        self,
        hidden_sizes: Sequence[int] = (512, 128, 64),
        dropout: float = 0.2,
        batch_norm: bool = True,
        activation: str = "relu",
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        batch_size: int = 64,
        validation_split=0.1,
        patience: int | None = None,
        device: str = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- validation --------------------------------------------------------------------
    def _check_params(self):
        owner = type(self).__name__
        sizes = check_int_sequence("hidden_sizes", self.hidden_sizes, owner=owner)
        check_real("dropout", self.dropout, low=0, high=1, high_open=True, owner=owner)
        check_bool("batch_norm", self.batch_norm, owner=owner)
        check_choice("activation", self.activation, tuple(_ACTIVATIONS), owner=owner)
        check_real("lr", self.lr, low=0, low_open=True, owner=owner)
        check_real("weight_decay", self.weight_decay, low=0, owner=owner)
        check_int("max_epochs", self.max_epochs, owner=owner)
        check_int("batch_size", self.batch_size, owner=owner)
        split = check_validation_split(self.validation_split, owner=owner)
        check_int("patience", self.patience, allow_none=True, owner=owner)
        return sizes, split

    def _split(self, X, y, split, groups, rs):
        """Indices (train, valid) of the internal validation split, or (all, None)."""
        return split_train_valid(X, y, split, groups, rs, owner=type(self).__name__)

    def _to_tensor(self, X, device):
        return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y, *, groups=None, validation_data=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Window embeddings (cast to float32).
        y : array-like of shape (n_samples,)
            Class labels of any type (strings too).
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (e.g. recording location), given to
            ``validation_split``: a fraction then keeps every group on one side. With
            metadata routing enabled, request it with ``set_fit_request(groups=True)``.
        validation_data : tuple (X_val, y_val), default=None
            A fixed validation set (e.g. the authors' location split) used instead of
            the internal split; ``X`` is then used whole for training.

        Returns
        -------
        self : SkorchMLPClassifier
        """
        sizes, split = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float32)
        name = type(self).__name__
        encoder = encode_labels(y, owner=name)
        classes = encoder.classes_
        y_enc = encoder.transform(y)
        rs = check_random_state(self.random_state)
        seed = int(rs.randint(np.iinfo(np.int32).max))

        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ParameterError(
                    f"{name}: validation_data must be a tuple (X_val, y_val)."
                ) from None
            X_val = validate_data(self, X_val, dtype=np.float32, reset=False)
            y_val_enc = encode_validation_labels(y_val, encoder, owner=name)
            X_tr, y_tr = X, y_enc
        else:
            train, valid = self._split(X, y, split, groups, rs)
            X_tr, y_tr = X[train], y_enc[train]
            X_val = X[valid] if valid is not None else None
            y_val_enc = y_enc[valid] if valid is not None else None

        device = torch.device(self.device)
        data_tr = _BatchData(self._to_tensor(X_tr, device), torch.from_numpy(y_tr).to(device))
        valid_ds = None
        if X_val is not None and len(X_val):
            valid_ds = _BatchData(
                self._to_tensor(X_val, device), torch.from_numpy(y_val_enc).to(device)
            )

        callbacks = [("keep_best", _KeepBest())]
        if self.patience is not None and valid_ds is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.patience,
                        sink=print if self.verbose else _noop,
                    ),
                )
            )
        callbacks.append(("drop_batch_history", _DropBatchHistory()))
        generator = torch.Generator().manual_seed(seed)
        net = _Net(
            MLPModule,
            module__n_features=X.shape[1],
            module__n_classes=len(classes),
            module__hidden_sizes=sizes,
            module__dropout=float(self.dropout),
            module__batch_norm=bool(self.batch_norm),
            module__activation=self.activation,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=predefined_split(valid_ds) if valid_ds is not None else None,
            iterator_train=_BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=generator,
            iterator_valid=_BatchIterator,
            iterator_valid__batch_size=max(1024, self.batch_size),
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
        )
        with seeded_torch(device, seed):
            try:
                net.fit(data_tr, None)  # initialises module, criterion, optimizer
            except TrainingError as exc:
                raise TrainingError(f"{name}: {exc}") from None
        # the datasets hold the training data: do not keep them in the fitted model
        net.train_split = None
        net.iterator_train__generator = None
        keep_best = dict(net.callbacks_)["keep_best"]
        self.net_ = net
        self.classes_ = classes
        self.best_epoch_ = keep_best.best_epoch_
        self.n_iter_ = len(net.history)
        return self

    @property
    def module_(self) -> MLPModule:
        """The fitted network (``net_.module_``)."""
        check_is_fitted(self)
        return self.net_.module_

    # -- inference ---------------------------------------------------------------------
    def _forward(self, X, upto: int | None = None) -> torch.Tensor:
        """Eval-mode outputs of ``module_.model[: upto + 1]`` (all layers if None)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        net = self.net_
        model = net.module_.model
        layers = model if upto is None else model[: upto + 1]
        device = torch.device(net.device)
        bs = max(1024, self.batch_size)
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                Xt = torch.from_numpy(np.ascontiguousarray(X))
                outs = [layers(Xt[i : i + bs].to(device)).cpu() for i in range(0, len(Xt), bs)]
        finally:
            model.train(was_training)
        return torch.cat(outs) if outs else torch.empty((0, 0))

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
            Rows sum to 1; columns follow ``classes_``.
        """
        return torch.softmax(self._forward(X), dim=1).numpy()

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably (log-softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), float32
        """
        return torch.log_softmax(self._forward(X), dim=1).numpy()

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[self._forward(X).argmax(dim=1).numpy()]

    def _resolve_layer(self, layer) -> int:
        model = self.net_.module_.model
        n = len(model)
        if layer is None:
            linear = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
            # the second hidden block's Linear (the paper's 128-d features); with fewer
            # hidden blocks, the last hidden Linear, or the logits without any
            return linear[min(1, len(linear) - 2)] if len(linear) > 1 else linear[0]
        if not isinstance(layer, numbers.Integral) or not -n <= layer < n:
            raise ParameterError(
                f"{type(self).__name__}: layer must be None or an index into module_.model "
                f"(-{n} <= layer < {n}), got {layer!r}; print(clf.module_) shows the layers."
            )
        return int(layer) % n

    def embed(self, X, *, layer: int | None = None):
        """Activations of the fitted network after a chosen layer (eval mode).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int or None, default=None
            Index into ``module_.model`` (negative counts from the end); the output
            after that module is returned. ``None`` is the authors' choice for the
            fusion features: the output of the second Linear layer, before its
            BatchNorm (index 4 of the paper's network, 128-d). With a single hidden
            block it is that block's Linear output; with none, the logits.

        Returns
        -------
        Z : ndarray of shape (n_samples, width of that layer), float32
        """
        check_is_fitted(self)
        return self._forward(X, upto=self._resolve_layer(layer)).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # seeded torch RNG: deterministic on CPU when random_state is an int
        tags.non_deterministic = not isinstance(self.random_state, numbers.Integral)
        return tags
